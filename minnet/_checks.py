"""One-line checks of the arguments of constructors and functions.

Each check names its owner (the class or function), the argument, what was expected and what came, and raises
the exception PyTorch raises for the same mistake: TypeError for a value of the wrong type, ValueError for a
value of the right type out of its range. A bool is not an int here (``Linear(True, 3)`` is refused), numpy's
integer and float scalars are ints and floats. Each check returns the value as a plain Python value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray


def describe(value: Any) -> str:
    """``value`` for a message: its repr (shortened) and, unless it is an int or a float, its type."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return text
    return f"{text} ({type(value).__name__})"


def is_int(value: Any) -> bool:
    """Whether ``value`` is an int or a numpy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (int, float or numpy's), not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_int(owner: str, name: str, value: Any, minimum: int | None = None) -> int:
    """``value`` as an int, at least ``minimum``; TypeError if it is not an int, ValueError if it is smaller."""
    expected = {None: "an int", 0: "an int >= 0", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")
    if not is_int(value):
        raise TypeError(f"{owner}: {name} must be {expected}, got {describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}: {name} must be {expected}, got {value}")
    return int(value)


def check_real(
    owner: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    infinite: bool = False,
) -> float:
    """``value`` as a float in the interval from ``low`` to ``high`` (either may be open or absent).

    TypeError if it is not a real number; ValueError if it is NaN, infinite (unless ``infinite``) or outside.
    """
    if low is not None and high is not None:
        expected = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        expected = f"a {'' if infinite else 'finite '}number {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        expected = f"a {'' if infinite else 'finite '}number {'<' if high_open else '<='} {high:g}"
    else:
        expected = "a number" if infinite else "a finite number"
    if not is_real(value):
        raise TypeError(f"{owner}: {name} must be {expected}, got {describe(value)}")
    number = float(value)
    inside = not math.isnan(number) and (infinite or math.isfinite(number))
    if low is not None:
        inside = inside and (number > low if low_open else number >= low)
    if high is not None:
        inside = inside and (number < high if high_open else number <= high)
    if not inside:
        raise ValueError(f"{owner}: {name} must be {expected}, got {value}")
    return number


def check_bool(owner: str, name: str, value: Any) -> bool:
    """``value`` as a bool; TypeError for anything else (``bias="no"`` would otherwise be true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {describe(value)}")
    return bool(value)


def check_choice(owner: str, name: str, value: Any, choices: Iterable[str]) -> str:
    """``value``, one of the strings ``choices``; ValueError otherwise (as PyTorch's reductions)."""
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        got = repr(value) if isinstance(value, str) else describe(value)
        expected = ", ".join(map(repr, options[:-1])) + f" or {options[-1]!r}" if len(options) > 1 else repr(options[0])
        raise ValueError(f"{owner}: {name} must be {expected}, got {got}")
    return value


def check_whole(owner: str, name: str, value: Any, minimum: int) -> int:
    """``value``, an int or a float without fraction (``2.0``), at least ``minimum``, as an int."""
    expected = f"a whole number >= {minimum}"
    if not is_real(value):
        raise TypeError(f"{owner}: {name} must be {expected}, got {describe(value)}")
    if not math.isfinite(value) or value != int(value) or value < minimum:  # 2.5 is not silently truncated to 2
        raise ValueError(f"{owner}: {name} must be {expected}, got {value}")
    return int(value)


def check_path(owner: str, name: str, value: Any) -> str | os.PathLike[str]:
    """``value``, a str or an ``os.PathLike``; TypeError otherwise."""
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{owner}: {name} must be a path (a str or os.PathLike), got {describe(value)}")
    return value


def float_dtype(dtype: Any, owner: str) -> np.dtype[Any]:
    """``dtype`` as a numpy float dtype, or a TypeError naming ``owner``."""
    try:
        resolved: np.dtype[Any] = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"{owner}: dtype must be a float dtype, got {dtype!r}") from error
    if resolved.kind != "f":
        raise TypeError(f"{owner}: dtype must be a float dtype, got {resolved}")
    return resolved


def real_array(owner: str, name: str, data: Any, dtype: DTypeLike | None = None) -> NDArray[Any]:
    """``data`` as a new array of real numbers (bools and ints included); TypeError for complex numbers (their
    imaginary part would be dropped), strings, objects, ``None`` and ragged nested lists."""
    try:
        array = np.array(data, copy=True)
    except ValueError as error:  # a ragged nested list
        raise TypeError(f"{owner}: {name} must be an array of real numbers, got {describe(data)}") from error
    if array.dtype.kind not in "biuf":
        what = f"complex numbers (dtype {array.dtype})" if array.dtype.kind == "c" else describe(data)
        raise TypeError(f"{owner}: {name} must be an array of real numbers, got {what}")
    return array if dtype is None else array.astype(dtype, copy=False)
