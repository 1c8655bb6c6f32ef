"""Property tests: every layer and loss of the registry (tests/cases.py) against central differences, at inputs,
shapes and parameter values hypothesis draws.

For each case hypothesis draws at least ``EXAMPLES`` (200) examples, each of them:

- a shape through the kit's strategy :func:`~minnet.testing.strategies.distinct_shapes`: the case's
  ``resizable`` axes get sides in [2, 7], the other axes keep the side the constructor fixes (``Linear(3, 5)``:
  the last side, 3), and no two sides of the shape are equal, the fixed ones included, so a gradient transposed
  or reduced over the wrong axis cannot pass by accident;
- values in [−2, 2] (:func:`~minnet.testing.strategies.layer_inputs`, hypothesis's arrays: zeros, repeated
  values and rows, edges of the range and all); for a layer of integer indices (``input_kind = "integer"``,
  an embedding) the drawn shape is filled by the case's ``make_input`` from the drawn seed;
- a seed, for the random parameter values (:func:`~minnet.testing.values.draw_values`: every parameter and
  floating buffer redrawn, magnitudes in [0.5, 0.8] ∪ [1.25, 2], both signs), every random generator a layer
  holds (a dropout mask), the upstream gradient G (standard normal: a constant G would hide a softmax treated
  elementwise, since Σ softmax = 1) and a loss's target where the case has a ``make_target``; drawn by
  hypothesis, so that a failure shrinks and replays;
- a mode of the layer case (train or eval) or a reduction of the loss case; every one is drawn, and the test
  says so (see below).

The scalar is ``Σ layer(x) ⊙ G`` (a loss: its value, or ``Σ loss ⊙ G`` for ``reduction="none"``);
:func:`~minnet.testing.gradient_check.gradient_pairs` gives the analytic gradient of the input and of every
parameter next to five-point central differences in float64 (step h = 1e-4 · max(1, |v|)), and each pair must
satisfy ``|a − n| ≤ 1e-7 + 1e-5 · |n|`` (``assert_allclose(a, n, rtol=1e-5, atol=1e-7)``), never loosened.

Kinks. Finite differences that straddle a kink fail a correct layer, and hypothesis loves 0.0. The stencil
reaches 2h ≤ 4e-4 at |v| ≤ 2; ``KINK_GAP`` is 1e-2:

- a kink on the case's own input (ReLU, LeakyReLU, ELU at 0, Softplus-beta-threshold at threshold / β = 0.5,
  where it even jumps in value) is ``LayerCase.kinks``: drawn values closer than the gap are moved to its edge
  (:func:`~minnet.testing.strategies.away_from`), so hypothesis still tries values right next to it;
- a kink of a loss in ``pred − target`` (L1 at 0, Huber at ±δ, where its second derivative jumps) is
  ``LossCase.kinks``: the prediction is moved so that ``pred − target`` keeps the gap, staying in [−2, 2];
- a kink inside a network (Sequential-dropout-relu) is ``LayerCase.kinks`` with ``kink_layer``, the sublayer
  whose input has the kink: a forward hook reads that input and ``hypothesis.assume`` rejects an example where
  it comes within the gap (a perturbation of 2h moves it by less than 1e-3 at these parameter magnitudes). The
  test counts only the examples that passed, so rejected ones do not count towards the 200.

Domains. A loss case with a ``domain`` maps the drawn values into it: BCELoss's probabilities affinely onto
[0.05, 0.95] (away from the clamped logarithms), NLLLoss's rows into log-probabilities by a log-softmax. Logits
(BCEWithLogitsLoss, CrossEntropyLoss) take the values as drawn. A layer case's ``domain`` does the same for a
kink that moves with the input: max pooling's derivative jumps where two values of a window tie, so its cases
spread the drawn values apart (``cases.spread_apart``: same order, any two at least ``KINK_GAP`` apart, values
already apart kept as drawn). Targets: the case's ``make_target`` from the
drawn seed (labels, probabilities, soft targets), else values drawn in [−2, 2] like the prediction.

Counting. Each test runs an inner ``@given`` function and counts the examples that got through every
comparison; it fails unless there are at least ``EXAMPLES`` of them and every mode or reduction of the case is
among them. Hypothesis cannot exhaust these strategies (floats and 32-bit seeds), so it cannot stop early
unnoticed. Each case's inner function gets its own hypothesis digest (:func:`run_per_case`). Under ``CI=true``,
tests/conftest.py loads a profile with ``derandomize=True`` and no example database, so CI draws the same
examples on every run; ``PROPERTY_SETTINGS`` sets only ``max_examples``, ``deadline`` and a health check and
inherits the rest, which :func:`test_ci_runs_the_property_tests_derandomized` checks.

Time. An example costs four forward passes per element of the input and of every parameter, some tens of µs
each on the two-core CI machine (the kit puts numpy's global random state back before each pass only when a
pass drew from it: ``Snapshot.restore_randomness``), plus hypothesis's own work, and 49 cases × 200 examples. So
a drawn input has at most ``MAX_ELEMENTS`` = 24 elements, or as many as the case's own ``input_shape``
(``pred_shape``) where that is more (Linear-no-bias's 35, BatchNorm1d-3d's 60, Flatten-1-2's 120: four distinct
sides from 2 up make at least 2·3·4·5; the 4-d cases of the poolings and BatchNorm2d keep a side of 1 instead,
at 24 elements). Every side from 2 to 7 still appears on every free axis of a 2-d shape
((2, 7), (7, 3), (4, 6)), a 3-d shape is at most as large as the case's own (Sigmoid-3d: the orders of
(2, 3, 4) and (2, 3, 5)), and the sides stay distinct. What is left is mostly the parameters the constructors
fix (Concat's 24, Sequential-nested's 33) and hypothesis. The file took about 100 s on a two-core machine, the
whole suite about 175 s, before the 8 cases of the poolings and BatchNorm2d (2.8 s to 5.5 s each; the whole suite
then took 204 s on a shared two-core machine). The 3 Embedding and 4 LayerNorm cases took 1.3 s to 6.0 s each,
about 21 s together, on the shared two-core machine.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from typing import Any

import numpy as np
import pytest
from cases import LAYER_CASES, LOSS_CASES, layer_cases, loss_cases
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from minnet import Layer, Loss
from minnet.nn.snapshot import preserved
from minnet.testing.gradient_check import gradient_pairs
from minnet.testing.strategies import KINK_GAP, away_from, distinct_shapes, layer_inputs
from minnet.testing.values import draw_values

#: Examples per case; every case must run at least this many through every comparison.
EXAMPLES = 200
#: Values are drawn in [−LIMIT, LIMIT].
LIMIT = 2.0
#: The most elements a drawn input (a prediction) has, unless the case's own shape has more (see Time above).
MAX_ELEMENTS = 24
#: |a − n| ≤ ATOL + RTOL · |n|.
RTOL, ATOL = 1e-5, 1e-7

#: Only what these tests need; the rest (derandomize, database) comes from the loaded profile (tests/conftest.py).
PROPERTY_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEEDS = st.integers(0, 2**32 - 1)


def shapes(template: tuple[int, ...], resizable: tuple[int, ...] | None) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes like ``template``: the ``resizable`` sides in [2, 7], all sides different, at most ``MAX_ELEMENTS``
    elements (or as many as the template has)."""
    return distinct_shapes(template, resizable, max_elements=max(MAX_ELEMENTS, math.prod(template)))


def values(shapes: st.SearchStrategy[tuple[int, ...]], avoid: tuple[float, ...] = ()) -> st.SearchStrategy[Any]:
    """Arrays of values in [−2, 2], kept ``KINK_GAP`` away from the points ``avoid``."""
    return layer_inputs(shapes=shapes, min_value=-LIMIT, max_value=LIMIT, avoid=avoid)


def reseed_generators(layer: Layer, rng: np.random.Generator) -> None:
    """Every random generator the layers hold (a Dropout's masks) drawn from ``rng``."""
    for _, module in layer.named_layers():
        if isinstance(getattr(module, "rng", None), np.random.Generator):
            module.rng = np.random.default_rng(rng.integers(2**63))


def assert_gradients_match(pairs: list[tuple[str, Any, np.ndarray]], where: str) -> None:
    for name, analytic, numeric in pairs:
        assert np.shape(analytic) == numeric.shape, (
            f"{where}: the gradient of {name} has shape {np.shape(analytic)}, expected {numeric.shape}"
        )
        np.testing.assert_allclose(
            analytic,
            numeric,
            rtol=RTOL,
            atol=ATOL,
            err_msg=f"{where}: the gradient of {name} (analytic, actual) differs from central differences (desired)",
        )


def kink_distance(layer: Layer, path: str, x: np.ndarray, kinks: tuple[float, ...]) -> float:
    """How close the input of the sublayer at ``path`` comes to a kink in a forward pass on ``x`` (no trace)."""
    seen: list[np.ndarray] = []
    sublayer = dict(layer.named_layers())[path]
    handle = sublayer.register_forward_hook(lambda module, inputs, output: seen.append(np.asarray(inputs[0])))
    try:
        with preserved(layer):
            layer(x)
    finally:
        handle.remove()
    return min(float(np.abs(inputs - kink).min()) for inputs in seen for kink in kinks)


def run_per_case(check: Any, case_id: str) -> None:
    """Run the inner ``@given`` test ``check`` of one case.

    Every case's ``check`` has the same source, so hypothesis would give all of them one digest: the same
    derandomized examples in CI, one key in a local example database. The case id goes into the digest, as
    Hypothesis's pytest plugin does for each parameter of a parametrized ``@given`` test."""
    check.hypothesis.inner_test._hypothesis_internal_add_digest = f"tests/test_properties.py::{case_id}".encode()
    check()


def assert_every_example_ran(case_id: str, passed: Counter[str], drawn_from: tuple[str, ...]) -> None:
    total = sum(passed.values())
    assert total >= EXAMPLES, f"{case_id}: hypothesis ran {total} examples through the comparison, not {EXAMPLES}"
    missing = set(drawn_from) - set(passed)
    assert not missing, f"{case_id}: no example in {sorted(missing)}; drawn: {dict(passed)}"


@pytest.mark.parametrize("case", layer_cases())
def test_layer_gradients_match_central_differences(case):
    passed: Counter[str] = Counter()
    integer = case.build().input_kind == "integer"  # indices: a drawn shape, filled by the case's make_input
    inputs = shapes(case.input_shape, case.resizable)
    if not integer:
        inputs = values(inputs, avoid=() if case.kink_layer else case.kinks)

    @PROPERTY_SETTINGS
    @given(mode=st.sampled_from(case.modes), x=inputs, seed=SEEDS)
    def check(mode, x, seed):
        if case.domain is not None:
            x = case.domain(x)
        rng = np.random.default_rng(seed)
        if integer:
            x = case.make_input(rng, x)
        layer = case.build()
        layer.train(mode == "train")
        draw_values(layer, rng)
        reseed_generators(layer, rng)
        if case.kink_layer:
            assume(kink_distance(layer, case.kink_layer, x, case.kinks) >= KINK_GAP)
        with preserved(layer):
            output_shape = layer(x).shape
        pairs = gradient_pairs(layer, x, grad_output=rng.standard_normal(output_shape))
        assert_gradients_match(pairs, f"{case.id}, {mode} mode, input of shape {x.shape}")
        passed[mode] += 1

    run_per_case(check, case.id)
    assert_every_example_ran(case.id, passed, case.modes)


@pytest.mark.parametrize("case", loss_cases())
def test_loss_gradients_match_central_differences(case):
    passed: Counter[str] = Counter()
    predictions = values(shapes(case.pred_shape, case.resizable))

    @PROPERTY_SETTINGS
    @given(reduction=st.sampled_from(case.reductions), seed=SEEDS, data=st.data())
    def check(reduction, seed, data):
        rng = np.random.default_rng(seed)
        pred = data.draw(predictions, label="prediction, as drawn")
        shape = pred.shape
        if case.make_target is not None:
            target = case.make_target(rng, shape)
        else:
            target = data.draw(values(st.just(shape)), label="target")
        if case.domain is not None:
            pred = case.domain(pred)
        if case.kinks:  # pred − target kept away from them, pred in [−2, 2]
            pred = target + away_from(pred - target, case.kinks, low=-LIMIT - target, high=LIMIT - target)
        loss = case.build(reduction=reduction)
        value = loss(pred, target)
        upstream = rng.standard_normal(value.shape) if isinstance(value, np.ndarray) else None
        pairs = gradient_pairs(loss, pred, target, grad_output=upstream)
        assert_gradients_match(pairs, f"{case.id}, reduction={reduction!r}, prediction of shape {shape}")
        passed[reduction] += 1

    run_per_case(check, case.id)
    assert_every_example_ran(case.id, passed, case.reductions)


def test_ci_runs_the_property_tests_derandomized():
    """Under CI=true the examples are the same on every run (tests/conftest.py), and these settings keep it so."""
    in_ci = os.environ.get("CI", "").lower() == "true"
    assert PROPERTY_SETTINGS.derandomize is in_ci
    if in_ci:
        assert PROPERTY_SETTINGS.database is None
    assert PROPERTY_SETTINGS.max_examples == EXAMPLES


@pytest.mark.parametrize("case", LAYER_CASES + LOSS_CASES, ids=lambda case: case.id)
def test_the_property_fields_of_each_case_fit(case):
    """``resizable`` names axes of the shape and leaves sides that differ; a ``kink_layer`` is a sublayer."""
    shape = case.input_shape if hasattr(case, "input_shape") else case.pred_shape
    shapes(shape, case.resizable)  # raises on an axis out of range, on repeated fixed sides, where no shape fits
    if isinstance(case.build(), Loss):
        return
    if case.kink_layer:
        assert case.kinks, f"{case.id}: a kink_layer without kinks"
        assert case.kink_layer in dict(case.build().named_layers()), f"{case.id}: no sublayer {case.kink_layer!r}"


@given(
    template=st.sampled_from([(4, 3), (2, 5, 3), (4, 3, 5), (2, 3, 4, 5)]),
    data=st.data(),
    max_elements=st.sampled_from([None, 24, 60, 120]),
)
@settings(max_examples=60, deadline=None)
def test_distinct_shapes_keep_the_fixed_sides_and_draw_distinct_free_ones(template, data, max_elements):
    resizable = data.draw(st.sets(st.sampled_from(range(len(template))), max_size=3), label="resizable")
    try:
        strategy = distinct_shapes(template, resizable, max_elements=max_elements)
    except ValueError:  # no shape fits: too few elements for the free sides
        assume(False)
    shape = data.draw(strategy, label="shape")
    assert len(shape) == len(template)
    assert len(set(shape)) == len(shape), shape
    assert all(shape[axis] == template[axis] for axis in range(len(template)) if axis not in resizable)
    assert all(2 <= shape[axis] <= 7 for axis in resizable)
    assert max_elements is None or math.prod(shape) <= max_elements


def test_distinct_shapes_say_when_no_shape_fits():
    with pytest.raises(ValueError, match="repeat"):
        distinct_shapes((4, 3, 3), (0,))
    with pytest.raises(ValueError, match="at most 20 elements"):
        distinct_shapes((2, 3, 4), max_elements=20)
    with pytest.raises(ValueError, match="out of range"):
        distinct_shapes((2, 3), (2,))


@given(
    x=layer_inputs(shapes=st.just((5, 4)), min_value=-LIMIT, max_value=LIMIT),
    points=st.lists(st.sampled_from([-2.0, -0.7, 0.0, 0.5, 1.0, 2.0]), max_size=3, unique=True),
)
@settings(max_examples=60, deadline=None)
def test_away_from_keeps_the_gap_and_the_range(x, points):
    moved = away_from(x, points, low=-LIMIT, high=LIMIT)
    assert np.all((moved >= -LIMIT) & (moved <= LIMIT))
    for point in points:
        assert np.all(np.abs(moved - point) >= KINK_GAP * (1 - 1e-12)), (point, moved)
    far = np.all([np.abs(x - point) >= KINK_GAP for point in points], axis=0)
    np.testing.assert_array_equal(moved[far], x[far])
