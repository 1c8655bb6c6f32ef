"""Conv1d and Conv2d beyond the registry (tests/cases.py checks every gradient of their cases against finite
differences and PyTorch): the output against loops over the definition, the errors for bad input and bad
arguments, what forward returns and keeps, dtypes, strided inputs, needs_input_grad, the initialisation, the repr."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from minnet import Conv1d, Conv2d, init

RNG = np.random.default_rng(0)


def conv2d_by_loops(x, weight, bias, stride, widths, dilation):
    """``y[n, o, i, j] = b[o] + Σ_{c,u,v} W[o, c, u, v] x_pad[n, c, i·s + u·d, j·s + v·d]``, term by term."""
    x_pad = np.pad(x, ((0, 0), (0, 0), *widths))
    _, _, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    out_h = (x_pad.shape[2] - dh * (kh - 1) - 1) // sh + 1
    out_w = (x_pad.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], weight.shape[0], out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            for u in range(kh):
                for v in range(kw):
                    y[:, :, i, j] += x_pad[:, :, i * sh + u * dh, j * sw + v * dw] @ weight[:, :, u, v].T
    return y + (0.0 if bias is None else bias[:, None, None])


@pytest.mark.parametrize(
    ("kwargs", "widths", "shape", "out_shape"),
    [
        ({"kernel_size": 3}, ((0, 0), (0, 0)), (2, 3, 7, 6), (2, 4, 5, 4)),
        ({"kernel_size": (2, 3), "stride": (2, 3), "padding": (1, 2)}, ((1, 1), (2, 2)), (2, 3, 7, 6), (2, 4, 4, 3)),
        ({"kernel_size": 3, "dilation": (2, 1), "bias": False}, ((0, 0), (0, 0)), (3, 3, 8, 5), (3, 4, 4, 3)),
        # "same" pads d·(k − 1) zeros on a side, the odd one after: 3 on H as (1, 2), 4 on W as (2, 2)
        ({"kernel_size": (4, 3), "padding": "same", "dilation": (1, 2)}, ((1, 2), (2, 2)), (1, 3, 5, 6), (1, 4, 5, 6)),
        ({"kernel_size": 2, "stride": 2, "padding": "valid"}, ((0, 0), (0, 0)), (2, 3, 5, 5), (2, 4, 2, 2)),
    ],
    ids=["3x3", "2x3-stride-padding-pairs", "dilation-2-1-no-bias", "same-even-kernel-dilated", "valid-stride-2"],
)
def test_conv2d_is_the_sum_of_its_definition(kwargs, widths, shape, out_shape):
    conv = Conv2d(3, 4, rng=1, **kwargs)
    x = RNG.standard_normal(shape)
    y = conv(x)
    assert y.shape == out_shape  # ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 on each side
    bias = None if conv.bias is None else conv.bias.data
    expected = conv2d_by_loops(x, conv.weight.data, bias, conv.stride, widths, conv.dilation)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_conv1d_is_conv2d_with_a_side_of_one():
    conv1 = Conv1d(2, 3, 3, stride=2, padding=1, dilation=2, rng=0)
    conv2 = Conv2d(2, 3, (1, 3), stride=(1, 2), padding=(0, 1), dilation=(1, 2), rng=0)
    conv2.weight.data[...] = conv1.weight.data[:, :, None, :]
    conv2.bias.data[...] = conv1.bias.data
    x, g = RNG.standard_normal((4, 2, 9)), RNG.standard_normal((4, 3, 4))
    np.testing.assert_allclose(conv1(x), conv2(x[:, :, None, :])[:, :, 0, :], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(conv1.backward(g), conv2.backward(g[:, :, None, :])[:, :, 0, :], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(conv1.weight.grad, conv2.weight.grad[:, :, 0, :], rtol=1e-13, atol=1e-13)


# -- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (Conv2d(3, 4, 3), (2, 3, 8), "Conv2d: expected input of shape (N, 3, H, W), got (2, 3, 8)"),
        (Conv2d(3, 4, 3), (3, 8, 8), "Conv2d: expected input of shape (N, 3, H, W), got (3, 8, 8)"),  # unbatched
        (Conv2d(3, 4, 3), (2, 3, 8, 8, 1), "Conv2d: expected input of shape (N, 3, H, W), got (2, 3, 8, 8, 1)"),
        (Conv2d(3, 4, 3), (2, 4, 8, 8), "Conv2d: expected input of shape (N, 3, H, W), got (2, 4, 8, 8)"),
        (Conv1d(3, 4, 3), (2, 3, 8, 8), "Conv1d: expected input of shape (N, 3, L), got (2, 3, 8, 8)"),
        (Conv1d(3, 4, 3), (3, 8), "Conv1d: expected input of shape (N, 3, L), got (3, 8)"),
        (Conv1d(3, 4, 3), (2, 1, 8), "Conv1d: expected input of shape (N, 3, L), got (2, 1, 8)"),
    ],
    ids=["conv2d-3d", "conv2d-unbatched", "conv2d-5d", "conv2d-channels", "conv1d-4d", "conv1d-2d", "conv1d-channels"],
)
def test_input_of_the_wrong_shape_is_an_error_naming_the_layer(layer, shape, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        layer(np.zeros(shape))


@pytest.mark.parametrize(
    ("layer", "shape", "fragments"),
    [
        (Conv2d(1, 2, 3), (2, 1, 2, 5), ["Conv2d: input of shape (2, 1, 2, 5) is too small", "(2, 5)", "(3, 3)"]),
        (Conv2d(1, 2, (2, 4)), (2, 1, 5, 3), ["Conv2d: input of shape (2, 1, 5, 3)", "(5, 3)", "(2, 4)"]),
        (
            Conv2d(1, 2, 3, dilation=2),
            (1, 1, 4, 4),
            ["Conv2d: input of shape (1, 1, 4, 4)", "(5, 5)", "dilation=(2, 2)"],
        ),
        (Conv1d(1, 2, 4), (1, 1, 3), ["Conv1d: input of shape (1, 1, 3) is too small", "(3,)", "(4,)"]),
        (Conv1d(1, 2, 5, padding=1), (1, 1, 2), ["Conv1d: input of shape (1, 1, 2)", "padded to (4,)", "(5,)"]),
    ],
    ids=["conv2d-height", "conv2d-width", "conv2d-dilated", "conv1d", "conv1d-padded"],
)
def test_input_smaller_than_the_kernel_is_an_error_with_both_shapes(layer, shape, fragments):
    with pytest.raises(ValueError, match=re.escape(fragments[0])) as error:
        layer(np.zeros(shape))
    for fragment in fragments[1:]:
        assert fragment in str(error.value), (fragment, str(error.value))


def test_padding_that_makes_the_kernel_fit_is_no_error():
    assert Conv2d(1, 2, 3, dilation=2, padding=1)(np.zeros((1, 1, 4, 4))).shape == (1, 2, 2, 2)
    assert Conv1d(1, 2, 3, padding="same")(np.zeros((1, 1, 1))).shape == (1, 2, 1)


@pytest.mark.parametrize(
    ("build", "shape", "out_shape"),
    [
        (lambda: Conv2d(2, 3, 3, rng=0), (0, 2, 5, 4), (0, 3, 3, 2)),
        (lambda: Conv2d(2, 3, 3, stride=2, padding=1, rng=0), (0, 2, 5, 4), (0, 3, 3, 2)),
        (lambda: Conv1d(2, 3, 3, padding="same", rng=0), (0, 2, 5), (0, 3, 5)),
    ],
    ids=["conv2d", "conv2d-padded", "conv1d-same"],
)
def test_an_empty_batch_gives_an_empty_output_and_gradient(build, shape, out_shape):
    """As PyTorch: N = 0 in, N = 0 out, the input gradient of the input's shape, zero parameter gradients."""
    conv = build()
    y = conv(np.zeros(shape))
    assert y.shape == out_shape
    assert conv.backward(np.zeros(out_shape)).shape == shape
    assert not conv.weight.grad.any()
    assert not conv.bias.grad.any()


# -- bad arguments -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Conv2d(1, 2, 0), "Conv2d: kernel_size must be a positive int or a pair of them, got 0"),
        (lambda: Conv2d(1, 2, (3, -1)), "Conv2d: kernel_size must be a positive int or a pair of them, got (3, -1)"),
        (
            lambda: Conv2d(1, 2, (3, 3, 3)),
            "Conv2d: kernel_size must be a positive int or a pair of them, got (3, 3, 3)",
        ),
        (lambda: Conv2d(1, 2, 3, stride=0), "Conv2d: stride must be a positive int or a pair of them, got 0"),
        (
            lambda: Conv2d(1, 2, 3, stride=(1, -2)),
            "Conv2d: stride must be a positive int or a pair of them, got (1, -2)",
        ),
        (lambda: Conv2d(1, 2, 3, padding=-1), "Conv2d: padding must be an int ≥ 0 or a pair of them, got -1"),
        (lambda: Conv2d(1, 2, 3, padding=(0, -1)), "Conv2d: padding must be an int ≥ 0 or a pair of them, got (0, -1)"),
        (lambda: Conv2d(1, 2, 3, dilation=0), "Conv2d: dilation must be a positive int or a pair of them, got 0"),
        (
            lambda: Conv2d(1, 2, 3, padding="full"),
            "Conv2d: padding must be 'valid', 'same', an int or a tuple, got 'full'",
        ),
        (lambda: Conv2d(1, 2, 3, stride=2, padding="same"), "Conv2d: padding='same' needs stride 1, got stride=(2, 2)"),
        (lambda: Conv2d(0, 2, 3), "Conv2d: in_channels must be a positive int, got 0"),
        (lambda: Conv2d(1, -2, 3), "Conv2d: out_channels must be a positive int, got -2"),
        (lambda: Conv1d(1, 2, (3, 3)), "Conv1d: kernel_size must be a positive int or a tuple of one, got (3, 3)"),
        (lambda: Conv1d(1, 2, 3, stride=-1), "Conv1d: stride must be a positive int or a tuple of one, got -1"),
        (lambda: Conv1d(1, 2, 3, padding=-2), "Conv1d: padding must be an int ≥ 0 or a tuple of one, got -2"),
        (lambda: Conv1d(2, 0, 3), "Conv1d: out_channels must be a positive int, got 0"),
    ],
)
def test_bad_arguments_are_errors_naming_the_layer(build, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Conv2d(1, 2, 2.5), "Conv2d: kernel_size must be a positive int or a pair of them, got 2.5"),
        (lambda: Conv2d(1, 2, True), "Conv2d: kernel_size must be a positive int or a pair of them, got True (bool)"),
        (lambda: Conv2d(1, 2, (3, 2.0)), "Conv2d: kernel_size must be a positive int or a pair of them, got (3, 2.0)"),
        (lambda: Conv1d(1.0, 2, 3), "Conv1d: in_channels must be a positive int, got 1.0"),
    ],
)
def test_arguments_of_the_wrong_type_are_type_errors_naming_the_layer(build, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        build()


def test_a_dtype_that_is_not_a_float_is_a_type_error():
    with pytest.raises(TypeError, match="Conv2d: dtype must be a float dtype"):
        Conv2d(1, 2, 3, dtype=np.int32)


# -- what forward returns and keeps ------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [lambda: Conv2d(2, 3, 3, padding=1, rng=0), lambda: Conv1d(2, 3, 3, stride=2, rng=0)])
def test_a_later_call_overwrites_neither_the_output_nor_the_input_gradient(build):
    conv = build()
    shape = (4, 2, 6, 5) if isinstance(conv, Conv2d) else (4, 2, 7)
    x1, x2 = RNG.standard_normal(shape), RNG.standard_normal(shape)
    y1 = conv(x1)
    kept_y1 = y1.copy()
    g1 = RNG.standard_normal(y1.shape)
    dx1 = conv.backward(g1)
    kept_dx1 = dx1.copy()
    y2 = conv(x2)
    dx2 = conv.backward(RNG.standard_normal(y2.shape))
    np.testing.assert_array_equal(y1, kept_y1)
    np.testing.assert_array_equal(dx1, kept_dx1)
    assert not np.shares_memory(y1, y2)
    assert not np.shares_memory(dx1, dx2)


@pytest.mark.parametrize(
    "build", [lambda dt: Conv2d(2, 3, (2, 3), padding=1, dtype=dt), lambda dt: Conv1d(2, 3, 2, dtype=dt)]
)
def test_float32_stays_float32(build):
    conv = build(np.float32)
    shape = (3, 2, 5, 4) if isinstance(conv, Conv2d) else (3, 2, 5)
    x = RNG.standard_normal(shape).astype(np.float32)
    y = conv(x)
    dx = conv.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == conv.cols.dtype == np.float32
    assert all(p.data.dtype == p.grad.dtype == np.float32 for p in conv.parameters())
    with pytest.raises(TypeError, match=type(conv).__name__):
        conv(x.astype(np.float64))  # never cast silently


def test_strided_and_reversed_inputs_give_what_their_copies_give():
    conv = Conv2d(2, 3, 3, stride=2, padding=1, rng=0)
    base = RNG.standard_normal((3, 9, 2, 8))
    for x in (base.transpose(0, 2, 1, 3), base.transpose(0, 2, 1, 3)[:, :, ::-1, ::2]):
        y = conv(x)
        g = RNG.standard_normal(y.shape)
        dx, dw = conv.backward(g), conv.weight.grad.copy()
        conv.zero_grad()
        copy = np.ascontiguousarray(x)
        np.testing.assert_array_equal(conv(copy), y)
        np.testing.assert_array_equal(conv.backward(g), dx)
        np.testing.assert_array_equal(conv.weight.grad, dw)
        conv.zero_grad()


def test_without_needs_input_grad_backward_returns_none_and_the_same_parameter_gradients():
    x = RNG.standard_normal((2, 3, 6, 5))
    first, full = Conv2d(3, 4, 3, rng=0), Conv2d(3, 4, 3, rng=0)
    first.needs_input_grad = False
    g = RNG.standard_normal(first(x).shape)
    full(x)
    assert first.backward(g) is None
    assert full.backward(g).shape == x.shape
    np.testing.assert_array_equal(first.weight.grad, full.weight.grad)
    np.testing.assert_array_equal(first.bias.grad, full.bias.grad)


def test_a_position_that_no_window_reads_gets_a_zero_gradient():
    conv = Conv1d(1, 2, 3, stride=2, rng=0)  # L = 6: windows at 0..2 and 2..4, x[5] unread
    x = RNG.standard_normal((2, 1, 6))
    dx = conv.backward(RNG.standard_normal(conv(x).shape))
    assert np.all(dx[..., 5] == 0)
    assert np.all(dx[..., :5] != 0)


# -- initialisation and repr -------------------------------------------------------------------------------------


def test_initialisation_is_pytorchs_kaiming_uniform_with_a_sqrt_5():
    conv = Conv2d(16, 32, (3, 2), rng=0)
    fan_in = 16 * 3 * 2
    bound = init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3.0 / fan_in)  # kaiming_uniform's bound
    assert bound == pytest.approx(1 / math.sqrt(fan_in))
    assert conv.weight.data.shape == (32, 16, 3, 2)
    for values in (conv.weight.data, conv.bias.data):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.9 * bound  # uniform over the whole interval, not a narrower one
    assert abs(conv.weight.data.std() - bound / math.sqrt(3)) < 0.05 * bound  # U(−a, a) has std a/√3
    np.testing.assert_array_equal(Conv2d(16, 32, (3, 2), rng=0).weight.data, conv.weight.data)
    assert Conv1d(4, 2, 5, rng=1).weight.data.shape == (2, 4, 5)
    assert Conv1d(4, 2, 5, bias=False).bias is None


@pytest.mark.parametrize(
    ("layer", "text"),
    [
        (Conv2d(1, 16, 3), "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1))"),
        (
            Conv2d(2, 3, (2, 3), stride=(2, 1), padding=(0, 1), dilation=2, bias=False),
            "Conv2d(2, 3, kernel_size=(2, 3), stride=(2, 1), padding=(0, 1), dilation=(2, 2), bias=False)",
        ),
        (Conv2d(2, 3, 3, padding="same"), "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=same)"),
        (Conv1d(2, 4, 3, padding="valid"), "Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=valid)"),
        (Conv1d(2, 4, (3,), stride=2, padding=1), "Conv1d(2, 4, kernel_size=(3,), stride=(2,), padding=(1,))"),
    ],
)
def test_repr_is_pytorchs(layer, text):
    """The strings torch 2.13 prints for the same modules."""
    assert repr(layer) == text


@pytest.mark.parametrize(
    ("build", "shape"),
    [
        (lambda: Conv2d(3, 4, (3, 2), padding=(1, 2), dilation=(1, 2), rng=0), (2, 3, 6, 5)),
        (lambda: Conv2d(2, 3, 3, padding="same", rng=1), (3, 2, 4, 7)),
        (lambda: Conv1d(2, 3, 3, dilation=2, padding=1, rng=2), (2, 2, 9)),
    ],
)
def test_col2im_by_flat_runs_adds_what_the_strided_slices_add(build, shape, monkeypatch):
    """With stride 1 and short output rows, col2im adds whole runs of the flattened input; with rows of any
    length it adds strided slices, one per kernel offset. Both give the same input gradient."""
    from minnet.nn import conv

    layer = build()
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(layer(x).shape)
    assert g.shape[-1] <= conv.SHORT_ROW  # the flat runs
    flat = layer.backward(g)
    monkeypatch.setattr(conv, "SHORT_ROW", 0)  # the strided slices
    layer(x)
    np.testing.assert_allclose(layer.backward(g), flat, rtol=1e-13, atol=1e-13)
