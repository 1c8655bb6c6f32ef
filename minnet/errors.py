"""The exception types minnet raises."""

from __future__ import annotations


class BackwardBeforeForwardError(RuntimeError):
    """``backward`` was called on a layer that has not run ``forward`` yet,
    so there is no cache to compute the local derivative from."""
