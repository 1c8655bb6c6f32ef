"""The base class of every layer, loss and container."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import BackwardBeforeForwardError
from ..parameter import Parameter
from ..serialization import check_state_dict

F = TypeVar("F", bound=Callable[..., Any])

_HOOK_ATTRIBUTES = frozenset({"_forward_hooks", "_backward_hooks"})


def _members(value: object) -> Iterator[tuple[str, Any]]:
    """``(key, item)`` for the items of a list, tuple or dict attribute; nothing for anything else."""
    if isinstance(value, (list, tuple)):
        yield from ((str(i), item) for i, item in enumerate(value))
    elif isinstance(value, dict):
        yield from ((str(key), item) for key, item in value.items())


class HookHandle:
    """Returned by :meth:`Layer.register_forward_hook` and
    :meth:`Layer.register_backward_hook`; ``remove()`` unregisters the hook
    (calling it again does nothing)."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Callable[..., None]]) -> None:
        self._hooks = hooks
        self.id = HookHandle._next_id
        HookHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def _run_hooks(layer: Layer, kind: str, first: Any, second: Any) -> None:
    for hook in list(layer.__dict__.get(kind, {}).values()):
        result = hook(layer, first, second)
        if result is not None:
            raise TypeError(
                f"{type(layer).__name__}: a {kind.split('_')[1]} hook returned {type(result).__name__}; "
                "minnet hooks observe a pass and return None, they cannot replace what a layer computes"
            )


class LoadResult(NamedTuple):
    """What ``load_state_dict`` did not match (both empty with ``strict=True``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _marks_forward_done(forward: F) -> F:
    """Wrap a subclass's forward: mark the forward done and fire the forward
    hooks, once per call even when the forward calls ``super().forward()``."""

    @functools.wraps(forward)
    def wrapper(self: Layer, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_in_forward", False):  # an inner super().forward(): no hooks here
            return forward(self, *args, **kwargs)
        self.__dict__["_in_forward"] = True
        try:
            output = forward(self, *args, **kwargs)
        finally:
            del self.__dict__["_in_forward"]
        self._forward_done = True
        _run_hooks(self, "_forward_hooks", args, output)
        return output

    return wrapper  # type: ignore[return-value]


def _needs_forward_first(backward: F) -> F:
    """Wrap a subclass's backward: refuse to run before a forward, and fire the
    backward hooks once per call (not again for ``super().backward()``)."""

    @functools.wraps(backward)
    def wrapper(self: Layer, *args: Any, **kwargs: Any) -> Any:
        if not self._forward_done:
            raise BackwardBeforeForwardError(
                f"{type(self).__name__}.backward() was called before forward(): "
                "there is no cached forward pass to take the derivative from"
            )
        if self.__dict__.get("_in_backward", False):
            return backward(self, *args, **kwargs)
        self.__dict__["_in_backward"] = True
        try:
            grad_input = backward(self, *args, **kwargs)
        finally:
            del self.__dict__["_in_backward"]
        grad_output = args[0] if args else kwargs.get("grad_output")
        _run_hooks(self, "_backward_hooks", grad_output, grad_input)
        return grad_input

    return wrapper  # type: ignore[return-value]


class Layer:
    """Base class of every minnet layer.

    A layer is written as ``__init__``, ``forward`` and ``backward``:

    - ``forward(x)`` computes the output and caches what the derivative needs
      (caches are declared ``None`` in ``__init__``).
    - ``backward(grad_output)`` takes ∂L/∂output, ADDS (``+=``) ∂L/∂p into the
      ``.grad`` of each of its parameters, and returns ∂L/∂x. It never modifies
      ``grad_output``.

    Nothing else is needed: every :class:`Parameter` and every child layer
    stored as an attribute (or in a list, tuple or dict attribute) is found by
    :meth:`parameters`. Calling ``backward`` before ``forward`` raises
    :class:`~minnet.errors.BackwardBeforeForwardError` for every subclass,
    without the subclass writing the check.

    Class attributes a layer may set:

    - ``local_derivative``: the local derivative its ``backward`` applies,
      written as a formula (e.g. ``"∂y/∂x = y ⊙ (1 − y)"``), shown when
      minnet explains a backward pass.
    - ``buffer_names``: names of array attributes that are state but not
      trained (e.g. running means); they are saved and loaded with the
      parameters.

    Attributes:
        training: ``True`` in training mode (the default), ``False`` after
            :meth:`eval`. Layers such as dropout read it.
    """

    training: bool = True
    local_derivative: str | None = None
    buffer_names: tuple[str, ...] = ()
    _forward_done: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _marks_forward_done(cls.__dict__["forward"])  # type: ignore[method-assign]
        if "backward" in cls.__dict__:
            cls.backward = _needs_forward_first(cls.__dict__["backward"])  # type: ignore[method-assign]

    def forward(self, x: NDArray[Any]) -> NDArray[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_output: NDArray[Any]) -> NDArray[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- finding children and parameters -------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Layer]]:
        """Yield ``(name, layer)`` for each direct child: attributes that are
        layers, and layers inside list or tuple attributes (named ``attr.i``)
        or dict attributes (named ``attr.key``)."""
        for name, value in vars(self).items():
            if isinstance(value, Layer):
                yield name, value
            elif name not in _HOOK_ATTRIBUTES:
                for key, item in _members(value):
                    if isinstance(item, Layer):
                        yield f"{name}.{key}", item

    def children(self) -> Iterator[Layer]:
        for _, child in self.named_children():
            yield child

    def _named_layers(self, prefix: str = "") -> Iterator[tuple[str, Layer]]:
        """Yield ``(prefix, layer)`` for this layer and every descendant in
        pre-order, each layer once (at its first place): a shared layer or a
        reference back to a parent is not walked again."""
        seen: set[int] = set()
        pending: list[tuple[str, Layer]] = [(prefix, self)]
        while pending:
            path, layer = pending.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            yield path, layer
            pending.extend(reversed([(f"{path}{name}.", child) for name, child in layer.named_children()]))

    def _own_named_parameters(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif name not in _HOOK_ATTRIBUTES:
                for key, item in _members(value):
                    if isinstance(item, Parameter):
                        yield f"{prefix}{name}.{key}", item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` for this layer's own parameters,
        then its children's, each parameter once even if it is shared.

        Parameters are found in attributes, and inside list, tuple (named
        ``attr.i``) and dict attributes (named ``attr.key``)."""
        seen: set[int] = set()
        for path, layer in self._named_layers(prefix):
            for name, param in layer._own_named_parameters(path):
                if id(param) not in seen:
                    seen.add(id(param))
                    yield name, param

    def parameters(self) -> Iterator[Parameter]:
        """Yield every parameter of this layer and of its children, once each."""
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, NDArray[Any]]]:
        """Yield ``(dotted_name, array)`` for the arrays named in ``buffer_names``,
        this layer's then its children's (a shared layer's once, at its first place)."""
        for path, layer in self._named_layers(prefix):
            for name in layer.buffer_names:
                yield path + name, getattr(layer, name)

    # -- saving and loading -----------------------------------------------------------------

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """A flat dict of dotted name to a copy of each parameter's data and buffer,
        e.g. ``{"0.weight": ..., "0.bias": ...}`` for a Sequential.

        Example:
            >>> list(Sequential(Linear(2, 3, rng=0)).state_dict())
            ['0.weight', '0.bias']
        """
        state = {name: param.data.copy() for name, param in self.named_parameters()}
        state.update((name, np.array(buffer, copy=True)) for name, buffer in self.named_buffers())
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy the arrays of ``state_dict`` into the parameters and buffers of the same name.

        Every key, shape and dtype is checked before anything is written: a
        mismatch raises :class:`~minnet.errors.LoadError` naming the key and both
        shapes, and leaves the layer unchanged. With ``strict=False`` missing and
        unexpected keys are allowed (a shape or dtype mismatch still raises).

        Returns:
            ``LoadResult(missing_keys, unexpected_keys)``.
        """
        expected = {name: param.data for name, param in self.named_parameters()}
        expected.update(self.named_buffers())  # buffers are ndarrays, written in place
        missing, unexpected = check_state_dict(type(self).__name__, expected, state_dict, strict)
        for name, array in expected.items():
            if name in state_dict:
                array[...] = state_dict[name]
        return LoadResult(missing, unexpected)

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for param in self.parameters():
            param.zero_grad()

    # -- hooks ----------------------------------------------------------------------------

    def register_forward_hook(self, hook: Callable[[Layer, tuple[Any, ...], Any], None]) -> HookHandle:
        """Call ``hook(layer, inputs, output)`` after every ``forward`` of this layer.

        ``inputs`` is the tuple of positional arguments forward received (for a
        loss: ``(pred, target)``), ``output`` what it returned. Hooks run in the
        order they were registered, once per call (a forward that calls
        ``super().forward()`` fires them once). A hook observes: it must return
        ``None`` (anything else raises TypeError) and should not modify the
        arrays it is shown, so adding hooks changes no result.

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

    def register_backward_hook(self, hook: Callable[[Layer, Any, Any], None]) -> HookHandle:
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

    # -- seeing a pass (the logic lives in minnet.inspect) --------------------------------------

    def summary(self, input_shape: tuple[int, ...]) -> str:
        """A table of the layers: index, layer with its arguments, output shape,
        parameter count and what each caches, for one batch of ``input_shape``
        (batch first); totals at the bottom. See :func:`minnet.inspect.summarize`."""
        from ..inspect import summarize

        return str(summarize(self, input_shape))

    def cache_report(self) -> Any:
        """What each layer holds in its caches now (names, shapes, bytes).
        See :func:`minnet.inspect.cache_report`."""
        from ..inspect import cache_report

        return cache_report(self)

    def health(self, X: Any, Y: Any, loss_fn: Any = None, lr: float = 0.01) -> Any:
        """Run one batch and report saturation, dead units, update/weight ratios,
        the largest logit and overflow. See :func:`minnet.inspect.health`."""
        from ..inspect import health

        return health(self, X, Y, loss_fn=loss_fn, lr=lr)

    # -- modes ------------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Layer:
        """Put this layer and its children in training mode (``mode=False``: eval)."""
        if self.__dict__.get("_setting_mode", False):  # reached again through a reference back up the tree
            return self
        self.__dict__["_setting_mode"] = True
        try:
            self.training = mode
            for child in self.children():
                child.train(mode)
        finally:
            del self.__dict__["_setting_mode"]
        return self

    def eval(self) -> Layer:
        """Put this layer and its children in evaluation mode."""
        return self.train(False)

    # -- printing ---------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The arguments shown inside the layer's repr, e.g. ``in_features=3``."""
        return ""

    def __repr__(self) -> str:
        return self._repr(frozenset())

    def _repr(self, ancestors: frozenset[int]) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        ancestors = ancestors | {id(self)}
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in children:
            if id(child) in ancestors:  # a reference back up the tree: name it, do not print it again
                child_text = f"<{type(child).__name__}: a layer containing this one>"
            else:
                child_text = child._repr(ancestors).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        lines.append(")")
        return "\n".join(lines)


def as_float_array(x: ArrayLike, layer: object) -> NDArray[np.floating]:
    """Return ``x`` as a float ndarray (integer and bool data become float64).

    Raises a TypeError naming ``layer`` for data that is not numeric."""
    array = np.asarray(x)
    if np.issubdtype(array.dtype, np.floating):
        return array
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        return array.astype(np.float64)
    raise TypeError(f"{type(layer).__name__}: expected a numeric array, got dtype {array.dtype}")


def float_dtype(dtype: Any, layer_name: str) -> np.dtype:
    """``dtype`` as a numpy float dtype, or a TypeError naming the layer."""
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(f"{layer_name}: dtype must be a float dtype, got {np.dtype(dtype)}")
    return np.dtype(dtype)


def as_input(x: ArrayLike, layer: object, dtype: np.dtype) -> NDArray[np.floating]:
    """``x`` as an array of the layer's float ``dtype``: integer and bool data is
    converted to it; a float array of another dtype is a TypeError naming the
    layer (never cast silently)."""
    array = np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating):
        return as_float_array(array, layer).astype(dtype, copy=False)
    if array.dtype != dtype:
        name = type(layer).__name__
        raise TypeError(
            f"{name}: input dtype {array.dtype} does not match the layer's dtype {np.dtype(dtype)}; "
            f"convert the input or build the layer with dtype=np.{array.dtype}"
        )
    return array


def check_grad_output(
    grad_output: ArrayLike, layer: object, shape: tuple[int, ...], dtype: np.dtype
) -> NDArray[np.floating]:
    """Return ``grad_output`` as an array of ``shape`` and ``dtype``, the shape and
    dtype of what the layer's forward gave (integer data is converted).

    A wrong shape is a ValueError, a float array of another dtype a TypeError,
    each naming ``layer``: minnet never broadcasts or casts a gradient silently."""
    grad = np.asarray(grad_output)
    if grad.shape != shape:
        raise ValueError(f"{type(layer).__name__}: expected grad_output of shape {shape}, got {grad.shape}")
    if np.issubdtype(grad.dtype, np.floating):
        if grad.dtype != dtype:
            raise TypeError(
                f"{type(layer).__name__}: grad_output has dtype {grad.dtype}, expected {np.dtype(dtype)} "
                "(the dtype of the forward pass); minnet does not cast gradients silently"
            )
        return grad
    if np.issubdtype(grad.dtype, np.integer) or grad.dtype == np.bool_:
        return grad.astype(dtype)
    raise TypeError(f"{type(layer).__name__}: expected a numeric grad_output, got dtype {grad.dtype}")
