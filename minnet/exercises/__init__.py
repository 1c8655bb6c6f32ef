"""Graded backpropagation exercises: write a layer's backward, get a score and the likely mistake.

For learners (docs/exercises.md):

- ``minnet exercise start tanh`` writes the stub ``tanh.py``: a layer whose forward is given and whose backward
  is a TODO; ``minnet exercise check tanh.py`` grades it.
- :func:`check` grades a class or function in Python and returns a :class:`Report`: truthy only when fully
  correct, ``.score`` in [0, 1], ``.items``, ``.feedback`` naming the likely mistake.
- :func:`cmp` compares one intermediate result with the reference's, in one line.

For teachers (docs/teaching.md): weights per item (``check(name, candidate, weights={...})``),
:func:`register` for an exercise of your own, :func:`check_file` for a folder of submissions.
"""

from .compare import Comparison, cmp
from .exercise import CONTRACT_ITEMS, Case, Exercise, Mistake, get, names, register, unregister
from .grading import ItemResult, Report, check
from .submission import SubmissionError, check_file

from . import catalog  # noqa: F401  # registers the built-in exercises, after the names they use  # isort: skip

__all__ = [
    "CONTRACT_ITEMS",
    "Case",
    "Comparison",
    "Exercise",
    "ItemResult",
    "Mistake",
    "Report",
    "SubmissionError",
    "check",
    "check_file",
    "cmp",
    "get",
    "names",
    "register",
    "unregister",
]
