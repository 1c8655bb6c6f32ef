"""Hypothesis strategies for layer inputs (needs the optional ``hypothesis`` package).

Example, a property-based test of a layer of your own::

    from hypothesis import given, settings
    from minnet.testing.strategies import layer_inputs

    @given(layer_inputs(feature_shape=(3,)))
    @settings(max_examples=25, deadline=None)
    def test_scale_gradients(x):
        assert minnet.gradcheck(Scale(3), x)

Shapes whose sides differ from each other (so a transposed gradient cannot pass
by accident), some of them fixed by the layer's constructor, and values kept
away from a kink (where finite differences cannot be taken)::

    @given(layer_inputs(shapes=distinct_shapes((4, 3), resizable=(0,)), min_value=-2, max_value=2, avoid=(0.0,)))
    @settings(deadline=None)
    def test_relu_gradients(x):  # (N, 3), N in [2, 7] but not 3; no value within 1e-2 of 0
        assert minnet.gradcheck(minnet.ReLU(), x)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "minnet.testing.strategies needs the optional package hypothesis: pip install hypothesis"
    ) from error

__all__ = ["KINK_GAP", "away_from", "distinct_shapes", "input_shapes", "layer_inputs"]

#: How far :func:`away_from` keeps values from a kink: 25 times the farthest reach of the five-point
#: central difference at |v| ≤ 2 (2h, h = 1e-4 · max(1, |v|)).
KINK_GAP = 1e-2


def input_shapes(
    feature_shape: Sequence[int] | None = None,
    *,
    min_batch: int = 1,
    max_batch: int = 6,
    min_side: int = 1,
    max_side: int = 5,
    max_feature_dims: int = 2,
) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes ``(N, *feature_shape)`` with N in [min_batch, max_batch]; without a
    ``feature_shape``, 1 to ``max_feature_dims`` feature sides in [min_side, max_side]."""
    batch = st.integers(min_batch, max_batch)
    if feature_shape is not None:
        features = tuple(int(side) for side in feature_shape)
        return batch.map(lambda n: (n, *features))
    sides = st.lists(st.integers(min_side, max_side), min_size=1, max_size=max_feature_dims)
    return st.tuples(batch, sides).map(lambda pair: (pair[0], *pair[1]))


def distinct_shapes(
    template: Sequence[int],
    resizable: Iterable[int] | None = None,
    *,
    min_side: int = 2,
    max_side: int = 7,
    max_elements: int | None = None,
) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes like ``template`` whose sides all differ from each other.

    The sides on the ``resizable`` axes (default: every axis; negative axes
    count from the end) are drawn in [min_side, max_side]; the other axes keep
    the template's side, as a layer's constructor fixes them (``Linear(3, 5)``
    fixes the input's last side to 3). No two sides of a drawn shape are equal,
    the fixed ones included, so a gradient transposed or summed over the wrong
    axis cannot pass by accident. With ``max_elements`` no shape has more
    elements: the free axes are visited in a drawn order, each drawing a side
    that still lets the axes after it fit, so any side can appear on any free
    axis and no example is rejected. A ValueError says so when the fixed sides
    repeat or no shape fits. The strategy shrinks towards small sides.
    """
    shape = tuple(int(side) for side in template)
    axes = list(range(len(shape)) if resizable is None else resizable)
    for axis in axes:
        if not -len(shape) <= axis < len(shape):
            raise ValueError(f"distinct_shapes: axis {axis} is out of range for the template {shape}")
    free = sorted({axis % len(shape) for axis in axes})
    fixed = [side for axis, side in enumerate(shape) if axis not in free]
    if len(set(fixed)) < len(fixed):
        raise ValueError(f"distinct_shapes: the fixed sides of {shape} repeat: {fixed}")
    available = [side for side in range(min_side, max_side + 1) if side not in fixed]
    budget = math.inf if max_elements is None else max_elements / math.prod(fixed)
    if len(available) < len(free) or math.prod(available[: len(free)]) > budget:
        raise ValueError(
            f"distinct_shapes: no shape like {shape} has {len(free)} free sides in [{min_side}, {max_side}] that "
            f"differ from each other and from the fixed {fixed}"
            + ("" if max_elements is None else f", with at most {max_elements} elements")
        )

    @st.composite
    def shapes(draw: st.DrawFn) -> tuple[int, ...]:
        sides: dict[int, int] = {}
        left = budget
        order = draw(st.permutations(free))
        for position, axis in enumerate(order):
            later = len(order) - position - 1
            taken = {sides[a] for a in order[:position]}

            def fits(side: int, taken: set[int] = taken, later: int = later, left: float = left) -> bool:
                rest = [s for s in available if s not in taken and s != side][:later]
                return side not in taken and side * math.prod(rest) <= left

            sides[axis] = draw(st.sampled_from([side for side in available if fits(side)]))
            left /= sides[axis]
        return tuple(sides.get(axis, side) for axis, side in enumerate(shape))

    return shapes()


def away_from(
    values: NDArray[Any],
    points: Sequence[float],
    gap: float = KINK_GAP,
    *,
    low: float | NDArray[Any] = -math.inf,
    high: float | NDArray[Any] = math.inf,
) -> NDArray[Any]:
    """``values`` with every element closer than ``gap`` to one of ``points``
    moved to the edge of that gap, a new array.

    The element moves to the nearer edge (upwards when it sits on the point)
    unless that edge leaves [low, high] (numbers, or arrays that broadcast
    against ``values``), then to the other. For finite differences at a kink
    (ReLU at 0, a Huber loss at ±δ): a stencil that straddles it fails a
    correct layer. Points should lie more than ``2 · gap`` apart; an element
    is left alone where neither edge fits: ``away_from([-1.0, -0.004, 0.0,
    1.995], [0.0, 2.0], low=-2.0, high=2.0)`` is ``[-1.0, -0.01, 0.01, 1.99]``.
    """
    moved = np.array(values, copy=True)
    for point in points:
        near = np.abs(moved - point) < gap
        upper, lower = point + gap, point - gap
        go_up = (moved >= point) | (lower < low)
        go_up &= upper <= high
        go_down = ~go_up & (lower >= low)
        moved = np.where(near & go_up, upper, np.where(near & go_down, lower, moved))
    return moved.astype(np.asarray(values).dtype, copy=False)


def layer_inputs(
    feature_shape: Sequence[int] | None = None,
    *,
    shapes: st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: Any = np.float64,
    min_value: float = -5.0,
    max_value: float = 5.0,
    avoid: Sequence[float] = (),
    gap: float = KINK_GAP,
    **shape_options: Any,
) -> st.SearchStrategy[NDArray[Any]]:
    """Float arrays for a layer's input: finite values in [min_value, max_value],
    shaped by ``shapes`` or by :func:`input_shapes` (``feature_shape`` and
    ``shape_options`` passed on).

    ``avoid``: kinks of the layer (ReLU's 0); values within ``gap`` of one are
    moved to the edge of the gap by :func:`away_from`, staying in
    [min_value, max_value]. Hypothesis likes 0.0 and arrays of one repeated
    value, so without it a ReLU's finite differences would straddle the kink."""
    shape_strategy = shapes if shapes is not None else input_shapes(feature_shape, **shape_options)
    if np.dtype(dtype) == np.float32:
        elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=32)
    else:
        elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=64)
    arrays = hnp.arrays(dtype=dtype, shape=shape_strategy, elements=elements)
    if not avoid:
        return arrays
    points = tuple(float(point) for point in avoid)
    return arrays.map(lambda x: away_from(x, points, gap, low=min_value, high=max_value))
