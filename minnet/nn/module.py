"""What every layer, loss and container shares: the one walk of the layer tree,
the wrappers around ``forward`` and ``backward``, hooks, modes, repr and state.

:class:`Module` is the common base of :class:`~minnet.nn.layer.Layer` (a step
of the chain: ``forward(x)``, ``backward(grad_output)``) and
:class:`~minnet.nn.loss.Loss` (where the chain starts: ``forward(pred,
target)``, ``backward()``). A user subclasses one of those two, never Module.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np
from numpy.typing import NDArray

from .. import guards
from ..errors import AnomalyError, BackwardBeforeForwardError, StaleWeightsError
from ..guards import anomaly
from ..parameter import Parameter, data_version, tree_changed, tree_version
from ..serialization import check_state_dict

F = TypeVar("F", bound=Callable[..., Any])

#: Attributes that hold hook functions, never children.
_HOOK_ATTRIBUTES = frozenset({"_forward_hooks", "_backward_hooks"})
#: The attributes the wrappers keep on every module (hooks, flags, the specs of the last pass): never children,
#: so the walk does not look into them.
_STATE_ATTRIBUTES = _HOOK_ATTRIBUTES | {
    "_in_forward",
    "_in_backward",
    "_forward_state",
    "_data_version",
    "_replaced",
    "_checksums",
    "_checked_version",
    "_float_dtype",
    "_passes_indices",
    "_input_specs",
    "_output_spec",
    "_pred_spec",
}
#: What may hold children: the walk looks into these (and refuses sets that hold a layer).
_CONTAINERS = (list, tuple, dict, set, frozenset)
#: Types that never hold a layer or a Parameter: the walk passes over attributes of these at once (caches,
#: sizes, flags, generators).
_LEAVES = frozenset({np.ndarray, int, float, bool, str, type(None), np.dtype, np.random.Generator})

#: The formulas of ``local_derivative``: what is differentiated, its formula, or
#: its formula under each condition (a mode or a loss reduction).
Derivatives = Mapping[str, "str | Mapping[str, str]"]


def _holds_module(value: object) -> bool:
    """Whether ``value`` is, or holds in lists, tuples and dicts at any depth, a Module or a Parameter."""
    if isinstance(value, (Module, Parameter)):
        return True
    if not isinstance(value, (list, tuple, dict)):
        return False
    if type(value) is tuple and all(type(item) is int for item in value):  # a shape, as Flatten and Conv2d cache it
        return False
    return next(_found_in(None, "", value, (Module, Parameter), set()), None) is not None


# -- finding what a module holds ------------------------------------------------------------------------


def _found_in(
    owner: Module | None, name: str, value: object, kinds: tuple[type, ...], visiting: set[int]
) -> Iterator[tuple[str, Any]]:
    """``(dotted_name, item)`` for each item of one of ``kinds`` in ``value``: the
    value itself, or the items of lists and tuples (``name.i``) and dicts
    (``name.key``) at any depth. A set holding a Module or Parameter is refused:
    its order is not defined, so the names would not be."""
    if isinstance(value, kinds):
        yield name, value
    elif isinstance(value, (list, tuple, dict)):
        if id(value) in visiting:  # a list that contains itself
            return
        visiting.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from _found_in(owner, f"{name}.{key}", item, kinds, visiting)
        visiting.discard(id(value))
    elif isinstance(value, (set, frozenset)) and any(isinstance(item, (Module, Parameter)) for item in value):
        raise TypeError(
            f"{type(owner).__name__}: attribute {name.split('.')[0]!r} holds layers or Parameters in a "
            f"{type(value).__name__}, which minnet does not walk (a set has no order, so its items have no names); "
            "keep them in a list, a tuple or a dict"
        )


def held_items(
    module: Module, kinds: tuple[type, ...] = (), skip: frozenset[str] = frozenset()
) -> Iterator[tuple[str, Any]]:
    """``(name, item)`` for every object of ``kinds`` (default: Module and Parameter)
    among ``module``'s attributes (but those named in ``skip``), in the order
    they were set, inside lists, tuples and dicts at any depth."""
    visiting: set[int] = set()
    leaves = frozenset() if kinds else _LEAVES  # asked for arrays or generators: look at every attribute
    kinds = kinds or (Module, Parameter)
    for name, value in vars(module).items():
        if type(value) in leaves or name in skip:
            continue
        if isinstance(value, kinds):  # the usual cases, without a generator each: a child, a Parameter ...
            yield name, value
        elif isinstance(value, _CONTAINERS) and name not in _STATE_ATTRIBUTES:  # ... or a list of them
            yield from _found_in(module, name, value, kinds, visiting)


class Place(NamedTuple):
    """One module's place in a walk: its dotted path from the root, its name in
    its parent (``""`` for the root), its depth, and the module. ``also_at`` is
    set only in a walk with ``strict=False``, for a module met a second time:
    the path of its first place."""

    path: str
    name: str
    depth: int
    module: Module
    also_at: str | None = None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _where(path: str) -> str:
    return f"'{path}'" if path else "the top of the model"


def add_note(error: BaseException, note: str) -> None:
    """Add ``note`` to ``error`` without changing its type, message or attributes.

    Python 3.11 and later print notes under the message (``add_note``); on
    Python 3.10 the note is kept in ``error.__notes__``, the same list."""
    if sys.version_info >= (3, 11):
        error.add_note(note)
    else:  # pragma: no cover - Python 3.10
        # typeshed declares BaseException.__notes__ for Python 3.11 and later only; on 3.10 it is a plain attribute
        error.__notes__ = [*getattr(error, "__notes__", []), note]  # type: ignore[attr-defined]


def note_child(error: BaseException, container: Module, index: int | str, child: Module, phase: str) -> None:
    """Add a note saying in which child of ``container`` the error happened, so the
    error keeps its own type (``OSError`` its ``errno``, a user's class its attributes)."""
    add_note(error, f"in layer {index} ({type(child).__name__}) of {type(container).__name__}, during {phase}")


# -- the dtype rule and the gradient checks, for Layer and Loss ------------------------------------------


def bind_leading(
    module: Module, method: str, count: int, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """The first ``count`` positional arguments of ``module.<method>(*args, **kwargs)``
    as a tuple, from ``args`` or from ``kwargs`` by the method's parameter names
    (taken out of ``kwargs``); fewer when they were not given. Keyword-only
    parameters stay keywords."""
    if len(args) >= count or not kwargs:
        return args
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = inspect.signature(getattr(type(module), method)).parameters.values()
    names = [p.name for p in parameters if p.kind in positional][1 : count + 1]
    given = list(args)
    for name in names[len(args) :]:
        if name not in kwargs:
            break
        given.append(kwargs.pop(name))
    return tuple(given)


def as_float(module: Module, x: NDArray[Any], what: str = "input") -> NDArray[Any]:
    """``x`` by the dtype rule: integer and bool data converted to the module's
    float dtype (float64 when it has none); a float array of another dtype, or
    data that is not real numbers, a TypeError naming the module."""
    kind, name = x.dtype.kind, type(module).__name__
    dtype = module.__dict__.get("_float_dtype")
    if kind == "f":
        if dtype is not None and x.dtype != dtype:
            raise TypeError(
                f"{name}: {what} dtype {x.dtype} does not match the layer's dtype {dtype}; "
                f"convert the {what} or build the layer with dtype=np.{x.dtype}"
            )
        return x
    if kind in "iub":
        return x.astype(np.float64 if dtype is None else dtype)
    raise TypeError(f"{name}: expected real numbers as the {what}, got dtype {x.dtype}")


def as_gradient(module: Module, grad_output: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> NDArray[Any]:
    """``grad_output`` checked against the forward's output: the same shape (a
    ValueError, never a broadcast) and dtype (integer data converted, another
    float dtype a TypeError), each naming the module."""
    name = type(module).__name__
    grad = np.asarray(grad_output)
    if grad.shape != shape:
        raise ValueError(f"{name}: expected grad_output of shape {shape}, got {grad.shape}")
    if grad.dtype == dtype:
        return grad
    if grad.dtype.kind == "f":
        raise TypeError(
            f"{name}: grad_output has dtype {grad.dtype}, expected {dtype} "
            "(the dtype of the forward pass); minnet does not cast gradients silently"
        )
    if grad.dtype.kind in "iub":
        return grad.astype(dtype)
    raise TypeError(f"{name}: expected a grad_output of real numbers, got dtype {grad.dtype}")


def check_returned_gradient(
    module: Module, grad: Any, shape: tuple[int, ...], dtype: np.dtype[Any] | None, of: str = "the input x"
) -> None:
    """The gradient a backward returned must be an ndarray of the shape and
    (float) dtype of what it differentiates (``of``): an error naming the module."""
    name = type(module).__name__
    if not isinstance(grad, np.ndarray):
        raise TypeError(f"{name}.backward returned {type(grad).__name__}, expected the gradient of {of}, shape {shape}")
    if grad.shape != shape:
        raise ValueError(
            f"{name}.backward returned a gradient of shape {grad.shape} for {of} of shape {shape}: "
            "a gradient has the shape of what it differentiates"
        )
    if dtype is not None and dtype.kind == "f" and grad.dtype != dtype:
        raise TypeError(
            f"{name}.backward returned a gradient of dtype {grad.dtype} for {of} of dtype {dtype}: "
            "a gradient has the dtype of what it differentiates"
        )


# -- the local derivative as data -----------------------------------------------------------------------


def differentiated_symbol(lhs: str) -> str:
    """What a left-hand side differentiates: ``"W"`` for ``"∂L/∂W"``, ``"x"`` for ``"∂y/∂x"``."""
    return lhs.rpartition("∂")[2]


def _check_derivative_table(cls: type) -> None:
    """A class's ``local_derivative`` must be a mapping of str to str or to a
    mapping of condition to str: a TypeError naming the class, at its definition."""
    table = cls.__dict__.get("local_derivative")
    if table is None:
        return
    example = "{'∂y/∂x': 'y ⊙ (1 − y)'} or {'∂L/∂x': {'training': 'g ⊙ m', 'eval': 'g'}}"
    if not isinstance(table, Mapping):
        raise TypeError(
            f"{cls.__name__}.local_derivative must map what is differentiated to its formula, e.g. {example}; "
            f"got a {type(table).__name__}"
        )
    for lhs, formula in table.items():
        by_condition = formula.items() if isinstance(formula, Mapping) else [("", formula)]
        if not isinstance(lhs, str) or not all(isinstance(c, str) and isinstance(f, str) for c, f in by_condition):
            raise TypeError(
                f"{cls.__name__}.local_derivative[{lhs!r}] must be a formula (a str) or a mapping of condition to "
                f"formula, e.g. {example}"
            )


def describe_derivatives(derivatives: Derivatives | None) -> list[str]:
    """Every formula of a ``local_derivative`` table as ``"lhs = formula"``, a
    conditional one with its condition: ``"∂L/∂x = g (eval)"``. The text of the
    "backward applies" column of docs/layers.md."""
    lines = []
    for lhs, formula in (derivatives or {}).items():
        if isinstance(formula, str):
            lines.append(f"{lhs} = {formula}")
        else:
            lines += [f"{lhs} = {text} ({condition})" for condition, text in formula.items()]
    return lines


# -- hooks ------------------------------------------------------------------------------------------------


class HookHandle:
    """Returned by :meth:`Module.register_forward_hook` and
    :meth:`Module.register_backward_hook`; ``remove()`` unregisters the hook
    (calling it again does nothing)."""

    _next_id = itertools.count()

    def __init__(self, hooks: dict[int, Callable[..., None]]) -> None:
        self._hooks = hooks
        self.id = next(HookHandle._next_id)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def _run_hooks(module: Module, kind: str, first: Any, second: Any) -> None:
    for hook in list(module.__dict__[kind].values()):
        result = hook(module, first, second)
        if result is not None:
            raise TypeError(
                f"{type(module).__name__}: a {kind.split('_')[1]} hook returned {type(result).__name__}; "
                "minnet hooks observe a pass and return None, they cannot replace what a layer computes"
            )


# -- the wrappers around every subclass's forward and backward ------------------------------------------


_WHY = {
    None: "no forward() has run, so there is no cached pass to take the derivative from",
    "failed": "its last forward() raised, so its caches do not hold one complete pass",
    "overwritten": "a diagnostic (gradcheck, explain, health, summary, ...) ran a pass since its last forward(), "
    "so its caches hold that pass; run forward() again",
}


def _wrap_forward(forward: F) -> F:
    """Around a subclass's forward: check the tree, validate the input, mark the
    forward done only when it returned, fire the forward hooks. An inner
    ``super().forward()`` call runs bare: the outer call does all of it once."""

    @functools.wraps(forward)
    def wrapper(self: Module, *args: Any, **kwargs: Any) -> Any:
        state = self.__dict__
        if state.get("_in_forward"):
            return forward(self, *args, **kwargs)
        state["_forward_state"] = "failed"  # until the forward below returns
        if state.get("_checked_version") != tree_version[0]:
            self._check_tree()
        checking = anomaly[0]
        if checking:  # inputs given by name (lstm(x, hx=state)) too; keyword-only options (a mask) are not inputs
            guards.check_forward_inputs(self, bind_leading(self, "forward", len(args) + len(kwargs), args, {**kwargs}))
        x = args[0] if len(args) == 1 and not kwargs else None
        kind = self.input_kind
        if type(x) is np.ndarray and (
            kind == "any"
            or (
                kind == "float"
                and x.dtype.kind == "f"
                and ((dtype := state.get("_float_dtype")) is None or dtype == x.dtype)
            )
        ):
            # the usual case, one array that needs no conversion: the checks of _validate_forward and
            # _record_forward, inline
            state["_input_specs"] = [(x.shape, x.dtype)]
            state["_in_forward"] = True
            try:
                output = forward(self, x)
            except AnomalyError as error:  # from a child: say which
                guards.locate(self, error)
                raise
            finally:
                state["_in_forward"] = False
            state["_output_spec"] = (output.shape, output.dtype) if type(output) is np.ndarray else None
        else:
            args, kwargs = self._validate_forward(args, kwargs)
            state["_in_forward"] = True
            try:
                output = forward(self, *args, **kwargs)
            except AnomalyError as error:
                guards.locate(self, error)
                raise
            finally:
                state["_in_forward"] = False
            self._record_forward(args, output)
        if checking:
            guards.check_forward_output(self, output)
        state["_forward_state"] = "done"
        state["_data_version"] = data_version[0]  # what backward compares: no Parameter written since
        if state.get("_forward_hooks"):
            _run_hooks(self, "_forward_hooks", args, output)
        return output

    wrapper._minnet_wrapped = True  # type: ignore[attr-defined]  # a marker read by __init_subclass__
    # functools.wraps types the wrapper as _Wrapped, not F: it takes the same arguments as the method it wraps
    return wrapper  # type: ignore[return-value]


def _wrap_backward(backward: F) -> F:
    """Around a subclass's backward: refuse it without a complete forward, check
    ``grad_output`` against the forward's output, check the gradient it returns
    against the forward's input, fire the backward hooks."""

    @functools.wraps(backward)
    def wrapper(self: Module, *args: Any, **kwargs: Any) -> Any:
        state = self.__dict__
        if state.get("_in_backward"):
            return backward(self, *args, **kwargs)
        forward_state = state.get("_forward_state")
        if forward_state != "done":
            raise BackwardBeforeForwardError(f"{type(self).__name__}.backward() was refused: {_WHY[forward_state]}")
        given = bool(args) or "grad_output" in kwargs  # a loss's backward() may take none
        grad_output = args[0] if len(args) == 1 and not kwargs else None
        spec = state.get("_output_spec")
        if not (
            type(grad_output) is np.ndarray
            and spec is not None
            and grad_output.shape == spec[0]
            and grad_output.dtype == spec[1]
        ):  # not the usual case of an array of the output's shape and dtype
            grad_output = self._validate_grad_output(args[0] if args else kwargs.pop("grad_output", None))
        if state.get("_data_version") != data_version[0]:  # some Parameter was written since forward: this one's?
            guards.check_stale(self)
        checking = anomaly[0]
        if checking:
            guards.check_backward_grad_output(self, grad_output)
        state["_in_backward"] = True
        try:
            grad_input = backward(self, grad_output, *args[1:], **kwargs) if given else backward(self, **kwargs)
        except (AnomalyError, StaleWeightsError) as error:  # from a child: say which
            guards.locate(self, error)
            raise
        finally:
            state["_in_backward"] = False
        if checking:
            guards.check_backward_result(self, grad_input)
        specs = state.get("_input_specs")
        if not (  # the usual case of a layer: one float input, and its gradient of the same shape and dtype
            self.input_kind in ("float", "any")
            and type(grad_input) is np.ndarray
            and specs is not None
            and len(specs) == 1
            and grad_input.shape == specs[0][0]
            and grad_input.dtype == specs[0][1]
        ):
            self._check_grad_input(grad_input)
        if state.get("_backward_hooks"):
            _run_hooks(self, "_backward_hooks", grad_output, grad_input)
        return grad_input

    wrapper._minnet_wrapped = True  # type: ignore[attr-defined]  # a marker read by __init_subclass__
    # functools.wraps types the wrapper as _Wrapped, not F: it takes the same arguments as the method it wraps
    return wrapper  # type: ignore[return-value]


class LoadResult(NamedTuple):
    """What ``load_state_dict`` did not match (both empty with ``strict=True``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """The base of :class:`~minnet.nn.layer.Layer` and :class:`~minnet.nn.loss.Loss`.

    **The one walk.** :meth:`named_layers` yields ``(dotted_name, module)`` for
    this module and every module below it, in pre-order (a Sequential's layers
    in forward order), each once. Every tool that visits layers stands on it:
    parameters, buffers, modes, repr, ``state_dict``, summary, the cache
    report, ``explain``, ``health``, ``gradcheck``, ``jacobian`` and the plots.
    Its rules:

    - Children and Parameters are found in attributes, and in lists, tuples
      and dicts at any depth (named ``attr.i`` and ``attr.key``); a set
      holding one is refused with a TypeError. Objects of other types are not
      looked into.
    - A module object appears once in a model, wherever it is nested: a second
      place (a layer under two attributes, ``Sequential(block,
      Residual(block))``, a reference back to a parent) is a ValueError naming
      both places, raised by the walk, so at the latest at the first forward.
      One object has one cache, so it cannot run twice in one pass; to tie
      weights, give two layers the same :class:`~minnet.Parameter`.
    - A Parameter shared by several layers is yielded once, at its first
      place; two different Parameters (or buffers) never share a dotted name
      (a ValueError says which).

    **The wrappers.** Every subclass's ``forward`` and ``backward`` is wrapped
    once, when the class is defined, so a user's layer gets the same checks as
    minnet's own: the input's dtype rule, ``grad_output`` checked against the
    forward's output, the returned gradient checked against the forward's
    input, backward refused until a forward has completed (a forward that
    raised leaves the module, and every container above it, without one)
    and refused when one of the module's own Parameters was changed after
    its forward (:class:`~minnet.errors.StaleWeightsError`, unless inside
    :func:`minnet.allow_stale_weights`), the nan and inf checks of
    :func:`minnet.detect_anomaly`, and the hooks. :class:`~minnet.nn.layer.Layer` and
    :class:`~minnet.nn.loss.Loss` say what each check is for them.

    **Threads.** One model is used by one thread at a time (a forward and its
    backward share the caches); separate models in separate threads are safe.

    Class attributes a subclass may set:

    - ``local_derivative``: the derivatives its ``backward`` applies, as data:
      a mapping from what is differentiated (``"∂L/∂x"``, ``"∂y/∂x"``,
      ``"∂L/∂W"``) to its formula, or to a mapping from a condition (the mode
      ``"training"`` or ``"eval"``, or a loss's reduction) to the formula under
      it. Formulas write ``x`` for the input, ``y`` for the output and ``g``
      for ∂L/∂y; :func:`minnet.explain` renames them to a network's own names.
    - ``parameter_symbols``: the symbol each parameter has in those formulas,
      e.g. ``{"W": "weight", "b": "bias"}``; a formula for a parameter that a
      layer was built without (``bias=False``) is left out.
    - ``buffer_names``: names of array attributes that are state but not
      trained (running means); saved and loaded with the parameters.

    Attributes:
        training: ``True`` in training mode (the default), ``False`` after
            :meth:`eval`.
    """

    training: bool = True
    local_derivative: ClassVar[Derivatives | None] = None
    parameter_symbols: ClassVar[Mapping[str, str]] = {}
    buffer_names: ClassVar[tuple[str, ...]] = ()
    #: What forward's first argument is (see Layer); ``None``: the wrappers have no fast path for it (a loss).
    input_kind: ClassVar[str | None] = None
    # Layer and Loss define these, each with its own signature; Module wraps and calls them.
    forward: Callable[..., Any]
    backward: Callable[..., Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_derivative_table(cls)
        # the methods the class has, its own or from a base that is not a Module (a mixin), wrapped once
        forward, backward = getattr(cls, "forward", None), getattr(cls, "backward", None)
        if callable(forward) and not getattr(forward, "_minnet_wrapped", False):
            cls.forward = _wrap_forward(forward)
        if callable(backward) and not getattr(backward, "_minnet_wrapped", False):
            cls.backward = _wrap_backward(backward)
        call = cls.__call__
        if call is Module.__call__ or getattr(call, "_minnet_wrapped", False):  # not a __call__ of the user's own
            # layer(x) runs the wrapped forward directly: one Python call less per layer and step
            cls.__call__ = cls.forward  # type: ignore[method-assign]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        old = self.__dict__.get(name)
        object.__setattr__(self, name, value)
        if value is old or not (
            isinstance(value, _MAY_HOLD) or isinstance(old, _MAY_HOLD) or name in self.buffer_names
        ):
            return  # a cache (an array), or `self.count += 1` on a 0-d buffer that sets the same array back
        if _holds_module(value) or _holds_module(old) or name in self.buffer_names:
            tree_changed()
        if isinstance(old, Parameter):  # replaced by another: a forward before this ran with the old one's values
            self.__dict__["_data_version"] = -1  # no count of writes is below: the next backward checks
            self.__dict__["_replaced"] = name

    def __delattr__(self, name: str) -> None:
        old = self.__dict__.get(name)
        object.__delattr__(self, name)
        if _holds_module(old) or name in self.buffer_names:
            tree_changed()

    # -- what the wrappers call; Layer and Loss fill them in --------------------------------------------

    def _validate_forward(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return args, kwargs

    def _record_forward(self, args: tuple[Any, ...], output: Any) -> None:
        pass

    def _validate_grad_output(self, grad_output: Any) -> Any:
        return grad_output

    def _check_grad_input(self, grad_input: Any) -> None:
        pass

    def _check_tree(self) -> None:
        """Walk the tree below this module once (raising on a module in two places
        or two Parameters under one name), and keep the float dtype its
        Parameters and buffers share (``None`` when they have none or several)."""
        version = tree_version[0]
        dtypes = {param.data.dtype for _, param in self.named_parameters()}
        dtypes.update(
            buffer.dtype
            for _, buffer in self.named_buffers()
            if isinstance(buffer, np.ndarray) and buffer.dtype.kind == "f"
        )
        self.__dict__["_float_dtype"] = dtypes.pop() if len(dtypes) == 1 else None
        # a container holding a layer of integer indices (an embedding) passes integers on unconverted
        below = [module for path, module in self.named_layers() if path]
        self.__dict__["_passes_indices"] = any(getattr(m, "input_kind", None) == "integer" for m in below)
        self.__dict__["_checked_version"] = version

    # -- the one walk -------------------------------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for each direct child: attributes that are
        modules, and modules inside list, tuple and dict attributes at any depth
        (named ``attr.i`` and ``attr.key``). A container may override it to name
        its children otherwise (Sequential names them ``0``, ``1``, ...)."""
        for name, item in held_items(self):
            if isinstance(item, Module):
                yield name, item

    def children(self) -> Iterator[Module]:
        """The direct children, as :meth:`named_children` finds them."""
        for _, child in self.named_children():
            yield child

    def walk(self, prefix: str = "", *, strict: bool = True) -> Iterator[Place]:
        """Every module of the tree as a :class:`Place`, in pre-order, each once.

        With ``strict=False`` a module met a second time is yielded with
        ``also_at`` set and not walked into, instead of raising (what ``repr``
        needs, so that printing a wrong model shows where it is wrong)."""
        places: dict[int, str] = {}
        pending: list[Place] = [Place(prefix, "", 0, self)]
        while pending:
            place = pending.pop()
            first = places.get(id(place.module))
            if first is not None:
                if not strict:
                    yield place._replace(also_at=first)
                    continue
                raise ValueError(
                    f"{type(self).__name__}: the same {type(place.module).__name__} object is at {_where(first)} "
                    f"and at {_where(place.path)}; a layer object may appear only once in a model (one object has "
                    "one cache, so it cannot run twice in a pass). To tie weights, give two layers the same Parameter"
                )
            places[id(place.module)] = place.path
            yield place
            children = [
                Place(_join(place.path, name), name, place.depth + 1, child)
                for name, child in place.module.named_children()
            ]
            pending.extend(reversed(children))

    def named_layers(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted_name, module)`` for this module (named ``prefix``, ``""``
        by default) and every module below it, in pre-order, each once; the
        rules are in the class docstring.

        Example:
            >>> model = Sequential(Linear(3, 4, rng=0), Sequential(Sigmoid()))
            >>> [name for name, _ in model.named_layers()]
            ['', '0', '1', '1.0']
        """
        for place in self.walk(prefix):
            yield place.path, place.module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` for every Parameter of the tree, in
        walk order, each once even if several layers share it."""
        seen: set[int] = set()
        names: set[str] = set()
        for path, module in self.named_layers(prefix):
            for name, item in held_items(module):
                if not isinstance(item, Parameter) or id(item) in seen:
                    continue
                full_name = _join(path, name)
                if full_name in names:
                    raise ValueError(
                        f"{type(self).__name__}: two Parameters have the name {full_name!r}; "
                        "rename an attribute or a dict key so each has its own name"
                    )
                seen.add(id(item))
                names.add(full_name)
                yield full_name, item

    def parameters(self) -> Iterator[Parameter]:
        """Yield every Parameter of the tree, once each."""
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, NDArray[Any]]]:
        """Yield ``(dotted_name, array)`` for the arrays named in each module's
        ``buffer_names``, in walk order."""
        for path, module in self.named_layers(prefix):
            for name in module.buffer_names:
                yield _join(path, name), getattr(module, name)

    # -- modes --------------------------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Put this module and every module below it in training mode (``mode=False``: eval)."""
        for _, module in self.named_layers():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Put this module and every module below it in evaluation mode."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for param in self.parameters():
            param.zero_grad()

    def local_derivatives(self) -> dict[str, str]:
        """The formulas of ``local_derivative`` that apply to this instance, by
        left-hand side: a conditional formula for this module's mode
        (``"training"`` or ``"eval"``) or reduction, and none for a parameter
        it was built without (``bias=False``). Empty when the class gives none.

        Example:
            >>> Linear(3, 2, bias=False).local_derivatives()
            {'∂L/∂x': 'g Wᵀ', '∂L/∂W': 'xᵀ g'}
            >>> Dropout(0.5).eval().local_derivatives()
            {'∂L/∂x': 'g'}
        """
        conditions = {"training" if self.training else "eval", getattr(self, "reduction", None)}
        applied: dict[str, str] = {}
        for lhs, entry in (self.local_derivative or {}).items():
            formula = (
                entry
                if isinstance(entry, str)
                else next((text for condition, text in entry.items() if condition in conditions), None)
            )
            if formula is None:
                continue
            attribute = self.parameter_symbols.get(differentiated_symbol(lhs))
            if attribute is not None and getattr(self, attribute, None) is None:
                continue
            applied[lhs] = formula
        return applied

    # -- saving and loading -------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """A flat dict of dotted name to a copy of each parameter's data and buffer,
        e.g. ``{"0.weight": ..., "0.bias": ...}`` for a Sequential.

        Example:
            >>> list(Sequential(Linear(2, 3, rng=0)).state_dict())
            ['0.weight', '0.bias']
        """
        state = {name: param.data.copy() for name, param in self.named_parameters()}
        for name, buffer in self.named_buffers():
            if name in state:
                raise ValueError(f"{type(self).__name__}: a buffer and a Parameter have the same name {name!r}")
            state[name] = np.array(buffer, copy=True)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy the arrays of ``state_dict`` into the parameters and buffers of the same name.

        Every key, shape and dtype is checked before anything is written: a
        mismatch raises :class:`~minnet.errors.LoadError` naming the key and both
        shapes, and leaves the module unchanged. With ``strict=False`` missing and
        unexpected keys are allowed (a shape or dtype mismatch still raises).

        Returns:
            ``LoadResult(missing_keys, unexpected_keys)``.
        """
        params = dict(self.named_parameters())
        expected = {name: param.data for name, param in params.items()}
        expected.update(self.named_buffers())  # buffers are ndarrays, written in place
        missing, unexpected = check_state_dict(type(self).__name__, expected, state_dict, strict)
        for name, array in expected.items():
            if name in state_dict:
                array[...] = state_dict[name]
                if name in params:
                    params[name].mark_changed()
        return LoadResult(missing, unexpected)

    # -- hooks --------------------------------------------------------------------------------------------

    def register_forward_hook(self, hook: Callable[[Any, tuple[Any, ...], Any], None]) -> HookHandle:
        """Call ``hook(layer, inputs, output)`` after every ``forward`` of this layer.

        ``inputs`` is the tuple of positional arguments forward received, after
        the wrapper's conversion (for a loss: ``(pred, target)``), ``output``
        what it returned. Hooks run in the order they were registered, once
        per call (a forward that calls ``super().forward()`` fires them once).
        A hook observes: it must return ``None`` (anything else raises
        TypeError) and should not modify the arrays it is shown, so adding
        hooks changes no result.

        Returns:
            a :class:`HookHandle`; ``handle.remove()`` unregisters the hook.

        Example:
            >>> layer = Sigmoid()
            >>> shapes = []
            >>> handle = layer.register_forward_hook(lambda l, inputs, out: shapes.append(out.shape))
            >>> _ = layer(np.zeros((2, 3))); handle.remove(); _ = layer(np.zeros(4))
            >>> shapes
            [(2, 3)]
        """
        return self._add_hook("_forward_hooks", hook)

    def register_backward_hook(self, hook: Callable[[Any, Any, Any], None]) -> HookHandle:
        """Call ``hook(layer, grad_output, grad_input)`` after every ``backward``.

        ``grad_output`` is ∂L/∂(output), the gradient that came in (``None``
        for a loss, where the chain starts), and ``grad_input`` is ∂L/∂(input),
        the gradient backward returned. When the hook runs, the layer has
        already added its parameters' gradients into their ``.grad``. Same
        rules as :meth:`register_forward_hook`: registration order, once per
        call, return ``None``.

        Returns:
            a :class:`HookHandle`; ``handle.remove()`` unregisters the hook.
        """
        return self._add_hook("_backward_hooks", hook)

    def _add_hook(self, kind: str, hook: Callable[..., None]) -> HookHandle:
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}: a hook must be callable, got {type(hook).__name__}")
        hooks = self.__dict__.setdefault(kind, {})  # created here: subclasses need not call super().__init__()
        handle = HookHandle(hooks)
        hooks[handle.id] = hook
        return handle

    # -- printing -----------------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The arguments shown inside the module's repr, e.g. ``in_features=3``."""
        return ""

    def __repr__(self) -> str:
        places = list(self.walk(strict=False))
        lines: list[str] = []
        open_depths: list[int] = []
        for place, following in itertools.zip_longest(places, places[1:]):
            while open_depths and open_depths[-1] >= place.depth:
                lines.append("  " * open_depths.pop() + ")")
            head = "  " * place.depth + (f"({place.name}): " if place.depth else "")
            text = f"{type(place.module).__name__}({place.module.extra_repr()}"
            if place.also_at is not None:
                lines.append(f"{head}<the same {type(place.module).__name__} as at {_where(place.also_at)}>")
            elif following is not None and following.depth > place.depth:
                lines.append(head + text)
                open_depths.append(place.depth)
            else:
                lines.append(head + text + ")")
        lines += ["  " * depth + ")" for depth in reversed(open_depths)]
        return "\n".join(lines)


#: What may be or hold a child or a Parameter; any other value set on a module is not a change of the tree.
_MAY_HOLD = (Module, Parameter, list, tuple, dict)
