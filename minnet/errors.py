"""The exception types minnet raises."""

from __future__ import annotations


class BackwardBeforeForwardError(RuntimeError):
    """``backward`` was called on a layer that has not run ``forward`` yet,
    so there is no cache to compute the local derivative from."""


class LoadError(ValueError):
    """Weights or optimizer state could not be loaded, and nothing was changed.

    Raised by :func:`minnet.load`, ``Layer.load_state_dict`` and
    ``Optimizer.load_state_dict`` (and the schedules') for every way a state can
    fail to fit its target: a missing key, an unexpected key, a shape or dtype
    that differs from the target's (the message names the key and both shapes or
    dtypes), and a file that is truncated, corrupted, not a weights file, or
    holds pickled objects. Every check runs before anything is written, so after
    a LoadError the model or optimizer is exactly as it was.
    """
