"""Two switches for the checks every layer's wrappers make: :func:`detect_anomaly`
(stop at the first nan or inf of a pass) and :func:`allow_stale_weights` (let a
backward run on Parameters changed since its forward).

Both hold for the whole process, every thread, while their ``with`` block runs;
both nest, and both work as decorators (``@minnet.detect_anomaly()``). A switch
is what the innermost block still running says (the one entered last), off when
none runs, so blocks of several threads that end in any order leave it off.
"""

from __future__ import annotations

import contextlib
import threading
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import AnomalyError, StaleWeightsError
from .parameter import Parameter, data_version

if TYPE_CHECKING:
    from .nn.module import Module

__all__ = ["allow_stale_weights", "detect_anomaly"]

#: Whether detect_anomaly is on: the wrappers read it once per forward and backward.
anomaly = [False]
#: Whether allow_stale_weights is on: read only when some Parameter was written since a layer's forward.
stale_allowed = [False]
#: The blocks of each switch still running, in the order they were entered, each with its setting.
_blocks: dict[int, dict[object, bool]] = {id(anomaly): {}, id(stale_allowed): {}}
_blocks_lock = threading.Lock()


@contextlib.contextmanager
def _switched(flag: list[bool], enabled: bool) -> Iterator[None]:
    """Set ``flag`` as long as this block runs: on leaving, the setting of the last entered block still running
    (another thread's, or the block around this one), else off. Saving the state found on entering and putting it
    back instead would leave the switch on for good after the blocks of two threads ended out of order."""
    blocks, token = _blocks[id(flag)], object()
    with _blocks_lock:
        blocks[token] = flag[0] = bool(enabled)
    try:
        yield
    finally:
        with _blocks_lock:
            del blocks[token]
            flag[0] = next(reversed(blocks.values()), False)


@contextlib.contextmanager
def detect_anomaly(enabled: bool = True) -> Iterator[None]:
    """Check every value of every pass for nan and inf, and raise at the first.

    Inside the block, each layer's and loss's wrappers check the arrays of a
    pass: in ``forward`` the inputs (before the layer runs; given by position
    or by name, but not keyword-only options such as an attention mask, whose
    ``-inf`` is meant) and the output; in
    ``backward`` the incoming ``grad_output``, the gradient returned, and the
    ``.grad`` of the layer's own Parameters once it has added into them. The
    first non-finite value raises :class:`~minnet.errors.AnomalyError` naming
    the pass, the layer (its path in the model and its class), what held the
    value and the index of its first non-finite element. Since an inner
    layer's output is checked before the layer after it runs, the error names
    the layer where the value first appeared.

    Inside the block, each layer also keeps a checksum of its Parameters at
    forward, so a backward refuses Parameters written in place after the
    forward even without ``Parameter.mark_changed()``
    (:class:`~minnet.errors.StaleWeightsError`).

    Outside the block the checks cost one flag test per pass, and a nan passes
    silently. ``detect_anomaly(False)`` turns the checks off inside an outer
    block. The switch holds for every thread.

    Example:
        >>> from minnet import Linear
        >>> layer = Linear(2, 1, rng=0)
        >>> with detect_anomaly():
        ...     layer(np.array([[1.0, np.inf]]))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        minnet.errors.AnomalyError: forward of Linear(...): input x has inf at index (0, 1) (the only non-finite value)
    """
    with _switched(anomaly, enabled):
        yield


@contextlib.contextmanager
def allow_stale_weights(allowed: bool = True) -> Iterator[None]:
    """Let ``backward`` run although a layer's Parameters changed after its forward.

    Outside the block, a layer's ``backward`` raises
    :class:`~minnet.errors.StaleWeightsError` when one of its own Parameters
    was changed after its ``forward`` (``Parameter.version`` went up: an
    optimizer step, an initialiser, a load, ``p.data = ...``). Inside, the
    backward runs: its gradient comes from the forward's caches (the old
    values) and, where the layer reads the Parameter in backward (Linear's
    ``g Wᵀ``), from the new values. ``allow_stale_weights(False)`` checks again
    inside an outer block.

    Example:
        >>> from minnet import SGD, Linear
        >>> layer = Linear(2, 1, rng=0)
        >>> y = layer(np.ones((1, 2)))
        >>> SGD(layer.parameters(), lr=0.1).step()
        >>> with allow_stale_weights():
        ...     grad_x = layer.backward(np.ones((1, 1)))
    """
    with _switched(stale_allowed, allowed):
        yield


# -- what the wrappers call -----------------------------------------------------------------------------


def own_parameters(module: Module) -> list[tuple[str, Parameter]]:
    """The Parameters ``module`` holds itself (not those of its child layers), with their names."""
    from .nn.module import held_items

    return [(name, item) for name, item in held_items(module) if isinstance(item, Parameter)]


def check_stale(module: Module) -> None:
    """Raise StaleWeightsError when one of ``module``'s own Parameters was changed
    after its forward (after the write whose number the forward noted), or an
    attribute holding one was set to another Parameter (``Module.__setattr__``
    notes -1 and the name). When none was, note the count of now, so the next
    backward compares once again."""
    if stale_allowed[0]:
        return  # the caches stay stale: a backward after the block is refused
    state = module.__dict__
    seen = state["_data_version"]
    replaced = state.get(state["_replaced"]) if seen == -1 else None  # -1: a Parameter attribute was set since
    if isinstance(replaced, Parameter):
        _refuse(module, state["_replaced"], replaced, "was replaced by another Parameter after forward")
    for name, param in own_parameters(module):
        if param._changed_at > seen:
            _refuse(module, name, param, f"was changed after forward (it is at version {param.version})")
    state["_data_version"] = data_version[0]


def _refuse(module: Module, name: str, param: Parameter, what: str) -> None:
    layer = type(module).__name__
    raise StaleWeightsError(
        f"{layer}.backward: parameter {name!r} {param.data.shape} {what}: an optimizer step or an in-place write "
        "between forward and backward makes the gradient wrong, as the caches hold the forward of the old values; "
        "run forward again, or call backward inside minnet.allow_stale_weights() if that is meant",
        module,
        name,
    )


def _checksum(array: np.ndarray[Any, Any]) -> int:
    return zlib.crc32(np.ascontiguousarray(array).data)  # the bytes, as they are in memory


def record_checksums(module: Module) -> None:
    """In anomaly mode, at forward: a checksum of each own Parameter's data, with the forward's
    ``_input_specs`` (a new list at every forward of a layer), which tells a later forward run
    outside anomaly mode, that recorded none, from this one."""
    state = module.__dict__
    sums = {name: _checksum(param.data) for name, param in own_parameters(module)}
    state["_checksums"] = (state.get("_input_specs"), sums)


def compare_checksums(module: Module) -> None:
    """In anomaly mode, at backward: refuse Parameters whose data changed since forward without a version."""
    state = module.__dict__
    recorded = state.get("_checksums")
    if stale_allowed[0] or recorded is None or recorded[0] is None or recorded[0] is not state.get("_input_specs"):
        return  # allowed, or no checksum of the last forward (it ran outside anomaly mode)
    sums = recorded[1]
    for name, param in own_parameters(module):
        if name in sums and _checksum(param.data) != sums[name]:
            _refuse(
                module,
                name,
                param,
                "was written in place after forward (its values differ; the write did not call mark_changed(), "
                "detect_anomaly's checksum found it)",
            )


def check_finite(module: Module, phase: str, what: str, value: Any) -> None:
    """Raise AnomalyError for the first non-finite element of ``value``: an array, a
    float, or a tuple of those (nested, ``None`` allowed), named ``what``."""
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            check_finite(module, phase, f"{what}[{i}]", item)
        return
    if isinstance(value, (float, np.floating)):
        value = np.asarray(value)
    if type(value) is not np.ndarray or value.dtype.kind != "f":
        return
    finite = np.isfinite(value)
    if finite.all():
        return
    bad = ~finite
    flat = int(np.argmax(bad))
    index = tuple(int(i) for i in np.unravel_index(flat, value.shape))
    raise AnomalyError(module, phase, what, index, float(value.flat[flat]), int(bad.sum()))


def check_forward_inputs(module: Module, args: tuple[Any, ...]) -> None:
    from .nn.loss import Loss

    names = ("pred", "target") if isinstance(module, Loss) else ("input x",)
    for i, arg in enumerate(args):
        check_finite(module, "forward", names[i] if i < len(names) else f"input {i + 1}", arg)


def check_forward_output(module: Module, output: Any) -> None:
    from .nn.loss import Loss

    check_finite(module, "forward", "the loss" if isinstance(module, Loss) else "output", output)
    record_checksums(module)


def check_backward_grad_output(module: Module, grad_output: Any) -> None:
    compare_checksums(module)
    check_finite(module, "backward", "grad_output", grad_output)


def check_backward_result(module: Module, grad_input: Any) -> None:
    from .nn.loss import Loss

    what = "∂L/∂pred" if isinstance(module, Loss) else "the gradient of the input"
    check_finite(module, "backward", what, grad_input)
    for name, param in own_parameters(module):
        check_finite(module, "backward", f"the gradient of parameter {name!r}", param.grad)


def locate(module: Module, error: AnomalyError | StaleWeightsError) -> None:
    """As an AnomalyError or a StaleWeightsError leaves ``module``'s forward or backward: put
    the name of the child it came from in front of its path."""
    if error._outermost is module:
        return
    for name, child in module.named_children():
        if child is error._outermost:
            error.path = f"{name}.{error.path}" if error.path else name
            error._outermost = module
            return
