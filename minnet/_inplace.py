"""In-place updates that never hold a temporary as large as the array they update.

``grad += x.T @ g`` first makes the whole product, then adds it: for a 2048×2048 weight that is a
16 MiB temporary on top of the gradient itself, and ``data -= lr * grad`` makes another. Taken in
blocks of rows, the same sums need one block's temporary at a time (each element of the result is
still one dot product of a row and a column, over the whole batch).
"""

from __future__ import annotations

from typing import Any

from numpy.typing import NDArray

#: The most bytes a block's temporary holds. Blocks much smaller than this make a product with two BLAS
#: threads slower on a busy machine (each block is one more point where the threads wait for each other).
BLOCK_BYTES = 8 << 20


def _block_rows(out: NDArray[Any]) -> int:
    """How many rows (first-axis slices) of ``out``, an array of more than one block, make one block."""
    return max(1, BLOCK_BYTES // (out.nbytes // len(out)))


def add_product(out: NDArray[Any], a: NDArray[Any], b: NDArray[Any]) -> None:
    """``out += a @ b`` for 2-D arrays, one block of ``out``'s rows (and ``a``'s) at a time.

    Example:
        >>> out = np.ones((2, 2))
        >>> add_product(out, np.eye(2), np.full((2, 2), 3.0))
        >>> out
        array([[4., 4.],
               [4., 4.]])
    """
    if out.nbytes <= BLOCK_BYTES:  # small: one product, as written
        out += a @ b
        return
    rows = _block_rows(out)
    for start in range(0, len(out), rows):
        out[start : start + rows] += a[start : start + rows] @ b


def add_scaled(out: NDArray[Any], scale: float, a: NDArray[Any]) -> None:
    """``out += scale * a`` for arrays of the same shape, one block of rows at a time."""
    if out.nbytes <= BLOCK_BYTES:  # small: one step, as written
        out += scale * a
        return
    rows = _block_rows(out)
    for start in range(0, len(out), rows):
        out[start : start + rows] += scale * a[start : start + rows]
