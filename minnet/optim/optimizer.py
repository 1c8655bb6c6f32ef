"""Optimizers: read each parameter's ``.grad`` and update its ``.data``.

Each optimizer applies exactly the update rule of the PyTorch optimizer of the
same name, with the same argument names. Its state (step count, moment
estimates, momentum buffers, hyperparameters) is a flat dict of arrays from
:meth:`Optimizer.state_dict`, so :func:`minnet.save` writes it like a model's
weights and a resumed run continues bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._inplace import add_scaled
from ..nn.layer import Layer
from ..parameter import Parameter
from ..serialization import check_state_dict


def _to_array(value: Any) -> NDArray[Any]:
    """A hyperparameter as the array stored in a state dict."""
    if isinstance(value, (bool, np.bool_)):
        return np.array(value, dtype=np.bool_)
    if isinstance(value, tuple):
        return np.array(value, dtype=np.float64)
    if isinstance(value, (int, np.integer)):
        return np.array(value, dtype=np.int64)
    return np.array(value, dtype=np.float64)


def _from_array(array: NDArray[Any], like: Any) -> Any:
    """The inverse of :func:`_to_array`, giving the Python type of ``like``."""
    if isinstance(like, tuple):
        return tuple(float(v) for v in array)
    return type(like)(array.item())


class Optimizer:
    """Base class of the optimizers.

    A subclass sets ``hyperparameters`` (the attribute names saved in the state
    dict), creates its per-parameter arrays in ``self.state[i]`` and writes
    :meth:`update` for one parameter; :meth:`step` counts the step and calls it
    for each parameter.

    Args:
        params: the parameters to update, e.g. ``model.parameters()``; each
            at most once (a repeated Parameter is a ValueError).
        lr: the learning rate, a finite number >= 0.

    Attributes:
        params: the list of parameters.
        lr: the learning rate (the schedules change it).
        step_count: the number of steps taken.
        state: one dict per parameter of the arrays the update keeps between
            steps (momentum buffers, moment estimates), each shaped like the
            parameter.
    """

    hyperparameters: tuple[str, ...] = ("lr",)

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        if isinstance(params, Layer):
            raise TypeError(f"{type(self).__name__}: got the model itself; pass its parameters: model.parameters()")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        first_index: dict[int, int] = {}
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{type(self).__name__}: params[{i}] is a {type(p).__name__}, expected a Parameter")
            j = first_index.setdefault(id(p), i)
            if j != i:  # stepping it twice per step() would double its update
                raise ValueError(
                    f"{type(self).__name__}: params[{i}] is the same Parameter as params[{j}]; "
                    "expected each parameter once"
                )
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"{type(self).__name__}: lr must be a finite number >= 0, got {lr}")
        self.lr = float(lr)
        self.step_count = 0
        self.state: list[dict[str, NDArray[np.floating]]] = [{} for _ in self.params]

    def _new_state(self, *names: str) -> None:
        """Create zero arrays shaped like each parameter under ``names``."""
        for p, state in zip(self.params, self.state, strict=True):
            for name in names:
                state[name] = np.zeros_like(p.data)

    def _check_non_negative(self, **values: float) -> None:
        for name, value in values.items():
            if not value >= 0:  # NaN fails too
                raise ValueError(f"{type(self).__name__}: {name} must be >= 0, got {value}")

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter once from its ``.grad``."""
        self.step_count += 1
        for p, state in zip(self.params, self.state, strict=True):
            self.update(p, state)

    def update(self, p: Parameter, state: dict[str, NDArray[np.floating]]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement update()")

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """A flat dict of arrays: each hyperparameter (``"lr"``, ...), ``"step"``,
        and ``"state.<i>.<name>"`` for the arrays kept for parameter ``i``
        (copies)."""
        out = {name: _to_array(getattr(self, name)) for name in self.hyperparameters}
        out["step"] = np.array(self.step_count, dtype=np.int64)
        for i, state in enumerate(self.state):
            for name, array in state.items():
                out[f"state.{i}.{name}"] = array.copy()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state from :meth:`state_dict`, hyperparameters included.

        Every key, shape and dtype is checked first; a mismatch raises
        :class:`~minnet.errors.LoadError` and leaves the optimizer unchanged.
        """
        check_state_dict(type(self).__name__, self.state_dict(), state_dict, strict=True)
        for name in self.hyperparameters:
            setattr(self, name, _from_array(state_dict[name], getattr(self, name)))
        self.step_count = int(state_dict["step"])
        for i, state in enumerate(self.state):
            for name, array in state.items():
                array[...] = state_dict[f"state.{i}.{name}"]

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (PyTorch's rule).

    For each parameter ``p`` with gradient ``g = p.grad`` (``−g`` if ``maximize``):

    - ``g ← g + weight_decay · p``
    - with momentum μ: ``b ← g`` on the first step, then ``b ← μ b + (1 − dampening) g``;
      ``g ← g + μ b`` if ``nesterov`` else ``g ← b``
    - ``p ← p − lr · g``

    Args:
        params: the parameters to update.
        lr: the learning rate.
        momentum: the momentum factor μ (default 0: plain gradient descent).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead of descending (default False).

    State (per parameter): ``momentum_buffer`` when momentum ≠ 0.

    Example:
        >>> p = Parameter(np.array([1.0])); p.grad[:] = 2.0
        >>> SGD([p], lr=0.1).step(); p.data
        array([0.8])
    """

    hyperparameters = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self._check_non_negative(momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.weight_decay = float(weight_decay)
        self.nesterov = bool(nesterov)
        self.maximize = bool(maximize)
        if self.momentum != 0:
            self._new_state("momentum_buffer")

    def update(self, p: Parameter, state: dict[str, NDArray[np.floating]]) -> None:
        g = -p.grad if self.maximize else p.grad
        if self.weight_decay != 0:
            g = g + self.weight_decay * p.data
        if self.momentum != 0:
            buffer = state["momentum_buffer"]
            if self.step_count == 1:
                buffer[...] = g
            else:  # b ← μ b + (1 − dampening) g, in place
                buffer *= self.momentum
                buffer += g if self.dampening == 0 else (1 - self.dampening) * g
            g = g + self.momentum * buffer if self.nesterov else buffer
        add_scaled(p.data, -self.lr, g)  # p ← p − lr g, in place, in blocks of rows


class Adam(Optimizer):
    r"""Adam: steps scaled by bias-corrected moment estimates (PyTorch's rule).

    At step t, for each parameter ``p`` with gradient ``g`` (``−g`` if ``maximize``):

    - ``g ← g + weight_decay · p``  (or, with ``decoupled_weight_decay``, ``p ← p (1 − lr · weight_decay)``)
    - ``m ← β₁ m + (1 − β₁) g``,  ``v ← β₂ v + (1 − β₂) g²``
    - ``v̂ ← max(v̂, v)`` if ``amsgrad`` (and ``v̂`` is used for ``v`` below)
    - ``p ← p − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)``

    Args:
        params: the parameters to update.
        lr: the learning rate (default 1e-3).
        betas: (β₁, β₂), the decay rates of the moment estimates (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        amsgrad: use the running maximum of ``v`` (default False).
        maximize: ascend the objective instead of descending (default False).
        decoupled_weight_decay: decay the weights directly, as :class:`AdamW` does (default False).

    State (per parameter): ``exp_avg`` (m), ``exp_avg_sq`` (v), and ``max_exp_avg_sq`` with amsgrad.

    Example:
        >>> p = Parameter(np.array([1.0])); p.grad[:] = 5.0
        >>> Adam([p], lr=0.1).step(); p.data  # the first step moves by lr·sign(g)
        array([0.9])
    """

    hyperparameters: tuple[str, ...] = (
        "lr",
        "betas",
        "eps",
        "weight_decay",
        "amsgrad",
        "maximize",
        "decoupled_weight_decay",
    )

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self._check_non_negative(eps=eps, weight_decay=weight_decay)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"{type(self).__name__}: betas must be two numbers in [0, 1), got {betas}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.amsgrad = bool(amsgrad)
        self.maximize = bool(maximize)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)
        self._new_state("exp_avg", "exp_avg_sq", *(["max_exp_avg_sq"] if self.amsgrad else []))

    def update(self, p: Parameter, state: dict[str, NDArray[np.floating]]) -> None:
        beta1, beta2 = self.betas
        g = -p.grad if self.maximize else p.grad
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                p.data *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1  # m ← β₁ m + (1 − β₁) g, in place
        m += (1 - beta1) * g
        v *= beta2  # v ← β₂ v + (1 − β₂) g², in place
        v += (1 - beta2) * (g * g)
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = self.lr / (1 - beta1**self.step_count)
        bias_correction2_sqrt = (1 - beta2**self.step_count) ** 0.5
        step = np.sqrt(v)  # step_size · m / (√v / √(1 − β₂ᵗ) + eps), built in one array
        step /= bias_correction2_sqrt
        step += self.eps
        np.divide(m, step, out=step)
        step *= step_size
        data = p.data
        data -= step


class AdamW(Adam):
    r"""Adam with decoupled weight decay (PyTorch's rule).

    Before the Adam step, each parameter decays directly, ``p ← p (1 − lr · weight_decay)``,
    instead of the decay being added to the gradient; the rest is :class:`Adam`'s update.

    Args:
        params: the parameters to update.
        lr: the learning rate (default 1e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: the decoupled decay rate (default 1e-2).
        amsgrad: use the running maximum of ``v`` (default False).
        maximize: ascend the objective instead of descending (default False).

    Example:
        >>> p = Parameter(np.array([1.0]))  # zero gradient: only the decay acts
        >>> AdamW([p], lr=0.1, weight_decay=0.5).step(); p.data
        array([0.95])
    """

    hyperparameters = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True)


class RMSprop(Optimizer):
    r"""RMSprop: steps divided by a running root mean square of the gradient (PyTorch's rule).

    For each parameter ``p`` with gradient ``g`` (``−g`` if ``maximize``):

    - ``g ← g + weight_decay · p``
    - ``v ← α v + (1 − α) g²``
    - if ``centered``: ``ḡ ← α ḡ + (1 − α) g`` and ``d = √(v − ḡ²) + eps``; else ``d = √v + eps``
    - with momentum μ > 0: ``b ← μ b + g / d``, ``p ← p − lr · b``; else ``p ← p − lr · g / d``

    Args:
        params: the parameters to update.
        lr: the learning rate (default 1e-2).
        alpha: the smoothing constant α (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        momentum: the momentum factor μ (default 0).
        centered: divide by an estimate of the gradient's variance instead of its
            second moment (default False).
        maximize: ascend the objective instead of descending (default False).

    State (per parameter): ``square_avg`` (v), ``grad_avg`` (ḡ) when centered,
    ``momentum_buffer`` (b) when momentum > 0.

    Example:
        >>> p = Parameter(np.array([1.0])); p.grad[:] = 3.0
        >>> RMSprop([p], lr=0.01, alpha=0.75, eps=0.0).step(); p.data  # v = 0.25·9, step 0.01·3/1.5
        array([0.98])
    """

    hyperparameters = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self._check_non_negative(alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        self.alpha = float(alpha)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.momentum = float(momentum)
        self.centered = bool(centered)
        self.maximize = bool(maximize)
        names = ["square_avg"]
        if self.centered:
            names.append("grad_avg")
        if self.momentum > 0:
            names.append("momentum_buffer")
        self._new_state(*names)

    def update(self, p: Parameter, state: dict[str, NDArray[np.floating]]) -> None:
        alpha = self.alpha
        g = -p.grad if self.maximize else p.grad
        if self.weight_decay != 0:
            g = g + self.weight_decay * p.data
        v = state["square_avg"]
        v[...] = alpha * v + (1 - alpha) * (g * g)
        if self.centered:
            g_avg = state["grad_avg"]
            g_avg[...] = alpha * g_avg + (1 - alpha) * g
            denominator = np.sqrt(v - g_avg * g_avg) + self.eps
        else:
            denominator = np.sqrt(v) + self.eps
        if self.momentum > 0:
            buffer = state["momentum_buffer"]
            buffer[...] = self.momentum * buffer + g / denominator
            p.data -= self.lr * buffer
        else:
            p.data -= self.lr * (g / denominator)
