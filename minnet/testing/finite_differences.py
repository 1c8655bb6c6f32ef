"""Central finite differences: the one place minnet computes derivatives numerically."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray


def five_point_derivative(f_at: Callable[[float], float], h: float) -> float:
    """The five-point central difference of ``t ↦ f_at(t)`` at ``t = 0``:
    f'(0) ≈ (−f(2h) + 8 f(h) − 8 f(−h) + f(−2h)) / (12 h), exact for polynomials up to degree 4."""
    return (-f_at(2 * h) + 8 * f_at(h) - 8 * f_at(-h) + f_at(-2 * h)) / (12 * h)


def _numeric_gradient(f: Callable[[], float], array: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    """Five-point central differences of ``f`` with respect to each element of
    ``array``, perturbed in place and restored exactly, with h = step · max(1, |v|)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]

        def f_at(offset: float, index: tuple[int, ...] = index, original: float = original) -> float:
            array[index] = original + offset
            return f()

        grad[index] = five_point_derivative(f_at, step * max(1.0, abs(original)))
        array[index] = original
    return grad


def _numeric_jacobian(
    f: Callable[[], NDArray[np.float64]], array: NDArray[np.floating], m: int, step: float
) -> NDArray[np.float64]:
    J = np.zeros((m, array.size))
    for k, index in enumerate(np.ndindex(array.shape)):
        original = array[index]
        h = step * max(1.0, abs(float(original)))
        values = []
        for offset in (2 * h, h, -h, -2 * h):
            array[index] = original + offset
            values.append(f())
        array[index] = original
        J[:, k] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
    return J
