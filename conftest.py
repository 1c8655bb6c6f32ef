"""Names every doctest in minnet's docstrings can use without importing them."""

import numpy as np
import pytest

import minnet


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict) -> None:
    doctest_namespace["np"] = np
    doctest_namespace["minnet"] = minnet
    for name in minnet.__all__:
        doctest_namespace[name] = getattr(minnet, name)


@pytest.fixture(autouse=True)
def _restore_print_options():
    """Docs pages and the demo set numpy's print options; no test sees another's."""
    saved = np.get_printoptions()
    yield
    np.set_printoptions(**saved)
