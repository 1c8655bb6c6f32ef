"""Figures of a training run and of a backward pass (needs the ``plot`` extra:
``pip install "minnet-nn[plot]"``, or ``pip install -e ".[plot]"`` in a checkout; it brings matplotlib).

Every function returns a :class:`matplotlib.figure.Figure` and, given a
``path``, also saves it there as a PNG. The figures are built without pyplot,
so nothing opens a window and no global figure state is kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._checks import check_int, describe, is_int, real_array
from .inspect import Trace
from .inspect.common import named_leaves, record_outputs
from .inspect.graph import graph  # the layer graph, drawn by Graphviz (the graph extra), not matplotlib
from .nn.layer import Layer
from .nn.snapshot import preserved

try:
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator
except ImportError as error:  # pragma: no cover - only without the extra
    from ._install import install_hint

    raise ImportError(f"minnet.plot needs matplotlib: {install_hint('plot')}") from error

__all__ = ["activation_histograms", "decision_boundary", "feature_maps", "gradient_flow", "graph", "loss_curve"]

PathLike = str | Path


def _finish(fig: Figure, path: PathLike | None) -> Figure:
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, format="png", dpi=100)
    return fig


def _series(history: Any) -> tuple[dict[str, list[float]], str]:
    """The named series of a History (``.history`` dict), a dict of lists or a list of losses."""
    data = getattr(history, "history", history)
    if isinstance(data, Mapping):
        series = {str(k): real_array("loss_curve", f"history[{k!r}]", v, np.float64).tolist() for k, v in data.items()}
        return series, "epoch"
    values = real_array("loss_curve", "history", data, np.float64)
    if values.ndim != 1:
        raise ValueError(f"loss_curve: expected a History, a dict of lists or a 1-D list of losses, got {values.shape}")
    return {"loss": values.tolist()}, "step"


def loss_curve(
    history: Any,
    path: PathLike | None = None,
    *,
    log_scale: bool = False,
    title: str | None = None,
    x_label: str | None = None,
) -> Figure:
    """The loss (and validation loss) per epoch; other metrics in a second panel.

    Args:
        history: what ``fit`` returned (an object with a ``.history`` dict of
            lists, e.g. ``{"loss": [...], "val_loss": [...]}``), such a dict
            itself, or a plain list of losses (one per step).
        path: where to save the PNG (``None``: not saved).
        log_scale: a logarithmic loss axis.
        title: the figure's title.
        x_label: the x axis's label (default ``"epoch"`` for a History or a
            dict, ``"step"`` for a list).

    Example:
        >>> fig = loss_curve([1.0, 0.5, 0.3])
        >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
        ('step', 'loss')
    """
    series, default_x_label = _series(history)
    if not series or not any(series.values()):
        raise ValueError("loss_curve: the history holds no values")
    losses = {k: v for k, v in series.items() if "loss" in k}
    metrics = {k: v for k, v in series.items() if "loss" not in k and k not in ("lr", "epoch")}
    fig = Figure(figsize=(6.4 + 4.0 * bool(metrics), 4.0))
    panels = [(losses or series, "loss")] + ([(metrics, "metric")] if metrics and losses else [])
    for i, (group, y_label) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for name, values in group.items():
            start = 1 if default_x_label == "epoch" else 0
            ax.plot(range(start, start + len(values)), values, marker="o" if len(values) <= 30 else None, label=name)
        ax.set_xlabel(x_label or default_x_label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and steps are whole numbers
        ax.set_ylabel(y_label)
        if log_scale and y_label == "loss":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def _check_model(owner: str, model: Any) -> None:
    if not isinstance(model, Layer):
        raise TypeError(f"{owner}: model must be a minnet Layer, got {describe(model)}")


def _class_names(owner: str, layers: Any) -> Sequence[str] | None:
    """``layers``: None, one class name, or a list of them."""
    if isinstance(layers, str):
        return [layers]
    if layers is not None and not (isinstance(layers, (list, tuple)) and all(isinstance(n, str) for n in layers)):
        raise TypeError(
            f"{owner}: layers must be None or a list of class names such as ['ReLU'], got {describe(layers)}"
        )
    return layers


def _mean_abs_gradients(source: Layer | Trace) -> tuple[list[str], list[float]]:
    """Per layer with parameters, input side first: its label and the mean
    ``|∂L/∂θ|`` over its parameters, from the model's ``.grad`` or from the
    gradients a trace recorded."""
    labels, values = [], []
    if isinstance(source, Trace):
        steps = [(row.name, row.layer.split("(")[0], [p.grad for p in row.params]) for row in reversed(source.rows)]
    else:
        steps = [
            (path or "0", type(layer).__name__, [p.grad for p in layer.parameters()])
            for path, layer in named_leaves(source)
        ]
    for name, kind, grads in steps:
        if grads:
            labels.append(f"{name} {kind}")
            values.append(float(np.concatenate([np.abs(g).ravel() for g in grads]).mean()))
    return labels, values


def gradient_flow(
    model: Layer | Trace | Mapping[str, Layer | Trace],
    path: PathLike | None = None,
    *,
    title: str | None = "gradient flow",
) -> Figure:
    """The mean absolute parameter gradient of each layer, input side first,
    on a logarithmic axis, to see where the gradient fades: from the
    :class:`~minnet.inspect.Trace` of :func:`minnet.explain` (which records
    each layer's parameter gradients and leaves the model as it was), or
    from a model's ``.grad`` after a backward pass of your own.

    Args:
        model: a trace or a network, or several by label (``{"sigmoid": a,
            "relu": b}``) drawn on one axes to compare them.
        path: where to save the PNG.
        title: the figure's title.

    Example:
        >>> from minnet.derivation import build_network, make_data
        >>> model, (X, Y) = build_network(0), make_data()
        >>> fig = gradient_flow(explain(model, MSELoss(), X, Y))
        >>> fig.axes[0].get_ylabel()
        'mean |∂L/∂θ| of the layer'
    """
    models = dict(model) if isinstance(model, Mapping) else {"": model}
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    longest: list[str] = []
    for label, network in models.items():
        if not isinstance(network, (Layer, Trace)):
            raise TypeError(
                "gradient_flow: model must be a Layer, a Trace from minnet.explain, or a dict of them, "
                f"got {describe(network)}"
            )
        labels, values = _mean_abs_gradients(network)
        if not values:
            raise ValueError(f"gradient_flow: {type(network).__name__} {label} has no parameter gradients")
        if not any(values):
            raise ValueError(
                f"gradient_flow: every gradient of {label or 'the model'} is zero; run a backward pass first, "
                "or pass the trace that minnet.explain returns"
            )
        ax.plot(range(1, len(values) + 1), values, marker="o", label=label or None)
        longest = labels if len(labels) > len(longest) else longest
    ax.set_yscale("log")
    ax.set_xticks(range(1, len(longest) + 1))
    ax.set_xticklabels(longest if len(models) == 1 else [str(i) for i in range(1, len(longest) + 1)], rotation=30)
    ax.set_xlabel("layer with parameters (input side → output side)")
    ax.set_ylabel("mean |∂L/∂θ| of the layer")
    ax.grid(alpha=0.3, which="both")
    if len(models) > 1:
        ax.legend()
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def _points_and_labels(X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as finite float points ``(N, 2)`` and ``y`` as ``N`` numbers or strings, or a clear error."""
    try:
        points = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"decision_boundary: X must be numbers of shape (N, 2), got {type(X).__name__} that holds others"
        ) from None
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise ValueError(f"decision_boundary: X must be points of shape (N, 2) with N >= 1, got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("decision_boundary: X holds nan or inf; every point must be finite")
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != points.shape[0]:
        raise ValueError(
            f"decision_boundary: y must hold one label per point, shape ({points.shape[0]},) "
            f"or ({points.shape[0]}, 1), got {labels.shape}"
        )
    if labels.dtype.kind == "O" and all(isinstance(label, str) for label in labels):
        labels = labels.astype(str)
    if labels.dtype.kind == "b":
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iufU":
        raise TypeError(f"decision_boundary: y must hold numbers or strings, got dtype {labels.dtype}")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError("decision_boundary: y holds nan or inf; every label must be finite")
    return points, labels


def _label_text(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else f"{value:g}"
    return str(value)


def decision_boundary(
    model: Layer,
    X: ArrayLike,
    y: ArrayLike,
    path: PathLike | None = None,
    *,
    resolution: int = 200,
    threshold: float | None = None,
    title: str | None = None,
) -> Figure:
    """The classes a model predicts over the plane, with the data on top.

    One output column is a binary score, split at ``threshold`` (default 0.5
    when the model ends in a Sigmoid, else 0); several columns are class
    scores, argmax. The model runs on a ``resolution × resolution`` grid
    covering the data with a margin, in eval mode (the model's modes, buffers
    and random generators are restored afterwards).

    Labels that are whole numbers >= 0 are the model's class indices (label
    ``k`` is output ``k``); other labels (strings, negative or fractional
    numbers) are taken in sorted order, the first being output 0, as
    scikit-learn's ``LabelEncoder`` numbers them. Either way only the classes
    that occur (in ``y`` or in the predictions) are drawn, one colour each,
    and the legend names them by their labels, so the cost does not grow with
    the labels' values.

    Args:
        model: a network taking two-dimensional points ``(N, 2)``.
        X: the points, shape ``(N, 2)``.
        y: their classes, shape ``(N,)`` or ``(N, 1)``: numbers or strings.
        path: where to save the PNG.
        resolution: grid points along each axis, a whole number >= 2.
        threshold: the split of a one-column score.
        title: the axes' title.
    """
    _check_model("decision_boundary", model)
    if isinstance(resolution, (bool, np.bool_)) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise ValueError(
            f"decision_boundary: resolution (grid points along each axis) must be a whole number >= 2, "
            f"got {resolution!r}"
        )
    if threshold is not None and (
        isinstance(threshold, (bool, np.bool_))
        or not isinstance(threshold, (int, float, np.integer, np.floating))
        or not math.isfinite(threshold)
    ):
        raise ValueError(f"decision_boundary: threshold must be None or a finite number, got {threshold!r}")
    X, y = _points_and_labels(X, y)
    dtype = next((p.data.dtype for p in model.parameters()), np.float64)
    margin = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    with preserved(model, mode=False):
        scores = np.asarray(model(np.column_stack([xx.ravel(), yy.ravel()]).astype(dtype)), dtype=np.float64)
    scores = scores.reshape(resolution * resolution, -1)
    if scores.shape[1] == 1:
        if threshold is None:
            last = named_leaves(model)[-1][1]
            threshold = 0.5 if type(last).__name__ == "Sigmoid" else 0.0
        predicted = (scores[:, 0] > threshold).astype(np.int64)
    else:
        predicted = scores.argmax(axis=1)

    # Every class as a code 0..K-1, K the number of classes that occur: no per-class work depends on label values.
    names, data_codes = np.unique(y, return_inverse=True)
    data_codes = data_codes.reshape(-1)
    outputs = np.unique(predicted)
    if names.dtype.kind in "iuf" and names.min() >= 0 and bool(np.all(names == np.floor(names))):
        shown = np.union1d(names, outputs)  # the labels are the model's output indices
        grid_codes, data_codes = np.searchsorted(shown, predicted), np.searchsorted(shown, y)
        legend = [_label_text(value) for value in shown]
    else:  # output k is the k-th label in sorted order; an output beyond the labels keeps its number
        extra = outputs[outputs >= len(names)]
        grid_codes = np.where(predicted < len(names), predicted, len(names) + np.searchsorted(extra, predicted))
        legend = [_label_text(value) for value in names] + [f"output {k}" for k in extra]
    n_classes = len(legend)

    fig = Figure(figsize=(5.6, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    cmap, norm = colormaps["coolwarm"], Normalize(vmin=0, vmax=max(n_classes - 1, 1))
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(xx, yy, grid_codes.reshape(xx.shape), levels=levels, cmap=cmap, norm=norm, alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=data_codes, cmap=cmap, norm=norm, edgecolor="k", s=25)
    handles = [
        Line2D([], [], linestyle="", marker="o", markeredgecolor="k", markerfacecolor=cmap(norm(code)))
        for code in range(n_classes)
    ]
    ax.legend(handles, legend, title="class", loc="best")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title or "decision boundary")
    return _finish(fig, path)


def activation_histograms(
    model: Layer,
    X: ArrayLike,
    path: PathLike | None = None,
    *,
    bins: int = 40,
    layers: Sequence[str] | None = None,
) -> Figure:
    """A histogram of each layer's output on the batch ``X``: saturated
    sigmoids pile up at 0 and 1, dead ReLUs at 0. The batch runs in eval mode
    (modes, buffers and random generators are restored afterwards).

    Args:
        model: the network; ``X`` is run through it once.
        X: the input batch.
        path: where to save the PNG.
        bins: bins per histogram.
        layers: the class names to show (e.g. ``["Sigmoid", "ReLU"]``);
            default every layer without children.
    """
    _check_model("activation_histograms", model)
    bins, layers = (
        check_int("activation_histograms", "bins", bins, minimum=1),
        _class_names("activation_histograms", layers),
    )
    leaves = [(p, layer) for p, layer in named_leaves(model) if layers is None or type(layer).__name__ in layers]
    if not leaves:
        raise ValueError(f"activation_histograms: no layer of the classes {list(layers or [])} in the model")
    outputs = record_outputs(model, X, [layer for _, layer in leaves])
    columns = min(4, len(leaves))
    rows = math.ceil(len(leaves) / columns)
    fig = Figure(figsize=(3.2 * columns, 2.6 * rows))
    for i, (path_name, layer) in enumerate(leaves):
        ax = fig.add_subplot(rows, columns, i + 1)
        values = np.asarray(outputs[id(layer)], dtype=np.float64).ravel()
        ax.hist(values[np.isfinite(values)], bins=bins, color="tab:blue")
        ax.set_title(f"{path_name or '0'} {type(layer).__name__}", fontsize=10)
        ax.set_xlabel("output value")
        ax.set_ylabel("count")
    return _finish(fig, path)


def feature_maps(
    model: Layer,
    X: ArrayLike,
    path: PathLike | None = None,
    *,
    sample: int = 0,
    layers: Sequence[str] | None = None,
    max_channels: int = 16,
) -> Figure:
    """What a convolutional network sees in one sample: the sample's channels in the first row, then, for
    each layer whose output is an image ``(N, C, H, W)`` or a sequence ``(N, C, L)``, that output's
    channels, one small picture each (a sequence as one picture, a row per channel). Each picture has its
    own colour scale. The batch runs in eval mode (modes, buffers and random generators are restored).

    Args:
        model: the network; ``X`` is run through it once.
        X: the input batch, ``(N, C, H, W)`` or ``(N, C, L)``.
        path: where to save the PNG.
        sample: which sample of the batch to show.
        layers: the class names to show (e.g. ``["ReLU"]``); default every layer without children
            whose output has 3 or 4 axes.
        max_channels: the most channels shown per row (the first ones).
    """
    _check_model("feature_maps", model)
    X, layers = np.asarray(X), _class_names("feature_maps", layers)
    sample = check_int("feature_maps", "sample", sample)
    if not is_int(max_channels) or max_channels < 1:
        raise ValueError(f"feature_maps: max_channels must be at least 1, got {max_channels!r}")
    if X.ndim not in (3, 4) or not 0 <= sample < len(X):
        raise ValueError(
            f"feature_maps: expected a batch (N, C, H, W) or (N, C, L) and a sample in [0, N), "
            f"got shape {X.shape} and sample={sample}"
        )
    leaves = [(p, layer) for p, layer in named_leaves(model) if layers is None or type(layer).__name__ in layers]
    outputs = record_outputs(model, X, [layer for _, layer in leaves])
    rows = [("input", X[sample])]
    for path_name, layer in leaves:
        output = outputs.get(id(layer))
        if isinstance(output, np.ndarray) and output.ndim in (3, 4):
            rows.append((f"{path_name or '0'} {type(layer).__name__}", output[sample]))
    if len(rows) == 1:
        raise ValueError(
            f"feature_maps: no layer {'of the classes ' + str(list(layers)) + ' ' if layers else ''}"
            "has an output of shape (N, C, H, W) or (N, C, L)"
        )
    columns = max(1 if maps.ndim == 2 else min(len(maps), max_channels) for _, maps in rows)
    fig = Figure(figsize=(1.3 * columns + 1.2, 1.4 * len(rows)))
    for r, (name, maps) in enumerate(rows):
        pictures = [maps] if maps.ndim == 2 else list(maps[:max_channels])  # a sequence: one (C, L) picture
        for c, picture in enumerate(pictures):
            ax = fig.add_subplot(len(rows), columns, r * columns + c + 1)
            ax.imshow(np.asarray(picture, dtype=np.float64), cmap="viridis", aspect="auto" if maps.ndim == 2 else None)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                shown = "" if maps.ndim == 2 or len(maps) <= max_channels else f", {max_channels} shown"
                ax.set_ylabel(f"{name}\n{tuple(maps.shape)}{shown}", fontsize=8)
    return _finish(fig, path)
