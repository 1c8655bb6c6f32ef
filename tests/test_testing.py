"""minnet.testing: the kit catches the whole broken gallery (tests/test_layer_kit.py runs every built-in
layer and loss of the registry, tests/cases.py, through it)."""

import numpy as np
import pytest
from hypothesis import given, settings

import minnet
from minnet import Linear, MSELoss, Sequential, Sigmoid
from minnet.testing import CHECKS, LayerTestCase, LossTestCase, check_layer, check_loss
from minnet.testing.broken import (
    GALLERY,
    BiasNotSummedLinear,
    ConstantStatisticsBatchNorm,
    GainForgottenScale,
    OverwritingLinear,
    RepeatsLostEmbedding,
    TransposedWeightGradLinear,
    repeated_indices,
)
from minnet.testing.gradient_check import likely_cause
from minnet.testing.strategies import input_shapes, layer_inputs


def _check(exhibit, **options):
    check = check_loss if exhibit.is_loss else check_layer
    return check(
        exhibit.make, exhibit.input_shape, make_input=exhibit.make_input, batch_sizes=exhibit.batch_sizes, **options
    )


@pytest.mark.parametrize("exhibit", GALLERY, ids=[e.name for e in GALLERY])
def test_gallery_is_caught_by_the_matching_check(exhibit):
    report = _check(exhibit)
    assert not report
    assert report.failed_names[0] == exhibit.caught_by, str(report)
    assert set(report.failed_names) <= {exhibit.caught_by, *exhibit.also_caught_by, "joint_gradient"}, str(report)
    assert exhibit.caught_by in str(report)
    assert "FAILED" in str(report)
    assert exhibit.bug
    assert exhibit.bug[0].islower()


@pytest.mark.parametrize("exhibit", GALLERY, ids=[e.name for e in GALLERY])
def test_every_failure_says_where_and_compares_no_nan(exhibit):
    """Each failed check names its mode, batch size and parameter values, and has a detail; a message that
    compares numbers compares finite ones."""
    report = _check(exhibit)
    for check in report.failed:
        text = str(check)
        assert f"({check.mode}, N={check.batch_size}, {check.values} parameter values)" in text
        assert check.detail, text
        assert "nan" not in text.lower(), text


HIDDEN_AT_INITIAL_VALUES = [
    "GainForgottenScale",
    "GammaForgottenBatchNorm",
    "ShiftForgottenTanh",
    "SwappedBranchWeights",
]


@pytest.mark.parametrize("name", HIDDEN_AT_INITIAL_VALUES)
def test_drawn_values_catch_what_the_initial_values_hide(name):
    """Why the kit checks at drawn parameter values: at the values these layers start with, their bug is
    invisible; the failure at drawn values names that as the likely cause."""
    exhibit = next(e for e in GALLERY if e.name == name)
    assert _check(exhibit, values=("initial",))
    report = _check(exhibit)
    assert not report
    assert {check.values for check in report.failed} == {"drawn"}
    assert "right at the initial parameter values, wrong at drawn ones" in str(report.failed[0])


def test_in_place_multiplication_by_a_parameter_at_one_is_caught_at_the_initial_values():
    """grad_output *= s with s at ones leaves the values as they were: the kit passes grad_output read-only."""
    exhibit = next(e for e in GALLERY if e.name == "InPlaceGainBackward")
    report = _check(exhibit, values=("initial",))
    assert report.failed_names == ["input_unchanged"]
    assert "backward wrote into the grad_output it was given" in str(report)
    assert "grad_output * s instead of grad_output *= s" in str(report)


def test_a_forward_writing_into_its_input_is_named():
    class CenterInPlace(minnet.Layer):
        def forward(self, x):
            x -= x.mean(axis=0)  # should be x = x - x.mean(axis=0)
            return x

        def backward(self, grad_output):
            return grad_output - grad_output.mean(axis=0)

    report = check_layer(CenterInPlace, (4, 3))
    assert report.failed_names[0] == "input_unchanged"
    assert "forward wrote into its input x in place" in str(report)


def test_gallery_covers_the_planted_bugs():
    assert len({e.name for e in GALLERY}) >= 16
    assert {e.caught_by for e in GALLERY} >= {
        "input_gradient",
        "parameter_gradient",
        "input_unchanged",
        "accumulation",
        "parameters_registered",
    }


def test_batch_of_one_alone_would_miss_the_unsummed_bias():
    """Why check_layer always adds a second batch size: N = 1 hides this bug."""
    make = lambda: BiasNotSummedLinear(3, 5, rng=0)  # noqa: E731
    assert check_layer(make, (1, 3), batch_sizes=(1,))
    assert not check_layer(make, (4, 3))


def test_eval_mode_alone_would_miss_constant_batch_statistics():
    make = lambda: ConstantStatisticsBatchNorm(3)  # noqa: E731
    assert check_layer(make, (5, 3), modes=("eval",))
    assert not check_layer(make, (5, 3), modes=("train",))


def test_accumulation_failure_says_what_each_backward_added():
    report = check_layer(lambda: OverwritingLinear(3, 5, rng=0), (4, 3))
    failure = next(c for c in report.failed if c.name == "accumulation")
    assert failure.tensor in {"weight", "bias"}
    assert failure.analytic is None
    assert failure.numeric is None
    assert "the first backward added" in str(failure)
    assert "(=) instead of adding to it (+=)" in str(failure)


def test_report_names_worst_element_with_values():
    report = check_layer(lambda: BiasNotSummedLinear(3, 5, rng=0), (4, 3))
    failure = next(c for c in report.failed if c.name == "parameter_gradient")
    assert failure.tensor == "bias"
    assert len(failure.index) == 1
    assert failure.rel_error > 1e-6
    assert failure.analytic != pytest.approx(failure.numeric)
    assert f"bias{list(failure.index)}" in str(report)


def test_assert_shows_the_report():
    with pytest.raises(AssertionError, match="parameter_gradient"):
        assert check_layer(lambda: BiasNotSummedLinear(3, 5, rng=0), (4, 3))


def test_dropout_like_randomness_is_reseeded():
    """A correct inverted dropout passes only if every finite-difference forward sees one mask."""

    class Dropout(minnet.Layer):
        def __init__(self, p=0.5):
            self.p, self.rng, self.mask = p, np.random.default_rng(0), None

        def forward(self, x):
            keep = self.rng.random(x.shape) >= self.p if self.training else np.ones(x.shape, bool)
            self.mask = keep / (1.0 - self.p) if self.training else keep.astype(float)
            return x * self.mask

        def backward(self, grad_output):
            return grad_output * self.mask

    assert check_layer(Dropout, (6, 4))


def test_float32_layer_is_checked_in_float64():
    report = check_layer(lambda: Linear(3, 2, rng=0, dtype=np.float32), (4, 3))
    assert report


def test_notes_warn_about_equal_sides():
    report = check_layer(lambda: Linear(3, 3, rng=0), (4, 3))
    assert report
    assert any("equal sides" in note for note in report.notes)


def test_forward_error_is_reported_not_raised():
    report = check_layer(lambda: Linear(3, 2, rng=0), (4, 5))
    assert not report
    assert report.failed_names[0] == "forward"
    assert all(c.name == "forward" or "not reached: forward raised" in c.detail for c in report.failed)
    assert "expected input of shape (N, 3)" in str(report)


def test_backward_that_does_not_guard_is_reported():
    class NoGuard(minnet.Layer):
        def forward(self, x):
            return 2 * x

    def backward(self, grad_output):
        return 2 * grad_output

    NoGuard.backward = backward  # set after the class was made, so unwrapped: no guard, as outside minnet's base
    report = check_layer(NoGuard, (3, 2))
    assert report.failed_names == ["backward_before_forward"]


class _RaisingBackwardLinear(Linear):
    def backward(self, grad_output):
        raise RuntimeError("not written yet")


class _WrongShapeLinear(Linear):
    def backward(self, grad_output):
        super().backward(grad_output)
        return grad_output


@pytest.mark.parametrize("make", [lambda: _RaisingBackwardLinear(3, 2, rng=0), lambda: _WrongShapeLinear(3, 2, rng=0)])
@pytest.mark.parametrize("name", ["input_gradient", "parameter_gradient", "joint_gradient", "accumulation"])
def test_a_check_not_reached_fails_instead_of_passing_empty(make, name):
    report = check_layer(make, (4, 3), checks=[name])
    assert not report
    assert report.failed_names == [name]
    assert "not reached" in str(report)


def test_parameterless_layer_passes_parameter_checks_explicitly():
    report = check_layer(Sigmoid, (2, 3), checks=["parameter_gradient"])
    assert report
    assert all(check.detail == "the layer has no parameters" for check in report.checks)


def test_empty_report_is_false():
    from minnet.testing import CheckReport

    assert not CheckReport(subject="nothing")


@pytest.mark.parametrize("source", ["global", "RandomState", "Generator-in-list"])
def test_randomness_from_any_numpy_source_is_frozen(source):
    class Dropout(minnet.Layer):
        def __init__(self, p=0.5):
            self.p, self.mask = p, None
            self.state = np.random.RandomState(0)
            self.streams = [np.random.default_rng(0)]

        def draw(self, shape):
            if source == "global":
                return np.random.rand(*shape)  # noqa: NPY002  # a layer that draws from the global state, on purpose
            return self.state.rand(*shape) if source == "RandomState" else self.streams[0].random(shape)

        def forward(self, x):
            self.mask = (self.draw(x.shape) >= self.p) / (1.0 - self.p) if self.training else np.ones(x.shape)
            return x * self.mask

        def backward(self, grad_output):
            return grad_output * self.mask

    assert check_layer(Dropout, (6, 4))


def test_unfrozen_randomness_is_named_in_the_notes():
    import random

    class PythonRandomDropout(minnet.Layer):
        def forward(self, x):
            self.mask = np.array([[random.random() > 0.5 for _ in row] for row in x]) * 2.0
            return x * self.mask

        def backward(self, grad_output):
            return grad_output * self.mask

    report = check_layer(PythonRandomDropout, (6, 4), modes=("train",))
    assert not report
    assert any("random generators" in note for note in report.notes)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown checks"):
        check_layer(Sigmoid, (2, 3), checks=["speed"])
    with pytest.raises(TypeError, match="factory"):
        check_layer(Sigmoid(), (2, 3))
    with pytest.raises(ValueError, match="modes"):
        check_layer(Sigmoid, (2, 3), modes=("test",))


class TestLinearThroughTheBaseClass(LayerTestCase):
    make_layer = staticmethod(lambda: Linear(3, 4, rng=0))
    input_shape = (5, 3)


class TestSigmoidThroughTheBaseClass(LayerTestCase):
    make_layer = Sigmoid
    input_shape = (2, 3)


class TestMSELossThroughTheBaseClass(LossTestCase):
    make_loss = MSELoss
    input_shape = (4, 2)


def test_base_class_turns_each_check_into_a_test_item():
    methods = {name[len("test_") :] for name in dir(LayerTestCase) if name.startswith("test_")}
    assert methods == set(CHECKS)


def test_base_class_items_fail_on_a_broken_layer():
    class TestBroken(LayerTestCase):
        make_layer = staticmethod(lambda: BiasNotSummedLinear(3, 4, rng=0))
        input_shape = (5, 3)

    case = TestBroken()
    case.test_input_gradient()
    with pytest.raises(AssertionError, match="bias"):
        case.test_parameter_gradient()


@given(layer_inputs(feature_shape=(3,)))
@settings(max_examples=15, deadline=None)
def test_strategy_inputs_through_linear_and_sigmoid(x):
    assert x.shape[1:] == (3,)
    assert 1 <= x.shape[0] <= 6
    assert np.all(np.isfinite(x))
    assert minnet.gradcheck(Sequential(Linear(3, 2, rng=0), Sigmoid()), x)


@given(input_shapes(max_feature_dims=2))
@settings(max_examples=15, deadline=None)
def test_strategy_shapes(shape):
    assert 2 <= len(shape) <= 3
    assert all(side >= 1 for side in shape)


# -- integer input -------------------------------------------------------------------------------------------


class _Lookup(minnet.Layer):
    """A correct embedding: y = W[indices], backward adds g into the rows read (np.add.at: repeats add up)."""

    input_kind = "integer"

    def __init__(self, rows=6, features=4):
        self.weight = minnet.Parameter(np.random.default_rng(0).standard_normal((rows, features)))
        self.indices = None

    def forward(self, indices):
        self.indices = indices
        return self.weight.data[indices]

    def backward(self, grad_output):
        np.add.at(self.weight.grad, self.indices, grad_output)
        return None


def test_an_embedding_with_integer_input_passes_the_kit():
    report = check_layer(_Lookup, (4, 2), make_input=repeated_indices)
    assert report, report
    assert {c.name for c in report.checks} == set(CHECKS)
    skipped = [c for c in report.checks if c.name == "input_gradient"]
    assert skipped
    assert all("integer input has no gradient" in c.detail for c in skipped)
    assert {c.tensor for c in report.checks if c.name == "parameter_gradient"} == {"weight"}
    assert {c.values for c in report.checks} == {"initial", "drawn"}


def test_an_embedding_whose_weight_gradient_is_wrong_fails_the_kit():
    report = check_layer(lambda: RepeatsLostEmbedding(6, 4), (4, 2), make_input=repeated_indices)
    assert report.failed_names[0] == "parameter_gradient"
    assert "np.add.at" in str(report)


def test_an_integer_layer_that_returns_a_gradient_is_named():
    class ReturnsZeros(_Lookup):
        def backward(self, grad_output):
            super().backward(grad_output)
            return np.zeros(self.indices.shape)

    report = check_layer(ReturnsZeros, (4, 2), make_input=repeated_indices)
    assert report.failed_names[0] == "gradient_shapes"
    assert "has no gradient, so backward returns None" in str(report)


def test_an_integer_layer_without_make_input_says_what_to_pass():
    with pytest.raises(ValueError, match=r"make_input=lambda rng, shape: rng.integers\(0, rows, shape\)"):
        check_layer(_Lookup, (4, 2))


def test_an_embedding_that_does_not_declare_integer_input_gets_the_hint():
    class Undeclared(_Lookup):
        input_kind = "float"

    report = check_layer(Undeclared, (4, 2), make_input=repeated_indices)
    assert report.failed_names[0] == "forward"
    assert "set input_kind = 'integer' on the class" in str(report)


def test_gradcheck_keeps_integer_input_and_checks_the_parameters():
    indices = np.array([[0, 2, 0], [1, 1, 2]])
    result = minnet.gradcheck(_Lookup(), indices)
    assert result, result
    assert {c.name for c in result.checks} == {"weight"}
    wrong = minnet.gradcheck(RepeatsLostEmbedding(6, 4), indices)
    assert not wrong
    assert wrong.worst.name == "weight"
    with pytest.raises(ValueError, match=r"integer data .* has no gradient"):
        minnet.gradcheck(_Lookup(), indices, check_input=True)


def test_a_float_layer_given_integers_is_checked_as_with_floats():
    """Integer data for a float layer is converted, by the layer and by the kit: its gradient is checked."""
    report = check_layer(lambda: Linear(3, 2, rng=0), (4, 3), make_input=lambda rng, shape: rng.integers(-3, 4, shape))
    assert report, report
    assert any(c.name == "input_gradient" and c.tensor == "input" for c in report.checks)
    result = minnet.gradcheck(minnet.Tanh(), np.array([[1, 2], [0, -1]]))
    assert result
    assert [c.name for c in result.checks] == ["input"]


def test_integer_data_for_a_model_holding_an_embedding_is_indices():
    model = Sequential(_Lookup(), Linear(4, 2, rng=0))
    result = minnet.gradcheck(model, np.array([[0, 2, 0], [1, 1, 2]]))
    assert result, result
    assert "input" not in {c.name for c in result.checks}
    assert check_layer(lambda: Sequential(_Lookup(), Linear(4, 2, rng=0)), (4, 2), make_input=repeated_indices)


# -- parameters that cannot train ------------------------------------------------------------------------------


def test_a_constant_declared_as_a_buffer_or_a_cache_set_in_init_is_no_alarm():
    class Shifted(minnet.Layer):
        buffer_names = ("offset",)

        def __init__(self):
            self.offset = np.array([0.5, -1.0, 2.0])  # state, not trained: declared
            self.x = np.zeros((1, 3))  # a cache given a first value in __init__: forward replaces it

        def forward(self, x):
            self.x = x
            return x + self.offset

        def backward(self, grad_output):
            return grad_output

    assert check_layer(Shifted, (4, 3))


def test_a_plain_array_the_output_depends_on_is_named_with_the_fix():
    class Shifted(minnet.Layer):
        def __init__(self):
            self.offset = np.array([0.5, -1.0, 2.0])

        def forward(self, x):
            return x + self.offset

        def backward(self, grad_output):
            return grad_output

    report = check_layer(Shifted, (4, 3))
    assert report.failed_names == ["parameters_registered"]
    text = str(report.failed[0])
    assert "Shifted.offset" in text
    assert "minnet.Parameter(...)" in text
    assert "buffer_names" in text


def test_a_plain_array_deep_in_a_container_is_named_by_its_path():
    from minnet.testing.broken import PlainArrayWeight

    report = check_layer(lambda: Sequential(Linear(3, 3, rng=0), PlainArrayWeight(3, 5)), (4, 3))
    assert report.failed_names == ["parameters_registered"]
    assert "'1.weight'" in str(report.failed[0])


# -- blame -----------------------------------------------------------------------------------------------------


def test_a_wrong_gradient_shape_is_blamed_on_the_child_that_returned_it():
    model = Sequential(Linear(3, 4, rng=0), _WrongShapeLinear(4, 2, rng=1), Sigmoid())
    model(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"_WrongShapeLinear.backward returned a gradient of shape \(5, 2\)") as info:
        model.backward(np.ones((5, 2)))
    assert "in layer 1 (_WrongShapeLinear) of Sequential, during backward" in info.value.__notes__
    report = check_layer(lambda: Sequential(Linear(3, 4, rng=0), _WrongShapeLinear(4, 2, rng=1)), (5, 3))
    assert report.failed_names[0] == "gradient_shapes"
    assert "_WrongShapeLinear.backward returned" in str(report)
    assert "in layer 1 (_WrongShapeLinear) of Sequential" in str(report)


# -- likely causes and options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factor", "expected"),
    [
        (-1.0, "the sign is wrong"),
        (4.0, "a 1/N forgotten"),
        (0.25, "averaged over the batch where it should be summed"),
        (2.0, "a factor of 2"),
        (0.0, "zero everywhere"),
        (3.3, "analytic = 3.3 × numeric everywhere"),
    ],
)
def test_likely_cause_reads_the_pattern_of_the_errors(factor, expected):
    numeric = np.random.default_rng(0).standard_normal((4, 3))
    assert expected in likely_cause(factor * numeric, numeric, batch_size=4)


def test_likely_cause_is_silent_without_a_pattern():
    rng = np.random.default_rng(1)
    assert likely_cause(rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), batch_size=4) == ""


def test_gradcheck_checks_at_drawn_values_and_says_so():
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert minnet.gradcheck(GainForgottenScale(3), x, values=("initial",))
    result = minnet.gradcheck(GainForgottenScale(3), x)
    assert not result
    assert result.worst.name == "input"
    assert result.worst.values == "drawn"
    assert "(drawn parameter values)" in str(result)
    assert "likely cause (input, drawn values): right at the initial parameter values" in str(result)


def test_values_option_is_checked():
    with pytest.raises(ValueError, match="values"):
        check_layer(Sigmoid, (2, 3), values=("random",))
    with pytest.raises(ValueError, match="no parameters or buffers to draw"):
        check_layer(Sigmoid, (2, 3), values=("drawn",))
    with pytest.raises(ValueError, match="values"):
        minnet.gradcheck(Sigmoid(), np.ones((2, 3)), values=())
    report = check_layer(Sigmoid, (2, 3))
    assert {c.values for c in report.checks} == {"initial"}  # nothing to draw: one setting


class _LayerNorm(minnet.Layer):
    """Layer normalisation over the last axis, written as a user would; ``forget_gamma`` plants the bug."""

    forget_gamma = False

    def __init__(self, features, eps=1e-5):
        self.weight = minnet.Parameter(np.ones(features))
        self.bias = minnet.Parameter(np.zeros(features))
        self.eps = eps
        self.x_hat = self.r = None

    def forward(self, x):
        self.r = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        self.x_hat = (x - x.mean(axis=-1, keepdims=True)) * self.r
        return self.x_hat * self.weight.data + self.bias.data

    def backward(self, grad_output):
        g, x_hat = grad_output, self.x_hat
        self.weight.grad += (g * x_hat).sum(axis=0)
        self.bias.grad += g.sum(axis=0)
        if not self.forget_gamma:
            g = g * self.weight.data
        return self.r * (g - g.mean(axis=-1, keepdims=True) - x_hat * (g * x_hat).mean(axis=-1, keepdims=True))


class _GammaForgottenLayerNorm(_LayerNorm):
    forget_gamma = True


def test_a_layer_norm_that_forgets_gamma_fails_and_the_right_one_passes():
    assert check_layer(lambda: _LayerNorm(5), (3, 5))
    assert check_layer(lambda: _GammaForgottenLayerNorm(5), (3, 5), values=("initial",))  # γ at ones hides it
    report = check_layer(lambda: _GammaForgottenLayerNorm(5), (3, 5))
    assert report.failed_names[0] == "input_gradient"
    assert "right at the initial parameter values, wrong at drawn ones" in str(report)


def test_a_transposed_gradient_is_named_as_the_likely_cause():
    report = check_layer(lambda: TransposedWeightGradLinear(3, 5, rng=0), (4, 3))
    assert "a transposed or wrongly reshaped gradient" in str(report.failed[0])


# -- what the review of the kit found --------------------------------------------------------------------------


def test_a_backward_writing_into_its_cached_input_is_named_as_such():
    class SquareInPlace(minnet.Layer):
        def forward(self, x):
            self.x = x
            return x**2

        def backward(self, grad_output):
            self.x *= 2  # writes into the input forward cached
            return grad_output * self.x

    report = check_layer(SquareInPlace, (4, 3), modes=("train",))
    assert report.failed_names[0] == "input_unchanged"
    text = str(report.failed[0])
    assert "backward wrote into an array forward cached, the input" in text
    assert "grad_output" not in text


def test_a_layer_that_raises_in_finite_differences_is_reported_not_raised():
    class ReusedCache(minnet.Layer):
        """Copies each input into the array it was first given: a write into the caller's array."""

        def __init__(self):
            self.x = None

        def forward(self, x):
            if self.x is None:
                self.x = x
            else:
                self.x[...] = x
            return self.x**2

        def backward(self, grad_output):
            return 2 * grad_output * self.x

    report = check_layer(ReusedCache, (4, 3))
    assert not report
    assert "input_unchanged" in report.failed_names or "read-only" in str(report)


class _PositiveScale(minnet.Layer):
    """y = x / √v, correct, with v > 0 required: drawn values of both signs leave its domain."""

    def __init__(self):
        self.v = minnet.Parameter(np.ones(3))
        self.x = None

    def forward(self, x):
        self.x = x
        with np.errstate(invalid="ignore"):
            return x / np.sqrt(self.v.data)

    def backward(self, grad_output):
        with np.errstate(invalid="ignore"):
            self.v.grad += (-0.5 * grad_output * self.x * self.v.data**-1.5).sum(axis=0)
            return grad_output / np.sqrt(self.v.data)


def test_a_parameter_with_a_domain_gets_a_clear_message_not_nan():
    report = check_layer(_PositiveScale, (4, 3))
    assert report.failed_names[0] == "forward"
    first_failures = [check for check in report.failed if "not reached" not in check.detail]
    assert {check.name for check in first_failures} == {"forward"}
    assert {check.values for check in first_failures} == {"drawn"}
    text = str(report)
    assert "a parameter has a domain its drawn value left" in text
    assert "values=('initial',)" in text
    assert "rel. error nan" not in text
    assert check_layer(_PositiveScale, (4, 3), values=("initial",))


def test_a_factory_returning_one_object_is_refused():
    layer = Linear(3, 2, rng=0)
    with pytest.raises(TypeError, match="the factory returned the same Linear twice"):
        check_layer(lambda: layer, (4, 3))


def test_plain_weights_in_a_list_or_private_attribute_are_found():
    class ListWeights(minnet.Layer):
        def __init__(self):
            rng = np.random.default_rng(0)
            self.weights = [rng.standard_normal((3, 5))]
            self._bias = rng.standard_normal(5)

        def forward(self, x):
            self.x = x
            return x @ self.weights[0] + self._bias

        def backward(self, grad_output):
            return grad_output @ self.weights[0].T

    report = check_layer(ListWeights, (4, 3))
    assert report.failed_names == ["parameters_registered"]
    assert "ListWeights.weights.0" in str(report.failed[0])
    assert "ListWeights._bias" in str(report.failed[0])


def test_a_view_of_a_parameter_is_no_alarm():
    class Halves(minnet.Layer):
        def __init__(self):
            self.weight = minnet.Parameter(np.random.default_rng(0).standard_normal((3, 4)))
            self.left = self.weight.data[:, :2]  # a view: it trains with the Parameter

        def forward(self, x):
            self.x = x
            return x @ self.left

        def backward(self, grad_output):
            self.weight.grad[:, :2] += self.x.T @ grad_output
            return grad_output @ self.left.T

    assert check_layer(Halves, (5, 3))


def test_a_loss_with_a_constant_array_gets_a_note_not_a_failure():
    class WeightedMSE(minnet.Loss):
        def __init__(self):
            self.weights = np.array([1.0, 2.0, 0.5])

        def forward(self, pred, target):
            self.diff = pred - target
            return float(np.mean(self.weights * self.diff**2))

        def backward(self, grad_output=None):
            return 2 * self.weights * self.diff / self.diff.size

    report = check_loss(WeightedMSE, (4, 3))
    assert report, report
    assert any("WeightedMSE.weights" in note and "buffer_names" in note for note in report.notes)


def test_an_in_place_write_that_gets_past_the_read_only_flag_is_still_seen():
    import ctypes

    class Sneaky(minnet.Layer):
        def forward(self, x):
            pointer = x.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
            np.ctypeslib.as_array(pointer, shape=x.shape)[0, 0] = 0.0  # writes past the flag
            return 2 * x

        def backward(self, grad_output):
            return 2 * grad_output

    report = check_layer(Sneaky, (4, 3))
    assert report.failed_names[0] == "input_unchanged"
    assert "the input was modified, at [0, 0]" in str(report)


def test_unresettable_randomness_is_noted_once_and_named_in_the_failures():
    import random

    class PythonRandomNoise(minnet.Layer):
        def forward(self, x):
            self.mask = np.array([[random.random() > 0.5 for _ in row] for row in x]) * 2.0
            return x * self.mask

        def backward(self, grad_output):
            return grad_output * self.mask

    report = check_layer(PythonRandomNoise, (6, 4), modes=("train",))
    assert len([note for note in report.notes if "random" in note]) == 1
    assert "forward is random in a way the kit cannot reset" in str(report)


def test_a_layer_test_case_item_runs_only_its_check():
    calls = []

    class Counted(minnet.Layer):
        def forward(self, x):
            calls.append(1)
            return 2 * x

        def backward(self, grad_output):
            return 2 * grad_output

    assert check_layer(Counted, (4, 3), checks=["backward_before_forward"])
    assert len(calls) <= 2 * 2  # one forward per setting (2 modes x 2 batch sizes): no finite differences
