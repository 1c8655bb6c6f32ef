"""Metrics to report during training: ``metric(pred, target)`` returns a float.

The argument order is minnet's loss order, prediction first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._checks import check_bool, check_real, describe

__all__ = ["METRICS", "accuracy", "get_metric", "mean_squared_error", "r2_score"]

Metric = Callable[[Any, Any], float]


def accuracy(pred: ArrayLike, target: ArrayLike, threshold: float = 0.5, *, logits: bool | None = None) -> float:
    """The fraction of samples whose predicted class is the target class.

    - ``pred`` of shape ``(N, C)`` with C > 1 (scores, logits or probabilities):
      the class is ``argmax`` over the last axis; ``target`` is integer labels
      ``(N,)`` or one-hot / probabilities ``(N, C)`` (its argmax is the label).
    - ``pred`` of shape ``(N,)`` or ``(N, 1)`` (one probability or one logit per
      sample): ``target`` holds 0/1 of the same length. Probabilities give the
      class ``pred > threshold``; logits the same decision on their scale,
      ``pred > log(threshold / (1 − threshold))`` (``pred > 0`` for 0.5).
      ``logits=True`` or ``False`` says which ``pred`` holds; ``None`` (default)
      reads them as logits when a finite value lies outside [0, 1], else as
      probabilities. Logits that all happen to lie in [0, 1] are then read as
      probabilities: pass ``logits=True`` for a model that ends without a sigmoid.

    Example:
        >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([1, 0, 0]))
        0.6666666666666666
        >>> accuracy(np.array([[0.9], [0.2]]), np.array([[1.0], [0.0]]))
        1.0
        >>> accuracy(np.array([[2.0], [-0.3], [0.4]]), np.array([1, 0, 1]))  # logits: thresholded at 0
        1.0
    """
    threshold = check_real("accuracy", "threshold", threshold)
    if logits is not None:
        logits = check_bool("accuracy", "logits", logits)
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.ndim == 0 or len(pred) != len(target):
        raise ValueError(f"accuracy: pred {pred.shape} and target {target.shape} need the same number of samples")
    if pred.ndim == 2 and pred.shape[1] > 1:
        if target.shape == pred.shape:
            labels = target.argmax(axis=1)
        elif target.ndim == 1 or (target.ndim == 2 and target.shape[1] == 1):
            labels = target.reshape(-1)
        else:
            raise ValueError(
                f"accuracy: for pred of shape {pred.shape} the target must be labels (N,) or one-hot {pred.shape}, "
                f"got {target.shape}"
            )
        predicted, finite = pred.argmax(axis=1), np.isfinite(pred).all(axis=1)
    elif pred.ndim == 1 or (pred.ndim == 2 and pred.shape[1] == 1):
        if target.size != len(pred):
            raise ValueError(f"accuracy: pred {pred.shape} holds one value per sample, target {target.shape} not")
        flat = pred.reshape(-1)
        finite = np.isfinite(flat)
        if logits is None:
            values = flat[finite]
            logits = bool(np.any((values < 0) | (values > 1)))
        if logits:
            if not 0 < threshold < 1:
                raise ValueError(
                    f"accuracy: with logits the threshold must be a probability in (0, 1), got {threshold}"
                )
            cut = float(np.log(threshold / (1 - threshold)))
        else:
            cut = threshold
        predicted, labels = (flat > cut).astype(int), target.reshape(-1)
    else:
        raise ValueError(f"accuracy: expected pred of shape (N, C) or (N,), got {pred.shape}")
    return float(np.mean((predicted == labels) & finite))


def mean_squared_error(pred: ArrayLike, target: ArrayLike) -> float:
    """The mean over all elements of ``(pred − target)²``; the shapes must be equal.

    Example:
        >>> mean_squared_error(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]]))
        5.0
    """
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"mean_squared_error: pred shape {pred.shape} does not match target shape {target.shape}")
    return float(np.mean((pred - target) ** 2))


def r2_score(pred: ArrayLike, target: ArrayLike) -> float:
    """The coefficient of determination ``R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²``, per output
    column and averaged over columns; 1 is perfect, 0 is as good as predicting the mean.

    A column whose target is constant scores 1 if predicted exactly, else 0.

    Example:
        >>> r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
        0.7857142857142857
    """
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape or pred.ndim == 0:
        raise ValueError(f"r2_score: pred shape {pred.shape} does not match target shape {target.shape}")
    pred, target = pred.reshape(len(pred), -1), target.reshape(len(target), -1)
    residual = np.sum((target - pred) ** 2, axis=0)
    total = np.sum((target - target.mean(axis=0)) ** 2, axis=0)
    constant = total == 0
    scores = np.where(constant, (residual == 0).astype(float), 1 - residual / np.where(constant, 1.0, total))
    return float(np.mean(scores))


METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
    "r2": r2_score,
    "r2_score": r2_score,
}


def get_metric(metric: str | Metric) -> tuple[str, Metric]:
    """``(name, function)`` for a metric given by name (a key of ``METRICS``) or as a callable."""
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if not isinstance(metric, str):
        raise TypeError(
            f"get_metric: a metric must be a name in {sorted(METRICS)} or a function, got {describe(metric)}"
        )
    if metric not in METRICS:
        raise ValueError(f"get_metric: unknown metric {metric!r}; known: {sorted(METRICS)} (or pass a function)")
    return metric, METRICS[metric]
