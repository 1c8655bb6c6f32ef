"""The ``minnet`` command checks every argument before it does any work: a bad value ends it with status 2 and
one line on stderr naming the argument, what it expects and what it got; ``--version`` prints the version."""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import minnet
from minnet.cli import main


def run_minnet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minnet", *args], capture_output=True, text=True, timeout=120)


def unwritable_directory(tmp_path: Path) -> Path:
    """A directory that takes no new file: a read-only one, or for root (who writes anywhere it may) /sys."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        return locked
    try:
        tempfile.mkstemp(dir="/sys")
    except OSError:
        return Path("/sys")
    pytest.skip("running as root and /sys takes files: no unwritable directory to try")


DEMO = "minnet demo: error: argument"
# (arguments, the start of the one stderr line, what it must say next): {tmp} is a fresh directory, {file} a file
# in it, {locked} a directory that takes no file
BAD_ARGUMENTS = [
    (["demo", "--lr", "nan"], f"{DEMO} --lr:", "expected a finite learning rate > 0, got nan"),
    (["demo", "--lr", "inf"], f"{DEMO} --lr:", "expected a finite learning rate > 0, got inf"),
    (["demo", "--lr=-inf"], f"{DEMO} --lr:", "expected a finite learning rate > 0, got -inf"),
    (["demo", "--lr", "1e400"], f"{DEMO} --lr:", "expected a finite learning rate > 0, got 1e400"),
    (["demo", "--lr", "-1"], f"{DEMO} --lr:", "expected a finite learning rate > 0, got -1"),
    (["demo", "--lr", "0"], f"{DEMO} --lr:", "expected a finite learning rate > 0, got 0"),
    (["demo", "--lr", "fast"], f"{DEMO} --lr:", "expected a finite learning rate > 0, got fast, not a number"),
    (["demo", "--lr"], f"{DEMO} --lr:", "expected one argument"),
    (["demo", "--seed", "-1"], f"{DEMO} --seed:", "expected a seed >= 0, got -1"),
    (["demo", "--seed", "1.5"], f"{DEMO} --seed:", "expected a seed >= 0, got 1.5, not a whole number"),
    (["demo", "--steps", "-1"], f"{DEMO} --steps:", "expected a number of steps >= 0, got -1"),
    (["demo", "--steps", "ten"], f"{DEMO} --steps:", "expected a number of steps >= 0, got ten, not a whole number"),
    (["demo", "--steps", "2.5"], f"{DEMO} --steps:", "expected a number of steps >= 0, got 2.5, not a whole number"),
    (
        ["demo", "--plot", "{tmp}/missing/loss.png"],
        f"{DEMO} --plot:",
        "expected a path of a PNG file to write in an existing directory, got '{tmp}/missing/loss.png' "
        "({tmp}/missing is missing)",
    ),
    (
        ["demo", "--plot", "{file}/loss.png"],
        f"{DEMO} --plot:",
        "expected a path of a PNG file to write, got '{file}/loss.png' ({file} is not a directory)",
    ),
    (
        ["demo", "--plot", "{tmp}"],
        f"{DEMO} --plot:",
        "expected a path of a PNG file to write, got '{tmp}', which is a directory",
    ),
    (
        ["demo", "--plot", "{locked}/loss.png"],
        f"{DEMO} --plot:",
        "expected a path of a PNG file to write in a writable directory, got '{locked}/loss.png' ({locked}: ",
    ),
    (["demo", "--plot", ""], f"{DEMO} --plot:", "expected a path of a PNG file to write, got ''"),
    (["train"], "minnet: error: argument command:", "invalid choice: 'train' (choose from 'demo', 'exercise')"),
    ([], "minnet: error:", "the following arguments are required: command"),
    (["demo", "--epochs", "3"], "minnet: error:", "unrecognized arguments: --epochs 3"),
]


@pytest.mark.parametrize(
    ("args", "start", "message"), BAD_ARGUMENTS, ids=[" ".join(args) or "(nothing)" for args, _, _ in BAD_ARGUMENTS]
)
def test_a_bad_argument_exits_2_with_one_line_and_does_no_work(tmp_path, args, start, message):
    names = {"tmp": str(tmp_path), "file": str(tmp_path / "a-file.txt")}
    (tmp_path / "a-file.txt").write_text("not a directory\n")
    if any("{locked}" in arg for arg in args):
        names["locked"] = str(unwritable_directory(tmp_path))
    args, message = [arg.format(**names) for arg in args], message.format(**names)
    done = run_minnet(*args)
    assert done.returncode == 2, done
    assert done.stdout == ""  # nothing ran: no gradients, no training
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{start} {message}"), lines[0]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "locked") == ["a-file.txt"]  # nothing written


def test_version():
    done = run_minnet("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"minnet {minnet.__version__}\n"
    assert done.stderr == ""


@pytest.mark.parametrize("args", [["--steps", "0"], ["--lr", "1e-3", "--seed", "12345678901234567890"]])
def test_edge_values_that_are_fine_run(args, capsys):
    assert main(["demo", *args]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^loss fell from", out, re.M)


def test_the_plot_check_leaves_only_the_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["demo", "--steps", "2", "--plot", str(tmp_path / "loss.png")]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]  # the writability probe was removed


def test_a_plot_that_fails_after_training_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    plot = pytest.importorskip("minnet.plot")

    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(plot, "loss_curve", fail)
    assert main(["demo", "--steps", "2", "--plot", str(tmp_path / "loss.png")]) == 1
    err = capsys.readouterr().err.splitlines()
    path = tmp_path / "loss.png"
    assert err == [f"minnet demo: error: could not write the loss curve to {path}: [Errno 13] Permission denied"]
