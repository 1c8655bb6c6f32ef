"""The built-in exercises: each one's reference, stub, hidden inputs and own known mistakes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..derivation import build_network
from ..nn import MSELoss
from ..nn.activation import ReLU, Sigmoid, Tanh
from ..nn.embedding import Embedding
from ..nn.linear import Linear
from ..nn.loss import CrossEntropyLoss
from ..nn.normalization import BatchNorm1d, LayerNorm
from ..testing.values import drawn_magnitudes
from .exercise import Array, Case, Exercise, Mistake, register
from .stubs import (
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


def _rows(rng: np.random.Generator) -> int:
    """A batch size of 6 to 9: never equal to a feature size of the exercises (3, 4, 5), so a transposed
    gradient never has the right shape."""
    return int(rng.integers(6, 10))


def _features(rng: np.random.Generator, features: int) -> Array:
    return rng.standard_normal((_rows(rng), features))


def _sigmoid(a: Array) -> Array:
    out: Array = 1.0 / (1.0 + np.exp(-a))
    return out


# -- activations ---------------------------------------------------------------------------------------------------


def _output(case: Case) -> Array:
    y: Array = case.reference.y
    return y


SIGMOID_MISTAKES = (
    Mistake(
        "wrong_derivative_point",
        "the derivative is taken at the wrong point: σ(y)(1 − σ(y)) applies σ' to the output y, which is already "
        "σ(x); from the cached output, ∂y/∂x = y (1 − y)",
        lambda case: {"input gradient": case.g * _sigmoid(_output(case)) * (1 - _sigmoid(_output(case)))},
    ),
)

TANH_MISTAKES = (
    Mistake(
        "wrong_derivative_point",
        "the derivative is taken at the wrong point: 1 − tanh²(y) applies tanh' to the output y, which is already "
        "tanh(x); from the cached output, ∂y/∂x = 1 − y²",
        lambda case: {"input gradient": case.g * (1 - np.tanh(_output(case)) ** 2)},
    ),
    Mistake(
        "wrong_derivative",
        "the derivative of tanh is 1 − y², not 1 − y",
        lambda case: {"input gradient": case.g * (1 - _output(case))},
    ),
)

# -- linear --------------------------------------------------------------------------------------------------------

LINEAR_MISTAKES = (
    Mistake(
        "wrong_axis",
        "the bias gradient is summed over every axis (one number added to each entry): sum over the batch axis "
        "only, grad_output.sum(axis=0)",
        lambda case: {"bias gradient": np.full(case.expected["bias gradient"].shape, case.g.sum())},
    ),
)

# -- normalisation -------------------------------------------------------------------------------------------------


def _normalised_gradient(case: Case, g_hat: Array, axis: int) -> Array:
    """r ⊙ (ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)), the means over ``axis``: the input gradient of a normalisation."""
    x_hat, r = case.reference.x_hat, case.reference.r
    mean_g, mean_gx = g_hat.mean(axis=axis, keepdims=True), (g_hat * x_hat).mean(axis=axis, keepdims=True)
    out: Array = r * (g_hat - mean_g - x_hat * mean_gx)
    return out


def _gamma(case: Case) -> Array:
    gamma: Array = case.reference.weight.data
    return gamma


def _norm_mistakes(axis: int) -> tuple[Mistake, ...]:
    statistics = "batch mean and variance" if axis == 0 else "mean and variance of each row"
    other = 1 - axis
    return (
        Mistake(
            "constant_statistics",
            f"backward returns γ ⊙ g ⊙ r, treating the {statistics} as constants: they depend on x, so two more "
            "terms (through μ and through σ²) belong in ∂L/∂x",
            lambda case: {"input gradient": case.g * _gamma(case) * case.reference.r},
        ),
        Mistake(
            "forgot_gamma",
            "forgot γ in the input gradient: the gradient reaching x̂ is ĝ = γ ⊙ g (γ = 1 would hide it; the grader "
            "draws γ)",
            lambda case: {"input gradient": _normalised_gradient(case, case.g, axis)},
        ),
        Mistake(
            "wrong_axis",
            f"the means of ∂L/∂x are taken over axis {other}, not over axis {axis} (the axis μ and σ² are taken over)",
            lambda case: {"input gradient": _normalised_gradient(case, case.g * _gamma(case), other)},
        ),
    )


# -- embedding -----------------------------------------------------------------------------------------------------


def _repeats_lost(case: Case) -> dict[str, Array]:
    grad = np.zeros_like(case.expected["weight gradient"])
    indices = case.x.reshape(-1)
    grad[indices] += case.g.reshape(indices.size, -1)  # a repeated index keeps one row
    return {"weight gradient": grad}


EMBEDDING_MISTAKES = (
    Mistake(
        "repeats_lost",
        "a repeated index is added once: W.grad[indices] += g buffers the writes; np.add.at(W.grad, indices, g) "
        "adds every row",
        _repeats_lost,
    ),
)


def _indices(rng: np.random.Generator) -> Any:
    """(N, 3) indices into 10 rows: 18 or more indices, so some repeat."""
    return rng.integers(0, 10, (_rows(rng), 3))


# -- losses --------------------------------------------------------------------------------------------------------


def _regression(rng: np.random.Generator) -> tuple[Array, Array]:
    n = _rows(rng)
    return rng.standard_normal((n, 3)), rng.standard_normal((n, 3))


MSE_MISTAKES = (
    Mistake(
        "factor_2",
        "twice the gradient: the ½ of L = 1/(2N) Σ (Y − ŷ)² cancels the 2 of the square, so ∂L/∂ŷ = (ŷ − Y)/N",
        lambda case: {"prediction gradient": 2 * case.expected["prediction gradient"]},
    ),
    Mistake(
        "divided_by_elements",
        "divided by the number of elements N·D: minnet's default loss divides by 2N, N the rows of the batch",
        lambda case: {"prediction gradient": case.expected["prediction gradient"] / case.x.shape[1]},
    ),
)


def _logits(rng: np.random.Generator) -> tuple[Array, Any]:
    n = _rows(rng)
    return 2.0 * rng.standard_normal((n, 5)), rng.integers(0, 5, n)


def _probabilities(case: Case) -> Array:
    p: Array = case.reference.p
    return p


CROSS_ENTROPY_MISTAKES = (
    Mistake(
        "forgot_target",
        "returns softmax(z)/N: the one-hot target is not subtracted (∂L/∂z = (p − onehot(y)) / N)",
        lambda case: {"prediction gradient": _probabilities(case) / case.batch_size},
    ),
    Mistake(
        "softmax_elementwise",
        "differentiates the softmax elementwise (p (1 − p)): the loss and the softmax together give p − onehot(y)",
        lambda case: {
            "prediction gradient": _one_hot_selected(case) * _probabilities(case) * (1 - _probabilities(case))
        },
    ),
)


def _one_hot_selected(case: Case) -> Array:
    n, c = case.x.shape
    onehot = np.zeros((n, c))
    onehot[np.arange(n), case.inputs["target"]] = 1.0
    return -onehot / (_probabilities(case) * n)


# -- the derivation's network --------------------------------------------------------------------------------------


def two_layer_reference(X: Array, Y: Array, W1: Array, W2: Array) -> tuple[Array, Array]:
    """∂L/∂W1 and ∂L/∂W2 of the derivation's network at these weights, by minnet's backpropagation."""
    model, loss_fn = build_network(0), MSELoss()
    model[0].weight.data[...] = W1
    model[2].weight.data[...] = W2
    loss_fn(model(X), Y)
    model.backward(loss_fn.backward())
    return model[0].weight.grad.copy(), model[2].weight.grad.copy()


def two_layer_loss(X: Array, Y: Array, W1: Array, W2: Array) -> float:
    """L = 1/(2N) Σ (Y − ŷ)² of the derivation's network."""
    y_hat = _sigmoid(_sigmoid(X @ W1) @ W2)
    return float(np.sum((Y - y_hat) ** 2)) / (2 * X.shape[0])


def _two_layer_by_hand(
    X: Array, Y: Array, W1: Array, W2: Array, *, at_preactivation: bool = False, with_x: bool = True
) -> tuple[Array, Array]:
    """The gradients written by hand, or with one of two mistakes: σ' taken as a(1 − a) of the pre-activations
    (H, O) instead of the outputs (Z, ŷ), or the step-5 factor X_ik left out of ∂L/∂W1 (the derivation's printed
    formula, :func:`minnet.derivation.formula_without_x`)."""
    n = X.shape[0]
    H = X @ W1
    Z = _sigmoid(H)
    O = Z @ W2
    y_hat = _sigmoid(O)
    d_O = (y_hat - Y) / n * ((O * (1 - O)) if at_preactivation else (y_hat * (1 - y_hat)))
    dW2 = Z.T @ d_O
    d_H = (d_O @ W2.T) * ((H * (1 - H)) if at_preactivation else (Z * (1 - Z)))
    dW1 = X.T @ d_H if with_x else np.tile(d_H.sum(axis=0), (W1.shape[0], 1))
    return dW1, dW2


def _by_hand(case: Case, *, at_preactivation: bool = False, with_x: bool = True) -> dict[str, Array]:
    dW1, dW2 = _two_layer_by_hand(**case.inputs, at_preactivation=at_preactivation, with_x=with_x)
    return {"dW1": dW1, "dW2": dW2}


TWO_LAYER_MISTAKES = (
    Mistake(
        "forgot_x",
        "∂L/∂W1 leaves out the factor X_ik of step 5 (∂H_il/∂W1_kl = X_ik), as the derivation's printed formula "
        "does: every row comes out the same; ∂L/∂W1 = Xᵀ ∂L/∂H",
        lambda case: _by_hand(case, with_x=False),
    ),
    Mistake(
        "wrong_derivative_point",
        "σ' is taken of the pre-activation: H(1 − H) and O(1 − O) where the derivative from the outputs is "
        "Z(1 − Z) and ŷ(1 − ŷ)",
        lambda case: _by_hand(case, at_preactivation=True),
    ),
)


def _two_layer_inputs(rng: np.random.Generator) -> dict[str, Array]:
    n = _rows(rng)

    def weights(shape: tuple[int, int]) -> Array:  # magnitudes away from 0 and 1, random signs
        return drawn_magnitudes(rng, shape) * rng.choice([-1.0, 1.0], shape)

    return {
        "X": rng.standard_normal((n, 3)),
        "Y": (rng.random((n, 1)) > 0.5).astype(np.float64),
        "W1": weights((3, 4)),
        "W2": weights((4, 1)),
    }


# -- the registry --------------------------------------------------------------------------------------------------

BUILT_IN = (
    Exercise(
        name="sigmoid",
        summary="Sigmoid.backward: y = σ(x), from the cached output",
        reference=Sigmoid,
        stub=sigmoid.Sigmoid,
        make_input=lambda rng: _features(rng, 4),
        mistakes=SIGMOID_MISTAKES,
    ),
    Exercise(
        name="tanh",
        summary="Tanh.backward: y = tanh(x), from the cached output",
        reference=Tanh,
        stub=tanh.Tanh,
        make_input=lambda rng: _features(rng, 4),
        mistakes=TANH_MISTAKES,
    ),
    Exercise(
        name="relu",
        summary="ReLU.backward: y = max(0, x), from the cached mask",
        reference=ReLU,
        stub=relu.ReLU,
        make_input=lambda rng: _features(rng, 4),
    ),
    Exercise(
        name="linear",
        summary="Linear.backward: y = x W + b; the input, weight and bias gradients",
        reference=Linear,
        stub=linear.Linear,
        args=(3, 5),
        kwargs={"rng": 0},
        make_input=lambda rng: _features(rng, 3),
        mistakes=LINEAR_MISTAKES,
    ),
    Exercise(
        name="softmax_cross_entropy",
        summary="CrossEntropyLoss.backward: softmax and cross-entropy fused, ∂L/∂logits",
        reference=CrossEntropyLoss,
        stub=softmax_cross_entropy.CrossEntropyLoss,
        make_input=_logits,
        mistakes=CROSS_ENTROPY_MISTAKES,
    ),
    Exercise(
        name="mse_loss",
        summary="MSELoss.backward: L = 1/(2N) Σ (Y − ŷ)², the derivation's loss",
        reference=MSELoss,
        stub=mse_loss.MSELoss,
        make_input=_regression,
        mistakes=MSE_MISTAKES,
    ),
    Exercise(
        name="batchnorm1d",
        summary="BatchNorm1d.backward in training: through the batch mean and variance, and γ, β",
        reference=BatchNorm1d,
        stub=batchnorm1d.BatchNorm1d,
        args=(4,),
        make_input=lambda rng: 1.5 * _features(rng, 4) + 0.5,
        mistakes=_norm_mistakes(axis=0),
    ),
    Exercise(
        name="layernorm",
        summary="LayerNorm.backward: through each row's mean and variance, and γ, β",
        reference=LayerNorm,
        stub=layernorm.LayerNorm,
        args=(5,),
        make_input=lambda rng: 1.5 * _features(rng, 5) + 0.5,
        mistakes=_norm_mistakes(axis=1),
    ),
    Exercise(
        name="embedding",
        summary="Embedding.backward: the weight gradient, repeated indices adding up",
        reference=Embedding,
        stub=embedding.Embedding,
        args=(10, 4),
        kwargs={"rng": 0},
        make_input=_indices,
        mistakes=EMBEDDING_MISTAKES,
    ),
    Exercise(
        name="two_layer",
        summary="the derivation's two-layer network by hand: ∂L/∂W1 and ∂L/∂W2 with numpy alone",
        reference=two_layer_reference,
        stub=two_layer.gradients,
        make_input=_two_layer_inputs,
        outputs=("dW1", "dW2"),
        loss=two_layer_loss,
        wrt={"dW1": "W1", "dW2": "W2"},
        mistakes=TWO_LAYER_MISTAKES,
    ),
)

for _exercise in BUILT_IN:
    register(_exercise)
