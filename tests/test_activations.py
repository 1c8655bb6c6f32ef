"""Sigmoid."""

import math
import re
import warnings

import numpy as np
import pytest

import minnet
from minnet import Sigmoid
from minnet.nn.layer import Layer


def test_values():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_inputs_are_finite_in_range_and_silent(dtype):
    big = np.finfo(dtype).max if dtype == np.float32 else 1e308
    x = np.array([-big, -1000.0, -50.0, 0.0, 50.0, 1000.0, big], dtype=dtype)
    layer = Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = layer(x)
            grad = layer.backward(np.ones_like(x))
    assert y.dtype == dtype
    assert np.all(np.isfinite(y))
    assert np.all((y >= 0) & (y <= 1))
    assert y[0] == 0.0
    assert y[-1] == 1.0
    assert y[3] == 0.5
    assert np.all(np.isfinite(grad))


def test_infinities_and_nan():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = Sigmoid()(np.array([-np.inf, np.inf, np.nan]))
    assert y[0] == 0.0
    assert y[1] == 1.0
    assert np.isnan(y[2])


def test_backward_uses_cached_output():
    layer = Sigmoid()
    y = layer(np.array([[0.0, 2.0]]))
    np.testing.assert_allclose(layer.backward(np.array([[1.0, 3.0]])), np.array([[1.0, 3.0]]) * y * (1 - y))


def test_wrong_grad_shape_raises():
    layer = Sigmoid()
    layer(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Sigmoid: expected grad_output of shape \(2, 3\)"):
        layer.backward(np.ones((3, 2)))


# -- every activation of the registry (tests/cases.py) ----------------------------------------------------------

from cases import LAYER_CASES  # noqa: E402

from minnet import (  # noqa: E402
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardtanh,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Softmax,
    Softplus,
)

ACTIVATIONS = [pytest.param(case, id=case.id) for case in LAYER_CASES if case.activation]


@pytest.mark.parametrize("case", ACTIVATIONS)
def test_nan_in_gives_nan_out_and_no_warning(case):
    x = np.array([[np.nan, 1.0, -2.0], [0.5, -0.5, 3.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = case.build()(x)
    assert np.isnan(y[0, 0])
    assert np.all(np.isfinite(y[1]))  # the other row is untouched


@pytest.mark.parametrize("case", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_and_a_mismatched_gradient_is_refused(case, dtype):
    layer = case.build()
    name = type(layer).__name__
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
    y = layer(x)
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype
    other = np.float64 if dtype == np.float32 else np.float32
    with pytest.raises(TypeError, match=rf"{name}: grad_output has dtype {np.dtype(other)}"):
        layer.backward(np.ones(y.shape, dtype=other))
    with pytest.raises(ValueError, match=rf"{name}: expected grad_output of shape \(3, 4\)"):
        layer.backward(np.ones((4, 3), dtype=dtype))


@pytest.mark.parametrize("case", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_inputs_are_finite_and_silent(case, dtype):
    x = np.array([[-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]], dtype=dtype)
    layer = case.build()
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is expected
        y = layer(x)
        grad = layer.backward(np.ones_like(y))
    assert np.all(np.isfinite(y))
    assert np.all(np.isfinite(grad))


def test_values_by_hand():
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_array_equal(ReLU()(x), [0.0, 0.0, 0.0, 1.5])
    np.testing.assert_allclose(LeakyReLU(0.1)(x), [-0.2, -0.05, 0.0, 1.5], rtol=1e-15)
    np.testing.assert_allclose(ELU(2.0)(x), [2 * (np.exp(-2) - 1), 2 * (np.exp(-0.5) - 1), 0.0, 1.5], rtol=1e-15)
    np.testing.assert_allclose(Softplus()(x), np.log1p(np.exp(x)), rtol=1e-15)
    u = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
    np.testing.assert_allclose(GELU()(x), 0.5 * x * (1 + np.tanh(u)), rtol=1e-15)
    phi = np.array([math.erfc(-v / math.sqrt(2)) / 2 for v in x])  # Φ(x) by erfc, another road than GELU's
    np.testing.assert_allclose(GELU("none")(x), x * phi, rtol=1e-15)
    np.testing.assert_allclose(Hardtanh()(x), [-1.0, -0.5, 0.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(Hardsigmoid()(x), [1 / 6, 5 / 12, 0.5, 0.75], rtol=1e-15)
    selu = 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1))
    np.testing.assert_allclose(SELU()(x), selu, rtol=1e-15)
    np.testing.assert_array_equal(Identity()(x), x)


def test_relu_gradient_is_zero_at_zero_and_below():
    layer = ReLU()
    layer(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(layer.backward(np.array([5.0, 5.0, 5.0])), [0.0, 0.0, 5.0])


def test_softmax_and_logsoftmax_along_the_axis():
    x = np.random.default_rng(1).standard_normal((3, 4))
    np.testing.assert_allclose(Softmax()(x).sum(axis=-1), np.ones(3), rtol=1e-15)
    np.testing.assert_allclose(Softmax(axis=0)(x).sum(axis=0), np.ones(4), rtol=1e-15)
    np.testing.assert_allclose(LogSoftmax()(x), np.log(Softmax()(x)), rtol=1e-14)
    np.testing.assert_allclose(LogSoftmax()(np.array([[1e4, 0.0]])), [[0.0, -1e4]])


def test_reprs_and_arguments():
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(ELU()) == "ELU(alpha=1.0)"
    assert repr(Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(GELU()) == "GELU(approximate='tanh')"
    assert repr(Softmax(axis=0)) == "Softmax(axis=0)"
    assert repr(LogSoftmax()) == "LogSoftmax(axis=-1)"
    assert repr(GELU("none")) == "GELU(approximate='none')"
    assert GELU("none").local_derivatives() == {"∂L/∂x": "g ⊙ (Φ(x) + x φ(x))"}
    assert GELU().local_derivatives()["∂L/∂x"].endswith("t = tanh(u)")
    assert repr(Hardtanh(-2.0, 0.5)) == "Hardtanh(min_val=-2.0, max_val=0.5)"
    with pytest.raises(ValueError, match=r"GELU: approximate must be 'none' or 'tanh', got 'erf'"):
        GELU(approximate="erf")
    with pytest.raises(ValueError, match=r"Hardtanh: max_val must be greater than min_val, got 1\.0 and 1\.0"):
        Hardtanh(1.0, 1.0)


@pytest.mark.parametrize("case", ACTIVATIONS)
def test_every_activation_states_its_local_derivative(case):
    formulas = case.build().local_derivatives()
    assert formulas
    assert all(lhs == "∂L/∂x" and re.search(r"\bg\b", formula) for lhs, formula in formulas.items())  # a rule on g


def test_every_layer_states_the_rule_backward_applies_not_a_jacobian():
    """One form in the trace's "backward applies" column: ∂L/∂(input or parameter) in terms of g, never ∂y/∂x."""
    layers = [c for c in vars(minnet).values() if isinstance(c, type) and issubclass(c, Layer) and c is not Layer]
    assert len(layers) > 20
    for cls in layers:
        for lhs in cls.local_derivative or {}:
            assert lhs.startswith("∂L/∂"), f"{cls.__name__}.local_derivative: {lhs!r} is not a backward rule ∂L/∂…"


@pytest.mark.parametrize(("cls", "axis"), [(Softmax, 2), (LogSoftmax, -3)])
def test_an_axis_out_of_range_names_the_layer(cls, axis):
    with pytest.raises(
        ValueError, match=rf"{cls.__name__}: axis={axis} is out of range for an input of shape \(2, 3\)"
    ):
        cls(axis=axis)(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("make", "counterpart"),
    [
        (lambda: GELU("none"), lambda nn: nn.GELU()),
        (SELU, lambda nn: nn.SELU()),
        (Hardtanh, lambda nn: nn.Hardtanh()),
        (Hardsigmoid, lambda nn: nn.Hardsigmoid()),
    ],
    ids=["GELU-none", "SELU", "Hardtanh", "Hardsigmoid"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_new_activations_match_torch_at_extremes(make, counterpart, dtype):
    """±710 (exp overflows in float64 past 709.8), ±1e4, ±40 (erf is ±1, φ underflows) and the kinks, silently."""
    torch = pytest.importorskip("torch")
    x = np.array([[-1e4, -710.0, -40.0, -8.0, -3.0, -1.0, 0.0, 1.0, 3.0, 8.0, 40.0, 710.0, 1e4]], dtype=dtype)
    g = np.random.default_rng(0).standard_normal(x.shape).astype(dtype)
    layer = make()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = layer(x)
        grad = layer.backward(g)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = counterpart(torch.nn)(x_t)
    y_t.backward(torch.tensor(g))
    tol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, x_t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "make", [lambda: GELU("none"), Hardtanh, Hardsigmoid], ids=["GELU-none", "Hardtanh", "Hardsigmoid"]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_new_activations_are_finite_and_silent_at_the_largest_floats(make, dtype):
    """GELU's φ(x) = exp(−x²/2) takes x² of |x| capped at 40: x² of 1e20 would overflow float32. (SELU is left
    out: λ x itself exceeds the largest float, in PyTorch too.)"""
    big = np.finfo(dtype).max
    x = np.array([-big, -1e20, 1e20, big], dtype=dtype)
    layer = make()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = layer(x)
        grad = layer.backward(np.ones_like(x))
    assert np.all(np.isfinite(y))
    assert np.all(np.isfinite(grad))
