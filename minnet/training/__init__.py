"""Training: the loop (:func:`fit`, :func:`evaluate`, :func:`predict`, :class:`History`),
its callbacks and the :class:`DataLoader` that batches the data."""

from .callbacks import Callback, EarlyStopping, ModelCheckpoint, TerminateOnNaN
from .data import DataLoader
from .loop import History, evaluate, fit, predict

__all__ = [
    "Callback",
    "DataLoader",
    "EarlyStopping",
    "History",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "evaluate",
    "fit",
    "predict",
]
