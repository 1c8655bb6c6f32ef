"""Checking a state dict against the state it is meant to replace, before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import LoadError


def check_state_dict(
    owner: str, expected: Mapping[str, NDArray[Any]], given: Mapping[str, Any], strict: bool = True
) -> tuple[list[str], list[str]]:
    """Check every key, shape and dtype of ``given`` against ``expected``.

    Returns ``(missing_keys, unexpected_keys)`` (both empty when ``strict``).
    Raises :class:`LoadError` naming the key and both shapes (or dtypes) for a
    mismatch, and for any missing or unexpected key when ``strict``."""
    if not isinstance(given, Mapping):
        raise LoadError(f"{owner}: expected a mapping of name to array, got {type(given).__name__}")
    missing = [key for key in expected if key not in given]
    unexpected = [key for key in given if key not in expected]
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"missing key(s) {missing}")
        if unexpected:
            parts.append(f"unexpected key(s) {unexpected}")
        raise LoadError(f"{owner}: the state does not match: {'; '.join(parts)}")
    for key, target in expected.items():
        if key not in given:
            continue
        value = given[key]
        if not isinstance(value, np.ndarray):
            raise LoadError(f"{owner}: key {key!r} holds a {type(value).__name__}, expected an ndarray")
        if value.shape != target.shape:
            raise LoadError(
                f"{owner}: shape mismatch for key {key!r}: the state has shape {value.shape}, "
                f"the target has shape {target.shape}"
            )
        if value.dtype != target.dtype:
            raise LoadError(
                f"{owner}: dtype mismatch for key {key!r} (shape {value.shape}): the state has dtype "
                f"{value.dtype}, the target has dtype {target.dtype}"
            )
    return missing, unexpected
