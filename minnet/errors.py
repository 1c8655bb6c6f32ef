"""The exception types minnet raises."""

from __future__ import annotations


class BackwardBeforeForwardError(RuntimeError):
    """``backward`` was called on a layer that has not run ``forward`` yet,
    so there is no cache to compute the local derivative from."""


class LoadError(ValueError):
    """Weights or optimizer state could not be loaded, and nothing was changed.

    Raised by :func:`minnet.load`, ``Layer.load_state_dict`` and
    ``Optimizer.load_state_dict`` (and the schedules') for every way a state can
    fail to fit its target: a missing key, an unexpected key, a shape or dtype
    that differs from the target's (the message names the key and both shapes or
    dtypes), and a file that is truncated, corrupted, not a weights file, or
    holds pickled objects. Every check runs before anything is written, so after
    a LoadError the model or optimizer is exactly as it was.
    """


class StaleWeightsError(RuntimeError):
    """A layer's ``backward`` was refused because one of its Parameters was
    changed after its ``forward`` (an optimizer step, an initialiser, a load,
    ``p.data = ...``, or a write marked with ``Parameter.mark_changed``).

    The layer's caches hold the forward pass of the old values, so the
    gradient would mix old and new: run the forward again, or, when that
    mixture is meant, run the backward inside :func:`minnet.allow_stale_weights`.
    PyTorch raises a RuntimeError in the same case ("modified by an inplace
    operation"); this is a RuntimeError too.

    Each layer checks its own Parameters as the backward reaches it, so in a
    model the layers nearer the output, whose backward ran before the refused
    one, have added their gradients already: call ``zero_grad`` before trying
    again.

    The message starts with the layer's path in the model when the backward
    was called on a layer above it (``layer '2.1.enc' Linear.backward:
    parameter 'weight' ...``), as :class:`AnomalyError`'s does.

    Attributes:
        layer: the layer whose backward was refused.
        parameter: the name of its Parameter (``"weight"``).
        path: the layer's dotted path from the outermost layer that was called
            (``""``: that layer itself).
    """

    def __init__(self, message: str, layer: object = None, parameter: str = "") -> None:
        super().__init__(message)
        self.message, self.layer, self.parameter = message, layer, parameter
        self.path = ""
        self._outermost = layer  # the module the path starts from, moved up as the error leaves each container

    def __str__(self) -> str:
        return f"layer '{self.path}' {self.message}" if self.path else self.message


class AnomalyError(FloatingPointError):
    """A non-finite value (nan, inf or -inf) found by :func:`minnet.detect_anomaly`.

    The message names the pass (forward or backward), the layer (its path in
    the model, from the outermost layer that was called, and its class with
    arguments), what held the value (the input, the output, ``grad_output``,
    the returned gradient, a parameter's gradient) and the index of the first
    non-finite element, with how many there are.

    Attributes:
        layer: the layer or loss whose pass found the value.
        path: its dotted path from the outermost layer that was called
            (``""``: that layer itself).
        phase: ``"forward"`` or ``"backward"``.
        what: what held the value, e.g. ``"output"`` or ``"gradient of parameter 'weight'"``.
        index: the index of the first non-finite element (``()`` for a scalar).
        value: that element (nan, inf or -inf).
        count: how many elements are non-finite.
    """

    def __init__(self, layer: object, phase: str, what: str, index: tuple[int, ...], value: float, count: int) -> None:
        super().__init__(layer, phase, what, index, value, count)
        self.layer, self.phase, self.what = layer, phase, what
        self.index, self.value, self.count = index, value, count
        self.path = ""
        self._outermost = layer  # the module the path starts from, moved up as the error leaves each container

    def __str__(self) -> str:
        layer = self.layer
        extra = layer.extra_repr() if hasattr(layer, "extra_repr") else ""
        described = f"{type(layer).__name__}({extra})"
        where = f"layer '{self.path}' {described}" if self.path else described
        value = "nan" if self.value != self.value else ("inf" if self.value > 0 else "-inf")
        if not self.index:
            return f"{self.phase} of {where}: {self.what} is {value}"
        index = self.index[0] if len(self.index) == 1 else self.index
        others = "the only non-finite value" if self.count == 1 else f"first of {self.count} non-finite values"
        return f"{self.phase} of {where}: {self.what} has {value} at index {index} ({others})"
