"""Tools for testing layers: the checks minnet's own layers pass, for yours.

- :func:`check_layer` / :func:`check_loss`: one call that runs every check and
  returns a report (truthy when all passed; ``assert check_layer(...)`` prints it).
- :class:`LayerTestCase` / :class:`LossTestCase`: subclass, name the factory and
  a shape, and pytest runs each check as its own test item.
- :mod:`minnet.testing.strategies`: hypothesis strategies for layer inputs
  (needs the optional ``hypothesis`` package).
- :mod:`minnet.testing.broken`: a gallery of wrong layers that the checks catch.
- :func:`draw_values`: the drawn parameter values every check also runs at
  (a parameter that starts at 1 or 0 hides a backward that forgets it).
"""

from .case import LayerTestCase, LossTestCase
from .checks import CHECKS, Check, CheckReport, check_layer, check_loss
from .values import draw_values

__all__ = [
    "CHECKS",
    "Check",
    "CheckReport",
    "LayerTestCase",
    "LossTestCase",
    "check_layer",
    "check_loss",
    "draw_values",
]
