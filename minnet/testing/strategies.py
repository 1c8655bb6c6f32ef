"""Hypothesis strategies for layer inputs (needs the optional ``hypothesis`` package).

Example, a property-based test of a layer of your own::

    from hypothesis import given, settings
    from minnet.testing.strategies import layer_inputs

    @given(layer_inputs(feature_shape=(3,)))
    @settings(max_examples=25, deadline=None)
    def test_scale_gradients(x):
        assert minnet.gradcheck(Scale(3), x)
"""

from __future__ import annotations

from collections.abc import Sequence
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

__all__ = ["input_shapes", "layer_inputs"]


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


def layer_inputs(
    feature_shape: Sequence[int] | None = None,
    *,
    shapes: st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: Any = np.float64,
    min_value: float = -5.0,
    max_value: float = 5.0,
    **shape_options: Any,
) -> st.SearchStrategy[NDArray[Any]]:
    """Float arrays for a layer's input: finite values in [min_value, max_value],
    shaped by ``shapes`` or by :func:`input_shapes` (``feature_shape`` and
    ``shape_options`` passed on)."""
    shape_strategy = shapes if shapes is not None else input_shapes(feature_shape, **shape_options)
    if np.dtype(dtype) == np.float32:
        elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=32)
    else:
        elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=64)
    return hnp.arrays(dtype=dtype, shape=shape_strategy, elements=elements)
