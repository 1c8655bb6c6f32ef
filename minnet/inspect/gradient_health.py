"""``health`` (``model.health(X, Y)``): saturated and dead units, update/weight ratios, the largest logit, overflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..nn.layer import Layer
from ..nn.loss import Loss, MSELoss
from ..nn.module import HookHandle, Module
from ..nn.snapshot import preserved
from .common import named_leaves, scalar_loss, short_repr
from .tables import _norm, _table


@dataclass
class LayerHealth:
    """One layer's units on the batch.

    Attributes:
        saturated: for a layer whose class sets ``saturation_bounds``
            (Sigmoid (0, 1), Tanh (−1, 1)), the share of outputs within 0.01
            of a bound (σ' < 0.0099, tanh' < 0.02): units whose local
            derivative lets almost no gradient through. ``None`` otherwise.
        dead: for a layer whose class sets ``dies_at_zero`` (ReLU), the share
            of units that are zero for every sample of the batch: they pass no
            gradient at all. A unit is one element of a sample's output: a
            feature of ``(N, F)``, a channel at one position of ``(N, C, H, W)``.
            ``None`` otherwise.
        nonfinite: ``"output"`` or ``"gradient"`` if inf or NaN appeared there.
    """

    name: str
    layer: str
    saturated: float | None = None
    dead: float | None = None
    nonfinite: list[str] = field(default_factory=list)


@dataclass
class ParamHealth:
    """``update_ratio = ‖lr · grad‖ / ‖weight‖``: how far one plain SGD step
    moves the parameter relative to its size (around 1e-3 is the usual
    healthy value; far above, training is unstable; far below, it crawls)."""

    name: str
    shape: tuple[int, ...]
    grad_norm: float
    weight_norm: float
    update_ratio: float


@dataclass
class Health:
    """What :func:`health` found; ``str()`` is a report, ``notes`` the warnings."""

    loss: float
    lr: float
    layers: list[LayerHealth]
    params: list[ParamHealth]
    largest_logit: float | None
    overflow: list[str]

    @property
    def notes(self) -> list[str]:
        notes = []
        for h in self.layers:
            if h.saturated is not None and h.saturated > 0.5:
                notes.append(f"{h.name} {h.layer}: {h.saturated:.0%} of units saturated, little gradient passes")
            if h.dead is not None and h.dead > 0.5:
                notes.append(f"{h.name} {h.layer}: {h.dead:.0%} of units dead on this batch")
        for p in self.params:
            if 1e-1 < p.update_ratio < float("inf"):
                notes.append(f"{p.name}: one step changes it by {p.update_ratio:.0%} of its size (lr too large?)")
        if self.largest_logit is not None and self.largest_logit > 30:
            notes.append(f"largest logit {self.largest_logit:.3g}: the softmax is saturated")
        notes += [f"overflow: {o}" for o in self.overflow]
        return notes

    def __str__(self) -> str:
        def share(v: float | None) -> str:
            return "—" if v is None else f"{v:.1%}"

        layer_rows = [
            [h.name, h.layer, share(h.saturated), share(h.dead), ", ".join(h.nonfinite) or "—"] for h in self.layers
        ]
        param_rows = [
            [p.name, str(p.shape), f"{p.grad_norm:.3e}", f"{p.weight_norm:.3e}", f"{p.update_ratio:.2e}"]
            for p in self.params
        ]
        parts = [
            f"loss {self.loss:.6g}",
            _table(["#", "layer", "saturated", "dead", "inf/nan"], layer_rows),
            f"update/weight ratio for one SGD step with lr={self.lr:g}",
            _table(["parameter", "shape", "‖grad‖", "‖weight‖", "‖lr·grad‖/‖weight‖"], param_rows),
        ]
        if self.largest_logit is not None:
            parts.append(f"largest |logit| into the cross-entropy: {self.largest_logit:.4g}")
        parts.append(f"overflow: {'; '.join(self.overflow) if self.overflow else 'none seen'}")
        if self.notes:
            parts.append("notes:\n" + "\n".join(f"  - {n}" for n in self.notes))
        return "\n".join(parts)


def _arrays(value: Any) -> list[NDArray[Any]]:
    """The arrays in ``value``: itself, or those of a tuple (several outputs or gradients), ``None`` left out."""
    if isinstance(value, tuple):
        return [a for item in value for a in _arrays(item)]
    return [] if value is None else [np.asarray(value)]


def health(model: Layer, X: ArrayLike, Y: ArrayLike, loss_fn: Loss | None = None, lr: float = 0.01) -> Health:
    """Run one batch forward and backward and report how well gradient flows.

    Per layer: the share of saturated outputs (Sigmoid, Tanh: classes that
    set ``saturation_bounds``) and of dead units (ReLU: ``dies_at_zero``),
    and whether inf or NaN appeared in its output or gradient. Per
    parameter: the ratio of one SGD update ``lr · grad`` to the weight, by
    norm. The largest logit fed to a loss that takes logits
    (``takes_logits``), and any floating-point overflow, division by zero or
    invalid operation numpy met. The pass leaves no trace: gradients,
    buffers, random generators and modes are as they were (see
    :func:`~minnet.nn.snapshot.preserved`).

    Args:
        model: the network.
        X: the input batch.
        Y: the target.
        loss_fn: the loss (default ``MSELoss()``).
        lr: the learning rate of the update/weight ratio.

    Returns:
        a :class:`Health`; ``str()`` of it is the report, ``.notes`` the warnings.

    Example:
        >>> model = Sequential(Linear(2, 3, rng=0), Sigmoid())
        >>> report = health(model, 100 * np.ones((4, 2)), np.zeros((4, 3)))
        >>> report.layers[1].saturated
        1.0
    """
    loss_fn = MSELoss() if loss_fn is None else loss_fn
    reports: dict[int, LayerHealth] = {}
    handles: list[HookHandle] = []
    overflow: list[str] = []
    phase = ["forward"]

    def on_forward(layer: Module, inputs: tuple[Any, ...], output: Any) -> None:
        report = reports[id(layer)]
        if not all(np.all(np.isfinite(a)) for a in _arrays(output)):
            report.nonfinite.append("output")
        if not isinstance(output, np.ndarray):  # several outputs (an LSTM's): saturation and dead units not told
            return
        y = output
        bounds = getattr(layer, "saturation_bounds", None)
        if bounds is not None:
            report.saturated = float(np.mean((y < bounds[0] + 0.01) | (y > bounds[1] - 0.01)))
        if getattr(layer, "dies_at_zero", False) and y.ndim >= 1 and y.shape[0] > 0:
            report.dead = float(np.mean(np.all(y <= 0, axis=0)))

    def on_backward(layer: Module, grad_output: Any, grad_input: Any) -> None:
        if not all(np.all(np.isfinite(a)) for a in _arrays(grad_input)):
            reports[id(layer)].nonfinite.append("gradient")

    def on_error(kind: str, flag: int) -> None:
        message = f"floating-point {kind} during the {phase[0]} pass"
        if message not in overflow:
            overflow.append(message)

    for path, layer in named_leaves(model):
        reports[id(layer)] = LayerHealth(path or "0", short_repr(layer))
        handles.append(layer.register_forward_hook(on_forward))
        handles.append(layer.register_backward_hook(on_backward))
    old_call = np.seterrcall(on_error)
    try:
        with np.errstate(over="call", divide="call", invalid="call"), preserved(model):
            model.zero_grad()
            pred = model(X)
            loss = scalar_loss(loss_fn, pred, Y)
            phase[0] = "backward"
            model.backward(loss_fn.backward())
            params = []
            for name, p in model.named_parameters():
                weight_norm, grad_norm = _norm(p.data), _norm(p.grad)
                ratio = lr * grad_norm / weight_norm if weight_norm > 0 else float("inf") if grad_norm > 0 else 0.0
                params.append(ParamHealth(name, tuple(p.shape), grad_norm, weight_norm, ratio))
    finally:
        np.seterrcall(old_call)
        for handle in handles:
            handle.remove()
    if not np.isfinite(loss):
        overflow.append(f"the loss is {loss}")
    largest = float(np.max(np.abs(pred))) if loss_fn.takes_logits and np.size(pred) else None
    return Health(loss, lr, list(reports.values()), params, largest, overflow)
