"""The training examples run as scripts and reach what their docstrings promise."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def percent(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, text
    return float(match.group(1))


def test_digits_mlp_reaches_97_percent():
    out = run("digits_mlp.py")
    assert percent(r"test accuracy ([\d.]+)%", out) >= 97.0, out


def test_digits_cnn_reaches_98_percent():
    out = run("digits_cnn.py")
    assert percent(r"test accuracy ([\d.]+)%", out) >= 98.0, out


def test_diabetes_regression_prints_both_r2():
    out = run("diabetes_regression.py")
    match = re.search(r"minnet MLP (-?[\d.]+)\s+scikit-learn MLPRegressor (-?[\d.]+)", out)
    assert match, out
    assert float(match.group(1)) > 0.2, out


@pytest.mark.parametrize(("name", "pattern", "least"), [("xor.py", r"four exact corners: ([\d.]+)%", 100.0),
                                                 ("spirals.py", r"test accuracy ([\d.]+)%", 95.0)])  # fmt: skip
def test_toy_examples(name, pattern, least):
    assert percent(pattern, run(name)) >= least


def test_char_lm_quick_run_beats_the_unigram_baseline():
    """The bounded run (4 epochs on 60,000 characters, about 15 s) measured 2.192 nats/char against a
    baseline of 3.230: a margin of 1.04; the test asks for 0.7 of it."""
    out = run("char_lm.py", "--quick")
    match = re.search(r"validation loss ([\d.]+) nats/char, unigram baseline ([\d.]+) nats/char", out)
    assert match, out
    val_loss, baseline = float(match.group(1)), float(match.group(2))
    assert val_loss < baseline - 0.7, out


def test_glorot_bengio_quick_run_shows_the_papers_two_observations(tmp_path):
    """The bounded run (5 hidden layers of 256 units, 1,000 SGD updates; about 12 s of CPU) measured: the
    sigmoid network's top hidden layer at a mean activation of 0.19 after 500 updates while layers 1 to 4
    stayed between 0.50 and 0.58; the spread (largest over smallest std of ∂L/∂s across the five layers) at
    the start 10.2 for tanh with the standard initialisation and 1.3 with the normalised one."""
    path = tmp_path / "runs.json"
    run("glorot_bengio.py", "--quick", "--json", str(path))
    runs = {(r["activation"], r["initialisation"]): r for r in json.loads(path.read_text(encoding="utf-8"))}

    sigmoid = runs["sigmoid", "standard"]
    start, early = sigmoid["mean"][0], sigmoid["mean"][sigmoid["updates"].index(500)]
    assert all(0.45 < m < 0.55 for m in start), start  # every layer starts unsaturated, near σ(0) = 1/2
    assert early[-1] < 0.5 * min(early[:-1]), early  # the top layer has fallen well below the others

    def spread(record):
        return max(record["grad_std"]) / min(record["grad_std"])

    standard, normalised = spread(runs["tanh", "standard"]), spread(runs["tanh", "normalised"])
    assert normalised < 2.0, normalised
    assert standard > 3 * normalised, (standard, normalised)
