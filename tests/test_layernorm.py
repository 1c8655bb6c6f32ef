"""LayerNorm beyond the registry (tests/cases.py): arguments, repr, errors, float32 and larger inputs against torch,
and a wrong LayerNorm that the checks catch."""

from __future__ import annotations

import re

import numpy as np
import pytest

from minnet import LayerNorm, gradcheck
from minnet.testing import check_layer


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="compares with PyTorch; install the test extra (torch==2.13.0 CPU)")


def test_parameters_and_the_same_output_in_both_modes():
    ln = LayerNorm(4)
    assert ln.normalized_shape == (4,)
    np.testing.assert_array_equal(ln.weight.data, np.ones(4))
    np.testing.assert_array_equal(ln.bias.data, np.zeros(4))
    assert LayerNorm((2, 3)).weight.shape == (2, 3)
    assert list(LayerNorm(4, elementwise_affine=False).parameters()) == []
    assert [p.shape for p in LayerNorm(4, bias=False).parameters()] == [(4,)]
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(ln(x), ln.eval()(x))  # no running statistics


def test_repr_as_torch(torch):
    for args, kwargs in [((5,), {}), (((3, 4),), {"elementwise_affine": False}), ((4,), {"bias": False})]:
        assert repr(LayerNorm(*args, **kwargs)) == repr(torch.nn.LayerNorm(*args, **kwargs))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(
    ("normalized_shape", "shape", "kwargs"),
    [(8, (2, 3, 8), {}), ((4, 6), (3, 4, 6), {"eps": 1e-3}), ((2, 3, 4), (2, 3, 4), {}), (6, (6,), {"bias": False})],
    ids=["last-axis", "two-axes-eps", "whole-input", "one-sample-no-bias"],
)
def test_against_torch_twice(torch, normalized_shape, shape, kwargs, dtype):
    """Forward and backward twice (the parameter gradients add up), at values far from 0 and of large spread."""
    rng = np.random.default_rng(1)
    ours = LayerNorm(normalized_shape, dtype=dtype, **kwargs)
    theirs = torch.nn.LayerNorm(normalized_shape, dtype=getattr(torch, np.dtype(dtype).name), **kwargs)
    for param in ours.parameters():
        param.data[...] = rng.standard_normal(param.shape)
    theirs.load_state_dict({name: torch.tensor(value) for name, value in ours.state_dict().items()})
    tolerance = 1e-10 if dtype == np.float64 else 2e-5
    for _ in range(2):
        x = (50 + 20 * rng.standard_normal(shape)).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        x_t = torch.tensor(x, requires_grad=True)
        y_t = theirs(x_t)
        y_t.backward(torch.tensor(g))
        y = ours(x)
        assert y.dtype == dtype
        np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(ours.backward(g), x_t.grad.numpy(), rtol=tolerance, atol=tolerance)
    for name, param in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad, param.grad.numpy(), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(
    ("normalized_shape", "shape"),
    [(5, (4, 3)), ((3, 4), (2, 4, 3)), ((3, 4), (4,)), (4, ())],
    ids=["other-last-side", "swapped-sides", "too-few-axes", "0-d"],
)
def test_an_input_of_another_trailing_shape_is_an_error_naming_both(normalized_shape, shape):
    ln = LayerNorm(normalized_shape)
    expected = ", ".join(map(str, ln.normalized_shape))
    message = rf"LayerNorm: .*expected input of shape \(\*, {expected}\), got {re.escape(str(shape))}"
    with pytest.raises(ValueError, match=message):
        ln(np.ones(shape))


@pytest.mark.parametrize("normalized_shape", [0, (3, 0), ()])
def test_a_normalized_shape_without_elements_is_an_error(normalized_shape):
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be positive sides"):
        LayerNorm(normalized_shape)


def test_a_float_input_of_another_dtype_is_refused():
    with pytest.raises(TypeError, match="LayerNorm"):
        LayerNorm(3, dtype=np.float32)(np.ones((2, 3)))


class _MeanTermForgotten(LayerNorm):
    """Wrong on purpose: leaves out − x̂ ⊙ mean(ĝ ⊙ x̂), as if σ² did not depend on x."""

    def backward(self, grad_output):
        super().backward(grad_output)
        g_hat = grad_output * self.weight.data
        return self.r * (g_hat - g_hat.mean(axis=-1, keepdims=True))


def test_the_checks_catch_a_forgotten_variance_term():
    x = np.random.default_rng(2).standard_normal((3, 4))
    assert not gradcheck(_MeanTermForgotten(4), x)
    assert "input_gradient" in check_layer(lambda: _MeanTermForgotten(4), (3, 4)).failed_names
