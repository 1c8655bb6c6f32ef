"""minnet.testing: the kit catches the whole broken gallery (tests/test_layer_kit.py runs every built-in
layer and loss of the registry, tests/cases.py, through it)."""

import numpy as np
import pytest
from hypothesis import given, settings

import minnet
from minnet import Linear, MSELoss, Sequential, Sigmoid
from minnet.testing import CHECKS, LayerTestCase, LossTestCase, check_layer, check_loss
from minnet.testing.broken import GALLERY, BiasNotSummedLinear, ConstantStatisticsBatchNorm
from minnet.testing.strategies import input_shapes, layer_inputs


@pytest.mark.parametrize("exhibit", GALLERY, ids=[e.name for e in GALLERY])
def test_gallery_is_caught_by_the_matching_check(exhibit):
    check = check_loss if exhibit.is_loss else check_layer
    report = check(exhibit.make, exhibit.input_shape)
    assert not report
    assert report.failed_names[0] == exhibit.caught_by, str(report)
    assert set(report.failed_names) <= {exhibit.caught_by, "joint_gradient"}, str(report)
    assert exhibit.caught_by in str(report)
    assert "FAILED" in str(report)
    assert exhibit.bug
    assert exhibit.bug[0].islower()


def test_gallery_has_at_least_eight_distinct_bugs():
    assert len({e.name for e in GALLERY}) >= 8


def test_batch_of_one_alone_would_miss_the_unsummed_bias():
    """Why check_layer always adds a second batch size: N = 1 hides this bug."""
    make = lambda: BiasNotSummedLinear(3, 5, rng=0)  # noqa: E731
    assert check_layer(make, (1, 3), batch_sizes=(1,))
    assert not check_layer(make, (4, 3))


def test_eval_mode_alone_would_miss_constant_batch_statistics():
    make = lambda: ConstantStatisticsBatchNorm(3)  # noqa: E731
    assert check_layer(make, (5, 3), modes=("eval",))
    assert not check_layer(make, (5, 3), modes=("train",))


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
