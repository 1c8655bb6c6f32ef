"""Optimizers and learning-rate schedules.

Each optimizer applies exactly the update rule of the PyTorch optimizer of the
same name, with the same argument names and parameter groups
(:mod:`minnet.optim.optimizer`); the schedules :class:`StepLR`,
:class:`MultiStepLR`, :class:`ExponentialLR`, :class:`CosineAnnealingLR`,
:class:`LinearLR`, :class:`OneCycleLR` and :class:`ReduceLROnPlateau` are in
:mod:`minnet.optim.lr_scheduler`, importable as ``minnet.optim.StepLR`` and so
on; :func:`clip_grad_norm_` and :func:`clip_grad_value_` (:mod:`minnet.optim.clip`)
clip the gradients before a step.
"""

from .clip import clip_grad_norm_, clip_grad_value_
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from .optimizer import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "Optimizer",
    "RMSprop",
    "ReduceLROnPlateau",
    "StepLR",
    "clip_grad_norm_",
    "clip_grad_value_",
]
