"""Every entry point checks its arguments: a constructor, fit, save/load, a plot, the CLI given a bad argument
raises (or exits) with a message that names the class or function, the argument, what it expected and what came.

The cases are generated from small tables: each (owner, argument) row is tried with each bad value of its kind
(sizes with 0, -1, 2.5, True, "3", None; probabilities with 1.5, -0.1, NaN, "0.5", ...), each value with the
exception PyTorch raises for that mistake (ValueError for a value out of range, TypeError for a wrong type) and
the end of the message it must give. A bool is not an int; numpy's integer and float scalars are accepted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minnet
from minnet import (
    ELU,
    GELU,
    GRU,
    LSTM,
    RNN,
    SGD,
    Adagrad,
    Adam,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv1d,
    Conv2d,
    CrossEntropyLoss,
    DataLoader,
    Dropout,
    EarlyStopping,
    Embedding,
    Flatten,
    GRUCell,
    HuberLoss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LSTMCell,
    ModelCheckpoint,
    MSELoss,
    MultiheadAttention,
    MultiMarginLoss,
    NLLLoss,
    Parameter,
    ReLU,
    RMSprop,
    RNNCell,
    Sequential,
    Softmax,
    Softplus,
    init,
)
from minnet.metrics import accuracy, get_metric
from minnet.optim import clip_grad_norm_, clip_grad_value_
from minnet.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from minnet.testing import check_layer

X, Y = np.ones((4, 2)), np.ones((4, 1))


def sgd() -> SGD:
    return SGD([Parameter(np.ones(3))], lr=0.1)


def fit(**options: Any) -> Any:
    model = Linear(2, 1, rng=0)
    settings = {"epochs": 1, "progress": False, **options}
    return minnet.fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), X, Y, **settings)


# -- sizes: a positive int; a bool, a float or a string is a TypeError, 0 and -1 a ValueError --------------------

SIZES: list[tuple[str, str, Callable[[Any], Any]]] = [
    ("Linear", "in_features", lambda v: Linear(v, 3)),
    ("Linear", "out_features", lambda v: Linear(3, v)),
    ("Conv2d", "in_channels", lambda v: Conv2d(v, 2, 3)),
    ("Conv1d", "out_channels", lambda v: Conv1d(1, v, 3)),
    ("Conv2d", "kernel_size", lambda v: Conv2d(1, 2, v)),
    ("Conv2d", "stride", lambda v: Conv2d(1, 2, 3, stride=v)),
    ("Conv1d", "dilation", lambda v: Conv1d(1, 2, 3, dilation=v)),
    ("Embedding", "num_embeddings", lambda v: Embedding(v, 3)),
    ("Embedding", "embedding_dim", lambda v: Embedding(4, v)),
    ("BatchNorm1d", "num_features", lambda v: BatchNorm1d(v)),
    ("BatchNorm2d", "num_features", lambda v: BatchNorm2d(v)),
    ("RNN", "input_size", lambda v: RNN(v, 3)),
    ("RNN", "num_layers", lambda v: RNN(3, 3, num_layers=v)),
    ("LSTM", "hidden_size", lambda v: LSTM(3, v)),
    ("GRU", "input_size", lambda v: GRU(v, 3)),
    ("RNNCell", "input_size", lambda v: RNNCell(v, 3)),
    ("LSTMCell", "hidden_size", lambda v: LSTMCell(3, v)),
    ("GRUCell", "hidden_size", lambda v: GRUCell(3, v)),
    ("MultiheadAttention", "embed_dim", lambda v: MultiheadAttention(v, 1)),
    ("MultiheadAttention", "num_heads", lambda v: MultiheadAttention(4, v)),
]
BAD_SIZES = [
    (0, ValueError, "0"),
    (-1, ValueError, "-1"),
    (2.5, TypeError, "2.5"),
    (True, TypeError, r"True \(bool\)"),
    ("3", TypeError, r"'3' \(str\)"),
    (None, TypeError, r"None \(NoneType\)"),
]

# -- probabilities and fractions: a number in [0, 1] ---------------------------------------------------------------

FRACTIONS: list[tuple[str, str, Callable[[Any], Any]]] = [
    ("Dropout", "p", lambda v: Dropout(v)),
    ("RNN", "dropout", lambda v: RNN(3, 3, num_layers=2, dropout=v)),
    ("MultiheadAttention", "dropout", lambda v: MultiheadAttention(4, 1, dropout=v)),
    ("CrossEntropyLoss", "label_smoothing", lambda v: CrossEntropyLoss(label_smoothing=v)),
    ("GRU", "dropout", lambda v: GRU(3, 3, num_layers=2, dropout=v)),
    ("LinearLR", "end_factor", lambda v: LinearLR(sgd(), end_factor=v)),
    ("OneCycleLR", "pct_start", lambda v: OneCycleLR(sgd(), 0.1, total_steps=10, pct_start=v)),
]
BAD_FRACTIONS = [
    (1.5, ValueError, "1.5"),
    (-0.1, ValueError, "-0.1"),
    (float("nan"), ValueError, "nan"),
    ("0.5", TypeError, r"'0.5' \(str\)"),
    (None, TypeError, r"None \(NoneType\)"),
    (True, TypeError, r"True \(bool\)"),
    (1 + 2j, TypeError, r"\(1\+2j\) \(complex\)"),
]

# -- rates, epsilons, factors: a finite number >= 0 (or > 0) -------------------------------------------------------

NON_NEGATIVE: list[tuple[str, str, str, Callable[[Any], Any]]] = [
    ("BatchNorm1d", "eps", ">=", lambda v: BatchNorm1d(3, eps=v)),
    ("LayerNorm", "eps", ">=", lambda v: LayerNorm(3, eps=v)),
    ("SGD", "lr", ">=", lambda v: SGD([Parameter(np.ones(3))], lr=v)),
    ("SGD", "momentum", ">=", lambda v: SGD([Parameter(np.ones(3))], lr=0.1, momentum=v)),
    ("Adam", "eps", ">=", lambda v: Adam([Parameter(np.ones(3))], eps=v)),
    ("RMSprop", "alpha", ">=", lambda v: RMSprop([Parameter(np.ones(3))], alpha=v)),
    ("Adagrad", "lr_decay", ">=", lambda v: Adagrad([Parameter(np.ones(3))], lr_decay=v)),
    ("HuberLoss", "delta", ">", lambda v: HuberLoss(delta=v)),
    ("Softplus", "beta", ">", lambda v: Softplus(beta=v)),
    ("StepLR", "gamma", ">=", lambda v: StepLR(sgd(), 2, gamma=v)),
    ("ExponentialLR", "gamma", ">=", lambda v: ExponentialLR(sgd(), v)),
    ("CosineAnnealingLR", "eta_min", ">=", lambda v: CosineAnnealingLR(sgd(), 3, eta_min=v)),
    ("ReduceLROnPlateau", "threshold", ">=", lambda v: ReduceLROnPlateau(sgd(), threshold=v)),
    ("normal_", "std", ">=", lambda v: init.normal_(Parameter(np.ones(3)), std=v)),
    ("xavier_uniform_", "gain", ">=", lambda v: init.xavier_uniform_(Parameter(np.ones((3, 2))), gain=v)),
    ("gradcheck", "step", ">", lambda v: minnet.gradcheck(Linear(2, 1, rng=0), np.ones((2, 2)), step=v)),
    ("jacobian", "step", ">", lambda v: minnet.jacobian(Linear(2, 1, rng=0), np.ones((2, 2)), step=v)),
]
BAD_NON_NEGATIVE = [
    (-1.0, ValueError, "-1.0"),
    (float("inf"), ValueError, "inf"),
    (float("nan"), ValueError, "nan"),
    ("0.1", TypeError, r"'0.1' \(str\)"),
    (None, TypeError, r"None \(NoneType\)"),
    (1 + 2j, TypeError, r"\(1\+2j\) \(complex\)"),
    (np.array([0.1, 0.2]), TypeError, r"an array of shape \(2,\) and dtype float64"),
]

# -- any finite number ----------------------------------------------------------------------------------------------

REALS: list[tuple[str, str, Callable[[Any], Any]]] = [
    ("LeakyReLU", "negative_slope", lambda v: LeakyReLU(v)),
    ("ELU", "alpha", lambda v: ELU(v)),
    ("Softplus", "threshold", lambda v: Softplus(threshold=v)),
    ("MultiMarginLoss", "margin", lambda v: MultiMarginLoss(margin=v)),
    ("SGD", "dampening", lambda v: SGD([Parameter(np.ones(3))], lr=0.1, dampening=v)),
    ("EarlyStopping", "min_delta", lambda v: EarlyStopping(min_delta=v)),
    ("constant_", "val", lambda v: init.constant_(Parameter(np.ones(3)), v)),
    ("kaiming_uniform_", "a", lambda v: init.kaiming_uniform_(Parameter(np.ones((3, 2))), a=v)),
    ("accuracy", "threshold", lambda v: accuracy(np.array([0.2, 0.8]), np.array([0, 1]), threshold=v)),
]
BAD_REALS = [
    (float("nan"), ValueError, "nan"),
    ("0.1", TypeError, r"'0.1' \(str\)"),
    (None, TypeError, r"None \(NoneType\)"),
    (1 + 2j, TypeError, r"\(1\+2j\) \(complex\)"),
]

# -- flags: True or False, not a string that would read as true -------------------------------------------------

FLAGS: list[tuple[str, str, Callable[[Any], Any]]] = [
    ("Linear", "bias", lambda v: Linear(2, 1, bias=v)),
    ("RNN", "batch_first", lambda v: RNN(2, 2, batch_first=v)),
    ("LSTM", "bidirectional", lambda v: LSTM(2, 2, bidirectional=v)),
    ("BatchNorm1d", "affine", lambda v: BatchNorm1d(2, affine=v)),
    ("LayerNorm", "elementwise_affine", lambda v: LayerNorm(2, elementwise_affine=v)),
    ("SGD", "nesterov", lambda v: SGD([Parameter(np.ones(3))], lr=0.1, momentum=0.9, nesterov=v)),
    ("Adam", "amsgrad", lambda v: Adam([Parameter(np.ones(3))], amsgrad=v)),
    ("RMSprop", "centered", lambda v: RMSprop([Parameter(np.ones(3))], centered=v)),
    ("DataLoader", "shuffle", lambda v: DataLoader(X, shuffle=v)),
    ("EarlyStopping", "restore_best", lambda v: EarlyStopping(restore_best=v)),
    ("fit", "shuffle", lambda v: fit(shuffle=v)),
]
BAD_FLAGS = [
    ("no", TypeError, r"'no' \(str\)"),
    (1, TypeError, r"1"),
    (None, TypeError, r"None \(NoneType\)"),
]

# -- one of a few names ---------------------------------------------------------------------------------------------

CHOICES: list[tuple[str, str, str, Callable[[Any], Any]]] = [
    ("GELU", "approximate", "'none' or 'tanh'", lambda v: GELU(v)),
    ("ReduceLROnPlateau", "mode", "'min' or 'max'", lambda v: ReduceLROnPlateau(sgd(), mode=v)),
    ("OneCycleLR", "anneal_strategy", "'cos' or 'linear'", lambda v: OneCycleLR(sgd(), 0.1, 10, anneal_strategy=v)),
    ("EarlyStopping", "mode", "'auto', 'min' or 'max'", lambda v: EarlyStopping(mode=v)),
    (
        "kaiming_normal_",
        "mode",
        "'fan_in' or 'fan_out'",
        lambda v: init.kaiming_normal_(Parameter(np.ones((2, 2))), mode=v),
    ),
]
BAD_CHOICES = [("bogus", "'bogus'"), (None, r"None \(NoneType\)"), (3, "3")]


def generated() -> list[Any]:
    cases = []
    for owner, name, build in SIZES:
        for value, error, got in BAD_SIZES:
            cases.append(
                (f"{owner}.{name}={value!r}", build, value, error, rf"{owner}: {name} must be .*int.*, got {got}$")
            )
    for owner, name, build in FRACTIONS:
        for value, error, got in BAD_FRACTIONS:
            cases.append(
                (
                    f"{owner}.{name}={value!r}",
                    build,
                    value,
                    error,
                    rf"{owner}: {name} must be a number in \[0, 1\], got {got}$",
                )
            )
    for owner, name, sign, build in NON_NEGATIVE:
        for value, error, got in BAD_NON_NEGATIVE:
            message = rf"{owner}: {name} must be a finite number {sign} 0, got {got}$"
            cases.append((f"{owner}.{name}={value!r}", build, value, error, message))
    for owner, name, build in REALS:
        for value, error, got in BAD_REALS:
            cases.append(
                (
                    f"{owner}.{name}={value!r}",
                    build,
                    value,
                    error,
                    rf"{owner}: {name} must be a finite number, got {got}$",
                )
            )
    for owner, name, build in FLAGS:
        for value, error, got in BAD_FLAGS:
            cases.append(
                (
                    f"{owner}.{name}={value!r}",
                    build,
                    value,
                    error,
                    rf"{owner}: {name} must be True or False, got {got}$",
                )
            )
    for owner, name, expected, build in CHOICES:
        for value, got in BAD_CHOICES:
            message = rf"{owner}: {name} must be {re.escape(expected)}, got {got}$"
            cases.append((f"{owner}.{name}={value!r}", build, value, ValueError, message))
    return [pytest.param(build, value, error, message, id=label) for label, build, value, error, message in cases]


GENERATED = generated()


@pytest.mark.parametrize(("build", "value", "error", "message"), GENERATED)
def test_a_bad_argument_is_named_with_what_was_expected_and_what_came(build, value, error, message):
    with pytest.raises(error, match=message):
        build(value)


def test_the_tables_generate_enough_cases():
    assert len(GENERATED) >= 60


# -- the mistakes that failed with numpy's or Python's own message, or were silently accepted -------------------------

ONE_BY_ONE: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    (
        "Parameter complex",
        lambda: Parameter([1 + 2j]),
        TypeError,
        r"Parameter: data must be an array of real numbers, got complex numbers",
    ),
    (
        "Parameter str",
        lambda: Parameter("abc"),
        TypeError,
        r"Parameter: data must be an array of real numbers, got 'abc' \(str\)",
    ),
    (
        "Parameter object",
        lambda: Parameter(np.array([object()])),
        TypeError,
        r"Parameter: data .* got an array of shape \(1,\) and dtype object",
    ),
    (
        "Parameter None",
        lambda: Parameter(None),
        TypeError,
        r"Parameter: data must be an array of real numbers, got None",
    ),
    (
        "Parameter ragged",
        lambda: Parameter([[1, 2], [3]]),
        TypeError,
        r"Parameter: data must be an array of real numbers, got \[\[1, 2\], \[3\]\]",
    ),
    (
        "Parameter dtype",
        lambda: Parameter([1.0], dtype=complex),
        TypeError,
        r"Parameter: dtype must be a float dtype, got complex128",
    ),
    (
        "CrossEntropyLoss weight complex",
        lambda: CrossEntropyLoss(weight=[1 + 2j, 1]),
        TypeError,
        r"CrossEntropyLoss: weight must be an array of real numbers, got complex",
    ),
    (
        "NLLLoss weight str",
        lambda: NLLLoss(weight=np.array(["a", "b"])),
        TypeError,
        r"NLLLoss: weight must be an array of real numbers, got an array of shape \(2,\) and dtype <U1",
    ),
    (
        "MultiMarginLoss weight nan",
        lambda: MultiMarginLoss(weight=[1.0, np.nan]),
        ValueError,
        r"MultiMarginLoss: weight must be finite class weights",
    ),
    (
        "CrossEntropyLoss ignore_index",
        lambda: CrossEntropyLoss(ignore_index=1.5),
        TypeError,
        r"CrossEntropyLoss: ignore_index must be an int, got 1.5",
    ),
    (
        "Embedding padding_idx",
        lambda: Embedding(4, 3, padding_idx=1.5),
        TypeError,
        r"Embedding: padding_idx must be an int, got 1.5",
    ),
    (
        "LayerNorm shape",
        lambda: LayerNorm(2.5),
        TypeError,
        r"LayerNorm: normalized_shape must be an int or a tuple of ints, got 2.5",
    ),
    ("Flatten start_dim", lambda: Flatten("1"), TypeError, r"Flatten: start_dim must be an int, got '1' \(str\)"),
    ("Softmax axis", lambda: Softmax(axis=1.0), TypeError, r"Softmax: axis must be an int, got 1.0"),
    ("Concat axis", lambda: Concat(ReLU(), axis=None), TypeError, r"Concat: axis must be an int, got None"),
    ("Linear rng", lambda: Linear(2, 1, rng=-1), ValueError, r"Linear: rng must be an int seed >= 0, .*, got -1$"),
    ("Linear rng bool", lambda: Linear(2, 1, rng=True), TypeError, r"Linear: rng must be an int seed, .*, got bool$"),
    ("Dropout rng", lambda: Dropout(rng="seed"), TypeError, r"Dropout: rng must be an int seed, .*, got str$"),
    (
        "Adam betas nested",
        lambda: Adam([Parameter(np.ones(2))], betas=(np.array([0.1, 0.2]), 0.9)),
        TypeError,
        r"Adam: betas must be two numbers in \[0, 1\), got \(array",
    ),
    (
        "gradcheck values nested",
        lambda: minnet.gradcheck(Linear(2, 1), X, values=[["initial"]]),
        TypeError,
        r"gradcheck: values must be a list naming some of .*, got \[\['initial'\]\] \(list\)",
    ),
    (
        "load missing file",
        lambda: minnet.load(Linear(2, 1), "no-such-weights.npz"),
        FileNotFoundError,
        r"load: No such file or directory: 'no-such-weights.npz'",
    ),
    (
        "Adam betas",
        lambda: Adam([Parameter(np.ones(2))], betas=0.9),
        TypeError,
        r"Adam: betas must be two numbers in \[0, 1\), got 0.9",
    ),
    ("SGD params", lambda: SGD(None, lr=0.1), TypeError, r"SGD: params must be an iterable of Parameters .*, got None"),
    (
        "StepLR step_size",
        lambda: StepLR(sgd(), "3"),
        TypeError,
        r"StepLR: step_size must be a whole number >= 1, got '3' \(str\)",
    ),
    (
        "MultiStepLR milestones",
        lambda: MultiStepLR(sgd(), 3),
        TypeError,
        r"MultiStepLR: milestones must be a list of whole numbers >= 0, got 3",
    ),
    (
        "OneCycleLR max_lr",
        lambda: OneCycleLR(sgd(), None, total_steps=10),
        TypeError,
        r"OneCycleLR: max_lr must be a number >= 0 or a list of them, got None",
    ),
    (
        "clip_grad_norm_ max_norm",
        lambda: clip_grad_norm_([Parameter(np.ones(2))], -1.0),
        ValueError,
        r"clip_grad_norm_: max_norm must be a number >= 0, got -1.0",
    ),
    (
        "clip_grad_value_ clip_value",
        lambda: clip_grad_value_([Parameter(np.ones(2))], "1"),
        TypeError,
        r"clip_grad_value_: clip_value must be a number >= 0, got '1' \(str\)",
    ),
    (
        "uniform_ a > b",
        lambda: init.uniform_(Parameter(np.ones(2)), a=1.0, b=0.0),
        ValueError,
        r"uniform_: b must be >= a, got a=1.0 and b=0.0",
    ),
    (
        "calculate_gain",
        lambda: init.calculate_gain(3),
        TypeError,
        r"calculate_gain: nonlinearity must be a name such as 'relu', got 3$",
    ),
    (
        "EarlyStopping monitor",
        lambda: EarlyStopping(monitor=3),
        TypeError,
        r"EarlyStopping: monitor must be the name of a logged value, .*got 3$",
    ),
    (
        "ModelCheckpoint path",
        lambda: ModelCheckpoint(3),
        TypeError,
        r"ModelCheckpoint: path must be a path \(a str or os.PathLike\), got 3$",
    ),
    (
        "DataLoader batch_size",
        lambda: DataLoader(X, batch_size=True),
        ValueError,
        r"DataLoader: batch_size must be a positive int, got True",
    ),
    (
        "DataLoader ragged",
        lambda: DataLoader([[1, 2], [3]]),
        ValueError,
        r"DataLoader: array 0 must be an array of shape \(N, ...\), got \[\[1, 2\], \[3\]\]",
    ),
    (
        "predict batch_size",
        lambda: minnet.predict(Linear(2, 1), X, batch_size=True),
        ValueError,
        r"predict: batch_size must be a positive int, got True",
    ),
    (
        "evaluate batch_size",
        lambda: minnet.evaluate(Linear(2, 1), MSELoss(), X, Y, batch_size=True),
        ValueError,
        r"evaluate: batch_size must be a positive int, got True",
    ),
    ("fit epochs", lambda: fit(epochs=True), ValueError, r"fit: epochs must be an int >= 0, got True"),
    ("fit batch_size", lambda: fit(batch_size=True), ValueError, r"fit: batch_size must be a positive int, got True"),
    (
        "fit callbacks",
        lambda: fit(callbacks=3),
        TypeError,
        r"fit: callbacks must be a list of minnet.Callback objects, got 3$",
    ),
    (
        "fit loss_fn",
        lambda: minnet.fit(Linear(2, 1), "mse", sgd(), X, Y, epochs=1),
        TypeError,
        r"fit: loss_fn must be a minnet Loss \(or a callable\), got 'mse' \(str\)",
    ),
    (
        "get_metric",
        lambda: get_metric(["acc"]),
        TypeError,
        r"get_metric: a metric must be a name in .* or a function, got \['acc'\] \(list\)",
    ),
    (
        "save obj",
        lambda: minnet.save("model", "model.npz"),
        TypeError,
        r"save: obj must be a model, optimizer or schedule .*, got 'model' \(str\)",
    ),
    (
        "save path",
        lambda: minnet.save(Linear(2, 1), 3),
        TypeError,
        r"save: path must be a path \(a str or os.PathLike\), got 3$",
    ),
    (
        "load obj",
        lambda: minnet.load("model", "model.npz"),
        TypeError,
        r"load: obj must be a model, optimizer or schedule to load into .*, got 'model' \(str\)",
    ),
    (
        "load path",
        lambda: minnet.load(Linear(2, 1), None),
        TypeError,
        r"load: path must be a path \(a str or os.PathLike\), got None",
    ),
    (
        "explain model",
        lambda: minnet.explain("model", MSELoss(), X, Y),
        TypeError,
        r"explain: model must be a minnet Layer, got 'model' \(str\)",
    ),
    (
        "explain loss_fn",
        lambda: minnet.explain(Sequential(Linear(2, 1)), "mse", X, Y),
        TypeError,
        r"explain: loss_fn must be a minnet Loss such as MSELoss\(\), got 'mse' \(str\)",
    ),
    (
        "jacobian layer",
        lambda: minnet.jacobian("layer", X),
        TypeError,
        r"jacobian: layer must be a minnet Layer, got 'layer' \(str\)",
    ),
    (
        "gradcheck layer",
        lambda: minnet.gradcheck(None, X),
        TypeError,
        r"gradcheck: layer must be a minnet Layer or Loss, got None",
    ),
    (
        "gradcheck values",
        lambda: minnet.gradcheck(Linear(2, 1), X, values=3),
        TypeError,
        r"gradcheck: values must be a list naming some of .*, got 3$",
    ),
    (
        "check_layer input_shape",
        lambda: check_layer(lambda: Linear(3, 2), "4, 3"),
        TypeError,
        r"check_layer: the input shape must be a tuple of ints such as \(4, 3\), got '4, 3' \(str\)",
    ),
]


@pytest.mark.parametrize(("build", "error", "message"), [pytest.param(*case[1:], id=case[0]) for case in ONE_BY_ONE])
def test_each_mistake_that_was_accepted_or_unnamed_is_named(build, error, message):
    with pytest.raises(error, match=message):
        build()


# -- the plots: matplotlib's own messages are never what a wrong argument gets ------------------------------------

PLOTS = [
    (
        "gradient_flow model",
        lambda plot: plot.gradient_flow("model"),
        TypeError,
        r"gradient_flow: model must be a Layer, a Trace from minnet.explain, or a dict of them, got 'model' \(str\)",
    ),
    (
        "loss_curve complex",
        lambda plot: plot.loss_curve([1 + 2j, 1.0]),
        TypeError,
        r"loss_curve: history must be an array of real numbers, got complex numbers",
    ),
    (
        "loss_curve str",
        lambda plot: plot.loss_curve(["a"]),
        TypeError,
        r"loss_curve: history must be an array of real numbers, got \['a'\] \(list\)",
    ),
    (
        "decision_boundary model",
        lambda plot: plot.decision_boundary(None, X, Y),
        TypeError,
        r"decision_boundary: model must be a minnet Layer, got None",
    ),
    (
        "activation_histograms bins",
        lambda plot: plot.activation_histograms(Sequential(ReLU()), X, bins=2.5),
        TypeError,
        r"activation_histograms: bins must be a positive int, got 2.5",
    ),
    (
        "activation_histograms layers",
        lambda plot: plot.activation_histograms(Sequential(ReLU()), X, layers=3),
        TypeError,
        r"activation_histograms: layers must be None or a list of class names such as \['ReLU'\], got 3$",
    ),
    (
        "feature_maps sample",
        lambda plot: plot.feature_maps(Sequential(ReLU()), np.ones((2, 1, 4, 4)), sample="0"),
        TypeError,
        r"feature_maps: sample must be an int, got '0' \(str\)",
    ),
]


@pytest.mark.parametrize(("build", "error", "message"), [pytest.param(*case[1:], id=case[0]) for case in PLOTS])
def test_a_plot_names_a_bad_argument(build, error, message):
    plot = pytest.importorskip("minnet.plot", exc_type=ImportError)
    with pytest.raises(error, match=message):
        build(plot)


# -- the command line: status 2 and one line naming the option (its checks are tests/test_cli.py's) ----------------

CLI = [
    (["demo", "--lr", "-1"], "minnet demo: error: argument --lr: expected a finite learning rate > 0, got -1"),
    (
        ["demo", "--seed", "1.5"],
        "minnet demo: error: argument --seed: expected a seed >= 0, got 1.5, not a whole number",
    ),
    (["demo", "--steps", "ten"], "minnet demo: error: argument --steps: expected a number of steps >= 0, got ten"),
]


@pytest.mark.parametrize(("args", "line"), CLI, ids=[" ".join(args) for args, _ in CLI])
def test_the_command_line_names_a_bad_argument_in_one_line(args, line):
    done = subprocess.run([sys.executable, "-m", "minnet", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(line), done.stderr


# -- what stays accepted ------------------------------------------------------------------------------------------

GOOD: list[Callable[[], Any]] = [
    lambda: Linear(3, 2),
    lambda: Linear(np.int64(3), np.int32(2), bias=np.True_),
    lambda: Embedding(np.int64(4), 3, padding_idx=np.int64(-1)),
    lambda: BatchNorm1d(3, eps=0.0, momentum=None),
    lambda: BatchNorm2d(3, momentum=np.float32(0.5)),
    lambda: LayerNorm([2, 3]),
    lambda: RNN(3, 4, num_layers=2, dropout=0.5),
    lambda: LSTM(3, 4, bidirectional=True, batch_first=True),
    lambda: GRU(3, 4),
    lambda: RNNCell(3, 4, nonlinearity="relu"),
    lambda: LSTMCell(3, 4),
    lambda: GRUCell(3, 4),
    lambda: MultiheadAttention(4, 2),
    lambda: Dropout(0),
    lambda: Dropout(1),
    lambda: Dropout(np.float64(0.2)),
    lambda: LeakyReLU(-0.5),
    lambda: ELU(2),
    lambda: Softplus(beta=2, threshold=1),
    lambda: GELU("none"),
    lambda: Softmax(axis=np.int64(0)),
    lambda: Flatten(0, -1),
    lambda: Concat(ReLU(), axis=0),
    lambda: HuberLoss(delta=2),
    lambda: CrossEntropyLoss(weight=[1, 2, 3], ignore_index=np.int64(0), label_smoothing=0.1),
    lambda: NLLLoss(weight=np.array([1.0, 2.0])),
    lambda: MultiMarginLoss(p=2, margin=0.5, weight=(1.0, 2.0)),
    lambda: Parameter([1, 2]),
    lambda: Parameter(np.float32(1.5)),
    lambda: Parameter([True, False]),
    lambda: Parameter([1.0], dtype=np.float32),
    lambda: SGD([Parameter(np.ones(2))], lr=np.float64(0.1), momentum=0.9, nesterov=True),
    lambda: SGD([Parameter(np.ones(2))], lr=1, weight_decay=0, dampening=-0.5),
    lambda: Adam([Parameter(np.ones(2))], betas=[0.8, 0.9], amsgrad=np.True_),
    lambda: Adam([Parameter(np.ones(2))], betas=np.array([0.8, 0.9])),
    lambda: RMSprop([Parameter(np.ones(2))], centered=True),
    lambda: Adagrad([Parameter(np.ones(2))], lr_decay=0.01),
    lambda: StepLR(sgd(), 2.0, gamma=0.5),
    lambda: MultiStepLR(sgd(), [1, 3]),
    lambda: ExponentialLR(sgd(), 0.9),
    lambda: CosineAnnealingLR(sgd(), 3, eta_min=0),
    lambda: LinearLR(sgd(), total_iters=0),
    lambda: OneCycleLR(sgd(), [0.1], epochs=2, steps_per_epoch=3, anneal_strategy="linear"),
    lambda: ReduceLROnPlateau(sgd(), mode="max", factor=0.5, min_lr=[0.0]),
    lambda: EarlyStopping(monitor="loss", patience=np.int64(2), min_delta=-0.1),
    lambda: clip_grad_norm_([Parameter(np.ones(2))], float("inf"), norm_type=float("inf")),
    lambda: clip_grad_value_(Parameter(np.ones(2)), 0),
    lambda: init.calculate_gain("leaky_relu", 0),
    lambda: init.uniform_(Parameter(np.ones(2)), a=-1, b=1),
    lambda: DataLoader(X, Y, batch_size=np.int64(2), shuffle=True, drop_last=np.False_),
    lambda: accuracy(np.array([0.2, 0.8]), np.array([0, 1]), threshold=np.float32(0.5)),
    lambda: minnet.predict(Linear(2, 1), X, batch_size=np.int64(3)),
]


@pytest.mark.parametrize("build", GOOD, ids=range(len(GOOD)))
def test_the_defaults_and_legitimate_values_still_construct(build):
    build()


def test_every_public_class_builds_with_its_defaults():
    """Each class of minnet builds from its required arguments alone (the defaults pass their own checks)."""
    required = {
        "Linear": (3, 2),
        "Embedding": (4, 3),
        "BatchNorm1d": (3,),
        "BatchNorm2d": (3,),
        "LayerNorm": (3,),
        "Conv1d": (1, 2, 3),
        "Conv2d": (1, 2, 3),
        "MaxPool2d": (2,),
        "AvgPool2d": (2,),
        "RNN": (3, 4),
        "LSTM": (3, 4),
        "GRU": (3, 4),
        "RNNCell": (3, 4),
        "LSTMCell": (3, 4),
        "GRUCell": (3, 4),
        "MultiheadAttention": (4, 2),
        "Residual": (ReLU(),),
        "Concat": (ReLU(),),
        "SGD": ([Parameter(np.ones(2))], 0.1),
        "Adam": ([Parameter(np.ones(2))],),
        "AdamW": ([Parameter(np.ones(2))],),
        "RMSprop": ([Parameter(np.ones(2))],),
        "Adagrad": ([Parameter(np.ones(2))],),
        "DataLoader": (X,),
        "ModelCheckpoint": ("model.npz",),
        "Parameter": ([1.0],),
    }
    skipped = {"Layer", "Loss", "Optimizer", "Callback", "HookHandle", "GradcheckResult", "History"}
    built = 0
    for name in minnet.__all__:
        cls = getattr(minnet, name)
        if not isinstance(cls, type) or issubclass(cls, Exception) or name in skipped:
            continue
        cls(*required.get(name, ()))
        built += 1
    assert built >= 45
