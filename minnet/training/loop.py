"""Training loops: ``fit``, ``evaluate``, ``predict`` and the ``History`` they report."""

from __future__ import annotations

import math
import string
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_bool, describe, is_int, is_real
from .._rng import RngLike
from ..metrics import Metric, get_metric
from ..nn.container import Sequential
from ..nn.layer import Layer
from ..nn.normalization import BatchNorm1d
from ..optim import LRScheduler, Optimizer, ReduceLROnPlateau, clip_grad_norm_
from .callbacks import Callback, EarlyStopping, Logs, ModelCheckpoint, TerminateOnNaN
from .data import DataLoader


class History:
    """What :func:`fit` measured, one value per epoch.

    Attributes:
        history: maps ``"loss"`` (the mean training loss of the epoch's batches),
            each metric asked for, ``"val_loss"`` and ``"val_<metric>"`` when
            there is validation data, and ``"lr"`` when a schedule is given, to a
            list with one float per epoch.
        epoch: the epoch indices run (0-based).
        nonfinite: ``None``, or when :func:`fit` stopped because a batch's loss
            was NaN or infinite, ``{"epoch", "batch", "loss", "restored"}``:
            where (0-based; that epoch is not recorded), the loss, and what
            weights were put back (a sentence, or ``None`` when none were).

    Example:
        >>> h = History(); h.record(0, {"loss": 0.5}); h.record(1, {"loss": 0.25}); h.history
        {'loss': [0.5, 0.25]}
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.nonfinite: dict[str, Any] | None = None

    def record(self, epoch: int, logs: Logs) -> None:
        """Append the values of one epoch."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class _Mode:
    """Put every layer of a model in train or eval mode, and put back each layer's own mode after."""

    def __init__(self, model: Layer, training: bool) -> None:
        self.model, self.training = model, training

    def __enter__(self) -> None:
        self.saved = [(layer, layer.training) for _, layer in self.model.named_layers()]
        for layer, _ in self.saved:  # what model.train(training) does, from the one walk
            layer.training = self.training

    def __exit__(self, *exc: object) -> None:
        for layer, training in self.saved:
            layer.training = training


class _NoInputGradient:
    """Tell the layers that take the model's input that nothing reads ∂L/∂x (``needs_input_grad = False``):
    the model, and down the first layer of each Sequential. Each layer's own setting is put back after."""

    def __init__(self, model: Layer) -> None:
        self.chain: list[Layer] = [model]
        while isinstance(self.chain[-1], Sequential) and len(self.chain[-1]) > 0:
            self.chain.append(self.chain[-1][0])

    def __enter__(self) -> None:
        self.saved = [layer.__dict__.get("needs_input_grad") for layer in self.chain]
        for layer in self.chain:
            layer.needs_input_grad = False

    def __exit__(self, *exc: object) -> None:
        for layer, saved in zip(self.chain, self.saved, strict=True):
            if saved is None:
                del layer.needs_input_grad  # back to the class's True
            else:
                layer.needs_input_grad = saved


def _check_model(model: Any, function: str, loss_fn: Any = None) -> None:
    if not isinstance(model, Layer):
        raise TypeError(f"{function}: model must be a minnet Layer, got {type(model).__name__}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"{function}: loss_fn must be a minnet Loss (or a callable), got {describe(loss_fn)}")
    if isinstance(loss_fn, type):
        raise TypeError(
            f"{function}: the loss is the class {loss_fn.__name__}, not a loss; pass an instance: {loss_fn.__name__}()"
        )
    if getattr(loss_fn, "reduction", None) == "none":
        raise ValueError(f"{function}: the loss must reduce each batch to a number; got reduction='none'")


def _combine_losses(loss_fn: Any, losses: Sequence[float], sizes: Sequence[int]) -> float:
    """Batch losses combined: summed for reduction="sum", else the mean weighted by batch size."""
    if getattr(loss_fn, "reduction", "mean") == "sum":
        return float(np.sum(losses))
    return float(np.dot(losses, sizes) / np.sum(sizes))


def _metric_functions(metrics: Iterable[str | Metric]) -> list[tuple[str, Metric]]:
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    return [get_metric(m) for m in metrics]


def predict(model: Layer, X: ArrayLike, *, batch_size: int = 1024) -> NDArray[Any]:
    """The model's outputs for ``X``, computed in eval mode, ``batch_size`` rows at a time.

    ``X`` of up to ``batch_size`` rows is one forward pass; a longer one is cut
    into batches, so that only one batch's caches live at a time. Each layer's
    mode is restored afterwards.

    Example:
        >>> model = Sequential(Linear(3, 2, rng=0))
        >>> predict(model, np.ones((5, 3)), batch_size=2).shape
        (5, 2)
    """
    _check_model(model, "predict")
    X = np.asarray(X)
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"predict: X holds no samples (shape {X.shape}); expected shape (N, ...)")
    if not is_int(batch_size) or batch_size < 1:
        raise ValueError(f"predict: batch_size must be a positive int, got {batch_size!r}")
    with _Mode(model, training=False):
        if len(X) <= batch_size:
            return np.asarray(model(X))
        return np.concatenate([model(X[start : start + batch_size]) for start in range(0, len(X), batch_size)])


def evaluate(
    model: Layer,
    loss_fn: Any,
    X: ArrayLike,
    Y: ArrayLike,
    *,
    batch_size: int = 32,
    metrics: Iterable[str | Metric] = (),
) -> dict[str, float]:
    """The loss (and metrics) of ``model`` on ``(X, Y)``, in eval mode, batched.

    Returns:
        ``{"loss": ..., "<metric>": ...}``: the loss combined over batches (the
        sample-weighted mean, or the sum for ``reduction="sum"``) and each metric
        on all the predictions at once.

    Example:
        >>> model = Sequential(Linear(1, 1, bias=False, rng=0))
        >>> model[0].weight.data[...] = 1.0
        >>> evaluate(model, MSELoss(reduction="mean"), np.ones((4, 1)), np.zeros((4, 1)), metrics=["mse"])
        {'loss': 1.0, 'mse': 1.0}
    """
    _check_model(model, "evaluate", loss_fn)
    if not is_int(batch_size) or batch_size < 1:  # ValueError for a wrong type too, as PyTorch's DataLoader
        raise ValueError(f"evaluate: batch_size must be a positive int, got {batch_size!r}")
    return _evaluate(model, loss_fn, X, Y, batch_size, _metric_functions(metrics))


def _evaluate(
    model: Layer, loss_fn: Any, X: ArrayLike, Y: ArrayLike, batch_size: int, functions: list[tuple[str, Metric]]
) -> dict[str, float]:
    loader = DataLoader(X, Y, batch_size=batch_size)
    if loader.num_samples == 0:
        raise ValueError("evaluate: X holds no samples")
    losses, sizes, predictions = [], [], []
    with _Mode(model, training=False):
        for xb, yb in loader:
            pred = model(xb)
            losses.append(loss_fn(pred, yb))
            sizes.append(len(xb))
            if functions:
                predictions.append(pred)
    results = {"loss": _combine_losses(loss_fn, losses, sizes)}
    if functions:
        pred_all, target = np.concatenate(predictions), loader.arrays[1]
        results.update((name, float(function(pred_all, target))) for name, function in functions)
    return results


def _load_tqdm() -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _format_logs(logs: Logs) -> str:
    return " - ".join(f"{key}: {value:.4g}" if key == "lr" else f"{key}: {value:.4f}" for key, value in logs.items())


class _NonFinite(Exception):
    """A batch's loss was NaN or infinite (or a TerminateOnNaN asked to stop)."""

    def __init__(self, batch: int, loss: float) -> None:
        super().__init__(batch, loss)
        self.batch, self.loss = batch, loss


def _train_epoch(
    model: Layer,
    loss_fn: Any,
    optimizer: Optimizer,
    loader: DataLoader,
    functions: list[tuple[str, Metric]],
    callbacks: list[Callback],
    bar: Any,
    max_norm: float | None = None,
    check_finite: bool = False,
) -> Logs:
    """One pass over the loader; returns the epoch's loss and training metrics. ``max_norm``: the gradients'
    total norm is clipped to it before each step. ``check_finite``: a NaN or infinite batch loss raises
    :class:`_NonFinite` before its step is taken."""
    losses, sizes, predictions, targets = [], [], [], []
    terminators = [callback for callback in callbacks if isinstance(callback, TerminateOnNaN)]
    for batch, (xb, yb) in enumerate(loader):
        optimizer.zero_grad()
        pred = model(xb)
        loss = loss_fn(pred, yb)
        if check_finite and not math.isfinite(loss):
            raise _NonFinite(batch, float(loss))
        model.backward(loss_fn.backward())
        if max_norm is not None:
            clip_grad_norm_(optimizer.params, max_norm)
        optimizer.step()
        losses.append(loss)
        sizes.append(len(xb))
        if functions:
            predictions.append(pred)
            targets.append(yb)
        if bar is not None:
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            bar.update(1)
        for callback in callbacks:
            callback.on_batch_end(batch, {"loss": loss})
        if any(callback.stop_training for callback in terminators):
            raise _NonFinite(batch, float(loss))
    logs = {"loss": _combine_losses(loss_fn, losses, sizes)}
    if functions:
        pred_all, target_all = np.concatenate(predictions), np.concatenate(targets)
        logs.update((name, float(function(pred_all, target_all))) for name, function in functions)
    return logs


def _check_optimizer_covers(model: Layer, optimizer: Optimizer) -> None:
    """The optimizer steps every parameter of the model and none of another model."""
    own = {id(p): name for name, p in model.named_parameters()}
    stepped = {id(p) for p in optimizer.params}
    foreign = [p for p in optimizer.params if id(p) not in own]
    if foreign:
        shapes = ", ".join(str(p.data.shape) for p in foreign[:5])
        raise ValueError(
            f"fit: the optimizer holds {len(foreign)} parameter(s) that are not the model's (shapes {shapes}"
            f"{', ...' if len(foreign) > 5 else ''}); build it on this model: optimizer = "
            f"{type(optimizer).__name__}(model.parameters(), ...)"
        )
    missing = [name for key, name in own.items() if key not in stepped]
    if missing:
        raise ValueError(
            f"fit: the optimizer does not step {len(missing)} of the model's parameters "
            f"({', '.join(missing[:8])}{', ...' if len(missing) > 8 else ''}); build it on model.parameters() "
            "(parameter groups may split them, but each parameter must be in one)"
        )


def _logged_keys(functions: list[tuple[str, Metric]], validation: bool, scheduler: Any) -> list[str]:
    keys = ["loss"] + [name for name, _ in functions]
    if validation:
        keys += [f"val_{key}" for key in list(keys)]
    if scheduler is not None:
        keys.append("lr")
    return keys


def _check_callback_keys(callbacks: list[Callback], keys: list[str]) -> None:
    """Each monitored key and each field of a checkpoint's path is a value fit logs."""

    def refuse(owner: str, what: str, key: str) -> None:
        hint = " (pass validation_data to fit to get 'val_' values)" if key.startswith("val_") else ""
        hint += " (add the metric to fit's metrics=)" if key.removeprefix("val_") not in ("loss", "lr") else ""
        raise KeyError(f"fit: {owner}: {what} {key!r} is not a value fit logs: {keys}{hint}")

    for callback in callbacks:
        if isinstance(callback, EarlyStopping) and callback.monitor not in keys:
            refuse("EarlyStopping", "monitor", callback.monitor)
        if isinstance(callback, ModelCheckpoint):
            if callback.save_best_only and callback.monitor not in keys:
                refuse("ModelCheckpoint", "monitor", callback.monitor)
            try:
                fields = [field for _, field, _, _ in string.Formatter().parse(callback.path) if field]
            except ValueError as error:
                raise ValueError(
                    f"fit: ModelCheckpoint: the path {callback.path!r} is not a format string: {error}"
                ) from None
            for field in fields:
                name = field.split(".")[0].split("[")[0]
                if name != "epoch" and name not in keys:
                    refuse("ModelCheckpoint", "the path's field", name)


def _check_validation_data(
    model: Layer, loss_fn: Any, validation_data: tuple[NDArray[Any], NDArray[Any]], batch_size: int
) -> None:
    """A few validation rows through the model and the loss, in eval mode, before any training."""
    X_val, Y_val = validation_data
    if X_val.ndim == 0 or len(X_val) == 0:
        raise ValueError(f"fit: validation_data holds no samples (X_val of shape {X_val.shape})")
    if Y_val.ndim == 0 or len(Y_val) != len(X_val):
        raise ValueError(
            f"fit: validation_data: X_val {X_val.shape} and Y_val {Y_val.shape} need the same number of samples"
        )
    n = min(len(X_val), batch_size)
    try:
        with _Mode(model, training=False):
            loss_fn(model(X_val[:n]), Y_val[:n])
    except Exception as error:
        raise ValueError(
            f"fit: validation_data (X_val {X_val.shape}, Y_val {Y_val.shape}) does not run through the model and "
            f"the loss: {type(error).__name__}: {error}"
        ) from error


def _check_last_batch(model: Layer, num_samples: int, batch_size: int, drop_last: bool) -> None:
    """A BatchNorm1d in training mode cannot normalise one row: refuse a last batch of one before training."""
    if drop_last or num_samples % batch_size != 1:
        return
    norms = [repr(name) for name, layer in model.named_layers() if isinstance(layer, BatchNorm1d)]
    if norms:
        raise ValueError(
            f"fit: {num_samples} samples in batches of {batch_size} leave a last batch of 1 row, which "
            f"the BatchNorm1d at {', '.join(norms)} cannot normalise in training mode; pass drop_last=True to skip it, "
            "or choose another batch_size"
        )


def _restore_last_good(callbacks: list[Callback]) -> str | None:
    """The first callback that holds good weights puts them back; what it restored, or None."""
    for callback in callbacks:
        restored = callback.restore_last_good()
        if restored is not None:
            return restored
    return None


def fit(
    model: Layer,
    loss_fn: Any,
    optimizer: Optimizer,
    X: ArrayLike,
    Y: ArrayLike,
    *,
    epochs: int,
    batch_size: int = 32,
    shuffle: bool = True,
    rng: RngLike = None,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    metrics: Iterable[str | Metric] = (),
    scheduler: LRScheduler | None = None,
    clip_grad_norm: float | None = None,
    on_nonfinite: str = "stop",
    drop_last: bool = False,
) -> History:
    """Train ``model`` on ``(X, Y)`` for ``epochs`` passes in mini-batches; return the :class:`History`.

    Each batch runs ``optimizer.zero_grad()``, ``loss = loss_fn(model(xb), yb)``,
    ``model.backward(loss_fn.backward())`` (then, with ``clip_grad_norm``,
    ``clip_grad_norm_(optimizer.params, clip_grad_norm)``) and ``optimizer.step()``. The model is
    in training mode during the epochs and evaluation mode for the validation
    pass; each layer's mode is restored when ``fit`` returns.

    Args:
        model: the network (any minnet Layer).
        loss_fn: a minnet loss, ``loss_fn(pred, target)`` then ``loss_fn.backward()``.
        optimizer: the optimizer built on ``model.parameters()``.
        X, Y: the training inputs and targets, samples along the first axis.
        epochs: the number of passes over the data.
        batch_size: samples per batch (default 32); the last batch may be smaller.
        drop_last: skip the last batch of each epoch when it is smaller than
            ``batch_size`` (default False). A last batch of one row would crash a
            ``BatchNorm1d`` in training mode; ``fit`` refuses that case before
            training and suggests ``drop_last=True``.
        shuffle: a new sample order each epoch (default True).
        rng: an int seed or ``numpy.random.Generator`` for the shuffling.
        validation_data: ``(X_val, Y_val)``, evaluated after each epoch.
        callbacks: :class:`Callback` objects, e.g. :class:`EarlyStopping`.
        progress: a progress bar per epoch with tqdm installed, else a one-line
            summary per epoch, both on standard error; ``False`` prints nothing.
        metrics: names from ``minnet.metrics.METRICS`` (``"accuracy"``, ``"mse"``,
            ``"r2"``) or functions ``f(pred, target) -> float``. On the training
            data they are computed over the predictions of the epoch's batches
            (made while the weights moved); on validation data after the epoch.
        scheduler: a learning-rate schedule from :mod:`minnet.optim` built on
            ``optimizer`` (another optimizer's is a ValueError), stepped after
            each epoch; the epoch's rate (the first parameter group's) is logged
            as ``"lr"``. A :class:`~minnet.optim.ReduceLROnPlateau` is stepped
            with the epoch's ``"val_loss"``, or its ``"loss"`` without
            validation data.
        clip_grad_norm: a max_norm: after each backward, the gradients of the
            optimizer's parameters are scaled so that their total 2-norm is at most
            this (:func:`minnet.clip_grad_norm_`), then the step is taken.
            ``None`` (default): no clipping.
        on_nonfinite: what to do when a batch's loss is NaN or infinite (checked
            before that batch's step). ``"stop"`` (default): end training there,
            put back the last good weights when an :class:`EarlyStopping` with
            ``restore_best`` or a :class:`ModelCheckpoint` holds some, warn
            (``RuntimeWarning``) and note it in ``History.nonfinite``; the
            diverged epoch is not recorded and its ``on_epoch_end`` is not
            called. ``"raise"``: raise ``FloatingPointError`` at once, the
            weights left as they are. ``"continue"``: train on (the behaviour
            before this option).

    Before the first step ``fit`` checks, each failure an error naming what is
    wrong: the loss is an instance (``CrossEntropyLoss()``, not the class); the
    optimizer steps every parameter of ``model`` and no other (ValueError); a
    batch of ``validation_data`` runs through the model and the loss in eval
    mode (ValueError); each ``EarlyStopping``/``ModelCheckpoint`` monitor and
    each field of a checkpoint's path is a key ``fit`` logs (KeyError).

    Returns:
        a :class:`History`: ``history.history["loss"]`` is the mean batch loss of
        each epoch, and likewise each metric, ``"val_loss"`` and ``"val_<metric>"``.

    Example:
        >>> X = np.random.default_rng(0).standard_normal((64, 2)); Y = X @ np.array([[1.0], [-2.0]])
        >>> model = Sequential(Linear(2, 1, rng=0))
        >>> history = fit(model, MSELoss(), SGD(model.parameters(), lr=0.3), X, Y, epochs=20, rng=0, progress=False)
        >>> len(history.history["loss"]), history.history["loss"][-1] < 1e-3
        (20, True)
    """
    _check_model(model, "fit", loss_fn)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit: optimizer must be a minnet Optimizer, got {type(optimizer).__name__}")
    if not is_int(epochs) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    if not is_int(batch_size) or batch_size < 1:  # ValueError for a wrong type too, as PyTorch's DataLoader
        raise ValueError(f"fit: batch_size must be a positive int, got {batch_size!r}")
    shuffle, drop_last = check_bool("fit", "shuffle", shuffle), check_bool("fit", "drop_last", drop_last)
    progress = check_bool("fit", "progress", progress)
    if clip_grad_norm is not None and not (is_real(clip_grad_norm) and 0 < clip_grad_norm < math.inf):
        raise ValueError(f"fit: clip_grad_norm must be a positive number (a max norm) or None, got {clip_grad_norm!r}")
    if on_nonfinite not in ("stop", "raise", "continue"):
        raise ValueError(f"fit: on_nonfinite must be 'stop', 'raise' or 'continue', got {on_nonfinite!r}")
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Iterable):
        raise TypeError(f"fit: callbacks must be a list of minnet.Callback objects, got {describe(callbacks)}")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks must be minnet.Callback objects, got {type(callback).__name__}")
        callback.set_context(model, optimizer)
    functions = _metric_functions(metrics)
    loader = DataLoader(X, Y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, rng=rng)
    if loader.num_samples == 0:
        raise ValueError("fit: X holds no samples")
    if len(loader) == 0:
        raise ValueError(
            f"fit: drop_last=True with {loader.num_samples} samples and batch_size={batch_size} leaves no batch"
        )
    _check_last_batch(model, loader.num_samples, batch_size, drop_last)
    _check_optimizer_covers(model, optimizer)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("fit: validation_data must be a pair (X_val, Y_val)")
        validation_data = (np.asarray(validation_data[0]), np.asarray(validation_data[1]))  # once, not per epoch
        _check_validation_data(model, loss_fn, validation_data, batch_size)
    if scheduler is not None:
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"fit: scheduler must be a minnet.optim schedule, got {type(scheduler).__name__}")
        if scheduler.optimizer is not optimizer:
            raise ValueError("fit: the scheduler sets the learning rate of another optimizer than the one fit steps")
    _check_callback_keys(callbacks, _logged_keys(functions, validation_data is not None, scheduler))
    tqdm = _load_tqdm() if progress else None
    history, logs = History(), {}
    with _Mode(model, training=True), _NoInputGradient(model):
        for callback in callbacks:
            callback.on_train_begin({})
        for epoch in range(epochs):
            for callback in callbacks:
                callback.on_epoch_begin(epoch, {})
            started = time.perf_counter()
            bar = None
            if tqdm is not None:
                bar = tqdm(total=len(loader), desc=f"Epoch {epoch + 1}/{epochs}", unit="batch", file=sys.stderr)
            lr = optimizer.lr
            try:
                logs = _train_epoch(
                    model,
                    loss_fn,
                    optimizer,
                    loader,
                    functions,
                    callbacks,
                    bar,
                    clip_grad_norm,
                    check_finite=on_nonfinite != "continue",
                )
            except _NonFinite as nonfinite:
                if bar is not None:
                    bar.close()
                where = f"epoch {epoch + 1}, batch {nonfinite.batch + 1}: the loss is {nonfinite.loss}"
                if on_nonfinite == "raise":
                    raise FloatingPointError(
                        f"fit: {where}; training diverged (on_nonfinite='raise'). "
                        "Try a lower learning rate or clip_grad_norm"
                    ) from None
                restored = _restore_last_good(callbacks)
                history.nonfinite = {
                    "epoch": epoch,
                    "batch": nonfinite.batch,
                    "loss": nonfinite.loss,
                    "restored": restored,
                }
                warnings.warn(
                    f"fit: {where}; training stopped. "
                    + (
                        f"Restored {restored}."
                        if restored
                        else "No good weights to restore (give fit an "
                        "EarlyStopping(restore_best=True) or a ModelCheckpoint to keep some)."
                    )
                    + " Try a lower learning rate or clip_grad_norm.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                break
            except BaseException:
                if bar is not None:
                    bar.close()
                raise
            if validation_data is not None:
                X_val, Y_val = validation_data
                results = _evaluate(model, loss_fn, X_val, Y_val, batch_size, functions)
                logs.update((f"val_{key}", value) for key, value in results.items())
            if isinstance(scheduler, ReduceLROnPlateau):  # it watches val_loss, or loss without validation data
                logs["lr"] = lr
                scheduler.step(logs["val_loss"] if "val_loss" in logs else logs["loss"])
            elif scheduler is not None:
                logs["lr"] = lr
                scheduler.step()
            history.record(epoch, logs)
            if bar is not None:
                bar.set_postfix_str(_format_logs(logs))
                bar.close()
            elif progress:
                seconds = time.perf_counter() - started
                print(f"Epoch {epoch + 1}/{epochs} - {seconds:.2f}s - {_format_logs(logs)}", file=sys.stderr)
            for callback in callbacks:
                callback.on_epoch_end(epoch, dict(logs))
            if any(callback.stop_training for callback in callbacks):
                break
        for callback in callbacks:
            callback.on_train_end(dict(logs))
    return history
