"""Reading a submission file: which exercise it answers, and the layer, loss or function in it."""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from .exercise import Exercise, get, names

_count = itertools.count()


class SubmissionError(Exception):
    """A submission file that cannot be graded: it does not import, or holds nothing to grade."""


class SubmissionTimeout(Exception):
    """Raised inside a submission that runs past its time limit, so that it is graded as an error."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`SubmissionTimeout` in whatever runs once ``seconds`` (wall clock) have passed: a submission
    that never returns is graded as one that raised. ``None``: no limit. The limit needs a Unix signal in the
    main thread; elsewhere the block runs without one."""
    if seconds is None or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise SubmissionTimeout(f"ran longer than {seconds:g} s (an endless loop?)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def import_file(path: str | Path) -> ModuleType:
    """Import a Python file as a fresh module (a SubmissionError says why it does not import)."""
    path = Path(path)
    name = f"minnet_submission_{next(_count)}_{path.stem.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SubmissionError(f"{path} is not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look classes' modules up here
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:  # a sys.exit() at import is a file that does not import
        del sys.modules[name]
        raise SubmissionError(f"importing {path} raised {type(error).__name__}: {error}") from error
    return module


def exercise_of(module: ModuleType, name: str | None = None) -> Exercise:
    """The exercise a module answers: ``name``, else the module's ``EXERCISE = "..."`` (a SubmissionError says
    when there is neither, or when the module's names no exercise; a KeyError when ``name`` is unknown)."""
    if name is not None:
        return get(name)
    named = getattr(module, "EXERCISE", None)
    if not isinstance(named, str):
        raise SubmissionError(
            f'{module.__file__} does not say which exercise it answers (no EXERCISE = "..." line): name it'
        )
    try:
        return get(named)
    except KeyError:
        raise SubmissionError(
            f"{module.__file__}: its EXERCISE = {named!r} names no exercise (the exercises are {names()}): name one"
        ) from None


def find_candidate(module: ModuleType, exercise: Exercise) -> Any:
    """The class or function of ``module`` to grade: the one named as the stub's is named, else the only class
    (a layer or loss) or function of the exercise's kind defined in the module."""
    stub_name = exercise.stub.__name__
    found = getattr(module, stub_name, None)
    if found is not None:
        return found
    mine: list[Any]
    if exercise.kind == "function":
        mine = [v for v in vars(module).values() if inspect.isfunction(v) and v.__module__ == module.__name__]
    else:
        base = inspect.getmro(exercise.stub)[1]
        mine = [
            v
            for v in vars(module).values()
            if inspect.isclass(v) and issubclass(v, base) and v.__module__ == module.__name__
        ]
    if len(mine) == 1:
        return mine[0]
    what = "function" if exercise.kind == "function" else "class"
    kind = "function" if exercise.kind == "function" else f"{inspect.getmro(exercise.stub)[1].__name__} class"
    others = f"{len(mine)} others: {', '.join(v.__name__ for v in mine)}" if mine else f"no other {kind}"
    raise SubmissionError(
        f"{module.__file__} holds no {what} named {stub_name}, and {others}: name the one to grade {stub_name}"
    )


def check_file(path: str | Path, name: str | None = None, *, timeout: float | None = None, **options: Any) -> Any:
    """Grade a submission file: import it, find its exercise and what to grade, and return
    :func:`~minnet.exercises.check`'s report (``options`` are passed on: ``weights``, ``rng``).

    ``timeout``: seconds the import and the grading may take together (default: no limit; see
    :func:`time_limit`); a submission still running then is stopped and graded as one that raised.
    A file that does not import, or holds nothing to grade, raises :class:`SubmissionError`."""
    from .grading import check

    with time_limit(timeout):
        module = import_file(path)
        exercise = exercise_of(module, name)
        return check(exercise.name, find_candidate(module, exercise), **options)
