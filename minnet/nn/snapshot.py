"""Save and restore everything a diagnostic pass may change, so that it leaves no trace.

:func:`gradcheck`, :func:`jacobian`, :func:`explain`, :func:`health`,
``summary`` and the plots run forward and backward passes on a user's model.
Those passes change parameter gradients, running statistics, random
generators (a dropout mask is drawn from one) and, where a tool needs eval
mode, the modes. Each tool takes a :class:`Snapshot` first and restores it
last: the same array objects hold the same values again.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..parameter import Parameter
from .module import Module, held_items

RandomSource = np.random.Generator | np.random.RandomState


def random_sources(model: Module) -> list[RandomSource]:
    """Every numpy ``Generator`` and ``RandomState`` the model's layers hold, in
    attributes or in lists, tuples and dicts, each once."""
    found: dict[int, RandomSource] = {}
    for _, module in model.named_layers():
        for _, item in held_items(module, (np.random.Generator, np.random.RandomState)):
            found.setdefault(id(item), item)
    return list(found.values())


class Snapshot:
    """The state of a model that a pass can change, taken now, to put back later.

    - every Parameter: its ``data`` and ``grad`` arrays (the objects, and their values);
    - every buffer (running statistics, ``num_batches_tracked``): the object and its value;
    - every random generator the layers hold;
    - every layer's mode.

    :meth:`restore` puts each array object back in its place (if it was
    replaced) and writes the saved values into it, so a reference to a
    buffer or a gradient held elsewhere stays valid. The caches are not put
    back: a layer whose forward ran during the pass is marked so that its next
    ``backward`` is refused until a forward of yours (its caches hold the
    diagnostic's batch, not the one of your pending backward).

    :meth:`restore_randomness` puts back the layers' generators and numpy's
    global random state as they were when the snapshot was taken: what finite
    differences need before each forward, so that every pass draws the same
    dropout mask. :meth:`restore` leaves numpy's global state alone, since
    another thread may be drawing from it; a check by finite differences
    (gradcheck, jacobian, the test kit) does reset it during the check.

    Example:
        >>> model = Sequential(Linear(2, 2, rng=0), BatchNorm1d(2))
        >>> mean = model[1].running_mean
        >>> snapshot = Snapshot(model)
        >>> _ = model(np.arange(8.0).reshape(4, 2)); snapshot.restore()
        >>> model[1].running_mean is mean, mean.tolist()
        (True, [0.0, 0.0])
    """

    def __init__(self, model: Module) -> None:
        self.params: list[tuple[Parameter, NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]] = [
            (p, p.data, p.data.copy(), p.grad, p.grad.copy()) for p in model.parameters()
        ]
        self.versions = [(p.version, p._changed_at) for p, *_ in self.params]
        self.buffers: list[tuple[Module, str, Any, Any]] = []
        self.modes: list[tuple[Module, bool]] = []
        for _, module in model.named_layers():
            self.modes.append((module, module.training))
            for name in module.buffer_names:
                value = getattr(module, name)
                self.buffers.append((module, name, value, copy.deepcopy(value)))
        self.forward_states = [(module, module.__dict__.get("_forward_state")) for module, _ in self.modes]
        self.randomness = [(source, _random_state(source)) for source in random_sources(model)]
        self.global_randomness = np.random.get_state()  # noqa: NPY002 - a layer may draw from the global state
        self._global_calls, self._global_drawn = 0, True

    def restore_randomness(self) -> None:
        """Put back every random generator's state, and numpy's global one when a pass draws from it.

        Setting numpy's global state costs about as much as a small forward pass,
        and minnet's layers never draw from it. So the second call finds out,
        once, whether the pass between the first two calls drew from it (a layer
        that uses ``np.random.rand``); only then is it put back every time."""
        for source, state in self.randomness:
            _set_random_state(source, state)
        calls = self._global_calls = self._global_calls + 1
        if calls == 2:
            self._global_drawn = not _same_random_state(np.random.get_state(), self.global_randomness)  # noqa: NPY002
        if calls == 1 or self._global_drawn:
            np.random.set_state(self.global_randomness)  # noqa: NPY002 - put back what get_state kept

    def restore(self) -> None:
        """Put back the arrays (and the Parameters' versions), the layers' random generators and
        the modes; mark the layers whose forward ran since the snapshot as holding a diagnostic's caches."""
        for param, data, data_values, grad, grad_values in self.params:
            if param.data is not data:
                param.data = data
            if param.grad is not grad:
                param.grad = grad
            data[...] = data_values
            grad[...] = grad_values
        for (param, *_), (version, changed_at) in zip(self.params, self.versions, strict=True):
            # the values are the snapshot's again: so are the versions, and a layer outside the model that
            # shares a Parameter and ran its forward before the snapshot still runs its backward
            param.__dict__["_version"], param.__dict__["_changed_at"] = version, changed_at
        for module, name, value, saved in self.buffers:
            if getattr(module, name) is not value:
                setattr(module, name, value)
            if isinstance(value, np.ndarray):
                value[...] = saved
            else:
                setattr(module, name, saved)
        for source, state in self.randomness:
            _set_random_state(source, state)
        for module, training in self.modes:
            module.training = training
        for module, before in self.forward_states:
            if before == "done" or module.__dict__.get("_forward_state") != before:
                module.__dict__["_forward_state"] = "overwritten"


def _random_state(source: RandomSource) -> Any:
    if isinstance(source, np.random.Generator):
        return copy.deepcopy(source.bit_generator.state)
    return source.get_state()


def _set_random_state(source: RandomSource, state: Any) -> None:
    """Put ``state`` back into ``source`` (the setters copy it: the saved state stays as it is)."""
    if isinstance(source, np.random.Generator):
        source.bit_generator.state = state
    else:
        source.set_state(state)


def _same_random_state(a: Any, b: Any) -> bool:
    """Whether two states of numpy's global RandomState are equal (name, key, position, cached Gaussian)."""
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:])


@contextlib.contextmanager
def preserved(model: Module, mode: bool | None = None) -> Iterator[Snapshot]:
    """Run a pass that leaves no trace: take a :class:`Snapshot`, set the mode
    (``False`` eval, ``True`` training, ``None`` as the model is), and restore
    the snapshot on exit, whether the pass returned or raised. The caches hold
    the pass, and a layer's ``backward`` is refused until its next forward.

    Example:
        >>> model = Sequential(Linear(2, 2, rng=0), Dropout(0.5, rng=1))
        >>> with preserved(model, mode=False):
        ...     model.training
        False
        >>> model.training
        True
    """
    snapshot = Snapshot(model)
    try:
        if mode is not None:
            model.train(mode)
        yield snapshot
    finally:
        snapshot.restore()
