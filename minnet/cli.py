"""The ``minnet`` command.

Every argument is checked while it is parsed, before any work is done: a bad
value ends the command with status 2 and one line on stderr that names the
argument, what it expects and what it got.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (status 2), not the usage and then the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _whole_number(text: str, what: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what} >= {least}, got {text}, not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected {what} >= {least}, got {value}")
    return value


def _steps(text: str) -> int:
    return _whole_number(text, "a number of steps", 0)


def _seed(text: str) -> int:
    return _whole_number(text, "a seed", 0)


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite learning rate > 0, got {text}, not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite learning rate > 0, got {text}")
    return value


def _png_path(text: str) -> str:
    """A path the PNG can be written to: its directory exists and takes a new file (tried, then removed)."""
    expected = "expected a path of a PNG file to write"
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}")
    path = Path(text)
    directory = path.parent
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}, which is a directory")
    if not directory.exists():
        raise argparse.ArgumentTypeError(f"{expected} in an existing directory, got {text!r} ({directory} is missing)")
    if not directory.is_dir():
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r} ({directory} is not a directory)")
    if path.exists() and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}, which exists and is not writable")
    try:  # os.access says yes to root on a directory that takes no file (/sys): try it
        handle, probe = tempfile.mkstemp(prefix=".minnet-", suffix=".png", dir=directory)
    except OSError as error:
        raise argparse.ArgumentTypeError(
            f"{expected} in a writable directory, got {text!r} ({directory}: {error.strerror or error})"
        ) from None
    os.close(handle)
    os.remove(probe)
    return text


def _exercise_name(text: str) -> str:
    from .exercises import names

    if text not in names():
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(names())}, got {text!r}")
    return text


def _directory(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"expected an existing directory, got {text!r}")
    return text


def _python_file(text: str) -> str:
    path = Path(text)
    if path.suffix != ".py" or not path.is_file():
        why = (
            "which is a directory"
            if path.is_dir()
            else "which does not exist"
            if not path.exists()
            else "not a .py file"
        )
        raise argparse.ArgumentTypeError(f"expected a Python file (.py) to grade, got {text!r}, {why}")
    return text


def _add_exercise_commands(commands: Any) -> dict[str, argparse.ArgumentParser]:
    """``minnet exercise list | start | check``; returns the parser of each action (for its errors)."""
    exercise = commands.add_parser("exercise", help="graded backprop exercises: list, start, check")
    actions = exercise.add_subparsers(dest="action", metavar="action", required=True)
    listing = actions.add_parser("list", help="the exercises, one a line")
    start = actions.add_parser("start", help="write the stub file NAME.py into DIR (default: the current directory)")
    start.add_argument("name", metavar="NAME", type=_exercise_name, help="the exercise (see minnet exercise list)")
    start.add_argument("directory", metavar="DIR", type=_directory, nargs="?", default=".", help="where to write it")
    start.add_argument("--force", action="store_true", help="overwrite NAME.py if it exists")
    check = actions.add_parser("check", help="grade FILE; exit status 0 only when fully correct")
    check.add_argument("file", metavar="FILE", type=_python_file, help="the submission, a .py file")
    check.add_argument(
        "--exercise", type=_exercise_name, help="the exercise FILE answers (default: its EXERCISE = '...' line)"
    )
    check.add_argument("--seed", type=_seed, help="the seed of the hidden inputs (default: a fresh one)")
    return {"list": listing, "start": start, "check": check}


def _exercise(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import exercises

    if args.action == "list":
        for name in exercises.names():
            print(f"{name:<22} {exercises.get(name).summary}")
        return 0
    if args.action == "start":
        path = Path(args.directory) / f"{args.name}.py"
        if path.exists() and not args.force:
            parser.error(f"argument DIR: {path} exists; pass --force to overwrite it")
        path.write_text(exercises.get(args.name).source(), encoding="utf-8")
        print(f"wrote {path}: write the backward, then run: minnet exercise check {path}")
        return 0
    try:
        module = exercises.submission.import_file(args.file)
    except exercises.SubmissionError as error:
        print(f"minnet exercise check: error: {error}".replace("\n", " "), file=sys.stderr)
        return 1
    try:
        exercise = exercises.submission.exercise_of(module, args.exercise)
    except exercises.SubmissionError as error:
        parser.error(f"argument FILE: {error} with --exercise NAME")
    try:
        candidate = exercises.submission.find_candidate(module, exercise)
    except exercises.SubmissionError as error:
        print(f"minnet exercise check: error: {error}", file=sys.stderr)
        return 1
    report = exercises.check(exercise.name, candidate, rng=args.seed)
    print(report)
    print(f"(hidden case: --seed {report.seed})")
    return 0 if report else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="minnet", description="minnet: neural networks from local derivatives")
    parser.add_argument("--version", action="version", version=f"minnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command", required=True)
    demo = commands.add_parser(
        "demo", help="the two-layer network of the derivation: gradients two ways, then training"
    )
    demo.add_argument("--steps", type=_steps, default=500, help="training steps, >= 0 (default 500)")
    demo.add_argument("--lr", type=_learning_rate, default=5.0, help="learning rate, > 0 (default 5.0)")
    demo.add_argument("--seed", type=_seed, default=0, help="seed of the initial weights, >= 0 (default 0)")
    demo.add_argument(
        "--plot",
        metavar="PATH",
        type=_png_path,
        help="write the training loss curve to PATH as a PNG (needs the plot extra: matplotlib)",
    )
    exercise_actions = _add_exercise_commands(commands)
    args = parser.parse_args(argv)

    if args.command == "exercise":
        return _exercise(args, exercise_actions[args.action])

    if args.command == "demo":
        from .derivation import run_demo

        if args.plot:  # before the demo runs: a missing matplotlib is an error up front, not after training
            try:
                from .plot import loss_curve
            except ImportError as error:
                demo.error(f"argument --plot: {error}")
        losses = run_demo(steps=args.steps, lr=args.lr, seed=args.seed)
        if args.plot:
            try:
                loss_curve(losses, args.plot, title="the derivation's network: full-batch SGD")
            except OSError as error:  # the directory was writable when checked; it no longer is
                print(f"minnet demo: error: could not write the loss curve to {args.plot}: {error}", file=sys.stderr)
                return 1
            print(f"loss curve written to {args.plot}")
    return 0
