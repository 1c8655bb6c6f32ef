"""Turning a seed, a Generator or None into a numpy Generator, and :func:`manual_seed`."""

from __future__ import annotations

import numpy as np

RngLike = int | np.random.Generator | None

_seed_sequence: np.random.SeedSequence | None = None


def manual_seed(seed: int | None) -> None:
    """Make everything built with ``rng=None`` reproducible from ``seed``.

    After ``manual_seed(seed)`` each ``rng=None`` (a layer's initial weights, a
    ``Dropout``'s masks, ``fit``'s and ``DataLoader``'s shuffling, ``minnet.init``)
    draws its own generator from one stream seeded by ``seed``, in the order they
    are made: the same program after the same ``manual_seed`` builds the same
    weights, masks and batch orders. An explicit ``rng=`` is used as it is.
    ``manual_seed(None)`` goes back to fresh entropy for each ``rng=None``.

    Example:
        >>> manual_seed(0); a = Linear(3, 2).weight.data.copy()
        >>> manual_seed(0); b = Linear(3, 2).weight.data.copy()
        >>> manual_seed(None); bool((a == b).all())
        True
    """
    global _seed_sequence
    if seed is None:
        _seed_sequence = None
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"manual_seed: seed must be an int >= 0 or None, got {seed!r}")
    _seed_sequence = np.random.SeedSequence(int(seed))


def make_rng(rng: RngLike, owner: str = "") -> np.random.Generator:
    """An int seed gives a new ``numpy.random.Generator``; ``None`` one from fresh
    entropy, or after :func:`manual_seed` the next one of its stream; a Generator
    is used as it is (so several layers can draw from one stream). ``owner`` (a
    class or function) starts the message of a bad ``rng``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        if _seed_sequence is not None:
            return np.random.default_rng(_seed_sequence.spawn(1)[0])
        return np.random.default_rng()
    where = f"{owner}: " if owner else ""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"{where}rng must be an int seed >= 0, a numpy.random.Generator or None, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(f"{where}rng must be an int seed, a numpy.random.Generator or None, got {type(rng).__name__}")
