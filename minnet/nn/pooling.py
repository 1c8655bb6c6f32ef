"""Pooling layers: MaxPool2d and AvgPool2d, over windows of an (N, C, H, W) input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .layer import Layer

IntPair = int | tuple[int, int]
#: The input bytes the layers pool at a time (a block of samples): the kh·kw passes over a block then read it from
#: the cache, not from memory. 512 KiB was the fastest of 128 KiB to 4 MiB (1 MiB L2) for MaxPool2d(2) on
#: (64, 32, 26, 26): float64 forward + backward 12 ms in blocks, 22 ms without.
BLOCK_BYTES = 1 << 19


def _pair(value: Any, name: str, layer: str, least: int) -> tuple[int, int]:
    """``value``, an int or a pair of ints each at least ``least``, as a pair; an error naming the layer otherwise."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < least:
        raise ValueError(f"{layer}: {name} must be at least {least}, got {value!r}")
    return int(pair[0]), int(pair[1])


class _Pool2d(Layer):
    """What both poolings share: the arguments, the checks, the padded input and its window offsets.

    Window ``(a, b)`` of the input padded by ``padding`` on each side starts at row ``a·sh`` and column ``b·sw``.
    Its element at offset ``(i, j)``, ``0 ≤ i < kh``, ``0 ≤ j < kw``, is offset ``k = i·kw + j`` (row-major
    order); the elements at one offset of all windows are a strided slice of the padded input, ``(N, C, H_out,
    W_out)``, so each layer loops over the kh·kw offsets, not over the windows.
    """

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> None:
        name = type(self).__name__
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride  # as PyTorch: None means kernel_size
        self._kernel = _pair(kernel_size, "kernel_size", name, 1)
        self._strides = _pair(self.stride, "stride", name, 1)
        self._pads = _pair(padding, "padding", name, 0)
        if any(2 * p > k for p, k in zip(self._pads, self._kernel, strict=True)):
            raise ValueError(
                f"{name}: padding must be at most half of kernel_size, got padding={padding!r} "
                f"and kernel_size={kernel_size!r}"
            )
        # neighbours along an axis with stride < kernel_size share elements
        self._overlapping = any(s < k for s, k in zip(self._strides, self._kernel, strict=True))
        self.x_shape: tuple[int, ...]  # cached input shape, set by forward

    def _padded(self, x: NDArray[np.floating], fill: float) -> NDArray[np.floating]:
        """``x`` as ``(N, C, H + 2ph, W + 2pw)``, padded with ``fill``, once the shape is checked; caches its shape."""
        name, (kh, kw), (ph, pw) = type(self).__name__, self._kernel, self._pads
        if x.ndim not in (3, 4):
            raise ValueError(f"{name}: expected input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
        h, w = x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw
        if h < kh or w < kw:
            raise ValueError(
                f"{name}: kernel_size {(kh, kw)} is larger than the padded input {(h, w)}, got input of shape {x.shape}"
            )
        self.x_shape = x.shape
        x = x.reshape(-1, *x.shape[-3:])  # (C, H, W) is a batch of one
        if not (ph or pw):
            return x
        padded = np.full((*x.shape[:2], h, w), fill, dtype=x.dtype)
        padded[:, :, ph : h - ph, pw : w - pw] = x
        return padded

    def _out_size(self, axis: int) -> int:
        """H_out (``axis=0``) or W_out (1): ⌊(H + 2p − k) / s⌋ + 1 windows fit in the padded input."""
        n, k, s, p = self.x_shape[axis - 2], self._kernel[axis], self._strides[axis], self._pads[axis]
        return (n + 2 * p - k) // s + 1

    def _offsets(self) -> list[tuple[slice, slice]]:
        """For each offset ``k = i·kw + j``: the rows and columns of the padded input that hold element ``(i, j)``
        of every window, ``padded[:, :, rows, cols]`` of shape ``(N, C, H_out, W_out)``."""
        (kh, kw), (sh, sw), ho, wo = self._kernel, self._strides, self._out_size(0), self._out_size(1)
        return [
            (slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw))
            for i in range(kh)
            for j in range(kw)
        ]

    @staticmethod
    def _blocks(padded: NDArray[np.floating]) -> list[slice]:
        """Slices of the batch axis: blocks of samples of about ``BLOCK_BYTES`` of the padded input each."""
        step = max(1, BLOCK_BYTES // max(1, padded[:1].nbytes))  # [:1]: an empty batch has no padded[0]
        return [slice(n, n + step) for n in range(0, len(padded), step)]

    def _zero_gradient(self, dtype: np.dtype[Any]) -> NDArray[np.floating]:
        """Zeros shaped like the padded input, to add each window's gradient into."""
        (ph, pw), (*batch, c, h, w) = self._pads, self.x_shape
        return np.zeros((math.prod(batch), c, h + 2 * ph, w + 2 * pw), dtype=dtype)  # a batch of one for (C, H, W)

    def _add_into(self, slot: NDArray[np.floating], value: NDArray[np.floating]) -> None:
        """``slot += value``, into the zeros of :meth:`_zero_gradient`. Windows that do not overlap hold each element
        once at most: then ``slot`` still holds zeros, and is written, not added (a read less, 1.4× faster)."""
        if self._overlapping:
            slot += value
        else:
            slot[...] = value

    def _unpadded(self, grad: NDArray[np.floating]) -> NDArray[np.floating]:
        """The padding cut off the padded input's gradient, in the input's shape."""
        (ph, pw), (h, w) = self._pads, self.x_shape[-2:]
        return grad[:, :, ph : ph + h, pw : pw + w].reshape(self.x_shape)

    def _inside(self, axis: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """For each output row (``axis=0``) or column (1): the offset of the first element of its windows inside
        the input (not padding), and how many of the window's elements lie inside."""
        k, s, p, n = self._kernel[axis], self._strides[axis], self._pads[axis], self.x_shape[axis - 2]
        start = s * np.arange(self._out_size(axis))  # in the padded input
        return np.maximum(p - start, 0), np.minimum(start + k, p + n) - np.maximum(start, p)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    r"""Max pooling ``y[n, c, a, b] = max_{i, j} x_pad[n, c, a·sh + i, b·sw + j]`` over each kh×kw window.

    The input is padded with −∞ (padding never wins), windows start every ``stride`` rows and columns.
    ``forward`` caches ``argmax``, the offset ``k = i·kw + j`` of each window's maximum (a small int array),
    not the input.

    Tie rule, PyTorch's (CPU): the first maximum of a window in row-major order takes the gradient: later
    equal values lose. A NaN takes over as in PyTorch (the output is NaN, the gradient goes to the window's
    last NaN); a window whose input values are all −∞ gives its first element inside the input.

    Local derivative, with ``g = ∂L/∂y``: each window passes its ``g`` to its argmax,
    ``∂L/∂x[n, c, r, s] = Σ_{windows w whose argmax is (r, s)} g_w``; where windows overlap
    (stride < kernel_size) an element that is the maximum of several windows gets the sum of their gradients.
    Every other element gets 0.

    Args:
        kernel_size: the window's size, an int or a pair ``(kh, kw)``.
        stride: the step between windows, an int or a pair (default ``kernel_size``).
        padding: −∞ added on each side, an int or a pair, at most half of kernel_size (default 0).
            Only ``ceil_mode=False`` (PyTorch's default): windows that would run past the padded input are
            left out.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)`` with ``H_out = ⌊(H + 2 ph − kh) / sh⌋ + 1`` (W alike);
        ``(C, H, W) -> (C, H_out, W_out)``. The dtype is kept.

    Example:
        >>> pool = MaxPool2d(2)
        >>> pool(np.arange(16.0).reshape(1, 1, 4, 4))
        array([[[[ 5.,  7.],
                 [13., 15.]]]])
        >>> pool.backward(np.ones((1, 1, 2, 2)))[0, 0]
        array([[0., 0., 0., 0.],
               [0., 1., 0., 1.],
               [0., 0., 0., 0.],
               [0., 1., 0., 1.]])
        >>> pool
        MaxPool2d(kernel_size=2, stride=2, padding=0)
    """

    local_derivative = {"∂L/∂x": "Σ_w g_w at the first max of window w"}

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> None:
        super().__init__(kernel_size, stride, padding)
        self.argmax: NDArray[np.unsignedinteger[Any]]  # cached offset i·kw + j of each window's max

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        padded, offsets = self._padded(x, -np.inf), self._offsets()
        y = np.empty((*padded.shape[:2], self._out_size(0), self._out_size(1)), x.dtype)
        self.argmax = np.zeros(y.shape, np.min_scalar_type(len(offsets) - 1))
        if any(self._pads):  # padding never wins, not even over −∞: start at each window's first element inside
            (first_row, _), (first_col, _) = self._inside(0), self._inside(1)
            self.argmax[...] = np.add.outer(first_row * self._kernel[1], first_col)
        for b in self._blocks(padded):
            top, arg = y[b], self.argmax[b]
            top[...] = padded[b, :, offsets[0][0], offsets[0][1]]
            for k, (rows, cols) in enumerate(offsets[1:], start=1):
                v = padded[b, :, rows, cols]
                greater = v > top  # strictly: a tie keeps the earlier element
                np.maximum(top, v, out=top)
                np.maximum(arg, greater * arg.dtype.type(k), out=arg)  # k grows: the latest greater one wins
        if np.isnan(y).any():  # a NaN takes over (PyTorch's rule): the window's last NaN
            for k, (rows, cols) in enumerate(offsets):
                self.argmax[np.isnan(padded[:, :, rows, cols])] = k
        return y.reshape((*self.x_shape[:-2], *y.shape[-2:]))

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        grad = self._zero_gradient(grad_output.dtype)
        g = grad_output.reshape(self.argmax.shape)
        # 0 · inf is NaN: where g is not finite, the elements that are not a window's argmax get 0 by np.where
        # (the product with the mask is faster, and exact for a finite g)
        finite = np.isfinite(g).all()
        # ∂L/∂x: each window's g added at its argmax (the elements at one offset of all windows are distinct)
        for b in self._blocks(grad):
            for k, (rows, cols) in enumerate(self._offsets()):
                at_argmax = self.argmax[b] == k
                self._add_into(grad[b, :, rows, cols], g[b] * at_argmax if finite else np.where(at_argmax, g[b], 0))
        return self._unpadded(grad)


class AvgPool2d(_Pool2d):
    r"""Average pooling ``y[n, c, a, b] = (1/d) Σ_{i, j} x_pad[n, c, a·sh + i, b·sw + j]`` over each kh×kw window.

    The input is padded with zeros. The divisor ``d`` is ``kh·kw`` (``count_include_pad=True``, PyTorch's
    default: padding counts as zeros), or, with ``count_include_pad=False``, the number of the window's
    elements inside the input. ``forward`` caches ``divisor`` (a number, or one per output position).

    Local derivative, with ``g = ∂L/∂y``: every element of window ``w`` gets ``g_w / d_w``,
    ``∂L/∂x[n, c, r, s] = Σ_{windows w that hold (r, s)} g_w / d_w``: summed where windows overlap
    (stride < kernel_size), 0 for an element in no window.

    Args:
        kernel_size: the window's size, an int or a pair ``(kh, kw)``.
        stride: the step between windows, an int or a pair (default ``kernel_size``).
        padding: zeros added on each side, an int or a pair, at most half of kernel_size (default 0).
            Only ``ceil_mode=False`` (PyTorch's default): windows that would run past the padded input are
            left out.
        count_include_pad: whether the padding counts in the divisor (default ``True``).

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)`` with ``H_out = ⌊(H + 2 ph − kh) / sh⌋ + 1`` (W alike);
        ``(C, H, W) -> (C, H_out, W_out)``. The dtype is kept.

    Example:
        >>> pool = AvgPool2d(2, stride=1)
        >>> pool(np.arange(9.0).reshape(1, 1, 3, 3))
        array([[[[2., 3.],
                 [5., 6.]]]])
        >>> pool.backward(np.ones((1, 1, 2, 2)))[0, 0]
        array([[0.25, 0.5 , 0.25],
               [0.5 , 1.  , 0.5 ],
               [0.25, 0.5 , 0.25]])
        >>> pool
        AvgPool2d(kernel_size=2, stride=1, padding=0)
    """

    local_derivative = {"∂L/∂x": "Σ_w g_w / d_w on each element of window w"}

    def __init__(
        self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0, count_include_pad: bool = True
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad
        self.divisor: int | NDArray[np.floating]  # cached d: kh·kw, or (H_out, W_out) counts of elements inside

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        padded, offsets = self._padded(x, 0.0), self._offsets()
        total = np.empty((*padded.shape[:2], self._out_size(0), self._out_size(1)), x.dtype)
        for b in self._blocks(padded):
            total[b] = padded[b, :, offsets[0][0], offsets[0][1]]
            for rows, cols in offsets[1:]:
                total[b] += padded[b, :, rows, cols]
        self.divisor = len(offsets)
        if not self.count_include_pad and any(self._pads):
            (_, rows_inside), (_, cols_inside) = self._inside(0), self._inside(1)
            self.divisor = np.outer(rows_inside, cols_inside).astype(x.dtype)
        y: NDArray[np.floating] = total / self.divisor
        return y.reshape((*self.x_shape[:-2], *y.shape[-2:]))

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        grad = self._zero_gradient(grad_output.dtype)
        share = grad_output.reshape(*grad.shape[:2], self._out_size(0), self._out_size(1)) / self.divisor  # g_w / d_w
        # ∂L/∂x: g_w / d_w added on every element of window w
        for b in self._blocks(grad):
            for rows, cols in self._offsets():
                self._add_into(grad[b, :, rows, cols], share[b])
        return self._unpadded(grad)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")
