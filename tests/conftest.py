"""Under CI, a skipped oracle test is a failure: CI must compare with PyTorch, not skip it.

The oracle tests (marked ``oracle``; files named ``test_oracle_*.py``) skip with
a reason where torch is missing, which is right on a laptop without torch. CI
runs ``.ci/run`` with the environment variable ``CI=true`` and installs torch
through the ``test`` extra; there, such a skip means the comparison did not run,
so it is reported as a failure.

The ONNX export tests (marked ``onnx``) run the exported graphs with onnxruntime and skip where
onnx or onnxruntime is missing; the ``test`` extra installs both, so under CI such a skip fails the same way.

The Graphviz tests (marked ``graphviz``) need the graphviz package and the ``dot`` program, the page tests
(marked ``browser``) Playwright and Debian's ``chromium``; ``.ci/run`` installs the programs and the ``test``
extra the packages, so under CI their skips fail too.

Under CI, hypothesis runs derandomized too (the profile ``"ci"``): each run draws the same examples, so a
red CI run replays, and nothing is read from or written to an example database. A test's own ``@settings``
(max_examples, deadline) inherits these from the loaded profile."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


settings.register_profile("ci", derandomize=True, database=None)
if _in_ci():
    settings.load_profile("ci")


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


#: The markers of the tests CI must not skip, and what runs their comparison.
_REFERENCES = {
    "oracle": "PyTorch: install the test extra (torch==2.13.0)",
    "onnx": "onnxruntime: install the test extra (onnx==1.23.2, onnxruntime==1.31.1)",
    "graphviz": "Graphviz: install the test extra (graphviz) and the dot program (apt-get install graphviz)",
    "browser": "headless Chromium: install the test extra (playwright) and apt-get install chromium",
}


def _fail(report: pytest.CollectReport | pytest.TestReport, marker: str = "oracle") -> None:
    report.longrepr = (
        f"{marker} test skipped under CI=true ({_skip_reason(report)}); CI must run the comparison with "
        f"{_REFERENCES[marker]}"
    )
    report.outcome = "failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci():
        for marker in _REFERENCES:
            if item.get_closest_marker(marker) is not None:
                _fail(report, marker)
                break


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    """A whole oracle module skipped at import (module-level importorskip) fails too."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci() and os.path.basename(str(collector.path)).startswith("test_oracle"):
        _fail(report)
