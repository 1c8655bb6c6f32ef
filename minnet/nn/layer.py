"""Layer: the base class of every layer and container, with the checks its wrappers make."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from .._checks import float_dtype
from .module import HookHandle, LoadResult, Module, as_float, as_gradient, bind_leading, check_returned_gradient

__all__ = ["HookHandle", "Layer", "LoadResult", "float_dtype"]

InputKind = Literal["float", "integer", "any"]


def _is_arrays(a: Any) -> bool:
    """Whether ``a`` is a tuple of arrays, ``None`` or such tuples, at any depth (an LSTM's ``(output, (h, c))``)."""
    return (
        isinstance(a, tuple)
        and bool(a)
        and all(item is None or isinstance(item, np.ndarray) or _is_arrays(item) for item in a)
    )


def _spec(a: Any) -> Any:
    """What the returned gradient of one input is checked against: ``(shape, dtype)`` (``None`` for data that
    is not an array), or for a tuple of arrays (an LSTM's state ``(h, c)``, nested as it is) a list with the
    spec of each item."""
    if _is_arrays(a):
        return [_spec(item) for item in a]
    if a is None:
        return ((), None)
    return (np.shape(a), a.dtype if isinstance(a, np.ndarray) else None)


class Layer(Module):
    """Base class of every minnet layer and container.

    A layer is written as ``__init__``, ``forward`` and ``backward``:

    - ``forward(x)`` computes the output and caches what the derivative needs
      (caches are declared in ``__init__``, set in ``forward``).
    - ``backward(grad_output)`` takes ∂L/∂output, ADDS (``+=``) ∂L/∂p into the
      ``.grad`` of each of its parameters, and returns ∂L/∂x. It never modifies
      ``grad_output``.

    Nothing else is needed: every :class:`~minnet.Parameter` and every child
    layer stored as an attribute (or in lists, tuples and dicts) is found by
    the walk (:meth:`~minnet.nn.module.Module.named_layers`), and the wrappers
    that minnet puts around ``forward`` and ``backward`` make every check, for
    a user's layer as for minnet's own:

    - **The input** (``forward``'s first argument), by ``input_kind``:

      - ``"float"`` (the default): integer and bool data is converted to the
        layer's dtype, the dtype its Parameters and buffers share (float64
        for a layer without any); a float array of another dtype is a
        TypeError naming the layer, never cast silently; other data (complex,
        strings, objects) is a TypeError. ``forward`` always receives an
        ndarray. A layer that holds a layer of ``"integer"`` input (a model
        built around an embedding) passes integer data on unconverted.
      - ``"integer"``: integer indices (an embedding's), refused otherwise;
        they have no gradient, so ``backward`` returns ``None``.
      - ``"any"``: passed on as it came; a container whose children check it.

    - **grad_output** must have the shape and dtype of what ``forward``
      returned (integer data is converted): a ValueError or TypeError naming
      the layer, never a broadcast.
    - **The returned gradient** must have the input's shape and dtype (``None``
      for an ``"integer"`` input): an error naming the layer that returned it.
      A forward with several positional inputs (only the first is converted)
      may get one array back, the first input's gradient, or a tuple with one
      gradient, or ``None``, per input; an input that is a tuple of arrays (an
      LSTM's ``(h, c)``) gets ``None`` or a tuple with one gradient (or
      ``None``) per array. A forward that returns something other than one
      array (a tuple of outputs) leaves ``grad_output`` to the layer, which
      takes a tuple with one gradient per output, ``None`` or a missing
      element meaning zero (docs/custom-layer.md).
    - **Order**: ``backward`` before a completed ``forward`` raises
      :class:`~minnet.errors.BackwardBeforeForwardError`; a ``forward`` that
      raised leaves the layer and every container above it without one.
    - **Stale weights**: ``backward`` after one of the layer's own Parameters
      changed since its ``forward`` (``Parameter.version``: an optimizer step,
      an initialiser, a load, ``p.data = ...``, ``p.mark_changed()``, or the
      attribute that held it set to another Parameter) raises
      :class:`~minnet.errors.StaleWeightsError` naming the parameter, unless
      inside :func:`minnet.allow_stale_weights`. A container checks nothing
      itself: each layer checks its own Parameters, so shared ones are fine.

    Forward and backward hooks, modes, ``state_dict`` and the walk come from
    :class:`~minnet.nn.module.Module`, whose docstring states the walk's
    rules and the class attributes (``local_derivative``,
    ``parameter_symbols``, ``buffer_names``) a layer may set. A layer may
    also set ``input_kind`` (above), and for :func:`minnet.inspect.health`
    ``saturation_bounds`` (Sigmoid's ``(0, 1)``) or ``dies_at_zero`` (ReLU).

    Attributes:
        training: ``True`` in training mode (the default), ``False`` after
            :meth:`eval`. Layers such as dropout read it.
    """

    input_kind: ClassVar[InputKind] = "float"
    #: Whether backward must return ∂L/∂x. True, unless the training loop says
    #: nothing reads it: :func:`minnet.fit` sets it to False, for the duration
    #: of the training, on the layer that takes the model's input (the model,
    #: and down the first layers of Sequentials), and a layer may then return
    #: ``None`` and skip that work (Linear does). Called directly, backward
    #: returns the input gradient as always.
    needs_input_grad: bool = True
    #: The bounds of the output where the local derivative vanishes (Sigmoid
    #: ``(0, 1)``, Tanh ``(-1, 1)``): ``health`` reports the share of outputs
    #: within 0.01 of them as saturated.
    saturation_bounds: ClassVar[tuple[float, float] | None] = None
    #: ``True`` when a unit whose output is zero passes no gradient at all
    #: (ReLU): ``health`` reports units zero for a whole batch as dead.
    dies_at_zero: ClassVar[bool] = False

    def forward(self, x: NDArray[Any]) -> NDArray[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_output: NDArray[Any]) -> NDArray[Any] | None:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    # -- the wrappers' checks -------------------------------------------------------------------------

    def _validate_forward(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if kwargs:  # inputs given by name (lstm(x, hx=state)) are inputs too: their gradients are checked
            args = bind_leading(self, "forward", len(args) + len(kwargs), args, kwargs)
        if args:
            x = args[0]
            if self.input_kind != "any" and _is_arrays(x):
                raise TypeError(
                    f"{type(self).__name__}: expected one array as input, got a tuple of {len(x)} values: the "
                    "outputs of a layer with several (an LSTM's (output, (h_n, c_n)))? Pass on the one this layer "
                    'reads, in a layer of your own with input_kind = "any" (docs/custom-layer.md, several inputs '
                    "or outputs)"
                )
            if self.input_kind == "integer":
                x = np.asarray(x)
                if x.dtype.kind not in "iu":
                    raise TypeError(f"{type(self).__name__}: expected integer indices, got an array of dtype {x.dtype}")
            elif self.input_kind == "float":
                x = np.asarray(x)
                if not (x.dtype.kind in "iu" and self.__dict__.get("_passes_indices")):  # indices for a child
                    x = as_float(self, x)
            args = (x, *args[1:])
        self.__dict__["_input_specs"] = [_spec(a) for a in args]
        return args, kwargs

    def _record_forward(self, args: tuple[Any, ...], output: Any) -> None:
        is_array = isinstance(output, (np.ndarray, np.generic))
        self.__dict__["_output_spec"] = (output.shape, output.dtype) if is_array else None

    def _validate_grad_output(self, grad_output: Any) -> Any:
        spec = self.__dict__.get("_output_spec")
        if spec is None:  # forward returned something other than an array: the layer checks it
            return grad_output
        if type(grad_output) is np.ndarray and grad_output.shape == spec[0] and grad_output.dtype == spec[1]:
            return grad_output  # the usual case
        if grad_output is None:
            raise TypeError(f"{type(self).__name__}.backward() needs grad_output, ∂L/∂y of shape {spec[0]}")
        return as_gradient(self, grad_output, *spec)

    def _check_grad_input(self, grad_input: Any) -> None:
        """∂L/∂x has x's shape and dtype. An input without a gradient (integer data, or
        for ``input_kind="any"`` whatever came) may get ``None``; a layer that took
        several inputs may return a tuple with one gradient (or ``None``) for each."""
        if grad_input is None and not self.needs_input_grad:  # nothing reads ∂L/∂x (fit's first layer)
            return
        specs = self.__dict__.get("_input_specs") or []
        if len(specs) == 1 and type(grad_input) is np.ndarray and self.input_kind != "integer":  # the usual case
            shape, dtype = specs[0]
            if grad_input.shape == shape and (grad_input.dtype == dtype or dtype is None or dtype.kind != "f"):
                return
        name = type(self).__name__
        if self.input_kind == "integer" and not (len(specs) > 1 and isinstance(grad_input, tuple)):
            if grad_input is not None:
                raise TypeError(
                    f"{name}.backward returned {type(grad_input).__name__}; an input of integer "
                    "indices has no gradient, so backward returns None"
                )
            return
        grads = (grad_input,)  # one array: the first input's gradient; the others have none
        if isinstance(grad_input, tuple) and len(specs) > 1:
            grads = grad_input
            if len(grads) != len(specs):
                raise ValueError(f"{name}.backward returned {len(grads)} gradients for {len(specs)} inputs")
        for i, (grad, spec) in enumerate(zip(grads, specs, strict=False)):  # no spec: no input to check
            of = "the input x" if i == 0 else f"input {i + 1}"
            if i == 0 and self.input_kind == "integer":
                if grad is not None:
                    raise TypeError(
                        f"{name}.backward returned {type(grad).__name__} for the input x; integer indices have no "
                        "gradient: return None in its place"
                    )
                continue
            if isinstance(spec, list):  # a tuple of arrays: None, or a tuple with a gradient (or None) for each
                self._check_nested_gradient(grad, spec, of)
                continue
            shape, dtype = spec
            differentiable = dtype is not None and dtype.kind == "f"
            if grad is None and (self.input_kind == "any" or not differentiable or i > 0):
                continue
            check_returned_gradient(self, grad, shape, dtype, of=of)

    def _check_nested_gradient(self, grad: Any, spec: list[Any], of: str) -> None:
        """The gradient of an input that is a tuple of arrays: ``None``, or a tuple with a gradient (or ``None``)
        for each item, nested as the input is."""
        if grad is None:
            return
        if not isinstance(grad, tuple) or len(grad) != len(spec):
            raise ValueError(
                f"{type(self).__name__}.backward returned {type(grad).__name__} for {of}, a tuple of "
                f"{len(spec)} arrays: expected a tuple of {len(spec)} gradients (or None)"
            )
        for j, (part, item) in enumerate(zip(grad, spec, strict=True)):
            if isinstance(item, list):
                self._check_nested_gradient(part, item, f"element {j} of {of}")
            elif part is not None and item[1] is not None:
                check_returned_gradient(self, part, item[0], item[1], of=f"element {j} of {of}")

    # -- seeing a pass (the logic lives in minnet.inspect) --------------------------------------------

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

    def train(self, mode: bool = True) -> Layer:
        """Put this layer and every layer below it in training mode (``mode=False``: eval)."""
        super().train(mode)
        return self

    def eval(self) -> Layer:
        """Put this layer and every layer below it in evaluation mode."""
        return self.train(False)
