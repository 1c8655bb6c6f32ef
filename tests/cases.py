"""The registry of test cases: every public layer and loss of minnet, listed once.

Adding a layer to minnet takes its code, one entry here and one row in docs/layers.md:

1. Append a :class:`LayerCase` to ``LAYER_CASES`` (a loss: a :class:`LossCase` to ``LOSS_CASES``): its
   ``id`` (starting with the class name), ``build`` (a factory), the input shape (sides that differ from each
   other: a transposed gradient could pass otherwise), and ``torch``, the PyTorch counterpart, or ``no_torch``
   saying why there is none; a layer of integer indices (``input_kind = "integer"``) needs a ``make_input``
   with repeated indices (:func:`indices`). Each mode of a layer case and each reduction of a loss is checked.
   An argument that changes the math (no bias, another axis, a 3-d input) gets a case of its own, its id the
   class name and what it changes ("Linear-no-bias"). An activation (no parameters, each row on its own) is marked
   ``activation=True``.
   For the property tests, say which axes of the input may take any size (``resizable``: the axes the
   constructor does not fix) and where the layer or loss has a kink (``kinks``); a loss whose prediction has a
   domain (probabilities), or a layer whose kinks are not at fixed values (max pooling's ties), maps drawn
   values into it (``domain``).
2. Add the layer's row to the table in docs/layers.md (its constructor, forward, backward, cache, counterpart).

Nothing else: these tests read the registry, so the new case runs through all of them.

- tests/test_gradients.py: each case in each of its modes against finite differences in float64 (layers),
  each loss case with each reduction too; two backwards add up, arguments stay unchanged; a hypothesis
  property test draws cases and inputs: backward is linear in the upstream gradient.
- tests/test_layer_kit.py: each case through ``minnet.testing.check_layer`` / ``check_loss``: every check,
  in train and eval mode, at batch sizes N and 1.
- tests/test_oracle_layers.py: each case with a counterpart against PyTorch (forward, input gradient, every
  parameter gradient and buffer), in float64 (tolerance 1e-10) and float32 (1e-5); the ``activation`` cases
  also at ±1e4, ±30, ±1e-8 and 0.
- tests/test_activations.py: the ``activation`` cases keep NaN in its row and the dtype, refuse a gradient of
  another dtype or shape, stay finite and silent at large inputs, and state their local derivatives.
- tests/test_properties.py: hypothesis draws, for each case, 200 examples or more: a shape (its ``resizable``
  sides in [2, 7], all sides of the shape different), values in [−2, 2] (kept ``KINK_GAP`` away from the
  ``kinks``; mapped into the case's ``domain``), random parameter values, a mode or reduction;
  every gradient equals float64 central differences within |a − n| ≤ 1e-7 + 1e-5·|n|.
- tests/test_cases.py: every public layer and loss has a case, every case a counterpart or a stated reason,
  every class of minnet.nn.activation an ``activation`` case, every layer and loss a row in docs/layers.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pytest

from minnet import (
    ELU,
    GELU,
    SELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    Concat,
    Conv1d,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    Hardsigmoid,
    Hardtanh,
    HuberLoss,
    Identity,
    L1Loss,
    Layer,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Loss,
    MaxPool2d,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from minnet.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from minnet.testing.strategies import KINK_GAP

#: ``make(rng, shape)`` returns an array for that shape (an input, a prediction or a target), as in check_layer.
Maker = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]

MODES = ("train", "eval")


def away_from_kinks(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal values moved at least 0.1 away from 0, where ReLU-like layers have their kink."""
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + 0.1, x - 0.1)


def away_from_values(*values: float, scale: float = 1.0) -> Maker:
    """Normal values of standard deviation ``scale``, each moved at least 0.1 away from every one of ``values``
    (a piecewise layer's kinks)."""

    def make(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        x = scale * rng.standard_normal(shape)
        for v in values:
            near = np.abs(x - v) < 0.1
            x = np.where(near, np.where(x >= v, v + 0.1, v - 0.1) + 0.1 * (x - v), x)
        return x

    return make


@dataclass(frozen=True)
class LayerCase:
    """One layer, built one way, and how each test checks it.

    Attributes:
        id: the test id: the class name, then what this case changes ("Softmax-axis0").
        build: makes a fresh float64 layer (a class or a lambda); every test builds its own.
        input_shape: ``(N, ...)``, its sides differing from each other.
        modes: the modes checked against finite differences and PyTorch (the kit always checks both).
        make_input: ``make_input(rng, shape)``, for a layer that needs inputs of its own (a domain, a kink away
            from 0). ``None``: any real input; the finite-difference tests draw :func:`away_from_kinks`, the
            PyTorch comparison three times wider standard normal values (it needs no distance from kinks).
        kit_batch_sizes: the batch sizes for check_layer (``None``: its own, N and 1).
        torch: ``torch(nn)`` builds the PyTorch counterpart from ``torch.nn``, its parameters and buffers named
            as minnet's ``state_dict`` names them; minnet's values are copied into it in torch's layout (see
            :func:`torch_layout`). ``None``: there is none, and ``no_torch`` says why.
        torch_modes: the modes compared with PyTorch when fewer than ``modes``; ``no_torch`` says why.
        no_torch: why there is no counterpart, or why a mode is not compared with it.
        activation: an activation: no parameters, the input's shape, each row on its own (elementwise, or along
            the last axis); tests/test_activations.py runs its NaN, dtype and large-input tests on these cases,
            and the PyTorch comparison adds inputs of ±1e4, ±30, ±1e-8 and 0.
        resizable: the axes of ``input_shape`` that may take any size: the property tests draw these sides in
            [2, 7] and keep the others, which the constructor fixes (``Linear(3, 5)`` the last side, 3;
            ``BatchNorm1d(3)`` on ``(N, 3, L)`` side 1). Every axis for a layer that takes any shape (an
            activation, Flatten, Dropout); none for a case whose point is its shape (``Linear-batch-1``).
        kinks: the values where the layer's derivative jumps (ReLU's 0; Softplus with a threshold jumps even in
            value, at threshold / β): finite differences that straddle one fail a correct layer. On the
            case's own input (``kink_layer`` empty) the property tests move drawn values ``KINK_GAP`` (1e-2)
            away from them (:func:`minnet.testing.strategies.away_from`).
        kink_layer: the path (as ``named_layers`` gives it) of the sublayer whose input has the ``kinks``, for a
            kink inside a network: the property tests read that input with a forward hook and reject
            (``hypothesis.assume``) an example where it comes within ``KINK_GAP`` of a kink. ``""``: the case's
            own input.
        domain: ``domain(values)`` maps the values the property tests draw in [−2, 2] (an array of the input's
            shape) into the inputs where finite differences hold, for a kink that depends on the input's values
            rather than sitting at fixed ones: :func:`spread_apart` for max pooling, whose derivative jumps where
            two values of a window tie. ``None``: the values as drawn (and moved away from ``kinks``).
    """

    id: str
    build: Callable[[], Layer]
    input_shape: tuple[int, ...]
    torch: Callable[[Any], Any] | None
    modes: tuple[str, ...] = MODES
    make_input: Maker | None = None
    kit_batch_sizes: tuple[int, ...] | None = None
    torch_modes: tuple[str, ...] | None = None
    no_torch: str = ""
    activation: bool = False
    resizable: tuple[int, ...] = (0,)
    kinks: tuple[float, ...] = ()
    kink_layer: str = ""
    domain: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def input_maker(self) -> Maker:
        """The input of the finite-difference tests."""
        return self.make_input or away_from_kinks

    @property
    def compared_modes(self) -> tuple[str, ...]:
        """The modes compared with PyTorch: none without a counterpart."""
        if self.torch is None:
            return ()
        return self.modes if self.torch_modes is None else self.torch_modes


@dataclass(frozen=True)
class LossCase:
    """One loss, with one kind of prediction and target, checked with each of its reductions.

    Attributes:
        id: the test id: the class name, then what this case changes ("CrossEntropyLoss-probabilities").
        build: ``build(reduction=...)`` makes a fresh loss (a class, or a ``functools.partial`` of one).
        pred_shape: the prediction's shape ``(N, ...)``.
        torch: ``torch(nn, reduction)`` builds the PyTorch counterpart from ``torch.nn``: called as
            ``counterpart(pred, target)``. ``None``: there is none, and ``no_torch`` says why.
        make_input: ``make_input(rng, shape)`` gives the prediction (``None``: standard normal).
        make_target: ``make_target(rng, pred_shape)`` gives the target (``None``: standard normal, pred's shape).
        edges: ``edges(pred, target)`` puts values at the edge of the domain into a drawn pair, in place (log 0,
            logits of ±1e4): compared with PyTorch only, since finite differences cannot be taken there.
        no_torch: why there is no counterpart.
        resizable: the axes of ``pred_shape`` that may take any size in the property tests (``None``: every
            axis; ``make_target`` reads the number of classes from the drawn shape).
        domain: ``domain(values)`` maps values drawn in [−2, 2] into the prediction's domain for the property
            tests (probabilities, log-probabilities); ``None``: any real prediction, taken as drawn.
        kinks: the values of ``pred − target`` where the loss's derivative jumps (L1's 0, Huber's ±δ); the
            property tests move a drawn prediction so that ``pred − target`` stays ``KINK_GAP`` away from them.
    """

    id: str
    build: Callable[..., Loss]
    pred_shape: tuple[int, ...]
    torch: Callable[[Any, str], Any] | None
    make_input: Maker | None = None
    make_target: Maker | None = None
    edges: Callable[[np.ndarray, np.ndarray], None] | None = None
    no_torch: str = ""
    resizable: tuple[int, ...] | None = None
    domain: Callable[[np.ndarray], np.ndarray] | None = None
    kinks: tuple[float, ...] = ()

    @property
    def reductions(self) -> tuple[str, ...]:
        """Every reduction the loss has: each one is checked."""
        return type(self.build()).reductions

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A prediction and its target."""
        shape = self.pred_shape
        pred = self.make_input(rng, shape) if self.make_input else rng.standard_normal(shape)
        target = self.make_target(rng, shape) if self.make_target else rng.standard_normal(shape)
        return pred, target


# -- helpers of the layer cases ---------------------------------------------------------------------------------


def with_statistics(layer: BatchNorm1d | BatchNorm2d) -> BatchNorm1d | BatchNorm2d:
    """A BatchNorm with non-trivial γ, β (when affine) and running statistics, as after some training."""
    rng = np.random.default_rng(13)
    c = layer.num_features
    if layer.affine:
        layer.weight.data[:] = rng.uniform(0.5, 1.5, c)
        layer.bias.data[:] = rng.standard_normal(c)
    layer.running_mean[:] = rng.standard_normal(c)
    layer.running_var[:] = rng.uniform(0.5, 2.0, c)
    return layer


def with_affine(layer: LayerNorm) -> LayerNorm:
    """A LayerNorm whose γ and β (those it has) are not ones and zeros, as after some training."""
    rng = np.random.default_rng(14)
    for param in layer.parameters():
        param.data[...] = (
            rng.uniform(0.5, 1.5, param.shape) if param is layer.weight else rng.standard_normal(param.shape)
        )
    return layer


def distinct_values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A random permutation of 0, 1, ..., n − 1, scaled into [−2, 2): values at least 4/n apart (0.03 for 120), so
    no window of a max pooling holds a near-tie, where its derivative jumps."""
    n = math.prod(shape)
    return rng.permutation(n).reshape(shape) * (4.0 / n) - 2.0


def spread_apart(values: np.ndarray) -> np.ndarray:
    """``values`` in the same order, each at least ``KINK_GAP`` above the next smaller one: a tie (hypothesis
    draws many) and values closer than the gap are moved apart, values already apart stay as drawn."""
    order = np.argsort(values, axis=None, kind="stable")
    steps = KINK_GAP * np.arange(values.size)
    spread = np.empty(values.size)
    spread[order] = np.maximum.accumulate(values.ravel()[order] - steps) + steps
    return spread.reshape(values.shape)


def transposed_in_torch(layer: Layer) -> frozenset[str]:
    """The parameters PyTorch stores transposed: each Linear's weight (minnet's is (in, out), torch's (out, in)),
    and every weight of a recurrent layer (``weight_ih_l0``, ``weight_hh``, ...: (in, G·hidden) in minnet)."""
    names = {f"{path}.weight" if path else "weight" for path, m in layer.named_layers() if isinstance(m, Linear)}
    for path, module in layer.named_layers():
        if isinstance(module, RECURRENT):
            names.update(f"{path}.{n}" if path else n for n, _ in module.named_parameters() if n.startswith("weight"))
    return frozenset(names)


def torch_layout(layer: Layer, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` (named as in ``layer.state_dict()``: values or gradients) in PyTorch's layout."""
    transposed = transposed_in_torch(layer)
    return {name: array.T if name in transposed else array for name, array in arrays.items()}


def indices(rows: int, avoid: int | None = None) -> Maker:
    """Indices into ``rows`` rows (none equal to ``avoid``) for an embedding, the second one a repeat of the first:
    a repeated index is where a weight gradient that loses repeats shows (``broken.RepeatsLostEmbedding``)."""

    def make(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        allowed = np.array([k for k in range(rows) if k != avoid])
        flat = rng.choice(allowed, math.prod(shape))
        flat[1:2] = flat[:1]
        return flat.reshape(shape)

    return make


_RANDOM_MASK = (
    "in training the mask is random, so torch's cannot be drawn alike; "
    "test_dropout_train_with_torchs_mask_and_eval_identity feeds torch's mask to minnet's Dropout"
)
_WRITTEN_OUT = "torch has no such module; test_residual_and_concat writes it out with torch's functions"

LAYER_CASES: list[LayerCase] = [
    # the cells that return one array, called with the input alone (the state zeros); tests/test_recurrent.py
    # takes the state too, LSTMCell's tuple, and RNN, LSTM and GRU (RECURRENT_CASES)
    LayerCase("RNNCell", lambda: RNNCell(3, 4, rng=30), (5, 3), lambda nn: nn.RNNCell(3, 4)),
    LayerCase(
        "RNNCell-no-bias", lambda: RNNCell(4, 3, bias=False, rng=31), (6, 4), lambda nn: nn.RNNCell(4, 3, bias=False)
    ),
    LayerCase("GRUCell", lambda: GRUCell(3, 4, rng=32), (5, 3), lambda nn: nn.GRUCell(3, 4)),
    LayerCase("Linear", lambda: Linear(3, 5, rng=0), (4, 3), lambda nn: nn.Linear(3, 5)),
    LayerCase(
        "Linear-no-bias", lambda: Linear(5, 2, bias=False, rng=1), (7, 5), lambda nn: nn.Linear(5, 2, bias=False)
    ),
    # the point of this case is its batch of one: its shape stays as it is in the property tests
    LayerCase("Linear-batch-1", lambda: Linear(4, 3, rng=2), (1, 4), lambda nn: nn.Linear(4, 3), resizable=()),
    LayerCase("Linear-3d-input", lambda: Linear(3, 2, rng=3), (2, 5, 3), lambda nn: nn.Linear(3, 2), resizable=(0, 1)),
    LayerCase("Sigmoid", Sigmoid, (4, 6), lambda nn: nn.Sigmoid(), activation=True, resizable=(0, 1)),
    LayerCase("Sigmoid-3d", Sigmoid, (2, 3, 5), lambda nn: nn.Sigmoid(), resizable=(0, 1, 2)),
    LayerCase("ReLU", ReLU, (4, 6), lambda nn: nn.ReLU(), activation=True, resizable=(0, 1), kinks=(0.0,)),
    LayerCase(
        "LeakyReLU",
        lambda: LeakyReLU(0.2),
        (4, 6),
        lambda nn: nn.LeakyReLU(0.2),
        activation=True,
        resizable=(0, 1),
        kinks=(0.0,),
    ),
    LayerCase(
        "ELU", lambda: ELU(alpha=0.7), (4, 6), lambda nn: nn.ELU(0.7), activation=True, resizable=(0, 1), kinks=(0.0,)
    ),
    LayerCase("Tanh", Tanh, (4, 6), lambda nn: nn.Tanh(), activation=True, resizable=(0, 1)),
    LayerCase("Softplus", Softplus, (4, 6), lambda nn: nn.Softplus(), activation=True, resizable=(0, 1)),
    # above β x > threshold the layer is the identity: at x = threshold / β = 0.5 it jumps from log(1 + e) / 2 to 0.5
    LayerCase(
        "Softplus-beta-threshold",
        lambda: Softplus(beta=2.0, threshold=1.0),
        (4, 6),
        lambda nn: nn.Softplus(beta=2.0, threshold=1.0),
        resizable=(0, 1),
        kinks=(0.5,),
    ),
    LayerCase("GELU", GELU, (4, 6), lambda nn: nn.GELU(approximate="tanh"), activation=True, resizable=(0, 1)),
    LayerCase("GELU-none", lambda: GELU("none"), (4, 6), lambda nn: nn.GELU(), activation=True, resizable=(0, 1)),
    LayerCase("SELU", SELU, (4, 6), lambda nn: nn.SELU(), activation=True, resizable=(0, 1), kinks=(0.0,)),
    # the derivative jumps from 1 to 0 at each bound: the inputs keep away from them
    LayerCase(
        "Hardtanh",
        Hardtanh,
        (4, 6),
        lambda nn: nn.Hardtanh(),
        make_input=away_from_values(-1.0, 1.0, scale=1.5),
        activation=True,
        resizable=(0, 1),
        kinks=(-1.0, 1.0),
    ),
    LayerCase(
        "Hardtanh-min-max",
        lambda: Hardtanh(-0.5, 2.0),
        (4, 6),
        lambda nn: nn.Hardtanh(-0.5, 2.0),
        make_input=away_from_values(-0.5, 2.0, scale=1.5),
        resizable=(0, 1),
        kinks=(-0.5, 2.0),
    ),
    # x/6 + ½ within (−3, 3), flat outside: inputs three times wider than standard normal reach both sides
    LayerCase(
        "Hardsigmoid",
        Hardsigmoid,
        (4, 6),
        lambda nn: nn.Hardsigmoid(),
        make_input=away_from_values(-3.0, 3.0, scale=3.0),
        activation=True,
        resizable=(0, 1),
        kinks=(-3.0, 3.0),
    ),
    LayerCase("Softmax", Softmax, (4, 6), lambda nn: nn.Softmax(dim=-1), activation=True, resizable=(0, 1)),
    LayerCase("Softmax-axis0", lambda: Softmax(axis=0), (4, 6), lambda nn: nn.Softmax(dim=0), resizable=(0, 1)),
    LayerCase("LogSoftmax", LogSoftmax, (4, 6), lambda nn: nn.LogSoftmax(dim=-1), activation=True, resizable=(0, 1)),
    LayerCase(
        "LogSoftmax-3d-axis1",
        lambda: LogSoftmax(axis=1),
        (2, 4, 3),
        lambda nn: nn.LogSoftmax(dim=1),
        resizable=(0, 1, 2),
    ),
    LayerCase("Identity", Identity, (3, 5), lambda nn: nn.Identity(), activation=True, resizable=(0, 1)),
    LayerCase("Flatten", Flatten, (2, 3, 4), lambda nn: nn.Flatten(), resizable=(0, 1, 2)),
    LayerCase("Flatten-1-2", lambda: Flatten(1, 2), (2, 3, 4, 5), lambda nn: nn.Flatten(1, 2), resizable=(0, 1, 2, 3)),
    # finite differences replay the mask: gradcheck and check_layer reset the layer's Generator before each forward
    LayerCase(
        "Dropout",
        lambda: Dropout(0.3, rng=0),
        (4, 6),
        lambda nn: nn.Dropout(0.3),
        torch_modes=("eval",),
        no_torch=_RANDOM_MASK,
        resizable=(0, 1),
    ),
    # training needs more than one value per feature (as in PyTorch): no batch of 1 for an (N, C) input
    LayerCase(
        "BatchNorm1d",
        lambda: with_statistics(BatchNorm1d(5)),
        (6, 5),
        lambda nn: nn.BatchNorm1d(5),
        kit_batch_sizes=(6, 2),
    ),
    LayerCase(
        "BatchNorm1d-3d",
        lambda: with_statistics(BatchNorm1d(3)),
        (4, 3, 5),
        lambda nn: nn.BatchNorm1d(3),
        resizable=(0, 2),
    ),
    LayerCase(
        "BatchNorm1d-no-affine",
        lambda: with_statistics(BatchNorm1d(4, affine=False)),
        (7, 4),
        lambda nn: nn.BatchNorm1d(4, affine=False),
        kit_batch_sizes=(7, 2),
    ),
    # LayerNorm: statistics of each sample over its last axes, the same in both modes
    LayerCase("LayerNorm", lambda: with_affine(LayerNorm(5)), (4, 3, 5), lambda nn: nn.LayerNorm(5), resizable=(0, 1)),
    LayerCase(
        "LayerNorm-2-axes",
        lambda: with_affine(LayerNorm((3, 4))),
        (5, 3, 4),
        lambda nn: nn.LayerNorm((3, 4)),
    ),
    LayerCase(
        "LayerNorm-no-affine",
        lambda: LayerNorm(4, elementwise_affine=False),
        (6, 4),
        lambda nn: nn.LayerNorm(4, elementwise_affine=False),
    ),
    LayerCase(
        "LayerNorm-no-bias",
        lambda: with_affine(LayerNorm(4, bias=False)),
        (3, 4),
        lambda nn: nn.LayerNorm(4, bias=False),
    ),
    # four sides that differ, N, H and W at least 2, make 120 elements or more, too slow for the property tests:
    # one spatial side or the batch is 1 here, so each case reduces over two of the three axes (and
    # test_pooling.py compares a full (N, C, H, W) batch with torch); the poolings keep one channel
    LayerCase(
        "BatchNorm2d",
        lambda: with_statistics(BatchNorm2d(3)),
        (2, 3, 1, 4),
        lambda nn: nn.BatchNorm2d(3),
        resizable=(0, 3),
    ),
    LayerCase(
        "BatchNorm2d-no-affine",
        lambda: with_statistics(BatchNorm2d(2, affine=False)),
        (1, 2, 3, 4),
        lambda nn: nn.BatchNorm2d(2, affine=False),
        resizable=(2, 3),
    ),
    # max pooling's derivative jumps where two values of a window tie: distinct inputs, drawn ones spread apart
    LayerCase(
        "MaxPool2d",
        lambda: MaxPool2d(2),
        (2, 1, 4, 3),
        lambda nn: nn.MaxPool2d(2),
        make_input=distinct_values,
        resizable=(0, 2, 3),
        domain=spread_apart,
    ),
    LayerCase(
        "MaxPool2d-3-stride-2-padding-1",
        lambda: MaxPool2d(3, stride=2, padding=1),
        (2, 1, 3, 4),
        lambda nn: nn.MaxPool2d(3, stride=2, padding=1),
        make_input=distinct_values,
        resizable=(0, 2, 3),
        domain=spread_apart,
    ),
    # overlapping windows: an element that is the max of several gets the sum of their gradients; W = 4 ≥ 3 kept
    LayerCase(
        "MaxPool2d-2x3-stride-1",
        lambda: MaxPool2d((2, 3), stride=1),
        (2, 1, 3, 4),
        lambda nn: nn.MaxPool2d((2, 3), stride=1),
        make_input=distinct_values,
        resizable=(0, 2),
        domain=spread_apart,
    ),
    LayerCase("AvgPool2d", lambda: AvgPool2d(2), (2, 1, 4, 3), lambda nn: nn.AvgPool2d(2), resizable=(0, 2, 3)),
    LayerCase(
        "AvgPool2d-3-stride-2-padding-1",
        lambda: AvgPool2d(3, stride=2, padding=1),
        (2, 1, 3, 4),
        lambda nn: nn.AvgPool2d(3, stride=2, padding=1),
        resizable=(0, 2, 3),
    ),
    LayerCase(
        "AvgPool2d-2x3-stride-1",
        lambda: AvgPool2d((2, 3), stride=1),
        (2, 1, 3, 4),
        lambda nn: nn.AvgPool2d((2, 3), stride=1),
        resizable=(0, 2),
    ),
    # convolutions: the spatial sides are resized in the property tests where any side in [2, 7] holds the dilated
    # kernel (with the padding), and kept where 2 would not. Their cost there is four forwards per element of the
    # input and the weights, so only "Conv2d" has more than one input channel (N, C, H and W all differ: 120
    # elements); the Conv1d cases, far smaller, all have two or three.
    LayerCase("Conv2d", lambda: Conv2d(2, 3, 3, rng=14), (3, 2, 5, 4), lambda nn: nn.Conv2d(2, 3, 3)),
    LayerCase(
        "Conv2d-stride-2-padding-1",
        lambda: Conv2d(1, 2, 3, stride=2, padding=1, rng=15),
        (2, 1, 5, 4),
        lambda nn: nn.Conv2d(1, 2, 3, stride=2, padding=1),
        resizable=(0, 2, 3),
    ),
    LayerCase(
        "Conv2d-dilation-2",
        lambda: Conv2d(1, 3, 2, dilation=2, rng=16),
        (2, 1, 4, 3),
        lambda nn: nn.Conv2d(1, 3, 2, dilation=2),
    ),
    # stride 2 over H = 5 leaves the last row unread: its gradient is 0
    LayerCase(
        "Conv2d-kernel-2x3",
        lambda: Conv2d(1, 2, (2, 3), stride=(2, 1), padding=(0, 1), rng=17),
        (2, 1, 5, 4),
        lambda nn: nn.Conv2d(1, 2, (2, 3), stride=(2, 1), padding=(0, 1)),
        resizable=(0, 2, 3),
    ),
    LayerCase(
        "Conv2d-no-bias",
        lambda: Conv2d(1, 3, 2, bias=False, rng=18),
        (2, 1, 3, 4),
        lambda nn: nn.Conv2d(1, 3, 2, bias=False),
        resizable=(0, 2, 3),
    ),
    # an even kernel: "same" pads one zero more after than before
    LayerCase(
        "Conv2d-padding-same",
        lambda: Conv2d(1, 2, (2, 3), padding="same", rng=19),
        (2, 1, 4, 3),
        lambda nn: nn.Conv2d(1, 2, (2, 3), padding="same"),
        resizable=(0, 2, 3),
    ),
    LayerCase("Conv1d", lambda: Conv1d(2, 3, 3, rng=20), (3, 2, 5), lambda nn: nn.Conv1d(2, 3, 3)),
    # stride 2 over L = 6 leaves the last input element unread: its gradient is 0
    LayerCase(
        "Conv1d-stride-2",
        lambda: Conv1d(2, 3, 3, stride=2, rng=21),
        (3, 2, 6),
        lambda nn: nn.Conv1d(2, 3, 3, stride=2),
    ),
    LayerCase(
        "Conv1d-padding-1",
        lambda: Conv1d(3, 2, 3, padding=1, rng=22),
        (2, 3, 4),
        lambda nn: nn.Conv1d(3, 2, 3, padding=1),
        resizable=(0, 2),
    ),
    LayerCase(
        "Conv1d-dilation-2",
        lambda: Conv1d(3, 2, 2, dilation=2, rng=23),
        (2, 3, 5),
        lambda nn: nn.Conv1d(3, 2, 2, dilation=2),
    ),
    LayerCase(
        "Conv1d-no-bias",
        lambda: Conv1d(2, 3, 2, bias=False, rng=24),
        (3, 2, 5),
        lambda nn: nn.Conv1d(2, 3, 2, bias=False),
        resizable=(0, 2),
    ),
    LayerCase(
        "Conv1d-padding-same",
        lambda: Conv1d(2, 3, 4, padding="same", rng=25),
        (3, 2, 5),
        lambda nn: nn.Conv1d(2, 3, 4, padding="same"),
        resizable=(0, 2),
    ),
    # integer indices in (input_kind="integer"): the weight's gradient is checked, the input has none. The row
    # padding_idx never gets a gradient (as in PyTorch) although it moves the output once it is not zero, which
    # finite differences would see: the padding case's indices avoid it here, and tests/test_embedding.py compares
    # indices that hit it with torch
    LayerCase(
        "Embedding",
        lambda: Embedding(7, 3, rng=26),
        (4, 2),
        lambda nn: nn.Embedding(7, 3),
        make_input=indices(7),
        resizable=(0, 1),
    ),
    LayerCase(
        "Embedding-1d-input",
        lambda: Embedding(5, 4, rng=27),
        (6,),
        lambda nn: nn.Embedding(5, 4),
        make_input=indices(5),
    ),
    LayerCase(
        "Embedding-padding-idx",
        lambda: Embedding(6, 2, padding_idx=-2, rng=28),
        (3, 4),
        lambda nn: nn.Embedding(6, 2, padding_idx=-2),
        make_input=indices(6, avoid=4),
        resizable=(0, 1),
    ),
    LayerCase(
        "Sequential",
        lambda: Sequential(Linear(3, 4, rng=4), Sigmoid(), Linear(4, 2, rng=5)),
        (6, 3),
        lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2)),
    ),
    LayerCase(
        "Sequential-nested",
        lambda: Sequential(Sequential(Linear(2, 5, rng=6), Sigmoid()), Linear(5, 3, rng=7)),
        (3, 2),
        lambda nn: nn.Sequential(nn.Sequential(nn.Linear(2, 5), nn.Sigmoid()), nn.Linear(5, 3)),
    ),
    LayerCase(
        "Sequential-dropout-relu",
        lambda: Sequential(Linear(3, 4, rng=4), Dropout(0.2, rng=5), ReLU(), Linear(4, 2, rng=6)),
        (6, 3),
        lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.2), nn.ReLU(), nn.Linear(4, 2)),
        torch_modes=("eval",),
        no_torch=_RANDOM_MASK,
        # the ReLU's kink, read where the Dropout takes it: dropout only scales an element or makes it 0 for good
        # (the mask is replayed), so the ReLU's input is near 0 only where the Dropout's input is, or is 0 throughout
        kinks=(0.0,),
        kink_layer="1",
    ),
    LayerCase(
        "Residual", lambda: Residual(Sequential(Linear(4, 4, rng=8), Tanh())), (3, 4), None, no_torch=_WRITTEN_OUT
    ),
    LayerCase(
        "Concat",
        lambda: Concat(Linear(3, 2, rng=9), Sequential(Linear(3, 4, rng=10), Tanh()), Identity()),
        (5, 3),
        None,
        no_torch=_WRITTEN_OUT,
    ),
    LayerCase(
        "Concat-axis0",
        lambda: Concat(Linear(3, 2, rng=11), Linear(3, 2, rng=12), axis=0),
        (4, 3),
        None,
        no_torch=_WRITTEN_OUT,
    ),
]


# -- the recurrent layers: several inputs and outputs (tests/test_recurrent.py, tests/test_several_inputs.py) ------

RECURRENT = (RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU)


@dataclass(frozen=True)
class RecurrentCase:
    """A recurrent layer, built one way, run with or without an initial state (tests/test_recurrent.py compares
    the output, the final state and every gradient with PyTorch and with finite differences;
    tests/test_several_inputs.py runs each through gradcheck and the test kit, check_layer).

    Attributes:
        id: the class name, then what this case changes.
        build: a fresh float64 layer; ``torch(nn)`` its counterpart, parameters named as minnet's.
        input_shape: a cell's ``(N, input_size)``; a sequence layer's ``(L, N, input_size)``, ``(N, L, ·)`` with
            batch_first, or unbatched ``(L, input_size)``.
        state: whether forward gets an initial state (random) or none (zeros), and backward a final state's
            gradient besides the output's.
        modes: the modes compared; a case with dropout between layers is compared in eval only (the mask is
            random), test_recurrent.py checks its training mode against finite differences.
    """

    id: str
    build: Callable[[], Layer]
    input_shape: tuple[int, ...]
    torch: Callable[[Any], Any]
    state: bool = True
    modes: tuple[str, ...] = MODES


RECURRENT_CASES: list[RecurrentCase] = [
    RecurrentCase("RNNCell-state", lambda: RNNCell(3, 4, rng=40), (5, 3), lambda nn: nn.RNNCell(3, 4)),
    RecurrentCase(
        "RNNCell-relu-unbatched",
        lambda: RNNCell(3, 4, nonlinearity="relu", rng=41),
        (3,),
        lambda nn: nn.RNNCell(3, 4, nonlinearity="relu"),
    ),
    RecurrentCase("LSTMCell", lambda: LSTMCell(3, 4, rng=42), (5, 3), lambda nn: nn.LSTMCell(3, 4), state=False),
    RecurrentCase("LSTMCell-state", lambda: LSTMCell(3, 4, rng=43), (5, 3), lambda nn: nn.LSTMCell(3, 4)),
    RecurrentCase(
        "LSTMCell-no-bias", lambda: LSTMCell(4, 2, bias=False, rng=44), (3, 4), lambda nn: nn.LSTMCell(4, 2, bias=False)
    ),
    RecurrentCase("GRUCell-state", lambda: GRUCell(3, 4, rng=45), (5, 3), lambda nn: nn.GRUCell(3, 4)),
    RecurrentCase("GRUCell-unbatched", lambda: GRUCell(4, 3, rng=46), (4,), lambda nn: nn.GRUCell(4, 3)),
    RecurrentCase("RNN", lambda: RNN(3, 4, rng=50), (5, 2, 3), lambda nn: nn.RNN(3, 4), state=False),
    RecurrentCase("RNN-length-1", lambda: RNN(3, 4, rng=51), (1, 2, 3), lambda nn: nn.RNN(3, 4)),
    RecurrentCase(
        "RNN-relu-2-layers-batch-first",
        lambda: RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True, rng=52),
        (2, 5, 3),
        lambda nn: nn.RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True),
    ),
    RecurrentCase(
        "RNN-bidirectional-no-bias",
        lambda: RNN(3, 4, bias=False, bidirectional=True, rng=53),
        (4, 2, 3),
        lambda nn: nn.RNN(3, 4, bias=False, bidirectional=True),
    ),
    RecurrentCase("LSTM", lambda: LSTM(3, 4, rng=60), (5, 2, 3), lambda nn: nn.LSTM(3, 4), state=False),
    RecurrentCase("LSTM-length-1", lambda: LSTM(3, 4, rng=61), (1, 2, 3), lambda nn: nn.LSTM(3, 4)),
    RecurrentCase(
        "LSTM-2-layers-bidirectional",
        lambda: LSTM(3, 4, num_layers=2, bidirectional=True, rng=62),
        (4, 2, 3),
        lambda nn: nn.LSTM(3, 4, num_layers=2, bidirectional=True),
    ),
    RecurrentCase(
        "LSTM-batch-first",
        lambda: LSTM(3, 2, batch_first=True, rng=63),
        (3, 4, 3),
        lambda nn: nn.LSTM(3, 2, batch_first=True),
    ),
    RecurrentCase(
        "LSTM-dropout-2-layers",
        lambda: LSTM(3, 4, num_layers=2, dropout=0.5, rng=64),
        (4, 2, 3),
        lambda nn: nn.LSTM(3, 4, num_layers=2, dropout=0.5),
        modes=("eval",),
    ),
    RecurrentCase(
        "LSTM-unbatched", lambda: LSTM(3, 4, num_layers=2, rng=65), (4, 3), lambda nn: nn.LSTM(3, 4, num_layers=2)
    ),
    RecurrentCase("GRU", lambda: GRU(3, 4, rng=70), (5, 2, 3), lambda nn: nn.GRU(3, 4), state=False),
    RecurrentCase("GRU-length-1", lambda: GRU(3, 4, rng=71), (1, 3, 3), lambda nn: nn.GRU(3, 4)),
    RecurrentCase(
        "GRU-2-layers-bidirectional-batch-first",
        lambda: GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True, rng=72),
        (2, 4, 3),
        lambda nn: nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True),
    ),
]


# -- helpers of the loss cases ----------------------------------------------------------------------------------


def normal(scale: float) -> Maker:
    """Standard normal values times ``scale``."""
    return lambda rng, shape: scale * rng.standard_normal(shape)


def unit_interval(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Probabilities in [0.05, 0.95], away from BCELoss's clamped logarithms."""
    return rng.uniform(0.05, 0.95, shape)


def uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Soft targets in [0, 1)."""
    return rng.random(shape)


def labels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Class labels ``(N,)`` for a prediction ``(N, C)``."""
    return rng.integers(0, shape[1], shape[0])


def probabilities(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Class probabilities: rows of positive values summing to one."""
    t = rng.random(shape)
    return t / t.sum(axis=1, keepdims=True)


def unnormalised(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Soft targets whose rows do not sum to one: PyTorch takes them as they are."""
    return 3 * rng.random(shape)


def log_probabilities(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Rows of log-probabilities, what NLLLoss expects."""
    z = rng.standard_normal(shape)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def to_unit_interval(values: np.ndarray) -> np.ndarray:
    """Values drawn in [−2, 2] mapped affinely onto [0.05, 0.95], the probabilities of :func:`unit_interval`."""
    return 0.05 + 0.9 * (values + 2.0) / 4.0


def log_softmax_rows(values: np.ndarray) -> np.ndarray:
    """Values drawn in [−2, 2] made into rows of log-probabilities (a log-softmax along axis 1), as NLLLoss takes."""
    shifted = values - values.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def bce_edges(pred: np.ndarray, target: np.ndarray) -> None:
    """Probabilities 0 and 1 (the clamp of log 0 at −100, the bounded denominator) and hard targets."""
    pred[0, :2], pred[1, :2] = 0.0, 1.0
    target[...] = target.round()


def logit_edges(pred: np.ndarray, target: np.ndarray) -> None:
    """Logits of ±1e4 in one row: a stable log-sum-exp keeps them finite."""
    pred[0, :3] = [1e4, -1e4, 0.0]


#: The class weights of the weighted cases (four classes: their shapes keep C = 4).
CLASS_WEIGHTS = (0.5, 2.0, 1.0, 3.0)


def labels_ignoring(ignore_index: int) -> Maker:
    """Class labels ``(N,)`` whose second row (and every fourth after it) is ``ignore_index`` and no other (an
    ``ignore_index`` that is a class is not drawn elsewhere): never every row, so the mean over the rows counted is
    defined at every batch size, 1 included."""

    def make(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        y = rng.choice([k for k in range(shape[1]) if k != ignore_index], shape[0])
        y[1::4] = ignore_index
        return y

    return make


def ruled_out_edges(pred: np.ndarray, target: np.ndarray) -> None:
    """Logits of ±1e4 in one row and, in the next, −inf for a class that is not the label: a class ruled out."""
    logit_edges(pred, target)
    pred[2, (target[2] + 1) % pred.shape[1]] = -np.inf


def margin_bands(values: np.ndarray) -> np.ndarray:
    """Values drawn in [−2, 2] moved onto bands ``1.5 k + δ``, k an integer, ``|δ| ≤ 0.1``: any two scores of a row
    then differ by ``1.5 k + δ'``, ``|δ'| ≤ 0.2``, at least 0.3 away from −1 and −0.7, where MultiMarginLoss's hinge
    ``margin − x[y] + x[c]`` (margin 1 or 0.7) turns, and both sides of the hinge are drawn."""
    k = np.round(values)
    return 1.5 * k + 0.2 * (values - k)


def margin_scores(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Scores for MultiMarginLoss, on the bands of :func:`margin_bands`."""
    return margin_bands(rng.uniform(-2.0, 2.0, shape))


def torch_weighted(name: str, **options: Any) -> Callable[[Any, str], Any]:
    """torch's loss ``name`` with ``weight=CLASS_WEIGHTS`` in the prediction's dtype (torch wants them alike)."""

    def build(nn: Any, reduction: str) -> Any:
        def counterpart(pred: Any, target: Any) -> Any:
            weight = pred.new_tensor(CLASS_WEIGHTS)
            return getattr(nn, name)(weight=weight, reduction=reduction, **options)(pred, target)

        return counterpart

    return build


def torch_mse(nn: Any, reduction: str) -> Any:
    """torch's MSELoss; minnet's default, half_batch_mean, is its sum over 2N."""
    if reduction == "half_batch_mean":
        return lambda pred, target: nn.MSELoss(reduction="sum")(pred, target) / (2 * pred.shape[0])
    return nn.MSELoss(reduction=reduction)


LOSS_CASES: list[LossCase] = [
    LossCase("MSELoss", MSELoss, (5, 3), torch_mse),
    LossCase("L1Loss", L1Loss, (4, 3), lambda nn, r: nn.L1Loss(reduction=r), kinks=(0.0,)),
    # quadratic within ±δ, linear beyond: the second derivative jumps at ±δ, which five-point differences feel
    LossCase("HuberLoss", HuberLoss, (5, 3), lambda nn, r: nn.HuberLoss(reduction=r), kinks=(-1.0, 1.0)),
    LossCase(
        "HuberLoss-delta-0.7",
        partial(HuberLoss, delta=0.7),
        (5, 3),
        lambda nn, r: nn.HuberLoss(r, delta=0.7),
        kinks=(-0.7, 0.7),
    ),
    LossCase(
        "BCELoss",
        BCELoss,
        (4, 3),
        lambda nn, r: nn.BCELoss(reduction=r),
        make_input=unit_interval,
        make_target=uniform,
        edges=bce_edges,
        domain=to_unit_interval,
    ),
    LossCase(
        "BCEWithLogitsLoss",
        BCEWithLogitsLoss,
        (4, 3),
        lambda nn, r: nn.BCEWithLogitsLoss(reduction=r),
        make_input=normal(3.0),
        make_target=uniform,
        edges=logit_edges,
    ),
    LossCase(
        "CrossEntropyLoss-labels",
        CrossEntropyLoss,
        (5, 4),
        lambda nn, r: nn.CrossEntropyLoss(reduction=r),
        make_input=normal(2.0),
        make_target=labels,
        edges=logit_edges,
    ),
    LossCase(
        "CrossEntropyLoss-probabilities",
        CrossEntropyLoss,
        (5, 4),
        lambda nn, r: nn.CrossEntropyLoss(reduction=r),
        make_input=normal(2.0),
        make_target=probabilities,
        edges=logit_edges,
    ),
    LossCase(
        "CrossEntropyLoss-unnormalised-targets",
        CrossEntropyLoss,
        (5, 4),
        lambda nn, r: nn.CrossEntropyLoss(reduction=r),
        make_input=normal(2.0),
        make_target=unnormalised,
    ),
    LossCase(
        "NLLLoss",
        NLLLoss,
        (5, 4),
        lambda nn, r: nn.NLLLoss(reduction=r),
        make_input=log_probabilities,
        make_target=labels,
        domain=log_softmax_rows,
    ),
    # class weights and ignored rows: "mean" divides by the counted rows' weights; C stays 4, the weights' length
    LossCase(
        "NLLLoss-weight-ignore-index",
        partial(NLLLoss, weight=CLASS_WEIGHTS),
        (6, 4),
        torch_weighted("NLLLoss"),
        make_input=log_probabilities,
        make_target=labels_ignoring(-100),
        domain=log_softmax_rows,
        resizable=(0,),
    ),
    LossCase(
        "CrossEntropyLoss-weight-ignore-index",
        partial(CrossEntropyLoss, weight=CLASS_WEIGHTS, ignore_index=2),
        (6, 4),
        torch_weighted("CrossEntropyLoss", ignore_index=2),
        make_input=normal(2.0),
        make_target=labels_ignoring(2),
        edges=ruled_out_edges,
        resizable=(0,),
    ),
    LossCase(
        "CrossEntropyLoss-label-smoothing",
        partial(CrossEntropyLoss, label_smoothing=0.2),
        (5, 4),
        lambda nn, r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2),
        make_input=normal(2.0),
        make_target=labels,
        edges=logit_edges,
    ),
    LossCase(
        "CrossEntropyLoss-weight-ignore-index-label-smoothing",
        partial(CrossEntropyLoss, weight=CLASS_WEIGHTS, label_smoothing=0.15),
        (6, 4),
        torch_weighted("CrossEntropyLoss", label_smoothing=0.15),
        make_input=normal(2.0),
        make_target=labels_ignoring(-100),
        edges=logit_edges,
        resizable=(0,),
    ),
    LossCase(
        "CrossEntropyLoss-probabilities-weight-label-smoothing",
        partial(CrossEntropyLoss, weight=CLASS_WEIGHTS, label_smoothing=0.3),
        (5, 4),
        torch_weighted("CrossEntropyLoss", label_smoothing=0.3),
        make_input=normal(2.0),
        make_target=probabilities,
        edges=logit_edges,
        resizable=(0,),
    ),
    LossCase(
        "MultiMarginLoss",
        MultiMarginLoss,
        (5, 4),
        lambda nn, r: nn.MultiMarginLoss(reduction=r),
        make_input=margin_scores,
        make_target=labels,
        edges=logit_edges,
        domain=margin_bands,
    ),
    LossCase(
        "MultiMarginLoss-p2-margin-weight",
        partial(MultiMarginLoss, p=2, margin=0.7, weight=CLASS_WEIGHTS),
        (6, 4),
        torch_weighted("MultiMarginLoss", p=2, margin=0.7),
        make_input=margin_scores,
        make_target=labels,
        edges=logit_edges,
        domain=margin_bands,
        resizable=(0,),
    ),
]


# -- the cases as pytest parameters -----------------------------------------------------------------------------


def layer_cases() -> list[Any]:
    """Each layer case: one parameter ``case``."""
    return [pytest.param(case, id=case.id) for case in LAYER_CASES]


def layer_modes(*, torch: bool = False) -> list[Any]:
    """Each layer case in each of its modes (``torch=True``: those compared with PyTorch): ``case, mode``."""
    return [
        pytest.param(case, mode, id=f"{case.id}-{mode}")
        for case in LAYER_CASES
        for mode in (case.compared_modes if torch else case.modes)
    ]


def loss_cases() -> list[Any]:
    """Each loss case: one parameter ``case``."""
    return [pytest.param(case, id=case.id) for case in LOSS_CASES]


def loss_reductions(*, torch: bool = False) -> list[Any]:
    """Each loss case with each reduction (``torch=True``: the cases with a counterpart): ``case, reduction``."""
    return [
        pytest.param(case, reduction, id=f"{case.id}-{reduction}")
        for case in LOSS_CASES
        if case.torch is not None or not torch
        for reduction in case.reductions
    ]
