"""Callbacks: objects whose hooks fit calls after each batch and epoch."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_bool, check_choice, check_int, check_path, check_real, describe
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

    def restore_last_good(self) -> str | None:
        """Put back the last good weights this callback holds, if any; return what was restored (for the
        message), or ``None``. :func:`fit` calls it when the loss becomes NaN or infinite."""
        return None


def weights_are_finite(model: Layer) -> bool:
    """Whether every parameter and buffer of ``model`` holds only finite numbers."""
    arrays = [p.data for p in model.parameters()] + [b for _, b in model.named_buffers()]
    return all(np.isfinite(a).all() for a in arrays if np.issubdtype(np.asarray(a).dtype, np.inexact))


def _check_monitor(owner: str, monitor: Any) -> str:
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(
            f"{owner}: monitor must be the name of a logged value, such as 'val_loss', got {describe(monitor)}"
        )
    return monitor


def _resolve_mode(owner: str, monitor: str, mode: str) -> str:
    check_choice(owner, "mode", mode, ("auto", "min", "max"))
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

    A NaN or infinite monitored value is never an improvement, and weights that
    hold a NaN or an infinity are never kept as the best ones.

    Args:
        monitor: the value to watch, a key of :attr:`History.history` (default ``"val_loss"``).
        patience: the number of epochs without improvement to allow (default 0).
        min_delta: the least change that counts as an improvement (default 0).
        mode: ``"min"``, ``"max"``, or ``"auto"`` (default: ``"max"`` for names
            ending in accuracy or r2, else ``"min"``).
        restore_best: restore the best epoch's weights at the end (default True).

    Attributes:
        best: the best value seen; ``best_epoch``: its epoch (0-based);
        stopped_epoch: the epoch training stopped after, or ``None``. All start
            afresh at each :func:`fit` (``on_train_begin``).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best: bool = True,
    ) -> None:
        self.monitor = _check_monitor("EarlyStopping", monitor)
        self.patience = check_int("EarlyStopping", "patience", patience, minimum=0)
        self.min_delta = abs(check_real("EarlyStopping", "min_delta", min_delta))
        self.mode = _resolve_mode("EarlyStopping", monitor, mode)
        self.restore_best = check_bool("EarlyStopping", "restore_best", restore_best)
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
        if math.isfinite(value) and self._improved(value) and weights_are_finite(self.model):
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

    def restore_last_good(self) -> str | None:
        if self.restore_best and self.best_state is not None and self.best_epoch is not None:
            self.model.load_state_dict(self.best_state)
            self.last_epoch = self.best_epoch  # the model now holds them: on_train_end has nothing to do
            return f"the weights of epoch {self.best_epoch + 1} kept by EarlyStopping"
        return None

    def __repr__(self) -> str:
        return f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, restore_best={self.restore_best})"


class ModelCheckpoint(Callback):
    """Save the model's weights with :func:`minnet.save` after each epoch (or each better one).

    The path may hold format fields filled from the epoch (1-based) and its
    values, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``; a ``.safetensors``
    name writes safetensors. Each save is atomic (a temporary file renamed over
    the target).

    Weights that hold a NaN or an infinity are never saved (a warning says so),
    and a NaN or infinite monitored value is never "better": a diverged run
    cannot overwrite a good file.

    Args:
        path: where to save.
        monitor: the value that decides "better" with ``save_best_only`` (default ``"val_loss"``).
        save_best_only: save only when ``monitor`` improves on the best so far
            (default False: save every epoch).
        mode: ``"min"``, ``"max"`` or ``"auto"``, as for :class:`EarlyStopping`.

    Attributes:
        best: the best monitored value so far; ``last_path``: the last file written.
            Both start afresh at each :func:`fit` (``on_train_begin``), so a
            checkpoint reused for a second run saves that run's best.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
    ) -> None:
        self.path = os.fspath(check_path("ModelCheckpoint", "path", path))
        self.monitor = _check_monitor("ModelCheckpoint", monitor)
        self.save_best_only = check_bool("ModelCheckpoint", "save_best_only", save_best_only)
        self.mode = _resolve_mode("ModelCheckpoint", monitor, mode)
        self.on_train_begin({})

    def on_train_begin(self, logs: Logs) -> None:
        """Each :func:`fit` starts afresh: the best value and the last file are the new run's."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.last_path: str | None = None

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        from ..serialization import save

        if self.save_best_only:
            value = _monitored("ModelCheckpoint", self.monitor, logs)
            better = value < self.best if self.mode == "min" else value > self.best
            if not (math.isfinite(value) and better):
                return
        if not weights_are_finite(self.model):
            warnings.warn(
                f"ModelCheckpoint: epoch {epoch + 1}: the weights hold NaN or infinite values; not saved",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        if self.save_best_only:
            self.best = value
        path = self.path.format(epoch=epoch + 1, **logs)
        save(self.model, path)
        self.last_path = path

    def restore_last_good(self) -> str | None:
        from ..serialization import load

        if self.last_path is None or not os.path.exists(self.last_path):
            return None
        load(self.model, self.last_path)
        return f"the weights saved by ModelCheckpoint in {self.last_path}"

    def __repr__(self) -> str:
        return f"ModelCheckpoint({self.path!r}, monitor={self.monitor!r}, save_best_only={self.save_best_only})"


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    :func:`fit` does this by itself (``on_nonfinite="stop"``, its default); this
    callback is for loops of your own that call the hooks: after
    ``on_batch_end(batch, {"loss": loss})`` with a non-finite loss,
    ``stop_training`` is True and ``nonfinite`` holds ``(batch, loss)``. Given to
    ``fit``, it ends the epoch at that batch, whatever ``on_nonfinite`` says.

    Example:
        >>> stopper = TerminateOnNaN(); stopper.on_batch_end(3, {"loss": float("nan")}); stopper.stop_training
        True
    """

    def __init__(self) -> None:
        self.on_train_begin({})

    def on_train_begin(self, logs: Logs) -> None:
        self.stop_training = False
        self.nonfinite: tuple[int, float] | None = None

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.nonfinite = (batch, float(loss))
            self.stop_training = True

    def __repr__(self) -> str:
        return "TerminateOnNaN()"
