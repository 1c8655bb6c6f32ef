"""Every built-in layer and loss through minnet.testing.check_layer / check_loss, in train and eval mode."""

from __future__ import annotations

import numpy as np
import pytest

import minnet
from minnet import (
    ELU,
    GELU,
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    Concat,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    HuberLoss,
    Identity,
    L1Loss,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MSELoss,
    NLLLoss,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from minnet.testing import check_layer, check_loss


def _away_from_zero(rng, shape):
    """Inputs at least 0.1 from 0, where ReLU-like layers have a kink."""
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + 0.1, x - 0.1)


# (id, factory, input shape, extra keyword arguments for check_layer)
LAYERS = [
    ("Linear", lambda: Linear(3, 5, rng=0), (4, 3), {}),
    ("Sigmoid", Sigmoid, (4, 6), {}),
    ("ReLU", ReLU, (4, 6), {"make_input": _away_from_zero}),
    ("LeakyReLU", lambda: LeakyReLU(0.2), (4, 6), {"make_input": _away_from_zero}),
    ("ELU", lambda: ELU(0.7), (4, 6), {"make_input": _away_from_zero}),
    ("Tanh", Tanh, (4, 6), {}),
    ("Softplus", Softplus, (4, 6), {}),
    ("GELU", GELU, (4, 6), {}),
    ("Softmax", Softmax, (4, 6), {}),
    ("LogSoftmax", LogSoftmax, (4, 6), {}),
    ("Identity", Identity, (4, 6), {}),
    ("Flatten", Flatten, (2, 3, 4), {}),
    ("Dropout", lambda: Dropout(0.3, rng=0), (4, 6), {}),
    # training needs more than one value per feature (as in PyTorch), so no batch of 1 for (N, C)
    ("BatchNorm1d", lambda: BatchNorm1d(5), (6, 5), {"batch_sizes": (6, 2)}),
    ("BatchNorm1d-3d", lambda: BatchNorm1d(3), (4, 3, 5), {}),
    ("BatchNorm1d-no-affine", lambda: BatchNorm1d(4, affine=False), (7, 4), {"batch_sizes": (7, 2)}),
    ("Residual", lambda: Residual(Sequential(Linear(4, 4, rng=1), Tanh())), (3, 4), {}),
    ("Concat", lambda: Concat(Linear(3, 2, rng=2), Sequential(Linear(3, 4, rng=3), Tanh())), (5, 3), {}),
    (
        "Sequential",
        lambda: Sequential(Linear(3, 4, rng=4), Dropout(0.2, rng=5), ReLU(), Linear(4, 2, rng=6)),
        (6, 3),
        {},
    ),
]


def _labels(classes):
    return lambda rng, shape: rng.integers(0, classes, shape[0])


def _probabilities(rng, shape):
    t = rng.random(shape)
    return t / t.sum(axis=1, keepdims=True)


def _log_probabilities(rng, shape):
    z = rng.standard_normal(shape)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _unit_interval(rng, shape):
    return rng.uniform(0.05, 0.95, shape)


# (id, factory, prediction shape, target maker, extra keyword arguments for check_loss)
LOSSES = (
    [
        (
            f"{cls.__name__}-{reduction}",
            (lambda cls=cls, reduction=reduction: cls(reduction=reduction)),
            (5, 3),
            None,
            {},
        )
        for cls in (MSELoss, L1Loss, HuberLoss)
        for reduction in cls.reductions
    ]
    + [
        (f"BCELoss-{r}", (lambda r=r: BCELoss(reduction=r)), (4, 3), _unit_interval, {"make_input": _unit_interval})
        for r in BCELoss.reductions
    ]
    + [
        (f"BCEWithLogitsLoss-{r}", (lambda r=r: BCEWithLogitsLoss(reduction=r)), (4, 3), _unit_interval, {})
        for r in BCEWithLogitsLoss.reductions
    ]
    + [
        (f"CrossEntropyLoss-labels-{r}", (lambda r=r: CrossEntropyLoss(reduction=r)), (5, 4), _labels(4), {})
        for r in CrossEntropyLoss.reductions
    ]
    + [
        (f"CrossEntropyLoss-probabilities-{r}", (lambda r=r: CrossEntropyLoss(reduction=r)), (5, 4), _probabilities, {})
        for r in CrossEntropyLoss.reductions
    ]
    + [
        (f"NLLLoss-{r}", (lambda r=r: NLLLoss(reduction=r)), (5, 4), _labels(4), {"make_input": _log_probabilities})
        for r in NLLLoss.reductions
    ]
)


@pytest.mark.parametrize("factory, shape, kwargs", [c[1:] for c in LAYERS], ids=[c[0] for c in LAYERS])
def test_layer_passes_the_kit(factory, shape, kwargs):
    report = check_layer(factory, shape, **kwargs)
    assert report, report
    assert {check.mode for check in report.checks} == {"train", "eval"}


@pytest.mark.parametrize("factory, shape, target, kwargs", [c[1:] for c in LOSSES], ids=[c[0] for c in LOSSES])
def test_loss_passes_the_kit(factory, shape, target, kwargs):
    report = check_loss(factory, shape, target, **kwargs)
    assert report, report


def test_every_public_layer_and_loss_is_in_the_kit_tests():
    covered = {type(case[1]()).__name__ for case in LAYERS + LOSSES}
    exported = {
        name
        for name in minnet.__all__
        if isinstance(getattr(minnet, name), type)
        and issubclass(getattr(minnet, name), minnet.Layer)
        and getattr(minnet, name) not in (minnet.Layer, minnet.Loss)
    }
    assert exported <= covered, f"not run through check_layer/check_loss: {sorted(exported - covered)}"


def test_batchnorm_in_training_rejects_one_value_per_feature():
    """Why the (N, C) BatchNorm1d cases leave out N = 1: it is an error, as in PyTorch."""
    report = check_layer(lambda: BatchNorm1d(5), (1, 5), batch_sizes=(1,), modes=("train",))
    assert not report and "more than 1 value per feature" in str(report)
    assert check_layer(lambda: BatchNorm1d(5), (1, 5), batch_sizes=(1,), modes=("eval",))


def test_docs_layers_table_names_every_layer_and_loss():
    from pathlib import Path

    table = (Path(__file__).resolve().parents[1] / "docs" / "layers.md").read_text(encoding="utf-8")
    names = [name for name in minnet.__all__ if isinstance(getattr(minnet, name), type)]
    layers = [n for n in names if issubclass(getattr(minnet, n), minnet.Layer) and n not in ("Layer", "Loss")]
    missing = [n for n in layers if f"| `{n}(" not in table]
    assert not missing, f"docs/layers.md has no table row for {missing}"
