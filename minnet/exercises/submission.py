"""Reading a submission file: which exercise it answers, and the layer, loss or function in it."""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .exercise import Exercise, get

_count = itertools.count()


class SubmissionError(Exception):
    """A submission file that cannot be graded: it does not import, or holds nothing to grade."""


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
    except Exception as error:
        del sys.modules[name]
        raise SubmissionError(f"importing {path} raised {type(error).__name__}: {error}") from error
    return module


def exercise_of(module: ModuleType, name: str | None = None) -> Exercise:
    """The exercise a module answers: ``name``, else the module's ``EXERCISE = "..."`` (a SubmissionError says
    when there is neither; a KeyError when the name is unknown)."""
    named = name if name is not None else getattr(module, "EXERCISE", None)
    if not isinstance(named, str):
        raise SubmissionError(
            f'{module.__file__} does not say which exercise it answers (no EXERCISE = "..." line): name it'
        )
    return get(named)


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
    raise SubmissionError(
        f"{module.__file__} holds no {what} named {stub_name} (and {len(mine)} other candidates): keep the stub's name"
    )


def check_file(path: str | Path, name: str | None = None, **options: Any) -> Any:
    """Grade a submission file: import it, find its exercise and what to grade, and return
    :func:`~minnet.exercises.check`'s report (``options`` are passed on: ``weights``, ``rng``).

    A file that does not import, or holds nothing to grade, raises :class:`SubmissionError`."""
    from .grading import check

    module = import_file(path)
    exercise = exercise_of(module, name)
    return check(exercise.name, find_candidate(module, exercise), **options)
