"""Optimizers and learning-rate schedules.

Each optimizer applies exactly the update rule of the PyTorch optimizer of the
same name, with the same argument names (:mod:`minnet.optim.optimizer`); the
schedules :class:`StepLR`, :class:`ExponentialLR` and :class:`CosineAnnealingLR`
are in :mod:`minnet.optim.lr_scheduler`, importable as ``minnet.optim.StepLR``
and so on.
"""

from .lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR
from .optimizer import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "StepLR",
]
