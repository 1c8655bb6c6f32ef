"""Learning-rate schedules: they set an optimizer's ``lr`` once per epoch, as PyTorch's schedules of the same names."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from numpy.typing import NDArray

from ..serialization import check_state_dict
from .optimizer import Optimizer, _from_array, _to_array


class LRScheduler:
    """Base class of the learning-rate schedules.

    A schedule changes ``optimizer.lr``; call :meth:`step` once per epoch, after
    the epoch's ``optimizer.step()`` calls. Building a schedule counts as its
    step 0 (``last_epoch = 0``) and keeps the optimizer's learning rate, which
    becomes ``base_lr``. Like PyTorch's schedules, each step computes the new
    rate from the current one, so the rates equal PyTorch's step for step.
    There is no ``last_epoch`` argument: to resume, build the schedule and load
    its :meth:`state_dict`.

    Attributes:
        optimizer: the optimizer whose ``lr`` is set.
        base_lr: the learning rate at construction.
        last_epoch: the number of :meth:`step` calls so far.
    """

    hyperparameters: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a minnet Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.get_lr()

    def get_lr(self) -> float:
        """The learning rate for epoch ``last_epoch``, from the current one."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr()")

    def get_last_lr(self) -> float:
        """The learning rate the last step set."""
        return self.optimizer.lr

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """``last_epoch``, ``base_lr`` and the schedule's hyperparameters, as arrays."""
        names = ("last_epoch", "base_lr", *self.hyperparameters)
        return {name: _to_array(getattr(self, name)) for name in names}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state from :meth:`state_dict` (checked first; a mismatch raises LoadError).
        The optimizer's ``lr`` is restored by the optimizer's own state."""
        expected = self.state_dict()
        check_state_dict(type(self).__name__, expected, state_dict, strict=True)
        for name in expected:
            setattr(self, name, _from_array(state_dict[name], getattr(self, name)))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args}, last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs:
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
        super().__init__(optimizer)
        if step_size < 1 or step_size != int(step_size):  # 2.5 is not silently truncated to 2
            raise ValueError(f"StepLR: step_size must be a whole number >= 1, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)

    def get_lr(self) -> float:
        if self.last_epoch % self.step_size != 0:
            return self.optimizer.lr
        return self.optimizer.lr * self.gamma


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch: ``lr_t = base_lr · gamma^t``.

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
        super().__init__(optimizer)
        self.gamma = float(gamma)

    def get_lr(self) -> float:
        return self.optimizer.lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from ``base_lr`` to ``eta_min`` over ``T_max`` epochs:
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
        super().__init__(optimizer)
        if T_max < 1 or T_max != int(T_max):
            raise ValueError(f"CosineAnnealingLR: T_max must be a whole number >= 1, got {T_max}")
        self.T_max = int(T_max)
        self.eta_min = float(eta_min)

    def get_lr(self) -> float:
        t, T_max, eta_min, lr = self.last_epoch, self.T_max, self.eta_min, self.optimizer.lr
        if (t - 1 - T_max) % (2 * T_max) == 0:  # the cosine's minimum: the ratio below would be 0/0
            return lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
        ratio = (1 + math.cos(math.pi * t / T_max)) / (1 + math.cos(math.pi * (t - 1) / T_max))
        return ratio * (lr - eta_min) + eta_min
