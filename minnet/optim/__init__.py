"""Optimizers and learning-rate schedules.

Each optimizer applies exactly the update rule of the PyTorch optimizer of the
same name, with the same argument names (:mod:`minnet.optim.optimizer`); the
schedules :class:`StepLR`, :class:`ExponentialLR` and :class:`CosineAnnealingLR`
are in :mod:`minnet.optim.lr_scheduler`, importable as ``minnet.optim.StepLR``
and so on; :func:`clip_grad_norm_` (:mod:`minnet.optim.clip`) scales the
gradients before a step.
"""

from .clip import clip_grad_norm_
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
    "clip_grad_norm_",
]
