"""MaxPool2d, AvgPool2d and BatchNorm2d beyond the registry (tests/cases.py): the errors each raises, the tie
rule of max pooling and overlapping windows against PyTorch, edge values (NaN, −∞), count_include_pad, unbatched
input, several blocks of samples, and BatchNorm2d over several batches.

The tests that compare with PyTorch are marked ``oracle`` (skipped where torch is missing, a failure under
``CI=true``)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import minnet.nn.pooling
from minnet import AvgPool2d, BatchNorm2d, MaxPool2d, gradcheck

oracle = pytest.mark.oracle


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch", reason="compared with PyTorch; install the test extra (torch==2.13.0 CPU)")
    torch.set_num_threads(1)
    return torch


def against_torch(torch, ours, theirs, x, g=None):
    """Forward and input gradient of ``ours`` and of the torch module ``theirs`` at ``x``, upstream ``g``
    (default: standard normal): ``(y, grad, y_torch, grad_torch)``."""
    y = ours(x)
    g = np.random.default_rng(0).standard_normal(y.shape).astype(x.dtype) if g is None else g
    x_t = torch.tensor(x, requires_grad=True)
    y_t = theirs(x_t)
    y_t.backward(torch.tensor(g))
    return y, ours.backward(g), y_t.detach().numpy(), x_t.grad.numpy()


def assert_same_as_torch(torch, ours, theirs, x, g=None):
    y, grad, y_t, grad_t = against_torch(torch, ours, theirs, x, g)
    assert y.dtype == grad.dtype == x.dtype
    np.testing.assert_array_equal(y, y_t)  # max pooling picks values: exactly equal, NaN where torch has NaN
    np.testing.assert_allclose(grad, grad_t, rtol=1e-12, atol=1e-12)
    return grad


# -- bad input and bad arguments: errors that name the layer, say what was expected and what came --------------

POOLS = pytest.mark.parametrize("pool", [MaxPool2d, AvgPool2d])


@POOLS
@pytest.mark.parametrize("shape", [(2, 4), (5,), (1, 2, 3, 4, 5)])
def test_pooling_needs_3_or_4_dimensions(pool, shape):
    expected = f"{pool.__name__}: expected input of shape (N, C, H, W) or (C, H, W), got {shape}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        pool(2)(np.zeros(shape))


@POOLS
def test_a_kernel_larger_than_the_padded_input_is_an_error(pool):
    name = pool.__name__
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{name}: kernel_size (3, 3) is larger than the padded input (2, 5), got input of shape (1, 1, 2, 5)"
        ),
    ):
        pool(3)(np.zeros((1, 1, 2, 5)))
    with pytest.raises(ValueError, match=rf"{name}: kernel_size \(2, 4\) is larger than the padded input \(5, 3\)"):
        pool((2, 4))(np.zeros((3, 5, 3)))
    assert pool(3, padding=1)(np.zeros((1, 1, 1, 1))).shape == (1, 1, 1, 1)  # the padding makes room


@POOLS
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"kernel_size": 3, "padding": 2},
            "padding must be at most half of kernel_size, got padding=2 and kernel_size=3",
        ),
        (
            {"kernel_size": (2, 4), "padding": (1, 3)},
            r"padding must be at most half of kernel_size, got padding=\(1, 3\) and kernel_size=\(2, 4\)",
        ),
        ({"kernel_size": 1, "padding": 1}, "padding must be at most half of kernel_size"),
        ({"kernel_size": 0}, "kernel_size must be at least 1, got 0"),
        ({"kernel_size": (2, -1)}, r"kernel_size must be at least 1, got \(2, -1\)"),
        ({"kernel_size": 2, "stride": 0}, "stride must be at least 1, got 0"),
        ({"kernel_size": 2, "padding": -1}, "padding must be at least 0, got -1"),
    ],
)
def test_bad_values_of_the_arguments_are_value_errors(pool, kwargs, message):
    with pytest.raises(ValueError, match=f"{pool.__name__}: {message}"):
        pool(**kwargs)


@POOLS
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kernel_size": 2.0}, "kernel_size must be an int or a pair of ints, got 2.0"),
        ({"kernel_size": (2, 2, 2)}, r"kernel_size must be an int or a pair of ints, got \(2, 2, 2\)"),
        ({"kernel_size": "2"}, "kernel_size must be an int or a pair of ints, got '2'"),
        ({"kernel_size": True}, "kernel_size must be an int or a pair of ints, got True"),
        ({"kernel_size": 2, "stride": (1, None)}, r"stride must be an int or a pair of ints, got \(1, None\)"),
    ],
)
def test_arguments_of_the_wrong_type_are_type_errors(pool, kwargs, message):
    with pytest.raises(TypeError, match=f"{pool.__name__}: {message}"):
        pool(**kwargs)


def test_batchnorm2d_errors_name_the_layer():
    bn = BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input of shape \(N, 3, H, W\), got \(2, 4, 5, 5\)"):
        bn(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input of shape \(N, 3, H, W\), got \(2, 3, 5\)"):
        bn(np.zeros((2, 3, 5)))
    with pytest.raises(
        ValueError,
        match=r"BatchNorm2d: training needs more than 1 value per feature \(channel\), got input \(1, 3, 1, 1\)",
    ):
        bn(np.zeros((1, 3, 1, 1)))
    assert bn.num_batches_tracked == 0  # the refused batch changed nothing
    assert bn.eval()(np.ones((1, 3, 1, 1))).shape == (1, 3, 1, 1)  # one value per channel is fine in eval
    with pytest.raises(ValueError, match="BatchNorm2d: num_features must be a positive int, got 0"):
        BatchNorm2d(0)
    with pytest.raises(TypeError, match="BatchNorm2d: dtype must be a float dtype, got int64"):
        BatchNorm2d(3, dtype=np.int64)


# -- what each layer computes, written out ----------------------------------------------------------------------


def test_the_first_max_of_a_window_takes_the_gradient():
    pool = MaxPool2d(2)
    x = np.array([[[[1.0, 3.0, 2.0, 2.0], [3.0, 0.0, 2.0, 2.0]]]])
    np.testing.assert_array_equal(pool(x), [[[[3.0, 2.0]]]])
    grad = pool.backward(np.array([[[[10.0, 20.0]]]]))
    np.testing.assert_array_equal(grad, [[[[0.0, 10.0, 20.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])
    assert pool.argmax.dtype == np.uint8
    np.testing.assert_array_equal(pool.argmax, [[[[1, 0]]]])


def test_max_pooling_caches_the_argmax_not_the_input():
    pool = MaxPool2d(3, stride=2, padding=1)
    pool(np.random.default_rng(0).standard_normal((4, 3, 9, 8)))
    arrays = {name: value for name, value in vars(pool).items() if isinstance(value, np.ndarray)}
    assert set(arrays) == {"argmax"}
    assert arrays["argmax"].shape == (4, 3, 5, 4)
    assert arrays["argmax"].dtype == np.uint8


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan], ids=["inf", "-inf", "nan"])
def test_an_infinite_or_nan_gradient_goes_to_the_argmax_only(value):
    """As PyTorch: the other elements of the window get 0, not 0 · inf = NaN; with windows that do not overlap
    (written into zeros) and with windows that do (added up)."""
    x = np.array([[[[1.0, 4.0, 0.0, 1.0], [2.0, 3.0, 2.0, 1.0]]]])
    pool = MaxPool2d(2)
    pool(x)
    grad = pool.backward(np.array([[[[value, 1.0]]]]))
    np.testing.assert_array_equal(grad, [[[[0.0, value, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]]])
    overlapping = MaxPool2d(2, stride=1)  # the first two windows share their max, 4
    overlapping(x)
    grad = overlapping.backward(np.array([[[[value, 1.0, 1.0]]]]))
    np.testing.assert_array_equal(grad, [[[[0.0, value + 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]]])


def test_overlapping_windows_add_up_at_a_shared_max():
    """A peak in the middle of a 5×5 input is the max of all nine 3×3 windows: it gets the sum of their g."""
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    pool = MaxPool2d(3, stride=1)
    np.testing.assert_array_equal(pool(x), np.ones((1, 1, 3, 3)))
    g = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    expected = np.zeros((1, 1, 5, 5))
    expected[0, 0, 2, 2] = g.sum()
    np.testing.assert_array_equal(pool.backward(g), expected)


def test_avg_pooling_spreads_g_over_each_window():
    pool = AvgPool2d(2, stride=1, padding=1)  # 3×3 windows of a 2×2 input padded to 4×4, 4 elements each
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    np.testing.assert_allclose(pool(x), [[[[0.25, 0.75, 0.5], [1.0, 2.5, 1.5], [0.75, 1.75, 1.0]]]])
    np.testing.assert_allclose(pool.backward(np.ones((1, 1, 3, 3))), np.ones((1, 1, 2, 2)))  # 4 windows × 1/4
    counted = AvgPool2d(2, stride=1, padding=1, count_include_pad=False)
    np.testing.assert_allclose(counted(x)[0, 0, 0], [1.0, 1.5, 2.0])  # the corner window holds one element
    np.testing.assert_allclose(counted.backward(np.ones((1, 1, 3, 3))), [[[[2.25, 2.25], [2.25, 2.25]]]])


@pytest.mark.parametrize(
    "pool",
    [MaxPool2d(2), MaxPool2d(3, stride=2, padding=1), AvgPool2d(2), AvgPool2d(3, 2, 1, count_include_pad=False)],
    ids=["max", "max-padded", "avg", "avg-padded-counted"],
)
def test_an_empty_batch_gives_an_empty_output_and_gradient(pool):
    """As PyTorch: (0, C, H, W) in, (0, C, H_out, W_out) out, and a (0, C, H, W) gradient."""
    y = pool(np.zeros((0, 2, 5, 5)))
    assert y.shape == ((0, 2, 2, 2) if pool.padding == 0 else (0, 2, 3, 3))
    assert pool.backward(np.zeros(y.shape)).shape == (0, 2, 5, 5)


def test_unbatched_input_gives_unbatched_output():
    x = np.random.default_rng(1).standard_normal((3, 6, 5))
    for pool in (MaxPool2d(2), AvgPool2d(3, stride=2, padding=1)):
        batched = pool(x[None])
        y = pool(x)
        np.testing.assert_array_equal(y, batched[0])
        assert pool.backward(np.ones_like(y)).shape == x.shape


@POOLS
def test_float32_stays_float32(pool):
    layer = pool(3, stride=2, padding=1)
    y = layer(np.ones((2, 3, 5, 4), dtype=np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_reprs():
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert (
        repr(MaxPool2d((2, 3), stride=1, padding=(1, 0))) == "MaxPool2d(kernel_size=(2, 3), stride=1, padding=(1, 0))"
    )
    assert repr(AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    assert repr(AvgPool2d(3, count_include_pad=False)) == (
        "AvgPool2d(kernel_size=3, stride=3, padding=0, count_include_pad=False)"
    )
    assert repr(BatchNorm2d(4)) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True)"


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pooling_with_padding_passes_gradcheck(count_include_pad):
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 4))
    assert gradcheck(AvgPool2d((3, 2), stride=(2, 1), padding=1, count_include_pad=count_include_pad), x)


# -- against PyTorch: ties, overlapping windows, edge values, blocks -------------------------------------------

CONFIGS = [
    pytest.param({"kernel_size": 2}, id="2"),
    pytest.param({"kernel_size": 3, "stride": 1}, id="3-stride-1"),
    pytest.param({"kernel_size": 3, "stride": 2, "padding": 1}, id="3-stride-2-padding-1"),
    pytest.param({"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 0)}, id="2x3-stride-1x2-padding-1x0"),
    pytest.param({"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1)}, id="3x2-stride-2x1-padding-1"),
    # windows that overlap along one axis only: neighbours in a row share columns
    pytest.param({"kernel_size": (2, 3), "stride": (2, 1)}, id="2x3-stride-2x1"),
    pytest.param({"kernel_size": (3, 2), "stride": (1, 2), "padding": (1, 0)}, id="3x2-stride-1x2-padding-1x0"),
]


@oracle
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_ties_go_where_torch_sends_them(torch, kwargs):
    """All values equal (every window a tie), then integers in {0, 1, 2} (ties in most windows)."""
    ours, theirs = MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs)
    grad = assert_same_as_torch(torch, ours, theirs, np.ones((2, 3, 7, 6)))
    assert np.count_nonzero(grad) < grad.size  # not every element: one per window
    integers = np.random.default_rng(3).integers(0, 3, (2, 3, 7, 6)).astype(np.float64)
    assert_same_as_torch(torch, MaxPool2d(**kwargs), theirs, integers)


@oracle
@pytest.mark.parametrize("kwargs", CONFIGS)
@pytest.mark.parametrize("pool", ["MaxPool2d", "AvgPool2d"])
def test_overlapping_and_padded_windows_against_torch(torch, kwargs, pool):
    x = np.random.default_rng(4).standard_normal((3, 2, 8, 7))
    ours, theirs = getattr(minnet.nn.pooling, pool)(**kwargs), getattr(torch.nn, pool)(**kwargs)
    y, grad, y_t, grad_t = against_torch(torch, ours, theirs, x)
    np.testing.assert_allclose(y, y_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-12, atol=1e-12)


@oracle
def test_a_shared_max_of_overlapping_windows_gets_their_sum_as_in_torch(torch):
    """Integers in {0, 1}: most windows share their max with their neighbours."""
    x = np.random.default_rng(5).integers(0, 2, (2, 3, 6, 7)).astype(np.float64)
    grad = assert_same_as_torch(torch, MaxPool2d(3, stride=1), torch.nn.MaxPool2d(3, stride=1), x)
    assert grad.max() > 2.5  # some element collected several windows' gradients (g is standard normal)


@oracle
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_nan_and_minus_infinity_as_in_torch(torch, kwargs):
    """A NaN takes over a window and its last NaN gets the gradient; a window of −∞ gives it to its first element
    inside the input, never to the padding."""
    rng = np.random.default_rng(6)
    x = rng.integers(0, 2, (2, 2, 7, 6)).astype(np.float64)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[rng.random(x.shape) < 0.4] = -np.inf
    x[1] = -np.inf
    assert_same_as_torch(torch, MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs), x)


@oracle
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_count_include_pad_false_against_torch(torch, kwargs):
    x = np.random.default_rng(7).standard_normal((2, 3, 6, 5))
    ours = AvgPool2d(**kwargs, count_include_pad=False)
    theirs = torch.nn.AvgPool2d(**kwargs, count_include_pad=False)
    y, grad, y_t, grad_t = against_torch(torch, ours, theirs, x)
    np.testing.assert_allclose(y, y_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-12, atol=1e-12)


@oracle
@pytest.mark.parametrize("pool", ["MaxPool2d", "AvgPool2d"])
def test_unbatched_input_against_torch(torch, pool):
    x = np.random.default_rng(8).standard_normal((3, 7, 6))
    ours, theirs = getattr(minnet.nn.pooling, pool)(3, 2, 1), getattr(torch.nn, pool)(3, 2, 1)
    y, grad, y_t, grad_t = against_torch(torch, ours, theirs, x)
    assert y.shape == tuple(y_t.shape) == (3, 4, 3)
    np.testing.assert_allclose(y, y_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-12, atol=1e-12)


@oracle
@pytest.mark.parametrize("kwargs", CONFIGS)
@pytest.mark.parametrize("pool", ["MaxPool2d", "AvgPool2d"])
def test_one_sample_per_block_gives_torchs_result(torch, monkeypatch, kwargs, pool):
    """The layers pool blocks of samples of BLOCK_BYTES: blocks of one sample, a batch of five."""
    monkeypatch.setattr(minnet.nn.pooling, "BLOCK_BYTES", 1)
    x = np.random.default_rng(9).integers(0, 3, (5, 2, 7, 6)).astype(np.float64)  # ties too
    ours, theirs = getattr(minnet.nn.pooling, pool)(**kwargs), getattr(torch.nn, pool)(**kwargs)
    assert len(ours._blocks(x)) == 5
    y, grad, y_t, grad_t = against_torch(torch, ours, theirs, x)
    np.testing.assert_allclose(y, y_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-12, atol=1e-12)


@oracle
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(("momentum", "affine"), [(0.1, True), (None, True), (0.3, False)])
def test_batchnorm2d_train_then_eval_against_torch(torch, dtype, momentum, affine):
    """Three training batches of (N, C, H, W), every side at least 2, then eval: outputs, gradients, running
    statistics (unbiased variance over N·H·W values) and num_batches_tracked."""
    rng = np.random.default_rng(10)
    tolerance = 1e-10 if dtype == np.float64 else 1e-5
    ours = BatchNorm2d(3, eps=1e-3, momentum=momentum, affine=affine, dtype=dtype)
    theirs = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=momentum, affine=affine, dtype=getattr(torch, dtype.__name__))
    if affine:
        ours.weight.data[:] = rng.uniform(0.5, 1.5, 3)
        ours.bias.data[:] = rng.standard_normal(3)
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(ours.weight.data))
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    for step in range(4):
        if step == 3:
            ours.eval(), theirs.eval()
        x = (2 * rng.standard_normal((4, 3, 5, 2)) + step).astype(dtype)
        g = rng.standard_normal(x.shape).astype(dtype)
        y, grad, y_t, grad_t = against_torch(torch, ours, theirs, x, g)
        for a, b in [(y, y_t), (grad, grad_t), (ours.running_mean, theirs.running_mean.numpy())]:
            assert a.dtype == dtype
            np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=tolerance, atol=tolerance)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == min(step + 1, 3)
    if affine:  # accumulated over the four backwards, in both
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=tolerance, atol=tolerance)
