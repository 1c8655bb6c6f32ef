"""Optimizers: read each parameter's ``.grad`` and update its ``.data``.

Each optimizer applies exactly the update rule of the PyTorch optimizer of the
same name, with the same argument names, and takes its parameters as PyTorch's
do: an iterable of Parameters, or a list of parameter groups (dicts with
``"params"`` and options of their own). Its state (step count, moment
estimates, momentum buffers, each group's options) is a flat dict of arrays
from :meth:`Optimizer.state_dict`, so :func:`minnet.save` writes it like a
model's weights and a resumed run continues bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_bool, check_real, describe, is_real
from .._inplace import add_scaled
from ..errors import LoadError
from ..nn.layer import Layer
from ..parameter import Parameter
from ..serialization import check_state_dict

ParamGroup = dict[str, Any]
"""One parameter group: ``"params"`` (a list of Parameters) and the optimizer's options."""

State = dict[str, NDArray[Any]]
"""The arrays an optimizer keeps for one parameter between steps."""


def _to_array(value: Any) -> NDArray[Any]:
    """A hyperparameter as the array stored in a state dict."""
    if isinstance(value, (bool, np.bool_)):
        return np.array(value, dtype=np.bool_)
    if isinstance(value, (tuple, list)):  # whole numbers (milestones) stay int64
        whole = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
        return np.array(value, dtype=np.int64 if whole and value else np.float64)
    if isinstance(value, (int, np.integer)):
        return np.array(value, dtype=np.int64)
    return np.array(value, dtype=np.float64)


def _from_array(array: NDArray[Any], like: Any) -> Any:
    """The inverse of :func:`_to_array`, giving the Python type of ``like``."""
    if isinstance(like, (tuple, list)):
        return type(like)(v.item() for v in array)
    return type(like)(array.item())


def _describe(p: Parameter) -> str:
    return f"a Parameter of shape {tuple(p.data.shape)}"


class Optimizer:
    """Base class of the optimizers.

    The parameters are held in ``param_groups``, as in PyTorch: a list of dicts,
    each with ``"params"`` (a list of Parameters) and one value for every option
    of the optimizer (``"lr"``, ``"weight_decay"``, ...), read by each step; a
    schedule sets ``group["lr"]``, and so can you. A subclass sets
    ``hyperparameters`` (its option names, in order), checks a group's options in
    :meth:`_check_options`, creates the arrays kept for a parameter in
    :meth:`_init_state` and writes :meth:`update` for one parameter; :meth:`step`
    counts the step and calls it for each parameter of each group.

    Args:
        params: the parameters to update, e.g. ``model.parameters()``, or a list of
            parameter groups, dicts ``{"params": [...], "lr": ..., ...}`` whose
            missing options take the values given to the constructor (``defaults``).
            Each parameter at most once in all (a repeated Parameter is a ValueError).
        defaults: the value of every option, from the subclass's arguments.

    Attributes:
        param_groups: the list of parameter groups.
        defaults: the options' values for a group that does not give its own.
        params: every parameter, group after group (read-only).
        lr: the first group's learning rate; setting it needs a single group.
            The other options read as attributes too (``optimizer.momentum``):
            the first group's values.
        step_count: the number of :meth:`step` calls.
        state: one dict per parameter (in the order of ``params``) of the arrays
            the update keeps between steps (momentum buffers, moment estimates),
            each shaped like the parameter.
    """

    hyperparameters: tuple[str, ...] = ("lr",)

    def __init__(self, params: Iterable[Parameter] | Iterable[Mapping[str, Any]], defaults: Mapping[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Layer):
            raise TypeError(f"{name}: got the model itself; pass its parameters: model.parameters()")
        if isinstance(params, (Parameter, Mapping, str)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{name}: params must be an iterable of Parameters or of parameter groups (dicts), "
                f"got {describe(params)}"
            )
        self.defaults: dict[str, Any] = self._check_options(dict(defaults), "")
        self.param_groups: list[ParamGroup] = []
        self.state: list[State] = []
        self.step_count = 0
        self._first_steps: list[int] = []  # step_count when each group was added: a group's own step count is the rest
        given: list[Any] = list(params)
        if not given:
            raise ValueError(f"{name}: got an empty list of parameters")
        if all(isinstance(group, Mapping) for group in given):
            for group in given:
                self._add_group(group, plain=False)
        elif any(isinstance(group, Mapping) for group in given):
            raise TypeError(f"{name}: params mixes parameter groups (dicts) with other items; pass one kind")
        else:
            self._add_group({"params": given}, plain=True)

    @property
    def params(self) -> list[Parameter]:
        """Every parameter, group after group."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self) -> float:
        """The learning rate of the first group (of the only one, unless groups were given)."""
        return float(self.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        if len(self.param_groups) > 1:
            raise AttributeError(
                f"{type(self).__name__}: optimizer.lr is ambiguous with {len(self.param_groups)} parameter groups; "
                'set each group\'s rate: optimizer.param_groups[i]["lr"] = ...'
            )
        self.param_groups[0]["lr"] = self._check_options({**self.param_groups[0], "lr": value}, "")["lr"]

    def __getattr__(self, name: str) -> Any:
        """An option read as an attribute (``optimizer.momentum``): the first group's value, as before groups."""
        groups = self.__dict__.get("param_groups")
        if groups and name in type(self).hyperparameters:
            return groups[0][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group of parameters, ``{"params": [...], <option>: <value>, ...}``, as PyTorch's.

        The options it leaves out take the values of ``defaults``. An unknown
        option, a parameter already in a group, or an invalid value is a
        ValueError naming the optimizer and the argument. The new parameters'
        state starts empty (their step count at 0), as in PyTorch.
        """
        self._add_group(param_group, plain=False)

    def _add_group(self, param_group: Mapping[str, Any], plain: bool) -> None:
        """``plain``: the group made from a list of parameters, named ``params`` in messages."""
        name, g = type(self).__name__, len(self.param_groups)
        if not isinstance(param_group, Mapping):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group).__name__}")
        where = "" if plain else f"param_groups[{g}]"
        if "params" not in param_group:
            raise ValueError(f"{name}: {where} has no 'params'")
        unknown = [key for key in param_group if key != "params" and key not in self.hyperparameters]
        if unknown:
            raise ValueError(
                f"{name}: {where} has the unknown option(s) {unknown}; {name} takes {list(self.hyperparameters)}"
            )
        label = "params" if plain else f"{where}['params']"
        raw = param_group["params"]
        if isinstance(raw, Layer):
            raise TypeError(f"{name}: {label} is a model; pass its parameters: model.parameters()")
        params = [raw] if isinstance(raw, Parameter) else list(raw)
        if not params:
            raise ValueError(f"{name}: {label} is empty" if not plain else f"{name}: got an empty list of parameters")
        seen = {id(p): (gi, i) for gi, group in enumerate(self.param_groups) for i, p in enumerate(group["params"])}
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{name}: {label}[{i}] is a {type(p).__name__}, expected a Parameter")
            if id(p) in seen:  # stepping it twice per step() would double its update
                gj, j = seen[id(p)]
                other = f"{label}[{j}]" if gj == g else f"param_groups[{gj}]['params'][{j}]"
                raise ValueError(
                    f"{name}: {label}[{i}] is the same Parameter as {other} ({_describe(p)}); "
                    "expected each parameter once, in one group"
                )
            seen[id(p)] = (g, i)
        options = {key: param_group.get(key, self.defaults[key]) for key in self.hyperparameters}
        group: ParamGroup = {"params": params, **self._check_options(options, f"{where} " if where else "")}
        self.param_groups.append(group)
        self._first_steps.append(self.step_count)
        self.state.extend(self._init_state(p, group) for p in params)

    def _check_options(self, options: dict[str, Any], where: str) -> dict[str, Any]:
        """Check the options of a group (``where`` names it in messages) and return them as Python values."""
        options["lr"] = check_real(type(self).__name__, f"{where}lr", options["lr"], 0.0)
        for name in ("nesterov", "amsgrad", "centered", "maximize", "decoupled_weight_decay"):
            if name in options:
                options[name] = check_bool(type(self).__name__, f"{where}{name}", options[name])
        return options

    def _check_non_negative(self, options: dict[str, Any], where: str, *names: str) -> None:
        for name in names:
            options[name] = check_real(type(self).__name__, f"{where}{name}", options[name], 0.0)

    def _init_state(self, p: Parameter, group: ParamGroup) -> State:
        """The arrays kept for ``p`` before its first step (none by default)."""
        return {}

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter once from its ``.grad``, with its group's options."""
        self.step_count += 1
        i = 0
        for group, first in zip(self.param_groups, self._first_steps, strict=True):
            for p in group["params"]:
                self.update(p, self.state[i], group, self.step_count - first)
                p.mark_changed()  # a layer whose forward ran before this step refuses its backward
                i += 1

    def update(self, p: Parameter, state: State, group: ParamGroup, step: int) -> None:
        """Update ``p`` in place; ``step`` counts the steps of its group, from 1."""
        raise NotImplementedError(f"{type(self).__name__} does not implement update()")

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """A flat dict of arrays (copies).

        The first group's options (``"lr"``, ...), ``"step"`` (the step count),
        and ``"state.<i>.<name>"`` for the arrays kept for parameter ``i`` (the
        index in ``params``): with one group, the keys of minnet before parameter
        groups. Each further group ``g`` adds ``"param_groups.<g>.<option>"``,
        ``"param_groups.<g>.step"`` (its own step count) and
        ``"param_groups.<g>.params"`` (the indices of its parameters).
        """
        first = self.param_groups[0]
        out = {name: _to_array(first[name]) for name in self.hyperparameters}
        out["step"] = np.array(self.step_count, dtype=np.int64)
        start = len(first["params"])
        for g in range(1, len(self.param_groups)):
            group = self.param_groups[g]
            for name in self.hyperparameters:
                out[f"param_groups.{g}.{name}"] = _to_array(group[name])
            out[f"param_groups.{g}.step"] = np.array(self.step_count - self._first_steps[g], dtype=np.int64)
            out[f"param_groups.{g}.params"] = np.arange(start, start + len(group["params"]), dtype=np.int64)
            start += len(group["params"])
        for i, state in enumerate(self.state):
            for name, array in state.items():
                out[f"state.{i}.{name}"] = array.copy()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state from :meth:`state_dict`, the groups' options included.

        Every key, shape and dtype is checked first (the optimizer must have the
        same groups of the same sizes); a mismatch raises
        :class:`~minnet.errors.LoadError` and leaves the optimizer unchanged.
        """
        name = type(self).__name__
        expected = self.state_dict()
        check_state_dict(name, expected, state_dict, strict=True)
        for key in expected:
            if key.endswith(".params") and not np.array_equal(state_dict[key], expected[key]):
                raise LoadError(
                    f"{name}: {key!r} holds the parameters {state_dict[key].tolist()}, "
                    f"this optimizer's group has {expected[key].tolist()}"
                )
        step_count = int(state_dict["step"])
        for g, group in enumerate(self.param_groups):
            prefix = "" if g == 0 else f"param_groups.{g}."
            for option in self.hyperparameters:
                group[option] = _from_array(state_dict[prefix + option], group[option])
            self._first_steps[g] = 0 if g == 0 else step_count - int(state_dict[f"{prefix}step"])
        self.step_count = step_count
        for i, state in enumerate(self.state):
            for key, array in state.items():
                array[...] = state_dict[f"state.{i}.{key}"]

    def __repr__(self) -> str:
        def options(group: ParamGroup) -> str:
            return ", ".join(f"{name}={group[name]!r}" for name in self.hyperparameters)

        if len(self.param_groups) == 1:
            return f"{type(self).__name__}({options(self.param_groups[0])})"
        groups = "; ".join(f"[{len(g['params'])} params: {options(g)}]" for g in self.param_groups)
        return f"{type(self).__name__}({len(self.param_groups)} groups: {groups})"


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
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay}
        super().__init__(params, {**defaults, "nesterov": nesterov, "maximize": maximize})

    def _check_options(self, options: dict[str, Any], where: str) -> dict[str, Any]:
        options = super()._check_options(options, where)
        self._check_non_negative(options, where, "momentum", "weight_decay")
        options["dampening"] = check_real("SGD", f"{where}dampening", options["dampening"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(f"SGD: {where}nesterov momentum needs momentum > 0 and dampening = 0")
        return options

    def _init_state(self, p: Parameter, group: ParamGroup) -> State:
        return {"momentum_buffer": np.zeros_like(p.data)} if group["momentum"] != 0 else {}

    def update(self, p: Parameter, state: State, group: ParamGroup, step: int) -> None:
        g = -p.grad if group["maximize"] else p.grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        momentum = group["momentum"]
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # momentum set after the first step: PyTorch's buffer starts there
                buffer = state["momentum_buffer"] = np.array(g, copy=True)
            elif step == 1:
                buffer[...] = g
            else:  # b ← μ b + (1 − dampening) g, in place
                buffer *= momentum
                buffer += g if group["dampening"] == 0 else (1 - group["dampening"]) * g
            g = g + momentum * buffer if group["nesterov"] else buffer
        add_scaled(p.data, -group["lr"], g)  # p ← p − lr g, in place, in blocks of rows


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
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad}
        defaults["maximize"] = maximize
        if "decoupled_weight_decay" in self.hyperparameters:  # not AdamW's option: it always decouples
            defaults["decoupled_weight_decay"] = decoupled_weight_decay
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> dict[str, Any]:
        options = super()._check_options(options, where)
        self._check_non_negative(options, where, "eps", "weight_decay")
        betas, name = options["betas"], type(self).__name__
        expected = f"{name}: {where}betas must be two numbers in [0, 1), got"
        if isinstance(betas, np.ndarray) and betas.ndim == 1:
            betas = betas.tolist()
        if not isinstance(betas, (tuple, list)) or not all(map(is_real, betas)):
            raise TypeError(f"{expected} {describe(betas)}")
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"{expected} {betas}")
        options["betas"] = (float(betas[0]), float(betas[1]))
        return options

    def _init_state(self, p: Parameter, group: ParamGroup) -> State:
        names = ["exp_avg", "exp_avg_sq", *(["max_exp_avg_sq"] if group["amsgrad"] else [])]
        return {name: np.zeros_like(p.data) for name in names}

    def update(self, p: Parameter, state: State, group: ParamGroup, step: int) -> None:
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        g = -p.grad if group["maximize"] else p.grad
        if weight_decay != 0:
            if group.get("decoupled_weight_decay", True):  # AdamW's groups have no such option: always
                p.data *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * p.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1  # m ← β₁ m + (1 − β₁) g, in place
        m += (1 - beta1) * g
        v *= beta2  # v ← β₂ v + (1 − β₂) g², in place
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            v_max = state.setdefault("max_exp_avg_sq", np.zeros_like(v))
            np.maximum(v_max, v, out=v_max)
            v = v_max
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        delta = np.sqrt(v)  # step_size · m / (√v / √(1 − β₂ᵗ) + eps), built in one array
        delta /= bias_correction2_sqrt
        delta += group["eps"]
        np.divide(m, delta, out=delta)
        delta *= step_size
        data = p.data
        data -= delta


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
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
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
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay, "momentum": momentum}
        super().__init__(params, {**defaults, "centered": centered, "maximize": maximize})

    def _check_options(self, options: dict[str, Any], where: str) -> dict[str, Any]:
        options = super()._check_options(options, where)
        self._check_non_negative(options, where, "alpha", "eps", "weight_decay", "momentum")
        return options

    def _init_state(self, p: Parameter, group: ParamGroup) -> State:
        names = ["square_avg"]
        if group["centered"]:
            names.append("grad_avg")
        if group["momentum"] > 0:
            names.append("momentum_buffer")
        return {name: np.zeros_like(p.data) for name in names}

    def update(self, p: Parameter, state: State, group: ParamGroup, step: int) -> None:
        alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
        g = -p.grad if group["maximize"] else p.grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        v = state["square_avg"]
        v[...] = alpha * v + (1 - alpha) * (g * g)
        if group["centered"]:
            g_avg = state.setdefault("grad_avg", np.zeros_like(v))
            g_avg[...] = alpha * g_avg + (1 - alpha) * g
            denominator = np.sqrt(v - g_avg * g_avg) + eps
        else:
            denominator = np.sqrt(v) + eps
        if momentum > 0:
            buffer = state.setdefault("momentum_buffer", np.zeros_like(v))
            buffer[...] = momentum * buffer + g / denominator
            p.data -= group["lr"] * buffer
        else:
            p.data -= group["lr"] * (g / denominator)


class Adagrad(Optimizer):
    r"""Adagrad: steps divided by the root of the sum of all squared gradients so far (PyTorch's rule).

    At step t, for each parameter ``p`` with gradient ``g`` (``−g`` if ``maximize``):

    - ``g ← g + weight_decay · p``
    - ``s ← s + g²`` (``s`` starts at ``initial_accumulator_value``)
    - ``p ← p − lr / (1 + (t − 1) · lr_decay) · g / (√s + eps)``

    Args:
        params: the parameters to update, or a list of parameter groups.
        lr: the learning rate (default 1e-2).
        lr_decay: the rate's decay per step (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        initial_accumulator_value: the starting value of ``s`` (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: ascend the objective instead of descending (default False).

    A group's own ``initial_accumulator_value`` starts its parameters' sums;
    PyTorch starts every group's at the constructor's value.

    State (per parameter): ``sum`` (s).

    Example:
        >>> p = Parameter(np.array([1.0])); p.grad[:] = 2.0
        >>> Adagrad([p], lr=0.5, eps=0.0).step(); p.data  # s = 4, step 0.5·2/2
        array([0.5])
    """

    hyperparameters = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize")

    def __init__(
        self,
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay}
        defaults |= {"initial_accumulator_value": initial_accumulator_value, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> dict[str, Any]:
        options = super()._check_options(options, where)
        self._check_non_negative(options, where, "lr_decay", "weight_decay", "initial_accumulator_value", "eps")
        return options

    def _init_state(self, p: Parameter, group: ParamGroup) -> State:
        return {"sum": np.full_like(p.data, group["initial_accumulator_value"])}

    def update(self, p: Parameter, state: State, group: ParamGroup, step: int) -> None:
        g = -p.grad if group["maximize"] else p.grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        denominator = np.sqrt(s)
        denominator += group["eps"]
        np.divide(g, denominator, out=denominator)
        add_scaled(p.data, -clr, denominator)
