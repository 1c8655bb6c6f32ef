"""Turning a seed, a Generator or None into a numpy Generator."""

from __future__ import annotations

import numpy as np

RngLike = int | np.random.Generator | None


def make_rng(rng: RngLike) -> np.random.Generator:
    """An int seed or ``None`` gives a new ``numpy.random.Generator``; a Generator
    is used as it is (so several layers can draw from one stream)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an int seed, a numpy.random.Generator or None, got {type(rng).__name__}")
