"""Learning-rate schedules: they set the ``lr`` of each of an optimizer's parameter groups, as PyTorch's
schedules of the same names do.

Most are stepped once per epoch (:class:`StepLR`, :class:`MultiStepLR`,
:class:`ExponentialLR`, :class:`CosineAnnealingLR`, :class:`LinearLR`);
:class:`OneCycleLR` once per batch; :class:`ReduceLROnPlateau` once per epoch
with the value it watches, ``step(val_loss)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from numpy.typing import NDArray

from .._checks import check_bool, check_choice, check_real, check_whole, describe, is_real
from ..serialization import check_state_dict
from .optimizer import Optimizer, _from_array, _to_array


def _check_optimizer(owner: str, optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected a minnet Optimizer, got {type(optimizer).__name__}")
    return optimizer


def _per_group(owner: str, name: str, optimizer: Optimizer, value: float | Sequence[float]) -> list[float]:
    """One value per parameter group: a number for all of them, or a list with one for each."""
    groups = len(optimizer.param_groups)
    if not is_real(value):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{owner}: {name} must be a number >= 0 or a list of them, got {describe(value)}")
        if len(value) != groups:
            raise ValueError(f"{owner}: expected {groups} values of {name} (one per parameter group), got {len(value)}")
        return [check_real(owner, f"{name}[{i}]", v, 0.0) for i, v in enumerate(value)]
    return [check_real(owner, name, value, 0.0)] * groups


class LRScheduler:
    """Base class of the learning-rate schedules.

    A schedule sets ``group["lr"]`` of each of the optimizer's parameter groups;
    call :meth:`step` once per epoch, after the epoch's ``optimizer.step()``
    calls (:class:`OneCycleLR`: once per batch). Building a schedule counts as
    its step 0 (``last_epoch = 0``): most keep the groups' rates, which become
    ``base_lrs``; :class:`LinearLR` and :class:`OneCycleLR` set their first rate.
    Like PyTorch's schedules, each step computes the new rates from the current
    ones, so the rates equal PyTorch's step for step. There is no
    ``last_epoch`` argument: to resume, build the schedule and load its
    :meth:`state_dict`.

    Attributes:
        optimizer: the optimizer whose rates are set.
        base_lrs: each group's learning rate at construction.
        last_epoch: the number of :meth:`step` calls so far.
    """

    hyperparameters: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = _check_optimizer(type(self).__name__, optimizer)
        self.base_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        self.last_epoch = 0
        self._set_lrs(self.get_lr())

    @property
    def base_lr(self) -> float:
        """The first group's ``base_lrs`` entry (the only one without parameter groups)."""
        return self.base_lrs[0]

    def _set_lrs(self, lrs: list[float]) -> None:
        groups = self.optimizer.param_groups
        if len(lrs) != len(groups):
            raise RuntimeError(
                f"{type(self).__name__}: the optimizer has {len(groups)} parameter groups, the schedule was "
                f"built for {len(lrs)}; build the schedule after the last add_param_group"
            )
        for group, lr in zip(groups, lrs, strict=True):
            group["lr"] = float(lr)

    def _lrs(self) -> list[float]:
        """Each group's current learning rate."""
        return [float(group["lr"]) for group in self.optimizer.param_groups]

    def step(self) -> None:
        """Advance one epoch and set each group's learning rate."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def get_lr(self) -> list[float]:
        """The learning rate of each group for epoch ``last_epoch``, from the current ones."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr()")

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group, as the last step set it: a list, as PyTorch's."""
        return self._lrs()

    def _saved(self) -> tuple[str, ...]:
        return ("last_epoch", "base_lrs", *self.hyperparameters)

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """``last_epoch``, ``base_lrs`` (one per group) and the schedule's hyperparameters, as arrays."""
        return {name: _to_array(getattr(self, name)) for name in self._saved()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state from :meth:`state_dict` (checked first; a mismatch raises LoadError).
        The groups' rates are restored by the optimizer's own state. A state saved
        before parameter groups, with a float ``base_lr``, loads into a schedule of
        one group."""
        state_dict = dict(state_dict)
        if "base_lr" in state_dict and "base_lrs" not in state_dict and len(self.base_lrs) == 1:
            state_dict["base_lrs"] = state_dict.pop("base_lr").reshape(1)
        expected = self.state_dict()
        check_state_dict(type(self).__name__, expected, state_dict, strict=True)
        for name in expected:
            setattr(self, name, _from_array(state_dict[name], getattr(self, name)))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args}, last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    r"""Multiply each group's learning rate by ``gamma`` every ``step_size`` epochs:
    ``lr_t = base_lr · gamma^⌊t / step_size⌋``.

    Args:
        optimizer: the optimizer.
        step_size: the number of epochs between decays.
        gamma: the factor (default 0.1).

    Example:
        >>> opt = SGD([Parameter([0.0])], lr=1.0)
        >>> schedule = minnet.optim.StepLR(opt, step_size=2, gamma=0.5)
        >>> rates = []
        >>> for epoch in range(5):
        ...     schedule.step(); rates.append(opt.lr)
        >>> rates
        [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    hyperparameters = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_whole("StepLR", "step_size", step_size, 1)
        self.gamma = check_real("StepLR", "gamma", gamma, 0.0)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class MultiStepLR(LRScheduler):
    r"""Multiply each group's learning rate by ``gamma`` at each of the ``milestones`` epochs:
    ``lr_t = base_lr · gamma^(number of milestones ≤ t)``.

    A milestone listed twice multiplies by ``gamma²`` there, as in PyTorch.

    Args:
        optimizer: the optimizer.
        milestones: the epochs at which to decay, whole numbers >= 0 (their order does not matter).
        gamma: the factor (default 0.1).

    Example:
        >>> opt = SGD([Parameter([0.0])], lr=1.0)
        >>> schedule = minnet.optim.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
        >>> rates = []
        >>> for epoch in range(4):
        ...     schedule.step(); rates.append(opt.lr)
        >>> rates
        [0.5, 0.5, 0.25, 0.25]
    """

    hyperparameters = ("milestones", "gamma")

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1) -> None:
        if isinstance(milestones, str) or not isinstance(milestones, Iterable):
            raise TypeError(f"MultiStepLR: milestones must be a list of whole numbers >= 0, got {describe(milestones)}")
        values = list(milestones)
        for m in values:
            if isinstance(m, bool) or not isinstance(m, (int, float)) or m != int(m) or m < 0:
                raise ValueError(f"MultiStepLR: milestones must be whole numbers >= 0, got {values}")
        self.milestones = tuple(sorted(int(m) for m in values))
        self.gamma = check_real("MultiStepLR", "gamma", gamma, 0.0)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        count = self.milestones.count(self.last_epoch)
        if count == 0:
            return self._lrs()
        return [lr * self.gamma**count for lr in self._lrs()]


class ExponentialLR(LRScheduler):
    r"""Multiply each group's learning rate by ``gamma`` every epoch: ``lr_t = base_lr · gamma^t``.

    Args:
        optimizer: the optimizer.
        gamma: the factor.

    Example:
        >>> opt = SGD([Parameter([0.0])], lr=1.0)
        >>> schedule = minnet.optim.ExponentialLR(opt, gamma=0.5)
        >>> schedule.step(); schedule.step(); opt.lr
        0.25
    """

    hyperparameters = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = check_real("ExponentialLR", "gamma", gamma, 0.0)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing of each group from its ``base_lr`` to ``eta_min`` over ``T_max`` epochs:
    ``lr_t = eta_min + (base_lr − eta_min) (1 + cos(π t / T_max)) / 2``.

    As in PyTorch, the rate is updated recursively,
    ``lr_t = eta_min + (lr_{t−1} − eta_min) (1 + cos(π t / T_max)) / (1 + cos(π (t − 1) / T_max))``,
    which equals the closed form when nothing else changes ``lr``; past ``T_max``
    the rate climbs back up (a cosine of period ``2 T_max``).

    Args:
        optimizer: the optimizer.
        T_max: the number of epochs from ``base_lr`` down to ``eta_min``.
        eta_min: the lowest learning rate (default 0).

    Example:
        >>> opt = SGD([Parameter([0.0])], lr=1.0)
        >>> schedule = minnet.optim.CosineAnnealingLR(opt, T_max=4)
        >>> for epoch in range(4):
        ...     schedule.step()
        >>> round(opt.lr, 12)
        0.0
    """

    hyperparameters = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = check_whole("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = check_real("CosineAnnealingLR", "eta_min", eta_min, 0.0)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        t, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._lrs()
        if (t - 1 - T_max) % (2 * T_max) == 0:  # the cosine's minimum: the ratio below would be 0/0
            rise = (1 - math.cos(math.pi / T_max)) / 2
            return [lr + (base - eta_min) * rise for lr, base in zip(self._lrs(), self.base_lrs, strict=True)]
        ratio = (1 + math.cos(math.pi * t / T_max)) / (1 + math.cos(math.pi * (t - 1) / T_max))
        return [ratio * (lr - eta_min) + eta_min for lr in self._lrs()]


class LinearLR(LRScheduler):
    r"""Scale each group's learning rate by a factor going linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs, then keep it:
    ``lr_t = base_lr · (start_factor + (end_factor − start_factor) · min(t, total_iters) / total_iters)``.

    Building it sets the rates to ``base_lr · start_factor`` (a warm-up starts
    low); as in PyTorch, each step scales the current rate by the ratio of
    successive factors.

    Args:
        optimizer: the optimizer.
        start_factor: the factor at epoch 0, in (0, 1] (default 1/3).
        end_factor: the factor from epoch ``total_iters`` on, in [0, 1] (default 1).
        total_iters: the number of epochs of the ramp (default 5).

    Example:
        >>> opt = SGD([Parameter([0.0])], lr=1.0)
        >>> schedule = minnet.optim.LinearLR(opt, start_factor=0.25, total_iters=3)
        >>> rates = [opt.lr]
        >>> for epoch in range(4):
        ...     schedule.step(); rates.append(opt.lr)
        >>> rates
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    hyperparameters = ("start_factor", "end_factor", "total_iters")

    def __init__(
        self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
    ) -> None:
        self.start_factor = check_real("LinearLR", "start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = check_real("LinearLR", "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = check_whole("LinearLR", "total_iters", total_iters, 0)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        t, start, end = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * start for lr in self._lrs()]
        if t > self.total_iters:
            return self._lrs()
        scale = 1.0 + (end - start) / (self.total_iters * start + (t - 1) * (end - start))
        return [lr * scale for lr in self._lrs()]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy: each group's rate rises from ``max_lr / div_factor`` to ``max_lr``, then falls to
    ``max_lr / (div_factor · final_div_factor)``, over ``total_steps`` steps; step it once per batch.

    The rise takes the first ``pct_start`` of the steps (to step
    ``pct_start · total_steps − 1``), the fall the rest, each along a half
    cosine (``anneal_strategy="cos"``) or a straight line (``"linear"``). With
    ``three_phase=True`` the rate rises, comes back down to ``max_lr / div_factor``
    symmetrically, then falls to the minimum (fast.ai's variant). Building it sets
    the rates to ``max_lr / div_factor``; stepping more than ``total_steps`` times
    is a ValueError, as in PyTorch.

    With ``cycle_momentum=True`` (the default, as in PyTorch) the momentum
    cycles the other way: SGD's and RMSprop's ``momentum``, Adam's and AdamW's
    β₁, falls from ``max_momentum`` to ``base_momentum`` while the rate rises and
    climbs back while it falls (three phases: down, up, then stays at
    ``max_momentum``). Building the schedule sets it to ``max_momentum``, even
    for an SGD built without momentum, as PyTorch does; an optimizer with neither
    (Adagrad) needs ``cycle_momentum=False``.

    Args:
        optimizer: the optimizer.
        max_lr: the peak rate, one number or a list with one per group.
        total_steps: the number of steps of the cycle; or give ``epochs`` and
            ``steps_per_epoch`` and it is their product.
        epochs: the number of epochs (with ``steps_per_epoch``).
        steps_per_epoch: the number of steps (batches) per epoch.
        pct_start: the fraction of the steps spent rising (default 0.3).
        anneal_strategy: ``"cos"`` (default) or ``"linear"``.
        div_factor: the starting rate is ``max_lr / div_factor`` (default 25).
        final_div_factor: the final rate is the starting one divided by this (default 1e4).
        three_phase: rise, fall back to the start, then fall to the end (default False).
        cycle_momentum: cycle the momentum (β₁) against the rate (default True).
        base_momentum: the lowest momentum, at the peak rate (default 0.85; one per group or one for all).
        max_momentum: the highest momentum, at the start and the end (default 0.95).

    Example:
        >>> opt = SGD([Parameter([0.0])], lr=1.0)
        >>> schedule = minnet.optim.OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=0.4,
        ...                                    anneal_strategy="linear", div_factor=10, final_div_factor=1)
        >>> rates = [opt.lr]
        >>> for batch in range(4):
        ...     schedule.step(); rates.append(round(opt.lr, 6))
        >>> rates
        [0.1, 1.0, 0.7, 0.4, 0.1]
    """

    hyperparameters = (
        "max_lrs",
        "total_steps",
        "pct_start",
        "div_factor",
        "final_div_factor",
        "three_phase",
        "cycle_momentum",
        "base_momentums",
        "max_momentums",
    )

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
    ) -> None:
        _check_optimizer("OneCycleLR", optimizer)

        def whole(name: str, value: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"OneCycleLR: {name} must be an int >= 1, got {value!r}")
            return value

        if total_steps is not None:
            self.total_steps = whole("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = whole("epochs", epochs) * whole("steps_per_epoch", steps_per_epoch)
        else:
            raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
        self.pct_start = check_real("OneCycleLR", "pct_start", pct_start, 0.0, 1.0)
        self.anneal_strategy = check_choice("OneCycleLR", "anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.max_lrs = _per_group("OneCycleLR", "max_lr", optimizer, max_lr)
        self.div_factor = check_real("OneCycleLR", "div_factor", div_factor, 0.0, low_open=True)
        self.final_div_factor = check_real("OneCycleLR", "final_div_factor", final_div_factor, 0.0, low_open=True)
        self.three_phase = check_bool("OneCycleLR", "three_phase", three_phase)
        self.cycle_momentum = check_bool("OneCycleLR", "cycle_momentum", cycle_momentum)
        self.base_momentums = _per_group("OneCycleLR", "base_momentum", optimizer, base_momentum)
        self.max_momentums = _per_group("OneCycleLR", "max_momentum", optimizer, max_momentum)
        if self.cycle_momentum and not all("momentum" in g or "betas" in g for g in optimizer.param_groups):
            raise ValueError(
                f"OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas (SGD, RMSprop, Adam, "
                f"AdamW), got {type(optimizer).__name__}: pass cycle_momentum=False"
            )
        super().__init__(optimizer)
        self.base_lrs = [max_lr / self.div_factor for max_lr in self.max_lrs]

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        t, total = self.last_epoch, self.total_steps
        if t > total:
            raise ValueError(f"OneCycleLR: stepped {t} times, past the total_steps={total} of the cycle")
        rise_end = float(self.pct_start * total) - 1
        lrs = []
        for group, max_lr, low, high in zip(
            self.optimizer.param_groups, self.max_lrs, self.base_momentums, self.max_momentums, strict=True
        ):
            initial = max_lr / self.div_factor
            final = initial / self.final_div_factor
            # (last step of the phase, rate at its start, rate at its end, momentum at its start, at its end)
            if self.three_phase:
                fall_end = float(2 * self.pct_start * total) - 2
                phases = [(rise_end, initial, max_lr, high, low), (fall_end, max_lr, initial, low, high)]
                phases.append((total - 1, initial, final, high, high))
            else:
                phases = [(rise_end, initial, max_lr, high, low), (total - 1, max_lr, final, low, high)]
            start_step = 0.0
            for i, (end_step, start_lr, end_lr, start_m, end_m) in enumerate(phases):
                if t <= end_step or i == len(phases) - 1:
                    pct = (t - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(start_lr, end_lr, pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self._anneal(start_m, end_m, pct))
                    break
                start_step = end_step
        return lrs


def _set_momentum(group: dict[str, Any], momentum: float) -> None:
    """SGD's and RMSprop's ``momentum``, or Adam's β₁."""
    if "betas" in group:
        group["betas"] = (momentum, group["betas"][1])
    else:
        group["momentum"] = momentum


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply each group's learning rate by ``factor`` when a watched value stops improving.

    Call ``step(value)`` once per epoch with the value watched (a validation
    loss, say; :func:`minnet.fit` passes ``val_loss``, or ``loss`` without
    validation data). A value is an improvement on the best so far when, for
    ``mode="min"``, it is below ``best · (1 − threshold)`` (``threshold_mode="rel"``)
    or ``best − threshold`` (``"abs"``); ``"max"`` likewise above. After more than
    ``patience`` epochs in a row without improvement each rate becomes
    ``max(lr · factor, min_lr)`` (a change smaller than ``eps`` is skipped), and
    the next ``cooldown`` epochs count as no bad epoch. PyTorch's rule, step for step.

    Args:
        optimizer: the optimizer.
        mode: ``"min"`` (default) when lower is better, ``"max"`` when higher is.
        factor: the factor, below 1 (default 0.1).
        patience: the number of epochs without improvement tolerated (default 10).
        threshold: how much better counts as better (default 1e-4).
        threshold_mode: ``"rel"`` (default) or ``"abs"``.
        cooldown: the epochs after a reduction before bad epochs count again (default 0).
        min_lr: the lowest rate, one number or a list with one per group (default 0).
        eps: the smallest change of a rate that is made (default 1e-8).

    Attributes:
        best: the best value so far.
        num_bad_epochs: the epochs since the last improvement.
        cooldown_counter: the epochs of cooldown left.

    Example:
        >>> opt = SGD([Parameter([0.0])], lr=1.0)
        >>> schedule = minnet.optim.ReduceLROnPlateau(opt, factor=0.5, patience=1)
        >>> for val_loss in [3.0, 2.0, 2.5, 2.4, 1.0]:
        ...     schedule.step(val_loss)
        >>> opt.lr  # the second epoch in a row without improvement (2.4) halved it
        0.5
    """

    hyperparameters = ("factor", "patience", "threshold", "cooldown", "min_lrs", "eps")

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        _check_optimizer("ReduceLROnPlateau", optimizer)
        mode = check_choice("ReduceLROnPlateau", "mode", mode, ("min", "max"))
        threshold_mode = check_choice("ReduceLROnPlateau", "threshold_mode", threshold_mode, ("rel", "abs"))
        factor = check_real("ReduceLROnPlateau", "factor", factor, 0.0, 1.0, high_open=True)
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be an int >= 0, got {value!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = factor
        self.patience, self.cooldown = patience, cooldown
        self.threshold = check_real("ReduceLROnPlateau", "threshold", threshold, 0.0)
        self.min_lrs = _per_group("ReduceLROnPlateau", "min_lr", optimizer, min_lr)
        self.eps = check_real("ReduceLROnPlateau", "eps", eps, 0.0)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """The current rates: a reduction is decided by :meth:`step` from the watched value."""
        return self._lrs()

    def _is_better(self, value: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return value < (best * (1.0 - threshold) if self.threshold_mode == "rel" else best - threshold)
        return value > (best * (1.0 + threshold) if self.threshold_mode == "rel" else best + threshold)

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """End an epoch whose watched value is ``metrics`` (a number); reduce the rates if it is time."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(
                f"ReduceLROnPlateau: step(metrics) takes the watched value, a number; got {type(metrics).__name__}"
            ) from None
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            if len(self.min_lrs) != len(self.optimizer.param_groups):
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer has {len(self.optimizer.param_groups)} parameter groups, "
                    f"min_lr has {len(self.min_lrs)} values; build the schedule after the last add_param_group"
                )
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def _saved(self) -> tuple[str, ...]:
        return (*super()._saved(), "best", "num_bad_epochs", "cooldown_counter")

    def __repr__(self) -> str:
        return (
            f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor!r}, patience={self.patience!r}, "
            f"threshold={self.threshold!r}, threshold_mode={self.threshold_mode!r}, best={self.best!r}, "
            f"last_epoch={self.last_epoch})"
        )
