"""Convolutions: Conv1d and Conv2d, each computed as im2col and one matrix product.

The forward pass pads the input once, takes the windows of the padded input as
a strided view (stride and dilation are strides of that view, nothing is
copied) and copies them once into the column matrix (the reshape copies, except where the windows are the input
itself: a 1×1 kernel with stride 1 and no padding on one input channel keeps a view of x, as Linear keeps x)

    cols[(c, u…), (n, i…)] = x_pad[n, c, i·s + u·d …]

of shape ``(C·K, N·P)``, K the kernel's elements, P the output's positions.
The convolution is then ``W cols`` with W as an ``(out_channels, C·K)`` matrix:
one matrix product, taken sample by sample over a view of ``cols`` so that the
output comes out ``(N, out_channels, …)`` without a transpose (faster than one
product and a copy where the output is large: 820 against 1660 µs for
64×1×28×28 → 32 channels in float32). Backward reads the cached ``cols`` for
``∂L/∂W = g colsᵀ`` and adds the columns' gradient ``Wᵀ g`` back where each
window was taken (col2im), one strided slice per kernel offset; it caches
``cols`` rather than the padded input, which would cost the copy again.

Conv1d and Conv2d share the helpers below, written over any number of spatial
axes; each class writes its own forward and backward with its formulas.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import NDArray

from .._checks import check_bool, check_int, describe, is_int
from .._rng import RngLike, make_rng
from ..parameter import Parameter
from .layer import Layer, float_dtype

IntOrTuple = int | tuple[int, ...]
#: col2im adds whole runs of the flattened input (:func:`_add_windows_flat`) where the output's rows hold at most
#: this many elements and the stride is 1. Measured on 64 samples of 3×3 windows, float32: rows of 4 (16 → 32
#: channels) 1.45 → 0.97 ms, of 6 2.19 → 1.47 ms, of 8 2.5 → 1.9 ms; rows of 11 (32 → 64 channels) 5.2 → 7.1 ms,
#: slower, since a long row is added fast already and the flat runs need one more copy.
SHORT_ROW = 8


def _as_tuple(value: Any, dims: int, what: str, layer: str, minimum: int) -> tuple[int, ...]:
    """``value`` (an int, or a tuple of ``dims`` ints) as a tuple of ``dims`` ints ≥ ``minimum``; a TypeError
    for another type (a float, a bool, a string), a ValueError for a value out of range or the wrong length."""
    values = (value,) * dims if is_int(value) else value
    kind = "a positive int" if minimum == 1 else f"an int ≥ {minimum}"
    expected = f"{kind} or {'a pair of them' if dims == 2 else 'a tuple of one'}"
    if not isinstance(values, (tuple, list)) or not all(map(is_int, values)):
        raise TypeError(f"{layer}: {what} must be {expected}, got {describe(value)}")
    if len(values) != dims or min(values) < minimum:
        raise ValueError(f"{layer}: {what} must be {expected}, got {value!r}")
    return tuple(int(v) for v in values)


def _padding_widths(
    padding: str | tuple[int, ...], kernel_size: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[tuple[int, int], ...]:
    """The zeros added before and after each spatial axis. ``"same"`` pads d·(k − 1) in all, half before (rounded
    down) and the rest after, as PyTorch does, so that stride 1 keeps the input's size."""
    if not isinstance(padding, str):
        return tuple((p, p) for p in padding)
    totals = [d * (k - 1) if padding == "same" else 0 for k, d in zip(kernel_size, dilation, strict=True)]
    return tuple((total // 2, total - total // 2) for total in totals)


def _unpadded(sides: tuple[int, ...], widths: tuple[tuple[int, int], ...]) -> tuple[slice, ...]:
    """The index of the input inside its padded copy, (…, before:before + side, …)."""
    return (
        slice(None),
        slice(None),
        *(slice(before, before + side) for side, (before, _) in zip(sides, widths, strict=True)),
    )


def _pad(x: NDArray[Any], widths: tuple[tuple[int, int], ...]) -> NDArray[Any]:
    """``x`` with zeros around its spatial axes (axes 2 on): a new array, written once."""
    sides = [side + before + after for side, (before, after) in zip(x.shape[2:], widths, strict=True)]
    padded = np.zeros((*x.shape[:2], *sides), dtype=x.dtype)
    padded[_unpadded(x.shape[2:], widths)] = x
    return padded


def _im2col(x: NDArray[Any], out_size: tuple[int, ...], conv: _ConvNd) -> NDArray[Any]:
    """The column matrix ``cols[(c, u…), (n, i…)] = x_pad[n, c, i·s + u·d …]``, of shape ``(C·K, N·P)``, for the
    kernel size, stride, dilation and padding of the layer ``conv``.

    The windows are a strided view of the padded input, of shape ``(N, C, *out_size, *kernel_size)``: output
    position i moves s elements along an axis, kernel offset u moves d. The reshape copies them, once, with the
    channel and kernel offsets as rows and the batch and output positions as columns."""
    kernel_size, stride, dilation, widths = conv.kernel_size, conv.stride, conv.dilation, conv.padding_widths
    if any(before or after for before, after in widths):
        x = _pad(x, widths)
    n, c = x.shape[:2]
    steps = x.strides[2:]
    windows: NDArray[Any] = as_strided(
        x,
        shape=(n, c, *out_size, *kernel_size),
        strides=(
            *x.strides[:2],
            *(t * s for t, s in zip(steps, stride, strict=True)),
            *(t * d for t, d in zip(steps, dilation, strict=True)),
        ),
        writeable=False,
    )
    k = len(kernel_size)
    rows_then_columns = (1, *range(2 + k, 2 + 2 * k), 0, *range(2, 2 + k))  # (C, *kernel, N, *out)
    cols: NDArray[Any] = windows.transpose(rows_then_columns).reshape(c * math.prod(kernel_size), -1)
    return cols


def _col2im(
    grad_cols: NDArray[Any], input_shape: tuple[int, ...], out_size: tuple[int, ...], conv: _ConvNd
) -> NDArray[Any]:
    """∂L/∂x from the gradient of ``conv``'s columns, ``(C·K, N·P)``: each kernel offset's gradient is added back
    into the positions of the padded input it was read from (``+=`` on a strided slice, so overlapping windows add
    up), then the padding is cropped. Returns an array of ``input_shape`` (N, C, …)."""
    kernel_size, stride, dilation, widths = conv.kernel_size, conv.stride, conv.dilation, conv.padding_widths
    n, c, *sides = input_shape
    padded_sides = [side + before + after for side, (before, after) in zip(sides, widths, strict=True)]
    padded = np.zeros((c, n, *padded_sides), grad_cols.dtype)  # (C, N, …): the layout of the columns
    grad_cols = grad_cols.reshape(c, math.prod(kernel_size), n, *out_size)  # (C, K, N, *out): K over the offsets u…
    if all(s == 1 for s in stride) and out_size[-1] <= SHORT_ROW:
        _add_windows_flat(padded, grad_cols, dilation)
    else:
        reads = [
            [slice(u * d, u * d + s * (o - 1) + 1, s) for u in range(k)]
            for k, d, s, o in zip(kernel_size, dilation, stride, out_size, strict=True)
        ]
        everything = slice(None)
        for offset, read in enumerate(itertools.product(*reads)):  # read: the positions i·s + u·d of offset u…
            window = (everything, everything, *read)
            padded[window] += grad_cols[:, offset]
    return np.ascontiguousarray(padded[_unpadded(tuple(sides), widths)].swapaxes(0, 1))  # (N, C, …)


def _add_windows_flat(padded: NDArray[Any], grad_cols: NDArray[Any], dilation: tuple[int, ...]) -> None:
    """col2im's adds for stride 1, with whole rows at a time: ``padded`` ``(C, N, *padded_sides)`` gets, for each
    kernel offset u…, ``grad_cols[:, u…]`` ``(C, N, *out)`` added at the positions i + u·d.

    With stride 1, the output positions of one offset are a block of the padded input: out[0] rows of out[-1]
    elements, each row starting a padded row's length after the previous one. Written into rows of the padded
    row's length (the elements past out[-1] zero), the block is one contiguous run of the flattened padded input,
    starting at offset u·d's flat position: one ``+=`` of long runs per offset, not of rows of out[-1] elements
    (4 elements for a 4×4 output)."""
    c, n, *padded_sides = padded.shape
    k, out = grad_cols.shape[1], grad_cols.shape[3:]
    wide = np.zeros((c, k, n, *out[:-1], padded_sides[-1]), grad_cols.dtype)  # each row as long as a padded row
    wide[..., : out[-1]] = grad_cols
    wide = wide.reshape(c, k, n, math.prod(wide.shape[3:]))  # sizes written out: N may be 0
    flat = padded.reshape(c, n, math.prod(padded_sides))
    run = wide.shape[-1] - (padded_sides[-1] - out[-1])  # the last row's zeros past out[-1] would run off the end
    row_strides = [math.prod(padded_sides[axis + 1 :]) for axis in range(len(padded_sides))]
    kernel_size = [(p - o) // d + 1 for p, o, d in zip(padded_sides, out, dilation, strict=True)]
    for offset, u in enumerate(itertools.product(*(range(size) for size in kernel_size))):
        start = sum(ui * d * step for ui, d, step in zip(u, dilation, row_strides, strict=True))
        flat[:, :, start : start + run] += wide[:, offset, :, :run]


class _ConvNd(Layer):
    """What Conv1d and Conv2d share: their arguments (checked and normalised to tuples), their parameters with
    PyTorch's initialisation, the output size and the repr. Each subclass writes its forward and backward."""

    parameter_symbols = {"W": "weight", "b": "bias"}

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple,
        padding: str | IntOrTuple,
        dilation: IntOrTuple,
        bias: bool,
        rng: RngLike,
        dtype: Any,
    ) -> None:
        name = type(self).__name__
        self.in_channels = check_int(name, "in_channels", in_channels, minimum=1)
        self.out_channels = check_int(name, "out_channels", out_channels, minimum=1)
        bias = check_bool(name, "bias", bias)
        dtype = float_dtype(dtype, name)
        self.kernel_size = _as_tuple(kernel_size, dims, "kernel_size", name, minimum=1)
        self.stride = _as_tuple(stride, dims, "stride", name, minimum=1)
        self.dilation = _as_tuple(dilation, dims, "dilation", name, minimum=1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: padding must be 'valid', 'same', an int or a tuple, got {padding!r}")
            if padding == "same" and self.stride != (1,) * dims:
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride={self.stride}")
            self.padding: str | tuple[int, ...] = padding
        else:
            self.padding = _as_tuple(padding, dims, "padding", name, minimum=0)
        self.padding_widths = _padding_widths(self.padding, self.kernel_size, self.dilation)
        # PyTorch's default, kaiming_uniform with a = √5: U(−1/√fan_in, 1/√fan_in) for the weight and the bias
        bound = 1.0 / math.sqrt(self.in_channels * math.prod(self.kernel_size))
        generator = make_rng(rng, name)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(generator.uniform(-bound, bound, shape), dtype)
        self.bias = Parameter(generator.uniform(-bound, bound, self.out_channels), dtype) if bias else None

    def _output_size(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """⌊(side + padding − d·(k − 1) − 1)/s⌋ + 1 per spatial axis; a ValueError where the dilated kernel does not
        fit into the padded input."""
        padded = [
            side + before + after for side, (before, after) in zip(input_shape[2:], self.padding_widths, strict=True)
        ]
        spans = [d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation, strict=True)]
        if any(p < span for p, span in zip(padded, spans, strict=True)):
            raise ValueError(
                f"{type(self).__name__}: input of shape {input_shape} is too small for the kernel: padded to "
                f"{tuple(padded)} on its spatial axes, less than the dilated kernel's {tuple(spans)} "
                f"(kernel_size={self.kernel_size}, padding={self.padding}, dilation={self.dilation})"
            )
        return tuple((p - span) // s + 1 for p, span, s in zip(padded, spans, self.stride, strict=True))

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if isinstance(self.padding, str) or any(self.padding):
            text += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    r"""2-D convolution over ``(N, C, H, W)`` input:
    ``y[n, o, i, j] = b[o] + Σ_{c,u,v} W[o, c, u, v] x_pad[n, c, i·s + u·d, j·s + v·d]``.

    ``x_pad`` is the input with ``padding`` zeros around H and W, ``s`` the
    stride and ``d`` the dilation of each axis. (Like PyTorch's, it is a
    cross-correlation: the kernel is not flipped.) The forward is im2col: the
    windows of ``x_pad`` are copied once into the column matrix
    ``cols[(c, u, v), (n, i, j)] = x_pad[n, c, i·s + u·d, j·s + v·d]``, of
    shape ``(C·kh·kw, N·Ho·Wo)``, and ``y = W cols + b`` is one matrix product,
    W read as an ``(out_channels, C·kh·kw)`` matrix.

    Local derivatives, with ``g = ∂L/∂y`` read as an ``(out_channels, N·Ho·Wo)``
    matrix and the cached ``cols``:

    - ``∂L/∂W = g colsᵀ``, i.e. ∂L/∂W[o, c, u, v] = Σ_{n,i,j} g[n, o, i, j] x_pad[n, c, i·s + u·d, j·s + v·d]
    - ``∂L/∂b = Σ_{n,i,j} g[n, o, i, j]``
    - ``∂L/∂x``: ``Wᵀ g`` is the gradient of each column; col2im adds it back
      where the column was read, ∂L/∂x_pad[n, c, i·s + u·d, j·s + v·d] +=
      Σ_o W[o, c, u, v] g[n, o, i, j] (overlapping windows add up), and crops
      the padding. With stride 1 this is the full convolution of g with the
      flipped kernel (docs/layers.md shows why).

    Args:
        in_channels: C, the input's channels.
        out_channels: the output's channels (the number of kernels).
        kernel_size: ``(kh, kw)``, or one int for both.
        stride: ``(sh, sw)``, or one int (default 1).
        padding: the zeros added on both sides of H and of W, ``(ph, pw)`` or
            one int (default 0); or ``"valid"`` (none) or ``"same"`` (the
            output keeps the input's size; stride 1 only; ``d·(k − 1)`` zeros
            in all, the odd one after).
        dilation: ``(dh, dw)``, the spacing of the kernel's elements, or one
            int (default 1).
        bias: if ``False``, no bias is added.
        rng: an int seed or a ``numpy.random.Generator`` for the initial
            values (``None``: a fresh unseeded Generator).
        dtype: the parameters' dtype, float64 (default) or float32.

    There are no groups and no padding modes other than zeros.

    Shape:
        ``(N, C, H, W) -> (N, out_channels, Ho, Wo)`` with
        ``Ho = ⌊(H + 2·ph − dh·(kh − 1) − 1)/sh⌋ + 1`` and Wo likewise. The
        input needs the batch axis (an unbatched ``(C, H, W)`` is a ValueError:
        pass ``x[None]``), and its padded H and W must hold the dilated kernel.

    Attributes:
        weight: Parameter of shape ``(out_channels, in_channels, kh, kw)``
            (PyTorch's layout), drawn from U(−1/√fan_in, 1/√fan_in) with
            fan_in = in_channels·kh·kw: PyTorch's default, kaiming_uniform with
            a = √5.
        bias: Parameter of shape ``(out_channels,)``, drawn from the same
            distribution, or ``None`` when ``bias=False``.
        padding_widths: the zeros before and after H and W, ``"same"``
            resolved: ``((before, after), (before, after))``.
        cols: the cached column matrix, what ∂L/∂W needs: kh·kw/(sh·sw) times
            the size of the input, about.

    Example:
        >>> conv = Conv2d(1, 16, 3, rng=0)
        >>> conv(np.ones((2, 1, 8, 8))).shape
        (2, 16, 6, 6)
        >>> conv
        Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1))
    """

    local_derivative = {"∂L/∂x": "col2im(Wᵀ g)", "∂L/∂W": "g colsᵀ", "∂L/∂b": "Σ_{n,i,j} g"}

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: str | IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        bias: bool = True,
        *,
        rng: RngLike = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation, bias, rng, dtype)
        self.cols: NDArray[np.floating]  # cached column matrix (C·kh·kw, N·Ho·Wo), set by forward
        self.input_shape: tuple[int, ...]  # cached input shape (N, C, H, W), set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2d: expected input of shape (N, {self.in_channels}, H, W), got {x.shape}")
        n, (out_h, out_w) = x.shape[0], self._output_size(x.shape)
        # cols[(c, u, v), (n, i, j)] = x_pad[n, c, i·s + u·d, j·s + v·d]
        self.cols = _im2col(x, (out_h, out_w), self)
        self.input_shape = x.shape
        # y[n, o, i, j] = b[o] + Σ_{c,u,v} W[o, c, u, v] cols[(c, u, v), (n, i, j)]: one matrix product, taken
        # sample by sample on a view of cols, so that y comes out (N, out_channels, Ho·Wo) without a transpose
        weight = self.weight.data.reshape(self.out_channels, -1)
        y: NDArray[np.floating] = weight @ self.cols.reshape(len(self.cols), n, out_h * out_w).swapaxes(0, 1)
        if self.bias is not None:
            y += self.bias.data[:, None]
        return y.reshape(n, self.out_channels, out_h, out_w)

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating] | None:
        g = grad_output.swapaxes(0, 1).reshape(self.out_channels, -1)  # g[o, (n, i, j)]
        # parameter gradients (added): ∂L/∂W = g colsᵀ, ∂L/∂b = Σ_{n,i,j} g
        self.weight.grad += (g @ self.cols.T).reshape(self.weight.data.shape)
        if self.bias is not None:
            self.bias.grad += g.sum(axis=1)
        # input gradient, unless nothing reads it (the first layer, in fit): Wᵀ g, added back window by window
        if not self.needs_input_grad:
            return None
        grad_cols = self.weight.data.reshape(self.out_channels, -1).T @ g
        return _col2im(grad_cols, self.input_shape, grad_output.shape[2:], self)


class Conv1d(_ConvNd):
    r"""1-D convolution over ``(N, C, L)`` input:
    ``y[n, o, i] = b[o] + Σ_{c,u} W[o, c, u] x_pad[n, c, i·s + u·d]``.

    Conv2d with one spatial axis (see :class:`Conv2d`): ``x_pad`` is the input
    with ``padding`` zeros at both ends, ``s`` the stride, ``d`` the dilation.
    The forward copies the windows once into
    ``cols[(c, u), (n, i)] = x_pad[n, c, i·s + u·d]``, of shape
    ``(C·k, N·Lo)``, and ``y = W cols + b`` is one matrix product, W read as
    an ``(out_channels, C·k)`` matrix.

    Local derivatives, with ``g = ∂L/∂y`` read as an ``(out_channels, N·Lo)``
    matrix and the cached ``cols``:

    - ``∂L/∂W = g colsᵀ``, i.e. ∂L/∂W[o, c, u] = Σ_{n,i} g[n, o, i] x_pad[n, c, i·s + u·d]
    - ``∂L/∂b = Σ_{n,i} g[n, o, i]``
    - ``∂L/∂x``: col2im of ``Wᵀ g``, ∂L/∂x_pad[n, c, i·s + u·d] +=
      Σ_o W[o, c, u] g[n, o, i] (overlapping windows add up), padding cropped.

    Args:
        in_channels: C, the input's channels.
        out_channels: the output's channels (the number of kernels).
        kernel_size: k, an int or a 1-tuple.
        stride: s ≥ 1 (default 1).
        padding: the zeros added at both ends, p ≥ 0 (default 0); or
            ``"valid"`` (none) or ``"same"`` (the output keeps the input's
            length; stride 1 only; ``d·(k − 1)`` zeros in all, the odd one at
            the end).
        dilation: d ≥ 1, the spacing of the kernel's elements (default 1).
        bias: if ``False``, no bias is added.
        rng: an int seed or a ``numpy.random.Generator`` for the initial
            values (``None``: a fresh unseeded Generator).
        dtype: the parameters' dtype, float64 (default) or float32.

    There are no groups and no padding modes other than zeros.

    Shape:
        ``(N, C, L) -> (N, out_channels, Lo)`` with
        ``Lo = ⌊(L + 2p − d·(k − 1) − 1)/s⌋ + 1``. The input needs the batch
        axis (an unbatched ``(C, L)`` is a ValueError: pass ``x[None]``), and
        its padded length must hold the dilated kernel.

    Attributes:
        weight: Parameter of shape ``(out_channels, in_channels, k)`` (PyTorch's
            layout), drawn from U(−1/√fan_in, 1/√fan_in) with
            fan_in = in_channels·k: PyTorch's default, kaiming_uniform with a = √5.
        bias: Parameter of shape ``(out_channels,)``, drawn from the same
            distribution, or ``None`` when ``bias=False``.
        padding_widths: the zeros before and after L, ``"same"`` resolved:
            ``((before, after),)``.
        cols: the cached column matrix, what ∂L/∂W needs.

    Example:
        >>> conv = Conv1d(2, 4, 3, padding="same", rng=0)
        >>> conv(np.ones((5, 2, 10))).shape
        (5, 4, 10)
        >>> conv
        Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same)
    """

    local_derivative = {"∂L/∂x": "col2im(Wᵀ g)", "∂L/∂W": "g colsᵀ", "∂L/∂b": "Σ_{n,i} g"}

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: str | IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        bias: bool = True,
        *,
        rng: RngLike = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation, bias, rng, dtype)
        self.cols: NDArray[np.floating]  # cached column matrix (C·k, N·Lo), set by forward
        self.input_shape: tuple[int, ...]  # cached input shape (N, C, L), set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv1d: expected input of shape (N, {self.in_channels}, L), got {x.shape}")
        n, (out_l,) = x.shape[0], self._output_size(x.shape)
        # cols[(c, u), (n, i)] = x_pad[n, c, i·s + u·d]
        self.cols = _im2col(x, (out_l,), self)
        self.input_shape = x.shape
        # y[n, o, i] = b[o] + Σ_{c,u} W[o, c, u] cols[(c, u), (n, i)]: one matrix product, sample by sample on a
        # view of cols, so that y comes out (N, out_channels, Lo) without a transpose
        weight = self.weight.data.reshape(self.out_channels, -1)
        y: NDArray[np.floating] = weight @ self.cols.reshape(len(self.cols), n, out_l).swapaxes(0, 1)
        if self.bias is not None:
            y += self.bias.data[:, None]
        return y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating] | None:
        g = grad_output.swapaxes(0, 1).reshape(self.out_channels, -1)  # g[o, (n, i)]
        # parameter gradients (added): ∂L/∂W = g colsᵀ, ∂L/∂b = Σ_{n,i} g
        self.weight.grad += (g @ self.cols.T).reshape(self.weight.data.shape)
        if self.bias is not None:
            self.bias.grad += g.sum(axis=1)
        # input gradient, unless nothing reads it (the first layer, in fit): Wᵀ g, added back window by window
        if not self.needs_input_grad:
            return None
        grad_cols = self.weight.data.reshape(self.out_channels, -1).T @ g
        return _col2im(grad_cols, self.input_shape, grad_output.shape[2:], self)
