"""Optimizers: read each parameter's ``.grad`` and update its ``.data``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from .parameter import Parameter


class Optimizer:
    """Base class of the optimizers.

    Args:
        params: the parameters to update, e.g. ``model.parameters()``.
        lr: the learning rate.
    """

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{type(self).__name__}: params[{i}] is a {type(p).__name__}, expected a Parameter")
        if lr < 0:
            raise ValueError(f"{type(self).__name__}: lr must be >= 0, got {lr}")
        self.lr = lr

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum.

    For each parameter ``p`` with gradient ``g = p.grad``:

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

    Example:
        >>> p = Parameter(np.array([1.0])); p.grad[:] = 2.0
        >>> SGD([p], lr=0.1).step(); p.data
        array([0.8])
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be >= 0, got {momentum} and {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.momentum_buffers: list[NDArray[np.floating] | None] = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad
            if self.weight_decay != 0:
                g = g + self.weight_decay * p.data
            if self.momentum != 0:
                buffer = self.momentum_buffers[i]
                if buffer is None:
                    buffer = g.copy()
                else:
                    buffer = self.momentum * buffer + (1 - self.dampening) * g
                self.momentum_buffers[i] = buffer
                g = g + self.momentum * buffer if self.nesterov else buffer
            p.data -= self.lr * g
