"""Every activation and every loss at the extremes of float64: inputs of 0, ±1, ±1e4, ±710 (``exp`` overflows
past 709.8) and ±1e308 (near the largest float, 1.8e308), mixed in one array, forward and backward under
``np.errstate(over="raise", invalid="raise", divide="raise")``: no overflow, no NaN, no warning, and values and
gradients equal to the exact ones, computed by mpmath at 50 digits from each docstring's formula.

"Exact" is the mathematical value at the float64 input. Where it is below the smallest normal float
(``np.finfo(np.float64).tiny``, 2.2e-308), float64 holds it with fewer digits (a subnormal) or, below 4.9e-324,
as 0; and a stable formula may give 0 a little earlier (Sigmoid's ``1 / (1 + exp(−x))`` is ``1/inf = 0`` at
x = −710, where the exact value is 4.5e-309). So every comparison allows an absolute error of ``tiny`` besides a
relative error of 1e-13: nothing else may differ. Where the exact value is beyond the largest float
(LogSoftmax's −2e308), the float is ±inf, its correct rounding.

Then NaN: every elementwise layer maps NaN to NaN, and its gradient at a NaN is PyTorch's (NaN for the smooth
ones; for the piecewise ones the branch that PyTorch's comparison picks, e.g. ReLU passes the gradient).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from cases import LAYER_CASES, LOSS_CASES

import minnet
from minnet import (
    ELU,
    GELU,
    SELU,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Hardsigmoid,
    Hardtanh,
    HuberLoss,
    Identity,
    L1Loss,
    LeakyReLU,
    LogSoftmax,
    Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from minnet.nn import activation

mpmath = pytest.importorskip("mpmath", reason="the exact values are computed with mpmath (in the test extra)")
mp = mpmath.mp
mp.dps = 50

RTOL = 1e-13
ATOL = np.finfo(np.float64).tiny  # below it an exact value is subnormal or 0 in float64: see the module docstring
EXTREMES = np.array([0.0, 1.0, -1.0, 1e4, -1e4, 710.0, -710.0, 1e308, -1e308])
RAISE = {"over": "raise", "invalid": "raise", "divide": "raise"}


def exact(value: mpmath.mpf) -> float:
    """The float64 nearest to ``value``; ±inf beyond the largest float (its correct rounding)."""
    if mpmath.isnan(value):
        return float("nan")
    if abs(value) > mpmath.mpf(np.finfo(np.float64).max):
        return float("inf") if value > 0 else float("-inf")
    return float(value)


def assert_exact(actual, expected, what: str) -> None:
    """``actual`` equals the exact values ``expected`` (an array of mpf) within RTOL and ATOL; ±inf where the
    exact value is beyond the float range; finite wherever the exact value is a float."""
    actual = np.asarray(actual, dtype=np.float64)
    rounded = np.vectorize(exact, otypes=[np.float64])(np.asarray(expected, dtype=object))
    assert actual.shape == rounded.shape, what
    finite = np.isfinite(rounded)
    assert np.all(np.isfinite(actual[finite])), f"{what}: not finite where the exact value is: {actual}"
    np.testing.assert_array_equal(actual[~finite], rounded[~finite], err_msg=what)
    np.testing.assert_allclose(actual[finite], rounded[finite], rtol=RTOL, atol=ATOL, err_msg=what)


def mpf_array(a) -> np.ndarray:
    return np.vectorize(mpmath.mpf, otypes=[object])(np.asarray(a, dtype=np.float64))


# -- the exact activations: (value, derivative) at one mpf --------------------------------------------------------


def sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def exact_softplus(beta: float, threshold: float):
    def f(x):
        z = beta * x  # exact in mpmath, as is the comparison with the threshold
        if z > threshold:
            return x, mpmath.mpf(1)
        return mpmath.log1p(mpmath.exp(z)) / beta, sigmoid(z)

    return f


def exact_gelu_tanh(x):
    k, c = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf("0.044715")
    t = mpmath.tanh(k * (x + c * x**3))
    return x * (1 + t) / 2, (1 + t) / 2 + x * (1 - t * t) * k * (1 + 3 * c * x * x) / 2


def exact_gelu(x):
    if abs(x) > 1000:  # mpmath's erfc fails at 1e308; there Φ(x) = φ(x)/|x| (1 + O(1/x²)) from its side, ~e^(−5e5)
        tail = mpmath.npdf(x) / abs(x)
        cdf = 1 - tail if x > 0 else tail
    else:
        cdf = mpmath.ncdf(x)
    return x * cdf, cdf + x * mpmath.npdf(x)


def exact_elu(alpha: float, scale: float = 1.0):
    def f(x):
        if x > 0:
            return scale * x, mpmath.mpf(scale)
        return scale * alpha * mpmath.expm1(x), scale * alpha * mpmath.exp(x)

    return f


def exact_leaky(slope: float):
    return lambda x: (x, mpmath.mpf(1)) if x > 0 else (slope * x, mpmath.mpf(slope))


def exact_hardtanh(x):
    return (max(min(x, 1), -1), mpmath.mpf(1 if -1 < x < 1 else 0))


ONE_SIXTH_F32 = float(np.float32(1.0) / np.float32(6.0))  # PyTorch's Hardsigmoid backward multiplies by 1.0f/6.0f

ELEMENTWISE = {
    "Sigmoid": (Sigmoid, lambda x: (sigmoid(x), sigmoid(x) * (1 - sigmoid(x)))),
    "Tanh": (Tanh, lambda x: (mpmath.tanh(x), 1 - mpmath.tanh(x) ** 2)),
    "Softplus": (Softplus, exact_softplus(1.0, 20.0)),
    # β x overflows for x = ±1e308 (β > 1): the threshold's side is still the right one
    "Softplus-beta2-threshold1": (lambda: Softplus(beta=2.0, threshold=1.0), exact_softplus(2.0, 1.0)),
    "Softplus-beta0.5-threshold50": (lambda: Softplus(beta=0.5, threshold=50.0), exact_softplus(0.5, 50.0)),
    "GELU-tanh": (lambda: GELU("tanh"), exact_gelu_tanh),
    "GELU-none": (lambda: GELU("none"), exact_gelu),
    "ELU": (ELU, exact_elu(1.0)),
    "ELU-alpha0.7": (lambda: ELU(0.7), exact_elu(0.7)),
    "SELU": (SELU, exact_elu(SELU.ALPHA, SELU.SCALE)),
    "Hardsigmoid": (
        Hardsigmoid,
        lambda x: (max(min((x + 3) / 6, 1), 0), mpmath.mpf(ONE_SIXTH_F32 if -3 < x < 3 else 0)),
    ),
    "LeakyReLU": (LeakyReLU, exact_leaky(0.01)),
    "LeakyReLU-0.2": (lambda: LeakyReLU(0.2), exact_leaky(0.2)),
    "ReLU": (ReLU, lambda x: (max(x, 0), mpmath.mpf(1 if x > 0 else 0))),
    "Hardtanh": (Hardtanh, exact_hardtanh),
    "Identity": (Identity, lambda x: (x, mpmath.mpf(1))),
}


def test_every_activation_is_checked_at_the_extremes():
    """A new class in minnet.nn.activation cannot be forgotten here."""
    classes = {
        name
        for name, cls in inspect.getmembers(activation, inspect.isclass)
        if issubclass(cls, minnet.Layer) and cls.__module__ == activation.__name__
    }
    checked = {type(build()).__name__ for build, _ in ELEMENTWISE.values()} | {"Softmax", "LogSoftmax"}
    assert classes <= checked, f"not checked at the extremes: {sorted(classes - checked)}"


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_activation_is_exact_at_the_extremes(name):
    build, f = ELEMENTWISE[name]
    x = np.stack([EXTREMES, EXTREMES[::-1]])  # the extremes side by side, in one array
    g = np.random.default_rng(0).uniform(0.5, 2.0, x.shape)
    layer = build()
    with np.errstate(**RAISE):
        y = layer(x)
        grad = layer.backward(g)
    pairs = [f(v) for v in mpf_array(x).ravel()]
    assert_exact(y, np.array([v for v, _ in pairs], dtype=object).reshape(x.shape), f"{name} forward")
    slopes = np.array([d for _, d in pairs], dtype=object).reshape(x.shape)
    assert_exact(grad, mpf_array(g) * slopes, f"{name} backward")


ROWS = np.array(
    [
        [1e308, -1e308, 0.0],  # x − max(x) = −2e308 is past the float range
        [-1e308, 0.0, 1e308],
        [710.0, -710.0, 0.0],
        [1e4, -1e4, 1.0],
        [0.0, 1.0, -1.0],
        [-1e308, -1e308, -1e308],
    ]
)


def exact_log_softmax(row):
    m = max(row)  # exp(±1e308) is out of even mpmath's reach; the maximum shifted out, exactly
    log_sum = mpmath.log(mpmath.fsum(mpmath.exp(v - m) for v in row))
    return np.array([(v - m) - log_sum for v in row], dtype=object)


def test_softmax_is_exact_at_the_extremes():
    g = np.random.default_rng(1).uniform(-2.0, 2.0, ROWS.shape)
    layer = Softmax()
    with np.errstate(**RAISE):
        y = layer(ROWS)
        grad = layer.backward(g)
    exact_y = np.array([[mpmath.exp(v) for v in exact_log_softmax(row)] for row in mpf_array(ROWS)], dtype=object)
    assert_exact(y, exact_y, "Softmax forward")
    np.testing.assert_array_equal(y[0], [1.0, 0.0, 0.0])
    # ∂L/∂x_j = y_j (g_j − Σ_i g_i y_i)
    gm = mpf_array(g)
    exact_grad = np.array([yr * (gr - mpmath.fsum(gr * yr)) for yr, gr in zip(exact_y, gm, strict=True)], dtype=object)
    assert_exact(grad, exact_grad, "Softmax backward")


def test_log_softmax_is_exact_at_the_extremes():
    """log softmax(1e308, −1e308, 0) = (0, −2e308, −1e308): the middle one is beyond the float range and comes
    as −inf, its correct rounding; the gradient stays finite (its softmax is 0)."""
    g = np.random.default_rng(2).uniform(-2.0, 2.0, ROWS.shape)
    layer = LogSoftmax()
    with np.errstate(**RAISE):
        y = layer(ROWS)
        grad = layer.backward(g)
    exact_y = np.array([exact_log_softmax(row) for row in mpf_array(ROWS)], dtype=object)
    assert_exact(y, exact_y, "LogSoftmax forward")
    assert y[0, 1] == -np.inf
    # ∂L/∂x_j = g_j − softmax_j Σ_i g_i
    gm = mpf_array(g)
    softmax = np.vectorize(mpmath.exp, otypes=[object])(exact_y)
    exact_grad = gm - softmax * np.array([[mpmath.fsum(row)] for row in gm], dtype=object)
    assert_exact(grad, exact_grad, "LogSoftmax backward")


# -- the losses ---------------------------------------------------------------------------------------------------


def public_losses() -> set[type]:
    exported = (getattr(minnet, name) for name in minnet.__all__)
    return {cls for cls in exported if isinstance(cls, type) and issubclass(cls, Loss) and cls is not Loss}


# Predictions at the extremes where each loss is a float (its exact value within the float range): per class, one
# prediction and, for the class losses, labels (the last row's label becomes ignore_index in an ignore_index case).
ELEMENTWISE_PRED = np.array([[0.0, 1.0, -1.0, 1e4, -1e4, 710.0, -710.0, 1e308, -1e308]])
DIFFERENCE_TARGET = np.array([[0.0, 0.0, 1.0, -1e4, 1e4, -710.0, 710.0, 0.0, -1e308]])  # ŷ − Y of 1e308 once
SQUARED_TARGET = np.array([[0.0, 0.0, 1.0, -1e4, 1e4, -710.0, 710.0, 1e308, -1e308]])  # (ŷ − Y)² at most 4e8
LOGITS = np.array(
    [
        [1e308, -1e4, 0.0, 710.0],
        [-1e308, 1e4, -1e4, 1.0],
        [710.0, -710.0, 0.0, 1.0],
        [-1.0, 0.0, 1.0, -1e4],
    ]
)
LOGIT_LABELS = np.array([0, 1, 3, 2])
# both ±1e308 in one row: log softmax is −inf at −1e308, which only the smoothing's Σ_c log p_c would read
BOTH_ENDS, BOTH_ENDS_LABEL = np.array([[1e308, -1e308, 0.0, 1.0]]), np.array([0])
PROBABILITIES = np.array([[0.5, 0.0, 0.25, 0.25], [0.0, 0.5, 0.5, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 1.0, 0.0]])
LOG_PROBABILITIES = np.array(
    [
        [0.0, -1e308, -710.0, -1e4],
        [-1e308, -1.0, 0.0, -710.0],
        [-1e4, -1e308, -1.0, 0.0],
        [-1.0, 0.0, -1e308, -1e4],
    ]
)
LOG_PROBABILITY_LABELS = np.array([0, 3, 2, 2])  # the last: −1e308 taken with weight 1; Σ w[y_i] ≠ N
SCORES = np.array(
    [
        [1e308, -1e308, 0.0, 710.0],  # every gap below −1e308: 0, not an overflow
        [-710.0, 1e4, -1e4, 1.0],
        [0.0, 1.0, -2.0, 1e4],
        [-1e4, 710.0, -710.0, -1.0],
    ]
)
SCORE_LABELS = np.array([0, 1, 0, 3])
BCE_PROBABILITIES = np.array([[0.0, 1.0, 1e-308, 1.0 - 2.0**-53, 0.5, 1e-308, 0.0, 1.0]])
BCE_TARGET = np.array([[1.0, 0.0, 1.0, 0.0, 0.25, 0.0, 0.0, 1.0]])
BCE_LOGITS = np.array([[0.0, 1.0, -1.0, 1e4, -1e4, 710.0, -710.0, 1e308, -1e308, 1e308]])
BCE_LOGIT_TARGET = np.array([[0.5, 1.0, 0.0, 0.0, 0.25, 1.0, 0.0, 1.0, 0.0, 0.5]])
BCE_EPS = float(np.float32(1e-12))  # PyTorch's bound on p (1 − p) in BCELoss's backward, a float32 constant


def extreme_inputs(case) -> tuple[np.ndarray, np.ndarray]:
    loss = case.build()
    cls = type(loss)
    if cls is MSELoss:
        return ELEMENTWISE_PRED, SQUARED_TARGET
    if cls in (L1Loss, HuberLoss):
        return ELEMENTWISE_PRED, DIFFERENCE_TARGET
    if cls is BCELoss:
        return BCE_PROBABILITIES, BCE_TARGET
    if cls is BCEWithLogitsLoss:
        return BCE_LOGITS, BCE_LOGIT_TARGET
    if cls is NLLLoss:
        pred, labels = LOG_PROBABILITIES, LOG_PROBABILITY_LABELS.copy()
    elif cls is MultiMarginLoss:
        pred, labels = SCORES, SCORE_LABELS.copy()
    elif cls is CrossEntropyLoss:
        _, drawn = case.draw(np.random.default_rng(0))
        if drawn.ndim == 2:
            return LOGITS, PROBABILITIES
        pred, labels = LOGITS, LOGIT_LABELS.copy()
        if not loss.label_smoothing:
            pred, labels = np.vstack([pred, BOTH_ENDS]), np.concatenate([labels, BOTH_ENDS_LABEL])
    else:
        raise AssertionError(f"no extreme inputs for {cls.__name__}: add them to tests/test_extremes.py")
    if "ignore-index" in case.id:
        labels[-1] = loss.ignore_index
    return pred, labels


def exact_loss(loss, pred, target):
    """The exact unreduced loss ℓ (an array of mpf), ∂ℓ/∂pred as a function of the upstream ∂L/∂ℓ, and what
    "mean" divides by, from each docstring's formula."""
    p, cls = mpf_array(pred), type(loss)
    if cls in (MSELoss, L1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss):
        t = mpf_array(target)
        if cls is MSELoss:
            ell, slope = (p - t) ** 2, 2 * (p - t)
        elif cls is L1Loss:
            ell, slope = abs(p - t), np.vectorize(mpmath.sign, otypes=[object])(p - t)
        elif cls is HuberLoss:
            d, delta = p - t, loss.delta
            ell = np.array([v * v / 2 if abs(v) <= delta else delta * (abs(v) - delta / 2) for v in d.ravel()])
            slope = np.array([max(min(v, delta), -delta) for v in d.ravel()])
            ell, slope = ell.reshape(d.shape), slope.reshape(d.shape)
        elif cls is BCELoss:  # PyTorch's documented clamp: each log at least −100
            log = np.vectorize(lambda v: max(mpmath.log(v), -100) if v > 0 else mpmath.mpf(-100), otypes=[object])
            ell = -(t * log(p) + (1 - t) * log(1 - p))
            slope = np.array([(a - b) / max(a * (1 - a), BCE_EPS) for a, b in zip(p.ravel(), t.ravel(), strict=True)])
            slope = slope.reshape(p.shape)
        else:
            ell = np.vectorize(lambda z: mpmath.log1p(mpmath.exp(z)), otypes=[object])(p) - p * t
            slope = np.vectorize(sigmoid, otypes=[object])(p) - t
        return ell, lambda upstream: slope * upstream, p.size
    n, c = pred.shape
    w = [mpmath.mpf(1)] * c if loss.weight is None else [mpmath.mpf(float(v)) for v in loss.weight]
    if cls is MultiMarginLoss:
        ell, slopes = np.empty(n, object), np.empty((n, c), object)
        for i, y in enumerate(target):
            h = [max(loss.margin - p[i, y] + p[i, k], 0) if k != y else mpmath.mpf(0) for k in range(c)]
            ell[i] = mpmath.fsum(w[y] * v**loss.p for v in h) / c
            slopes[i] = [w[y] * loss.p * v ** (loss.p - 1) / c if v > 0 else mpmath.mpf(0) for v in h]
            slopes[i, y] = -mpmath.fsum(slopes[i])
        return ell, lambda upstream: slopes * upstream[:, None], n
    ignore = getattr(loss, "ignore_index", None)
    counted = np.array([target.ndim == 2 or y != ignore for y in target])
    if cls is NLLLoss:
        ell = np.array([-w[y] * p[i, y] if counted[i] else mpmath.mpf(0) for i, y in enumerate(target)])
        slopes = np.zeros((n, c), object) + mpmath.mpf(0)
        for i, y in enumerate(target):
            if counted[i]:
                slopes[i, y] = -w[y]
        total = mpmath.fsum(w[y] for i, y in enumerate(target) if counted[i])
        return ell, lambda upstream: slopes * upstream[:, None], total
    assert cls is CrossEntropyLoss, cls
    eps = loss.label_smoothing
    ell, slopes = np.empty(n, object), np.zeros((n, c), object) + mpmath.mpf(0)
    for i in range(n):
        log_p = exact_log_softmax(p[i])
        one_hot = target.ndim == 1
        t = np.array([mpmath.mpf(int(k == target[i])) for k in range(c)]) if one_hot else mpf_array(target[i])
        q = np.array([w[k] * ((1 - eps) * t[k] + mpmath.mpf(eps) / c) for k in range(c)]) * int(counted[i])
        ell[i] = -mpmath.fsum(qk * lk for qk, lk in zip(q, log_p, strict=True) if qk != 0)
        slopes[i] = np.array([mpmath.exp(lk) for lk in log_p]) * mpmath.fsum(q) - q
    denominator = n if target.ndim == 2 else mpmath.fsum(w[y] for i, y in enumerate(target) if counted[i])
    return ell, lambda upstream: slopes * upstream[:, None], denominator


def test_every_loss_is_checked_at_the_extremes():
    """Every public loss has a case in the registry (tests/test_cases.py checks it) and inputs here."""
    for case in LOSS_CASES:
        extreme_inputs(case)
    assert public_losses() <= {type(case.build()) for case in LOSS_CASES}


@pytest.mark.parametrize(
    ("case", "reduction"),
    [pytest.param(case, r, id=f"{case.id}-{r}") for case in LOSS_CASES for r in case.reductions],
)
def test_loss_is_exact_at_the_extremes(case, reduction):
    pred, target = extreme_inputs(case)
    loss = case.build(reduction=reduction)
    ell, slope, count = exact_loss(loss, pred, target)
    upstream = None
    if reduction == "none":
        upstream = np.random.default_rng(3).uniform(0.5, 2.0, ell.shape)
    with np.errstate(**RAISE):
        value = loss(pred, target)
        grad = loss.backward(upstream)
    if reduction == "none":
        expected, factor = ell, mpf_array(upstream)
    elif reduction == "sum":
        expected, factor = mpmath.fsum(ell.ravel()), np.full(ell.shape, mpmath.mpf(1), object)
    else:
        count = 2 * pred.shape[0] if reduction == "half_batch_mean" else count  # Σ(ŷ − Y)²/(2N)
        expected = mpmath.fsum(ell.ravel()) / count
        factor = np.full(ell.shape, mpmath.mpf(1) / count, object)
    assert_exact(value, np.asarray(expected, dtype=object), f"{case.id} ({reduction}) loss")
    assert_exact(grad, slope(factor), f"{case.id} ({reduction}) gradient")


def test_a_mean_of_terms_near_the_largest_float_is_a_float():
    """The mean of 1e308 and 1e308 is 1e308, though their sum is past the float range: "mean" reads the shares;
    "sum" is past it, and that overflow is reported."""
    pred, target = np.array([[1e308, -1e308]]), np.zeros((1, 2))
    with np.errstate(**RAISE):
        assert L1Loss()(pred, target) == 1e308
        assert MSELoss(reduction="mean")(np.array([[1e154, -1e154]]), target) == pytest.approx(1e308, rel=1e-15)
        with pytest.raises(FloatingPointError, match="overflow"):
            L1Loss(reduction="sum")(pred, target)


def test_bce_clamps_each_log_at_minus_100_as_pytorch():
    """PyTorch's documented BCELoss: each log is clamped at −100, so p = 0 and p = 1 give 100, not inf; and so does
    p = 1e-308 (log p = −709.2). The gradient's denominator p (1 − p) is bounded below by 1e-12 (PyTorch's)."""
    loss = BCELoss(reduction="none")
    with np.errstate(**RAISE):
        ell = loss(np.array([[0.0, 1.0, 1e-308, 1e-308]]), np.array([[1.0, 0.0, 1.0, 0.0]]))
        grad = loss.backward()
    np.testing.assert_array_equal(ell[0, :3], [100.0, 100.0, 100.0])
    assert ell[0, 3] == pytest.approx(1e-308, rel=1e-15)  # −log(1 − 1e-308)
    np.testing.assert_allclose(grad, [[-1 / BCE_EPS, 1 / BCE_EPS, -1 / BCE_EPS, 1e-308 / BCE_EPS]], rtol=1e-15)


@pytest.mark.oracle
def test_bce_at_the_edges_of_its_domain_matches_pytorch():
    torch = pytest.importorskip("torch", reason="compared with PyTorch's BCELoss (install the test extra)")
    pred, target = BCE_PROBABILITIES, BCE_TARGET
    loss = BCELoss(reduction="none")
    ell, grad = loss(pred, target), loss.backward()
    p = torch.tensor(pred, requires_grad=True)
    ell_t = torch.nn.BCELoss(reduction="none")(p, torch.tensor(target))
    ell_t.backward(torch.ones_like(ell_t))
    np.testing.assert_allclose(ell, ell_t.detach().numpy(), rtol=1e-13, atol=ATOL)
    np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-13, atol=ATOL)


# -- NaN through the elementwise layers ---------------------------------------------------------------------------

G = 2.0  # the upstream gradient at the NaN
# The gradient at a NaN, as PyTorch gives it: NaN for the smooth activations; for a piecewise one, the branch its
# comparison picks (a comparison with NaN is false): ReLU zeroes the gradient only where y ≤ 0, so it passes.
GRADIENT_AT_NAN = {
    "Sigmoid": np.nan,
    "Tanh": np.nan,
    "Softplus": np.nan,
    "GELU": np.nan,
    "GELU-none": np.nan,
    "ReLU": G,  # zeroed where y ≤ 0
    "LeakyReLU": 0.2 * G,  # g where x > 0, else negative_slope · g
    "ELU": G,  # α exp(x) g where x ≤ 0, else g
    "SELU": SELU.SCALE * G,  # λ α exp(x) g where x ≤ 0, else λ g
    "Hardtanh": G,  # zeroed where x ≤ min_val or x ≥ max_val
    "Hardsigmoid": 0.0,  # g/6 where −3 < x < 3, else 0
    "Identity": G,
    "Dropout-eval": G,
}
NAN_CASES = [case for case in LAYER_CASES if case.activation and case.id not in ("Softmax", "LogSoftmax")]


def nan_layers():
    cases = [pytest.param(case.id, case.build, id=case.id) for case in NAN_CASES]
    return [*cases, pytest.param("Dropout-eval", lambda: Dropout(0.5, rng=0).eval(), id="Dropout-eval")]


def test_every_elementwise_activation_has_its_gradient_at_nan():
    assert {case.id for case in NAN_CASES} <= set(GRADIENT_AT_NAN)


@pytest.mark.parametrize(("name", "build"), nan_layers())
def test_nan_gives_nan_and_pytorchs_gradient(name, build):
    x = np.array([[np.nan, 0.5, -2.0], [-np.nan, 3.0, -0.5]])
    layer = build()
    with np.errstate(**RAISE):
        y = layer(x)
        grad = layer.backward(np.full_like(x, G))
    assert np.all(np.isnan(y[:, 0]))
    assert np.all(np.isfinite(y[:, 1:]))
    np.testing.assert_array_equal(grad[:, 0], np.full(2, GRADIENT_AT_NAN[name]))  # NaN equals NaN here
    assert np.all(np.isfinite(grad[:, 1:]))


@pytest.mark.parametrize("softmax", [Softmax, LogSoftmax])
def test_a_nan_makes_its_softmax_row_nan(softmax):
    x = np.array([[np.nan, 0.5, -2.0], [1.0, 3.0, -0.5]])
    layer = softmax()
    with np.errstate(**RAISE):
        y = layer(x)
        grad = layer.backward(np.full_like(x, G))
    assert np.all(np.isnan(y[0]))
    assert np.all(np.isnan(grad[0]))
    assert np.all(np.isfinite(y[1]))
    assert np.all(np.isfinite(grad[1]))


@pytest.mark.oracle
@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in NAN_CASES])
def test_the_gradient_at_nan_is_pytorchs(case):
    torch = pytest.importorskip("torch", reason="compared with PyTorch (install the test extra)")
    x = np.array([[np.nan, 0.5, -2.0]])
    layer = case.build()
    layer(x)
    grad = layer.backward(np.full_like(x, G))
    x_t = torch.tensor(x, requires_grad=True)
    y_t = case.torch(torch.nn)(x_t)
    y_t.backward(torch.full_like(y_t, G))
    np.testing.assert_allclose(grad, x_t.grad.numpy(), rtol=1e-15)  # NaN where torch has NaN
