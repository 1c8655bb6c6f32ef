"""minnet.exercises: the reference scores 1, a backward that does nothing scores 0, and each known mistake is
named in the feedback; the CLI's ``minnet exercise list | start | check``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minnet
from minnet import exercises
from minnet.exercises import Exercise, Mistake, check
from minnet.exercises.catalog import two_layer_reference
from minnet.exercises.stubs import (
    batchnorm1d,
    embedding,
    layernorm,
    linear,
    mse_loss,
    relu,
    sigmoid,
    softmax_cross_entropy,
    tanh,
    two_layer,
)

NAMES = exercises.names()
BUILT_IN = [
    "sigmoid",
    "tanh",
    "relu",
    "linear",
    "softmax_cross_entropy",
    "mse_loss",
    "batchnorm1d",
    "layernorm",
    "embedding",
    "two_layer",
]


def gradient_score(report: exercises.Report) -> float:
    """The points earned on the gradient items alone."""
    gradients = exercises.get(report.exercise).gradient_items()
    return sum(item.weight for item in report.items if item.passed and item.name in gradients)


def test_every_exercise_of_the_brief_is_registered():
    assert set(BUILT_IN) <= set(NAMES)


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_reference_scores_one(name):
    exercise = exercises.get(name)
    report = check(name, exercise.reference, rng=0)
    assert report, str(report)
    assert report.score == 1.0
    assert report.feedback == "All correct."
    assert all(item.passed for item in report.items)


# -- submissions that do nothing: each is a stub's subclass with another backward ------------------------------


def _first_input(layer):
    """The input a layer's forward was given (the tests' submissions record it)."""
    return layer.seen


def _recording(stub):
    """The stub with a forward that also keeps its input, for the submissions below."""
    if not isinstance(stub, type):
        return stub

    class Recording(stub):
        def forward(self, *args):
            self.seen = args[0]
            return super().forward(*args)

    return Recording


def do_nothing(name, kind):
    """A submission of exercise ``name`` whose backward returns zeros, its input, or the upstream gradient."""
    exercise = exercises.get(name)
    if exercise.kind == "function":

        def function(X, Y, W1, W2):
            return {
                "zeros": (np.zeros_like(W1), np.zeros_like(W2)),
                "identity": (W1, W2),
                "upstream": (np.ones_like(W1), np.ones_like(W2)),
            }[kind]

        return function
    base = _recording(exercise.stub)
    integer = exercise.kind == "layer" and getattr(exercise.stub, "input_kind", "float") == "integer"

    class Submission(base):
        def backward(self, grad_output=None):
            x = _first_input(self)
            if kind == "zeros":
                return None if integer else np.zeros(x.shape)
            if kind == "identity":
                return x
            if exercise.kind == "loss":
                return np.ones(x.shape)  # ∂L/∂L = 1, passed down unchanged
            return grad_output

    return Submission


@pytest.mark.parametrize("kind", ["stub", "zeros", "identity", "upstream"])
@pytest.mark.parametrize("name", BUILT_IN)
def test_a_backward_that_does_nothing_scores_zero(name, kind):
    exercise = exercises.get(name)
    candidate = exercise.stub if kind == "stub" else do_nothing(name, kind)
    report = check(name, candidate, rng=0)
    assert not report, str(report)
    assert gradient_score(report) == 0, str(report)
    assert report.score == 0.0, str(report)  # the contract items count only once a gradient is right
    if kind == "stub":
        assert report.mistakes == ["not_implemented"]
        assert "NotImplementedError" in report.feedback


# -- one broken submission per mistake ------------------------------------------------------------------------


class SigmoidForgotUpstream(sigmoid.Sigmoid):
    def backward(self, grad_output):
        return self.y * (1 - self.y)


class SigmoidAtOutput(sigmoid.Sigmoid):
    def backward(self, grad_output):
        s = 1 / (1 + np.exp(-self.y))
        return grad_output * s * (1 - s)


class SigmoidWrongSign(sigmoid.Sigmoid):
    def backward(self, grad_output):
        return -grad_output * self.y * (1 - self.y)


class TanhForgotUpstream(tanh.Tanh):
    def backward(self, grad_output):
        return 1 - self.y**2


class TanhAtOutput(tanh.Tanh):
    def backward(self, grad_output):
        return grad_output * (1 - np.tanh(self.y) ** 2)


class TanhInPlace(tanh.Tanh):
    def backward(self, grad_output):
        grad_output *= 1 - self.y**2
        return grad_output


class TanhWrongSign(tanh.Tanh):
    def backward(self, grad_output):
        return grad_output * (self.y**2 - 1)


class SigmoidInPlace(sigmoid.Sigmoid):
    def backward(self, grad_output):
        grad_output *= self.y * (1 - self.y)
        return grad_output


class ReLUInPlace(relu.ReLU):
    def backward(self, grad_output):
        grad_output[~self.mask] = 0.0
        return grad_output


class ReLUForgotUpstream(relu.ReLU):
    def backward(self, grad_output):
        return self.mask.astype(np.float64)


class ReLUWrongSign(relu.ReLU):
    def backward(self, grad_output):
        return -grad_output * self.mask


class LinearBase(linear.Linear):
    """The right backward, for the broken ones below to change one line of."""

    def backward(self, grad_output):
        self.weight.grad += self.x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class LinearAveragedBias(LinearBase):
    def backward(self, grad_output):
        self.weight.grad += self.x.T @ grad_output
        self.bias.grad += grad_output.mean(axis=0)
        return grad_output @ self.weight.data.T


class LinearAveragedWeight(LinearBase):
    def backward(self, grad_output):
        self.weight.grad += self.x.T @ grad_output / len(self.x)
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class LinearTransposedInput(LinearBase):
    def backward(self, grad_output):
        self.weight.grad += self.x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data  # W, not W.T


class LinearTransposedWeight(LinearBase):
    def backward(self, grad_output):
        self.weight.grad += grad_output.T @ self.x  # gᵀx, not xᵀg
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class LinearForgotBias(LinearBase):
    def backward(self, grad_output):
        self.weight.grad += self.x.T @ grad_output
        return grad_output @ self.weight.data.T


class LinearBiasWrongAxis(LinearBase):
    def backward(self, grad_output):
        self.weight.grad += self.x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=1)
        return grad_output @ self.weight.data.T


class LinearBiasSummedAll(LinearBase):
    def backward(self, grad_output):
        self.weight.grad += self.x.T @ grad_output
        self.bias.grad += grad_output.sum()
        return grad_output @ self.weight.data.T


class LinearInPlace(LinearBase):
    def backward(self, grad_output):
        self.weight.grad += self.x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        grad_output[...] = grad_output @ np.eye(grad_output.shape[1])  # writes into the caller's array
        return grad_output @ self.weight.data.T


class LinearWrongSign(LinearBase):
    def backward(self, grad_output):
        self.weight.grad -= self.x.T @ grad_output
        self.bias.grad -= grad_output.sum(axis=0)
        return -grad_output @ self.weight.data.T


class LinearOverwrites(LinearBase):
    def backward(self, grad_output):
        self.weight.grad[...] = self.x.T @ grad_output
        self.bias.grad[...] = grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class LinearForgotUpstream(LinearBase):
    def backward(self, grad_output):
        ones = np.ones_like(grad_output)
        self.weight.grad += self.x.T @ ones
        self.bias.grad += ones.sum(axis=0)
        return ones @ self.weight.data.T


class CrossEntropyForgotN(softmax_cross_entropy.CrossEntropyLoss):
    def backward(self, grad_output=None):
        d = self.p.copy()
        d[np.arange(len(d)), self.labels] -= 1
        return d


class CrossEntropyInPlace(softmax_cross_entropy.CrossEntropyLoss):
    def backward(self, grad_output=None):
        self.p[np.arange(len(self.p)), self.labels] -= 1  # changes the cached p
        return self.p / len(self.p)


class CrossEntropyWrongSign(softmax_cross_entropy.CrossEntropyLoss):
    def backward(self, grad_output=None):
        d = -self.p.copy()
        d[np.arange(len(d)), self.labels] += 1
        return d / len(d)


class CrossEntropyForgotTarget(softmax_cross_entropy.CrossEntropyLoss):
    def backward(self, grad_output=None):
        return self.p / len(self.p)


class MSEForgotN(mse_loss.MSELoss):
    def backward(self, grad_output=None):
        return self.diff


class MSEFactor2(mse_loss.MSELoss):
    def backward(self, grad_output=None):
        return 2 * self.diff / len(self.diff)


class MSEWrongSign(mse_loss.MSELoss):
    def backward(self, grad_output=None):
        return -self.diff / len(self.diff)


class MSEByElements(mse_loss.MSELoss):
    def backward(self, grad_output=None):
        return self.diff / self.diff.size


class BatchNormBase(batchnorm1d.BatchNorm1d):
    def parameter_gradients(self, g):
        self.weight.grad += (g * self.x_hat).sum(axis=0)
        self.bias.grad += g.sum(axis=0)

    def backward(self, grad_output):
        g = grad_output
        self.parameter_gradients(g)
        g_hat = g * self.weight.data
        return self.r * (g_hat - g_hat.mean(axis=0) - self.x_hat * (g_hat * self.x_hat).mean(axis=0))


class BatchNormConstantStatistics(BatchNormBase):
    def backward(self, grad_output):
        self.parameter_gradients(grad_output)
        return grad_output * self.weight.data * self.r


class BatchNormForgotGamma(BatchNormBase):
    def backward(self, grad_output):
        g = grad_output
        self.parameter_gradients(g)
        return self.r * (g - g.mean(axis=0) - self.x_hat * (g * self.x_hat).mean(axis=0))


class BatchNormGammaWrongAxis(BatchNormBase):
    def backward(self, grad_output):
        g = grad_output
        self.weight.grad += (g * self.x_hat).sum(axis=1)
        self.bias.grad += g.sum(axis=0)
        g_hat = g * self.weight.data
        return self.r * (g_hat - g_hat.mean(axis=0) - self.x_hat * (g_hat * self.x_hat).mean(axis=0))


class BatchNormAveraged(BatchNormBase):
    def parameter_gradients(self, g):
        self.weight.grad += (g * self.x_hat).mean(axis=0)
        self.bias.grad += g.mean(axis=0)


class BatchNormForgotBias(BatchNormBase):
    def parameter_gradients(self, g):
        self.weight.grad += (g * self.x_hat).sum(axis=0)


class BatchNormInPlace(BatchNormBase):
    def backward(self, grad_output):
        grad_input = super().backward(grad_output.copy())
        grad_output *= self.weight.data  # writes into the caller's array
        return grad_input


class BatchNormWrongSign(BatchNormBase):
    def backward(self, grad_output):
        return super().backward(-grad_output)


class BatchNormForgotUpstream(BatchNormBase):
    def backward(self, grad_output):
        return super().backward(np.ones_like(grad_output))


class LayerNormBase(layernorm.LayerNorm):
    def backward(self, grad_output):
        g = grad_output
        self.weight.grad += (g * self.x_hat).sum(axis=0)
        self.bias.grad += g.sum(axis=0)
        g_hat = g * self.weight.data
        mean, mean_x = g_hat.mean(axis=1, keepdims=True), (g_hat * self.x_hat).mean(axis=1, keepdims=True)
        return self.r * (g_hat - mean - self.x_hat * mean_x)


class LayerNormForgotGamma(LayerNormBase):
    def backward(self, grad_output):
        g = grad_output
        self.weight.grad += (g * self.x_hat).sum(axis=0)
        self.bias.grad += g.sum(axis=0)
        mean, mean_x = g.mean(axis=1, keepdims=True), (g * self.x_hat).mean(axis=1, keepdims=True)
        return self.r * (g - mean - self.x_hat * mean_x)


class LayerNormConstantStatistics(LayerNormBase):
    def backward(self, grad_output):
        g = grad_output
        self.weight.grad += (g * self.x_hat).sum(axis=0)
        self.bias.grad += g.sum(axis=0)
        return g * self.weight.data * self.r


class LayerNormMeansOverBatch(LayerNormBase):
    def backward(self, grad_output):
        g = grad_output
        self.weight.grad += (g * self.x_hat).sum(axis=0)
        self.bias.grad += g.sum(axis=0)
        g_hat = g * self.weight.data
        return self.r * (g_hat - g_hat.mean(axis=0) - self.x_hat * (g_hat * self.x_hat).mean(axis=0))


class LayerNormGammaWrongAxis(LayerNormBase):
    def backward(self, grad_output):
        g = grad_output
        self.weight.grad += (g * self.x_hat).sum(axis=1)
        self.bias.grad += g.sum(axis=0)
        return super().backward(grad_output)


class LayerNormForgotBias(LayerNormBase):
    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        self.bias.grad[...] = 0  # as if never added
        return grad_input


class LayerNormWrongSign(LayerNormBase):
    def backward(self, grad_output):
        return super().backward(-grad_output)


class EmbeddingRepeatsLost(embedding.Embedding):
    def backward(self, grad_output):
        self.weight.grad[self.indices] += grad_output
        return None


class EmbeddingWrongSign(embedding.Embedding):
    def backward(self, grad_output):
        np.add.at(self.weight.grad, self.indices, -grad_output)
        return None


class EmbeddingOverwrites(embedding.Embedding):
    def backward(self, grad_output):
        self.weight.grad[...] = 0
        np.add.at(self.weight.grad, self.indices, grad_output)
        return None


class EmbeddingInPlace(embedding.Embedding):
    def backward(self, grad_output):
        np.add.at(self.weight.grad, self.indices, grad_output)
        grad_output[...] = 0
        return None


class EmbeddingAveraged(embedding.Embedding):
    def backward(self, grad_output):
        np.add.at(self.weight.grad, self.indices, grad_output / len(self.indices))
        return None


def _two_layer(X, Y, W1, W2, *, x_factor=True, preactivation=False, n_factor=True, sign=1.0, transpose=False):
    n = X.shape[0]
    H = X @ W1
    Z = 1 / (1 + np.exp(-H))
    O = Z @ W2
    y_hat = 1 / (1 + np.exp(-O))
    d_y = (y_hat - Y) / (n if n_factor else 1)
    d_O = d_y * (O * (1 - O) if preactivation else y_hat * (1 - y_hat))
    dW2 = Z.T @ d_O
    d_H = (d_O @ W2.T) * (H * (1 - H) if preactivation else Z * (1 - Z))
    dW1 = X.T @ d_H if x_factor else np.ones((3, 1)) * d_H.sum(axis=0)
    return sign * (dW1.T if transpose else dW1), sign * dW2


def two_layer_forgot_x(X, Y, W1, W2):
    return _two_layer(X, Y, W1, W2, x_factor=False)


def two_layer_preactivation(X, Y, W1, W2):
    return _two_layer(X, Y, W1, W2, preactivation=True)


def two_layer_forgot_n(X, Y, W1, W2):
    return _two_layer(X, Y, W1, W2, n_factor=False)


def two_layer_wrong_sign(X, Y, W1, W2):
    return _two_layer(X, Y, W1, W2, sign=-1.0)


def two_layer_transposed(X, Y, W1, W2):
    return _two_layer(X, Y, W1, W2, transpose=True)


def two_layer_in_place(X, Y, W1, W2):
    dW1, dW2 = _two_layer(X, Y, W1, W2)
    W1 -= dW1  # a step of descent on the caller's weights
    return dW1, dW2


# (exercise, submission, the mistake's id, a phrase the feedback must hold)
BROKEN = [
    ("sigmoid", SigmoidForgotUpstream, "forgot_upstream", "forgot the upstream gradient"),
    ("sigmoid", SigmoidAtOutput, "wrong_derivative_point", "wrong point"),
    ("sigmoid", SigmoidWrongSign, "wrong_sign", "wrong sign"),
    ("tanh", TanhForgotUpstream, "forgot_upstream", "forgot the upstream gradient"),
    ("tanh", TanhAtOutput, "wrong_derivative_point", "wrong point"),
    ("tanh", TanhInPlace, "in_place", "in place"),
    ("tanh", TanhWrongSign, "wrong_sign", "wrong sign"),
    ("sigmoid", SigmoidInPlace, "in_place", "in place"),
    ("relu", ReLUInPlace, "in_place", "in place"),
    ("relu", ReLUForgotUpstream, "forgot_upstream", "forgot the upstream gradient"),
    ("relu", ReLUWrongSign, "wrong_sign", "wrong sign"),
    ("linear", LinearAveragedBias, "averaged", "averaged over the batch where it should be summed"),
    ("linear", LinearAveragedWeight, "averaged", "averaged over the batch where it should be summed"),
    ("linear", LinearTransposedInput, "wrong_transpose", "wrong transpose"),
    ("linear", LinearTransposedWeight, "wrong_transpose", "wrong transpose"),
    ("linear", LinearForgotBias, "forgot_parameter_gradient", "forgot the bias gradient"),
    ("linear", LinearBiasWrongAxis, "wrong_axis", "wrong axis"),
    ("linear", LinearBiasSummedAll, "wrong_axis", "summed over every axis"),
    ("linear", LinearInPlace, "in_place", "in place"),
    ("linear", LinearWrongSign, "wrong_sign", "wrong sign"),
    ("linear", LinearOverwrites, "overwrites_grad", "instead of adding"),
    ("linear", LinearForgotUpstream, "forgot_upstream", "forgot the upstream gradient"),
    ("softmax_cross_entropy", CrossEntropyForgotN, "forgot_1_over_n", "forgot the 1/N"),
    ("softmax_cross_entropy", CrossEntropyInPlace, "in_place", "in place"),
    ("softmax_cross_entropy", CrossEntropyWrongSign, "wrong_sign", "wrong sign"),
    ("softmax_cross_entropy", CrossEntropyForgotTarget, "forgot_target", "not subtracted"),
    ("mse_loss", MSEForgotN, "forgot_1_over_n", "forgot the 1/N"),
    ("mse_loss", MSEFactor2, "factor_2", "twice the gradient"),
    ("mse_loss", MSEWrongSign, "wrong_sign", "wrong sign"),
    ("mse_loss", MSEByElements, "divided_by_elements", "number of elements"),
    ("batchnorm1d", BatchNormConstantStatistics, "constant_statistics", "as constants"),
    ("batchnorm1d", BatchNormForgotGamma, "forgot_gamma", "forgot γ"),
    ("batchnorm1d", BatchNormGammaWrongAxis, "wrong_axis", "wrong axis"),
    ("batchnorm1d", BatchNormAveraged, "averaged", "averaged over the batch where it should be summed"),
    ("batchnorm1d", BatchNormForgotBias, "forgot_parameter_gradient", "forgot the bias gradient"),
    ("batchnorm1d", BatchNormInPlace, "in_place", "in place"),
    ("batchnorm1d", BatchNormWrongSign, "wrong_sign", "wrong sign"),
    ("batchnorm1d", BatchNormForgotUpstream, "forgot_upstream", "forgot the upstream gradient"),
    ("layernorm", LayerNormForgotBias, "forgot_parameter_gradient", "forgot the bias gradient"),
    ("layernorm", LayerNormWrongSign, "wrong_sign", "wrong sign"),
    ("layernorm", LayerNormForgotGamma, "forgot_gamma", "forgot γ"),
    ("layernorm", LayerNormConstantStatistics, "constant_statistics", "as constants"),
    ("layernorm", LayerNormMeansOverBatch, "wrong_axis", "over axis 0"),
    ("layernorm", LayerNormGammaWrongAxis, "wrong_axis", "wrong axis"),
    ("embedding", EmbeddingRepeatsLost, "repeats_lost", "np.add.at"),
    ("embedding", EmbeddingWrongSign, "wrong_sign", "wrong sign"),
    ("embedding", EmbeddingAveraged, "averaged", "averaged over the batch"),
    ("embedding", EmbeddingOverwrites, "overwrites_grad", "instead of adding"),
    ("embedding", EmbeddingInPlace, "in_place", "in place"),
    ("two_layer", two_layer_forgot_x, "forgot_x", "X_ik"),
    ("two_layer", two_layer_preactivation, "wrong_derivative_point", "pre-activation"),
    ("two_layer", two_layer_forgot_n, "forgot_1_over_n", "1/N"),
    ("two_layer", two_layer_wrong_sign, "wrong_sign", "wrong sign"),
    ("two_layer", two_layer_transposed, "wrong_transpose", "wrong transpose"),
    ("two_layer", two_layer_in_place, "in_place", "wrote into an array"),
]


@pytest.mark.parametrize(
    ("name", "submission", "mistake", "phrase"),
    BROKEN,
    ids=[getattr(s, "__name__", str(s)) for _, s, _, _ in BROKEN],
)
def test_a_broken_submission_fails_and_its_mistake_is_named(name, submission, mistake, phrase):
    report = check(name, submission, rng=0)
    assert not report, str(report)
    assert report.score < 1
    assert mistake in report.mistakes, str(report)
    assert phrase in report.feedback, str(report)


def test_the_broken_submissions_cover_every_exercise_and_the_mistakes_of_the_brief():
    assert {name for name, *_ in BROKEN} == set(BUILT_IN)
    kinds = {mistake for _, _, mistake, _ in BROKEN}
    assert {
        "forgot_upstream",
        "averaged",
        "wrong_transpose",
        "in_place",
        "wrong_derivative_point",
        "wrong_sign",
        "forgot_parameter_gradient",
        "wrong_axis",
    } <= kinds


def test_the_right_base_classes_of_the_broken_submissions_score_one():
    """The broken submissions change one line of these: they are right before the change."""
    for name, base in [("linear", LinearBase), ("batchnorm1d", BatchNormBase), ("layernorm", LayerNormBase)]:
        assert check(name, base, rng=0).score == 1.0


def test_an_in_place_write_costs_the_contract_item_only():
    report = check("relu", ReLUInPlace, rng=0)
    by_name = {item.name: item for item in report.items}
    assert by_name["input gradient"].passed
    assert not by_name["grad_output unchanged"].passed
    assert report.score == pytest.approx(2 / 3)


def test_what_is_not_a_layer_or_loss_scores_zero_and_says_so():
    report = check("tanh", object, rng=0)
    assert report.score == 0.0
    assert report.mistakes == ["not_a_layer"]
    report = check("mse_loss", minnet.Tanh, rng=0)
    assert report.score == 0.0
    assert report.mistakes == ["not_a_loss"]


def test_an_instance_instead_of_its_class_is_reported():
    for name, instance in [("tanh", minnet.Tanh()), ("mse_loss", minnet.MSELoss())]:
        report = check(name, instance, rng=0)
        assert report.score == 0.0
        assert report.mistakes == ["not_a_class"]
        assert f"pass {type(instance).__name__}" in report.feedback


def test_a_stub_built_with_other_arguments_is_reported():
    class NoArguments(LinearBase):
        def __init__(self):
            super().__init__(3, 5)

    report = check("linear", NoArguments, rng=0)
    assert report.score == 0.0
    assert "building the submission raised TypeError" in report.feedback


# -- the grader can fail ----------------------------------------------------------------------------------------


def test_parameter_values_of_one_would_let_a_forgotten_gamma_pass():
    """At the initial values (γ = 1, β = 0) forgetting γ changes nothing: the grader draws them for that reason."""
    for name, forgot in [("batchnorm1d", BatchNormForgotGamma), ("layernorm", LayerNormForgotGamma)]:
        assert check(name, forgot, rng=0, parameter_values="initial").score == 1.0
        assert not check(name, forgot, rng=0)


def test_a_gradient_item_needs_the_reference_and_finite_differences(monkeypatch):
    """A gradient passes only when it matches the reference too: with the reference made wrong (its sign
    flipped), the right submission fails and the wrong-sign one is what matches."""
    from minnet.exercises import grading

    real = grading._make_case

    def flipped(*args, **kwargs):
        case = real(*args, **kwargs)
        case.expected = {name: -value for name, value in case.expected.items()}
        return case

    monkeypatch.setattr(grading, "_make_case", flipped)
    assert not check("linear", LinearBase, rng=0)
    # matches the flipped reference, but finite differences still say it is wrong
    report = check("linear", LinearWrongSign, rng=0)
    assert not report
    assert "not finite differences" in str(report)


def test_the_hidden_case_is_drawn_at_grading_time():
    seeds = {check("tanh", minnet.Tanh).seed for _ in range(3)}
    assert len(seeds) == 3
    a, b = (exercises.get("linear").make_input(np.random.default_rng(seed)) for seed in (0, 1))
    assert a.shape != b.shape or not np.array_equal(a, b)


# -- weights ------------------------------------------------------------------------------------------------------


def test_teachers_weights_change_the_score():
    default = check("linear", LinearForgotBias, rng=0)
    assert default.score == pytest.approx(6 / 7)  # input 2, weight 2, contract 1 + 1 of 7
    heavy = check("linear", LinearForgotBias, rng=0, weights={"bias gradient": 6})
    assert heavy.score == pytest.approx(6 / 12)
    ignored = check("linear", LinearForgotBias, rng=0, weights={"bias gradient": 0})
    assert ignored.score == 1.0
    assert ignored  # an item of weight 0 does not count


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"bias": 1}, "unknown item 'bias'"),
        ({"bias gradient": -1}, "finite number >= 0"),
        ({"bias gradient": float("nan")}, "finite number >= 0"),
        (dict.fromkeys(exercises.get("linear").item_names(), 0), "add up to 0"),
    ],
)
def test_bad_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match=message):
        check("linear", minnet.Linear, weights=weights)


def test_an_unknown_exercise_is_a_key_error_listing_the_names():
    with pytest.raises(KeyError, match="the exercises are"):
        check("softmax", minnet.Softmax)


# -- a teacher's own exercise ----------------------------------------------------------------------------------


class Square(minnet.Layer):
    """y = x², elementwise: a teacher's exercise."""

    def __init__(self):
        self.x = None

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad_output):
        return 2 * self.x * grad_output


class SquareStub(Square):
    def backward(self, grad_output):
        raise NotImplementedError("TODO")


class SquareHalf(Square):
    def backward(self, grad_output):
        return self.x * grad_output


@pytest.fixture
def square_exercise():
    exercise = exercises.register(
        Exercise(
            name="teacher_square",
            summary="y = x²",
            reference=Square,
            stub=SquareStub,
            make_input=lambda rng: rng.standard_normal((int(rng.integers(5, 9)), 3)),
            items={"input gradient": 3},
            mistakes=[
                Mistake(
                    "forgot_2",
                    "the 2 of d(x²)/dx = 2x is missing",
                    lambda case: {"input gradient": case.x * case.grad_output},
                )
            ],
            stub_source="# write Square.backward\n",
        )
    )
    yield exercise
    exercises.unregister("teacher_square")


def test_a_teacher_registers_an_exercise(square_exercise):
    assert "teacher_square" in exercises.names()
    assert check("teacher_square", Square, rng=0).score == 1.0
    assert check("teacher_square", SquareStub, rng=0).score == 0.0
    report = check("teacher_square", SquareHalf, rng=0)
    assert report.mistakes == ["forgot_2"]
    assert "the 2 of d(x²)/dx" in report.feedback
    assert [item.weight for item in report.items] == [3.0, 1.0]
    with pytest.raises(ValueError, match="exists"):
        exercises.register(square_exercise)


def test_register_refuses_what_it_cannot_grade():
    base = {"name": "bad", "reference": Square, "stub": SquareStub}
    base["make_input"] = lambda rng: rng.standard_normal((5, 3))
    with pytest.raises(ValueError, match="lower case"):
        exercises.register(Exercise(**{**base, "name": "Bad Name"}))
    with pytest.raises(TypeError, match="so must the stub be"):
        exercises.register(Exercise(**{**base, "stub": lambda x: x}))
    with pytest.raises(ValueError, match="unknown item"):
        exercises.register(Exercise(**base, items={"weight gradient": 1}))
    with pytest.raises(ValueError, match="name its outputs"):
        exercises.register(Exercise(**{**base, "reference": two_layer_reference, "stub": two_layer.gradients}))
    assert "bad" not in exercises.names()


# -- cmp ----------------------------------------------------------------------------------------------------------


def test_cmp_prints_one_line_like_the_backprop_ninja(capsys):
    result = exercises.cmp("dW1", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    assert capsys.readouterr().out == "dW1             | exact: False | approximate: True  | maxdiff: 1e-12\n"
    assert result
    assert not result.exact
    assert result.maxdiff == pytest.approx(1e-12, rel=1e-3)
    exact = exercises.cmp("dx", np.ones(3), np.ones(3), echo=None)
    assert exact.exact
    assert exact.approximate
    assert exact.maxdiff == 0.0
    wrong = exercises.cmp("db", np.ones(3), np.zeros(3))
    assert not wrong
    assert "approximate: False" in capsys.readouterr().out
    shape = exercises.cmp("dW", np.ones((3, 4)), np.ones((4, 3)))
    assert not shape
    assert "shape mismatch: mine (3, 4), reference (4, 3)" in capsys.readouterr().out


def test_cmp_reads_a_parameters_gradient():
    layer = minnet.Linear(3, 2, rng=0)
    x, g = np.ones((4, 3)), np.ones((4, 2))
    layer(x)
    layer.backward(g)
    assert exercises.cmp("dW", x.T @ g, layer.weight, echo=None).exact


# -- the CLI --------------------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def run_minnet(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env_path = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "minnet", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
    )


def test_cli_list_names_every_exercise():
    result = run_minnet("exercise", "list")
    assert result.returncode == 0, result.stderr
    for name in BUILT_IN:
        assert name in result.stdout


def test_cli_start_then_check(tmp_path):
    result = run_minnet("exercise", "start", "tanh", str(tmp_path))
    assert result.returncode == 0, result.stderr
    stub = tmp_path / "tanh.py"
    assert stub.read_text(encoding="utf-8") == exercises.get("tanh").source()
    failed = run_minnet("exercise", "check", str(stub))
    assert failed.returncode == 1
    assert "not_implemented" in failed.stdout
    assert "score 0.00" in failed.stdout
    stub.write_text(
        stub.read_text(encoding="utf-8").replace(
            '        raise NotImplementedError("TODO: write Tanh.backward")',
            "        return grad_output * (1.0 - self.y**2)",
        ),
        encoding="utf-8",
    )
    passed = run_minnet("exercise", "check", str(stub))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "score 1.00" in passed.stdout
    assert "All correct." in passed.stdout
    again = run_minnet("exercise", "start", "tanh", str(tmp_path))
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1
    assert "--force" in again.stderr
    assert "return grad_output" in stub.read_text(encoding="utf-8")  # not overwritten
    forced = run_minnet("exercise", "start", "tanh", str(tmp_path), "--force")
    assert forced.returncode == 0
    assert "NotImplementedError" in stub.read_text(encoding="utf-8")


def test_cli_start_writes_into_the_current_directory_by_default(tmp_path):
    assert run_minnet("exercise", "start", "two_layer", cwd=tmp_path).returncode == 0
    assert (tmp_path / "two_layer.py").exists()


def test_cli_check_a_broken_file_names_the_mistake(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(
        "import numpy as np\n"
        "from minnet.exercises.stubs.sigmoid import Sigmoid as Stub\n"
        "EXERCISE = 'sigmoid'\n"
        "class Sigmoid(Stub):\n"
        "    def backward(self, grad_output):\n"
        "        return self.y * (1 - self.y)\n",
        encoding="utf-8",
    )
    result = run_minnet("exercise", "check", str(path), "--seed", "3")
    assert result.returncode == 1
    assert "forgot the upstream gradient" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["exercise", "start", "softmax"], "argument NAME: expected one of"),
        (["exercise", "start", "tanh", "{tmp}/missing"], "argument DIR: expected an existing directory"),
        (["exercise", "check", "{tmp}/missing.py"], "argument FILE: expected a Python file"),
        (["exercise", "check", "{tmp}"], "argument FILE: expected a Python file"),
        (["exercise", "check", "{tmp}/plain.py"], "does not say which exercise"),
        (["exercise", "check", "{tmp}/plain.py", "--exercise", "nope"], "argument --exercise: expected one of"),
        (["exercise", "check", "{tmp}/plain.py", "--seed", "-1"], "argument --seed: expected a seed >= 0"),
        (["exercise"], "the following arguments are required: action"),
    ],
)
def test_cli_usage_errors_exit_2_with_one_line(tmp_path, args, message):
    (tmp_path / "plain.py").write_text("x = 1\n", encoding="utf-8")
    result = run_minnet(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_cli_check_a_file_that_does_not_import_exits_1(tmp_path):
    path = tmp_path / "tanh.py"
    path.write_text("EXERCISE = 'tanh'\ndef broken(:\n", encoding="utf-8")
    result = run_minnet("exercise", "check", str(path))
    assert result.returncode == 1
    assert "SyntaxError" in result.stderr
    assert result.stderr.count("\n") == 1


def test_check_file_grades_a_folder(tmp_path):
    for name in ("relu", "mse_loss"):
        (tmp_path / f"{name}.py").write_text(exercises.get(name).source(), encoding="utf-8")
    scores = {path.stem: exercises.check_file(path, rng=0).score for path in sorted(tmp_path.glob("*.py"))}
    assert scores == {"mse_loss": 0.0, "relu": 0.0}


def test_check_file_finds_the_only_class_and_takes_the_exercise_by_name(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(
        "import numpy as np\n"
        "import minnet\n"
        "class MyTanh(minnet.Layer):\n"
        "    def forward(self, x):\n"
        "        self.y = np.tanh(x)\n"
        "        return self.y\n"
        "    def backward(self, grad_output):\n"
        "        return grad_output * (1 - self.y**2)\n",
        encoding="utf-8",
    )
    assert exercises.check_file(path, "tanh", rng=0).score == 1.0
    with pytest.raises(exercises.SubmissionError, match="does not say which exercise"):
        exercises.check_file(path)
    result = run_minnet("exercise", "check", str(path), "--exercise", "tanh")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_stub_is_a_module_that_names_its_exercise():
    stubs = [sigmoid, tanh, relu, linear, softmax_cross_entropy, mse_loss, batchnorm1d, layernorm, embedding, two_layer]
    for module in stubs:
        exercise = exercises.get(module.EXERCISE)
        assert exercise.stub.__module__ == module.__name__
        assert "NotImplementedError" in exercise.source()
