"""Embedding beyond the registry (tests/cases.py): the row padding_idx against torch with indices that hit it,
its initialisation, the errors it raises, and wrong embeddings that the checks catch."""

from __future__ import annotations

import numpy as np
import pytest
from cases import indices

from minnet import Embedding, Linear, Sequential, gradcheck
from minnet.testing import check_layer


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="compares with PyTorch; install the test extra (torch==2.13.0 CPU)")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1, -5])
def test_padding_idx_against_torch_with_indices_that_hit_it(torch, padding_idx, dtype):
    """Twice forward and backward, indices repeated and hitting the padding row, which first holds
    nonzero values: its output is the row as it is, its gradient stays 0 in both."""
    rng = np.random.default_rng(0)
    ours = Embedding(5, 3, padding_idx=padding_idx, rng=1, dtype=dtype)
    theirs = torch.nn.Embedding(5, 3, padding_idx=padding_idx, dtype=getattr(torch, np.dtype(dtype).name))
    if padding_idx is not None:
        assert ours.padding_idx == theirs.padding_idx == padding_idx % 5  # −1 is the last row, as in torch
        assert not ours.weight.data[ours.padding_idx].any()  # initialised to zeros
    ours.weight.data[...] = rng.standard_normal((5, 3))  # the padding row too: it still gets no gradient
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
    for _ in range(2):  # the gradients add up over two backwards, in both
        x = rng.integers(0, 5, (4, 6))
        x[0, :3] = padding_idx % 5 if padding_idx is not None else 2
        y_t = theirs(torch.tensor(x))
        g = rng.standard_normal(tuple(y_t.shape)).astype(dtype)
        y_t.backward(torch.tensor(g))
        y = ours(x)
        assert y.dtype == dtype
        np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-6)
        assert ours.backward(g) is None
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    if padding_idx is not None:
        assert not ours.weight.grad[ours.padding_idx].any()


def test_weight_is_standard_normal_and_seeded():
    weight = Embedding(1000, 50, rng=0).weight.data
    assert weight.shape == (1000, 50)
    assert weight.dtype == np.float64
    assert abs(weight.mean()) < 0.01
    assert abs(weight.std() - 1.0) < 0.01
    np.testing.assert_array_equal(weight, Embedding(1000, 50, rng=0).weight.data)
    assert Embedding(3, 2, dtype=np.float32).weight.data.dtype == np.float32


def test_any_index_shape_and_the_output_shape():
    emb = Embedding(6, 4, rng=0)
    assert emb(np.int64(2)).shape == (4,)  # a 0-d index: one vector
    assert emb(np.array([1, 2, 3])).shape == (3, 4)
    assert emb(np.zeros((2, 3, 5), dtype=np.int32)).shape == (2, 3, 5, 4)
    assert emb(np.array([], dtype=np.int64)).shape == (0, 4)
    np.testing.assert_array_equal(emb(np.array([[5, 0]])), emb.weight.data[[[5, 0]]])


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.array([0, 6]), r"Embedding: indices must be in \[0, 5\] \(num_embeddings=6\), got values from 0 to 6"),
        (np.array([[-1, 2]]), r"Embedding: indices must be in \[0, 5\] \(num_embeddings=6\), got values from -1 to 2"),
    ],
    ids=["too-large", "negative"],
)
def test_an_index_out_of_range_is_an_error_naming_the_range(x, message):
    with pytest.raises(IndexError, match=message):
        Embedding(6, 2, rng=0)(x)


@pytest.mark.parametrize("x", [np.array([0.0, 1.0]), np.array([True, False]), np.array(["a"])])
def test_data_that_is_not_integer_is_an_error_naming_the_layer(x):
    with pytest.raises(TypeError, match=r"Embedding: expected integer indices, got an array of dtype"):
        Embedding(6, 2, rng=0)(x)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 3), "num_embeddings must be a positive int, got 0"),
        ((4, 0), "embedding_dim must be a positive int, got 0"),
        ((4, 3, 4), r"padding_idx must be within num_embeddings: in \[-4, 3\], got 4"),
        ((4, 3, -5), r"padding_idx must be within num_embeddings: in \[-4, 3\], got -5"),
    ],
)
def test_constructor_errors(args, message):
    with pytest.raises(ValueError, match=f"Embedding: {message}"):
        Embedding(*args)


def test_repr():
    assert repr(Embedding(10, 3)) == "Embedding(10, 3)"
    assert repr(Embedding(10, 3, padding_idx=-1)) == "Embedding(10, 3, padding_idx=9)"


def test_a_model_that_starts_with_an_embedding_is_checked_on_its_parameters():
    model = Sequential(Embedding(6, 4, rng=0), Linear(4, 2, rng=1))
    result = gradcheck(model, indices(6)(np.random.default_rng(0), (3, 5)))
    assert result, result
    assert {check.name for check in result.checks} == {"0.weight", "1.weight", "1.bias"}


# -- the checks catch wrong embeddings -------------------------------------------------------------------------


class _RepeatsLost(Embedding):
    """Wrong on purpose: buffered fancy-index assignment keeps one row of g per repeated index."""

    def backward(self, grad_output):
        self.weight.grad[self.indices] += grad_output


class _PaddingTrained(Embedding):
    """Wrong on purpose: the padding row gets its gradient like any other row."""

    def backward(self, grad_output):
        np.add.at(self.weight.grad, self.indices.reshape(-1), grad_output.reshape(-1, self.embedding_dim))


def test_the_kit_catches_an_embedding_that_loses_repeated_indices():
    report = check_layer(lambda: _RepeatsLost(7, 3, rng=0), (4, 2), make_input=indices(7))
    assert not report
    assert "parameter_gradient" in report.failed_names


def test_the_torch_comparison_catches_a_trained_padding_row(torch):
    ours = _PaddingTrained(5, 3, padding_idx=1, rng=0)
    theirs = torch.nn.Embedding(5, 3, padding_idx=1, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
    x = np.array([[1, 2], [1, 1]])
    g = np.ones((2, 2, 3))
    theirs(torch.tensor(x)).backward(torch.tensor(g))
    ours(x)
    ours.backward(g)
    assert not np.allclose(ours.weight.grad, theirs.weight.grad.numpy())
