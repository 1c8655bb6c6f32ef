"""Callbacks: objects whose hooks fit calls after each batch and epoch."""

from __future__ import annotations

import math
import os
from typing import Any

from numpy.typing import NDArray

from ..nn.layer import Layer
from ..optim import Optimizer

Logs = dict[str, float]


class Callback:
    """Base class of the callbacks: objects whose hooks :func:`fit` calls.

    Override any of the hooks; each does nothing by default. Before
    ``on_train_begin``, ``fit`` sets ``self.model`` and ``self.optimizer``.
    Setting ``self.stop_training = True`` ends training after the current epoch.

    Hooks, in the order ``fit`` calls them (``epoch`` and ``batch`` are 0-based):

    - ``on_train_begin(logs)``
    - ``on_epoch_begin(epoch, logs)``
    - ``on_batch_end(batch, logs)`` with ``logs["loss"]``, the batch's loss
    - ``on_epoch_end(epoch, logs)`` with the epoch's values, the keys of
      :attr:`History.history`
    - ``on_train_end(logs)`` with the last epoch's values
    """

    model: Layer
    optimizer: Optimizer
    stop_training: bool = False

    def set_context(self, model: Layer, optimizer: Optimizer) -> None:
        self.model = model
        self.optimizer = optimizer
        self.stop_training = False

    def on_train_begin(self, logs: Logs) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        pass

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        pass

    def on_train_end(self, logs: Logs) -> None:
        pass


def _resolve_mode(owner: str, monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if monitor.endswith(("accuracy", "acc", "r2", "r2_score")) else "min"


def _monitored(owner: str, monitor: str, logs: Logs) -> float:
    if monitor not in logs:
        hint = " (pass validation_data to fit to get 'val_' values)" if monitor.startswith("val_") else ""
        raise KeyError(f"{owner}: monitor {monitor!r} is not among the values of the epoch {sorted(logs)}{hint}")
    return logs[monitor]


class EarlyStopping(Callback):
    """Stop training when a monitored value has stopped improving.

    After each epoch the value ``logs[monitor]`` is compared with the best so
    far; an improvement (by more than ``min_delta``) resets the count, and after
    ``patience`` epochs in a row without one, training stops. With
    ``restore_best`` the model's weights go back, when training ends (stopped
    early or not), to those of the best epoch.

    Args:
        monitor: the value to watch, a key of :attr:`History.history` (default ``"val_loss"``).
        patience: the number of epochs without improvement to allow (default 0).
        min_delta: the least change that counts as an improvement (default 0).
        mode: ``"min"``, ``"max"``, or ``"auto"`` (default: ``"max"`` for names
            ending in accuracy or r2, else ``"min"``).
        restore_best: restore the best epoch's weights at the end (default True).

    Attributes:
        best: the best value seen; ``best_epoch``: its epoch (0-based);
        stopped_epoch: the epoch training stopped after, or ``None``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best: bool = True,
    ) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.mode = _resolve_mode("EarlyStopping", monitor, mode)
        self.restore_best = restore_best
        self.on_train_begin({})

    def on_train_begin(self, logs: Logs) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, NDArray[Any]] | None = None
        self.stopped_epoch: int | None = None
        self.last_epoch: int | None = None
        self.wait = 0

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        value = _monitored("EarlyStopping", self.monitor, logs)
        self.last_epoch = epoch
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_state = self.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.stop_training = True

    def on_train_end(self, logs: Logs) -> None:
        if self.restore_best and self.best_state is not None and self.best_epoch != self.last_epoch:
            self.model.load_state_dict(self.best_state)

    def __repr__(self) -> str:
        return f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, restore_best={self.restore_best})"


class ModelCheckpoint(Callback):
    """Save the model's weights with :func:`minnet.save` after each epoch (or each better one).

    The path may hold format fields filled from the epoch (1-based) and its
    values, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``; a ``.safetensors``
    name writes safetensors. Each save is atomic (a temporary file renamed over
    the target).

    Args:
        path: where to save.
        monitor: the value that decides "better" with ``save_best_only`` (default ``"val_loss"``).
        save_best_only: save only when ``monitor`` improves on the best so far
            (default False: save every epoch).
        mode: ``"min"``, ``"max"`` or ``"auto"``, as for :class:`EarlyStopping`.

    Attributes:
        best: the best monitored value so far; ``last_path``: the last file written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
    ) -> None:
        self.path = os.fspath(path)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.mode = _resolve_mode("ModelCheckpoint", monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.last_path: str | None = None

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        from ..serialization import save

        if self.save_best_only:
            value = _monitored("ModelCheckpoint", self.monitor, logs)
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best = value
        path = self.path.format(epoch=epoch + 1, **logs)
        save(self.model, path)
        self.last_path = path

    def __repr__(self) -> str:
        return f"ModelCheckpoint({self.path!r}, monitor={self.monitor!r}, save_best_only={self.save_best_only})"
