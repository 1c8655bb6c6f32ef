"""Central finite differences: the one place minnet computes derivatives numerically.

:func:`gradcheck`, the test kit (:func:`~minnet.testing.check_layer`) and
:func:`~minnet.jacobian` all stand on these two functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

Value = TypeVar("Value", float, NDArray[np.float64])


def five_point_derivative(f_at: Callable[[float], Value], h: float) -> Value:
    """The five-point central difference of ``t ↦ f_at(t)`` at ``t = 0``:
    f'(0) ≈ (−f(2h) + 8 f(h) − 8 f(−h) + f(−2h)) / (12 h), exact for polynomials up
    to degree 4. ``f_at`` may return a float or an array (then elementwise)."""
    return (-f_at(2 * h) + 8 * f_at(h) - 8 * f_at(-h) + f_at(-2 * h)) / (12 * h)


def partial_derivatives(f: Callable[[], Any], array: NDArray[Any], step: float = 1e-4) -> NDArray[np.float64]:
    """∂f/∂array[index] for every element of ``array``, by five-point central differences.

    ``f()`` reads ``array`` (and whatever else it likes); each element is moved
    in place by ±h and ±2h, ``h = step · max(1, |v|)``, and put back exactly.
    The result has shape ``array.shape + shape of f()``: the gradient of a
    scalar ``f``, or for an array-valued ``f`` the Jacobian, one input element
    per leading index.

    Example:
        >>> x = np.array([1.0, 2.0])
        >>> partial_derivatives(lambda: float(np.sum(x**2)), x).round(8)
        array([2., 4.])
    """
    first = np.asarray(f(), dtype=np.float64)
    result = np.zeros(array.shape + first.shape)
    for index in np.ndindex(array.shape):
        original = array[index]

        def f_at(offset: float, index: tuple[int, ...] = index, original: Any = original) -> NDArray[np.float64]:
            array[index] = original + offset
            return np.asarray(f(), dtype=np.float64)

        result[index] = five_point_derivative(f_at, step * max(1.0, abs(float(original))))
        array[index] = original
    return result
