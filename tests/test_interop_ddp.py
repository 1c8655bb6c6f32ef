"""examples/continue_in_torch.py end to end, in its quick form: a model trained in minnet continues in PyTorch,
then under DistributedDataParallel in two gloo processes on 127.0.0.1, whose weights after 5 steps equal a
one-process run over the whole batches; it comes back to minnet with its accuracy. No process is left behind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "continue_in_torch.py"


def workers_running() -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if "continue_in_torch.py --ddp-worker" in line]


@pytest.mark.oracle
def test_training_continues_in_torch_and_under_ddp_and_comes_back():
    pytest.importorskip("torch", reason="the example needs PyTorch; install the test extra (torch==2.13.0 CPU)")
    before = workers_running()
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--quick"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    accuracy = {stage: float(value) for stage, value in re.findall(r"^(.+?): test accuracy ([\d.]+)%", out, re.M)}
    assert accuracy["PyTorch, as exported"] == accuracy["minnet, after training"], out  # the same model
    assert accuracy["minnet, imported back"] == accuracy["PyTorch, after training"], out
    assert accuracy["PyTorch, after training"] >= 90.0, out
    difference = float(re.search(r"largest weight difference ([\d.e+-]+)", out).group(1))
    assert difference <= 1e-6, out
    assert "backward applies" in out, out  # explain's table of the imported model
    assert workers_running() == before, "a DDP worker was left running"
