"""``cmp``: one intermediate result of a hand-written backward against the reference's, in one line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..parameter import Parameter


@dataclass(frozen=True)
class Comparison:
    """What :func:`cmp` found: truthy when the two are approximately equal.

    Attributes:
        name: the name printed (``"dW1"``).
        exact: every element bitwise equal.
        approximate: ``np.allclose`` with the given tolerances.
        maxdiff: the largest absolute difference (``inf`` when the shapes differ).
        problem: what made the two incomparable (shapes, values that are not numbers), or ``""``.
    """

    name: str
    exact: bool
    approximate: bool
    maxdiff: float
    problem: str = ""

    def __bool__(self) -> bool:
        return self.approximate

    def __str__(self) -> str:
        if self.problem:
            return f"{self.name:15s} | {self.problem}"
        return (
            f"{self.name:15s} | exact: {self.exact!s:5s} | approximate: {self.approximate!s:5s} "
            f"| maxdiff: {self.maxdiff:.2g}"
        )


def cmp(
    name: str,
    mine: Any,
    reference: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    echo: Callable[[str], None] | None = print,
) -> Comparison:
    """Compare a hand-computed array with the reference's and print one line (as the "backprop ninja" does).

    ``reference`` is an array, or a :class:`~minnet.Parameter`, whose ``.grad`` is then compared (the gradient a
    reference layer's backward added). ``echo=None`` prints nothing.

    Example:
        >>> import numpy as np
        >>> result = cmp("dW1", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
        dW1             | exact: False | approximate: True  | maxdiff: 1e-12
        >>> bool(result), result.exact
        (True, False)
    """
    want = np.asarray(reference.grad if isinstance(reference, Parameter) else reference)
    got = np.asarray(mine.grad if isinstance(mine, Parameter) else mine)
    if got.shape != want.shape:
        result = Comparison(
            name, False, False, float("inf"), f"shape mismatch: mine {got.shape}, reference {want.shape}"
        )
    elif got.dtype.kind not in "fiub" or want.dtype.kind not in "fiub":
        result = Comparison(name, False, False, float("inf"), f"not numbers: mine {got.dtype}, reference {want.dtype}")
    else:
        difference = np.abs(got.astype(np.float64) - want.astype(np.float64))
        maxdiff = float(difference.max(initial=0.0)) if not np.isnan(difference).any() else float("nan")
        exact = bool(np.array_equal(got, want))
        result = Comparison(name, exact, bool(np.allclose(got, want, rtol=rtol, atol=atol)), maxdiff)
    if echo is not None:
        echo(str(result))
    return result
