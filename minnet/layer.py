"""The base class of every layer, loss and container."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._state import check_state_dict
from .errors import BackwardBeforeForwardError
from .parameter import Parameter

F = TypeVar("F", bound=Callable[..., Any])


class LoadResult(NamedTuple):
    """What ``load_state_dict`` did not match (both empty with ``strict=True``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _marks_forward_done(forward: F) -> F:
    @functools.wraps(forward)
    def wrapper(self: Layer, *args: Any, **kwargs: Any) -> Any:
        output = forward(self, *args, **kwargs)
        self._forward_done = True
        return output

    return wrapper  # type: ignore[return-value]


def _needs_forward_first(backward: F) -> F:
    @functools.wraps(backward)
    def wrapper(self: Layer, *args: Any, **kwargs: Any) -> Any:
        if not self._forward_done:
            raise BackwardBeforeForwardError(
                f"{type(self).__name__}.backward() was called before forward(): "
                "there is no cached forward pass to take the derivative from"
            )
        return backward(self, *args, **kwargs)

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
    stored as an attribute (or in a list or tuple attribute) is found by
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
        layers, and layers inside list or tuple attributes (named ``attr.i``)."""
        for name, value in vars(self).items():
            if isinstance(value, Layer):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Layer):
                        yield f"{name}.{i}", item

    def children(self) -> Iterator[Layer]:
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` for this layer's own parameters,
        then its children's, each parameter once even if it is shared."""
        seen: set[int] = set()
        for name, param in self._named_parameters_with_duplicates(prefix):
            if id(param) not in seen:
                seen.add(id(param))
                yield name, param

    def _named_parameters_with_duplicates(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Parameter):
                        yield f"{prefix}{name}.{i}", item
        for child_name, child in self.named_children():
            yield from child._named_parameters_with_duplicates(f"{prefix}{child_name}.")

    def parameters(self) -> Iterator[Parameter]:
        """Yield every parameter of this layer and of its children, once each."""
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, NDArray[Any]]]:
        """Yield ``(dotted_name, array)`` for the arrays named in ``buffer_names``,
        this layer's then its children's."""
        for name in self.buffer_names:
            yield prefix + name, getattr(self, name)
        for child_name, child in self.named_children():
            yield from child.named_buffers(f"{prefix}{child_name}.")

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

    # -- modes ------------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Layer:
        """Put this layer and its children in training mode (``mode=False``: eval)."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Layer:
        """Put this layer and its children in evaluation mode."""
        return self.train(False)

    # -- printing ---------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The arguments shown inside the layer's repr, e.g. ``in_features=3``."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in children:
            child_text = repr(child).replace("\n", "\n  ")
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
