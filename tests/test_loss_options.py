"""The options of the class losses against PyTorch: CrossEntropyLoss's and NLLLoss's ``weight``, ``ignore_index``
and ``label_smoothing``, MultiMarginLoss's ``p``, ``margin`` and ``weight``, in every reduction, value and gradient
(float64, 1e-10); every row ignored; logits of −inf and ±1e4; integer class probabilities refused.

The registry (tests/cases.py) holds one case of each combination for the tests that read it; these tests run
every combination."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from minnet import CrossEntropyLoss, MultiMarginLoss, NLLLoss

torch = pytest.importorskip("torch", reason="compared with PyTorch; install the test extra (torch==2.13.0 CPU)")
F = torch.nn.functional

pytestmark = pytest.mark.oracle

TOL = 1e-10
REDUCTIONS = ("mean", "sum", "none")
WEIGHT = np.array([0.5, 2.0, 1.0, 3.0, 0.25])
N, C = 7, 5


def logits(seed: int = 0) -> np.ndarray:
    return 2.0 * np.random.default_rng(seed).standard_normal((N, C))


def labels(ignore_index: int, seed: int = 1) -> np.ndarray:
    """Labels with rows 1 and 4 set to ``ignore_index`` (a class is then not drawn elsewhere)."""
    rng = np.random.default_rng(seed)
    y = rng.choice([k for k in range(C) if k != ignore_index], N)
    y[[1, 4]] = ignore_index
    return y


def run_minnet(loss_fn, pred, target, upstream):
    value = loss_fn(pred, target)
    grad = loss_fn.backward(upstream) if loss_fn.reduction == "none" else loss_fn.backward()
    return np.asarray(value), grad


def run_torch(f, pred, target, upstream, **options):
    pred_t = torch.tensor(pred, requires_grad=True)
    value_t = f(pred_t, torch.tensor(target), **options)
    value_t.backward(torch.tensor(upstream) if options["reduction"] == "none" else None)
    return value_t.detach().numpy(), pred_t.grad.numpy()


def assert_matches_torch(ours, theirs):
    (value, grad), (value_t, grad_t) = ours, theirs
    np.testing.assert_allclose(value, value_t, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(grad, grad_t, rtol=TOL, atol=TOL)


def torch_weight(weight):
    return None if weight is None else torch.tensor(weight)


# -- every combination against PyTorch ------------------------------------------------------------------------------

COMBINATIONS = list(itertools.product((None, WEIGHT), (-100, 2), (0.0, 0.25), REDUCTIONS))


def combination_id(combination) -> str:
    weight, ignore_index, smoothing, reduction = combination
    return f"{'weight' if weight is not None else 'no-weight'}-ignore{ignore_index}-ls{smoothing}-{reduction}"


@pytest.mark.parametrize("combination", COMBINATIONS, ids=[combination_id(c) for c in COMBINATIONS])
def test_cross_entropy_with_labels_matches_torch(combination):
    weight, ignore_index, smoothing, reduction = combination
    pred, target = logits(), labels(ignore_index)
    upstream = np.random.default_rng(2).standard_normal(N)
    options = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": smoothing}
    ours = run_minnet(CrossEntropyLoss(weight=weight, **options), pred, target, upstream)
    theirs = run_torch(F.cross_entropy, pred, target, upstream, weight=torch_weight(weight), **options)
    assert_matches_torch(ours, theirs)
    if ignore_index != -100:
        assert np.all(ours[1][[1, 4]] == 0)  # an ignored row has no gradient


@pytest.mark.parametrize(
    ("weight", "smoothing", "reduction"), list(itertools.product((None, WEIGHT), (0.0, 0.25), REDUCTIONS))
)
def test_cross_entropy_with_probabilities_matches_torch(weight, smoothing, reduction):
    rng = np.random.default_rng(3)
    pred, target = logits(), rng.random((N, C))
    target /= target.sum(axis=1, keepdims=True)
    upstream = rng.standard_normal(N)
    ours = run_minnet(
        CrossEntropyLoss(weight=weight, reduction=reduction, label_smoothing=smoothing), pred, target, upstream
    )
    theirs = run_torch(
        F.cross_entropy, pred, target, upstream, weight=torch_weight(weight), reduction=reduction,
        label_smoothing=smoothing,
    )  # fmt: skip
    assert_matches_torch(ours, theirs)


@pytest.mark.parametrize(
    ("weight", "ignore_index", "reduction"), list(itertools.product((None, WEIGHT), (-100, 0), REDUCTIONS))
)
def test_nll_loss_matches_torch(weight, ignore_index, reduction):
    z = logits(4)
    pred = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    target, upstream = labels(ignore_index, seed=5), np.random.default_rng(6).standard_normal(N)
    ours = run_minnet(NLLLoss(weight=weight, ignore_index=ignore_index, reduction=reduction), pred, target, upstream)
    theirs = run_torch(
        F.nll_loss, pred, target, upstream, weight=torch_weight(weight), ignore_index=ignore_index, reduction=reduction
    )
    assert_matches_torch(ours, theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_of_an_ignored_row_holding_log_zero_is_finite_as_torch(reduction):
    """An ignored row counts nothing, even a log-probability of −inf (log 0) where its label would point."""
    z = logits(12)
    pred = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    target = labels(-100, seed=13)
    pred[[1, 4], :] = -np.inf  # the ignored rows
    upstream = np.random.default_rng(14).standard_normal(N)
    loss_fn = NLLLoss(weight=WEIGHT, reduction=reduction)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = run_minnet(loss_fn, pred, target, upstream)
    assert np.all(np.isfinite(ours[0]))
    theirs = run_torch(F.nll_loss, pred, target, upstream, weight=torch_weight(WEIGHT), reduction=reduction)
    assert_matches_torch(ours, theirs)


def test_the_weighted_mean_divides_by_the_weights_of_the_counted_rows():
    """By hand: rows labelled 0 (w 1), 1 (w 3) and one ignored; the mean is Σ w ℓ / (1 + 3), not over N = 3."""
    pred = np.log(np.array([[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]]))
    loss_fn = NLLLoss(weight=[1.0, 3.0])
    value = loss_fn(pred, np.array([0, 1, -100]))
    assert value == pytest.approx((-np.log(0.5) - 3 * np.log(0.75)) / 4, rel=1e-15)
    np.testing.assert_allclose(loss_fn.backward(), [[-0.25, 0.0], [0.0, -0.75], [0.0, 0.0]], rtol=1e-15)
    ce = CrossEntropyLoss(weight=[1.0, 3.0])
    assert ce(pred, np.array([0, 1, -100])) == pytest.approx(value, rel=1e-14)  # log-probabilities are logits too


# -- every row ignored ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "make",
    [
        lambda r: NLLLoss(reduction=r),
        lambda r: NLLLoss(weight=WEIGHT, ignore_index=3, reduction=r),
        lambda r: CrossEntropyLoss(reduction=r),
        lambda r: CrossEntropyLoss(weight=WEIGHT, ignore_index=3, reduction=r, label_smoothing=0.1),
    ],
    ids=["NLLLoss", "NLLLoss-weight", "CrossEntropyLoss", "CrossEntropyLoss-weight-label-smoothing"],
)
def test_every_row_ignored_gives_nan_mean_and_zero_gradient_as_torch(make, reduction):
    loss_fn = make(reduction)
    target = np.full(N, loss_fn.ignore_index)
    pred, upstream = logits(7), np.ones(N)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no 0/0 warning: the NaN is on purpose
        value, grad = run_minnet(loss_fn, pred, target, upstream)
    f = F.nll_loss if isinstance(loss_fn, NLLLoss) else F.cross_entropy
    options = {"weight": torch_weight(loss_fn.weight), "ignore_index": loss_fn.ignore_index, "reduction": reduction}
    if isinstance(loss_fn, CrossEntropyLoss):
        options["label_smoothing"] = loss_fn.label_smoothing
    value_t, grad_t = run_torch(f, pred, target, upstream, **options)
    if reduction == "mean":
        assert np.isnan(value)
        assert np.isnan(value_t)
    else:
        np.testing.assert_array_equal(value, value_t)
        assert np.all(value == 0)
    np.testing.assert_array_equal(grad, grad_t)
    assert np.all(grad == 0)


# -- −inf and ±1e4 logits -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["no-weight", "weight"])
def test_cross_entropy_is_finite_at_minus_inf_and_huge_logits_as_torch(weight, reduction):
    pred, target = logits(8), labels(-100, seed=9)
    pred[0, :] = [1e4, -1e4, 0.0, 1e6, -1e6]
    pred[0, target[0]] = 1e4
    for row in (2, 3, 5):  # a class ruled out in a row: −inf, never the label
        pred[row, (target[row] + 1) % C] = -np.inf
    pred[6, :] = -1e4  # every logit of the row at −1e4: the maximum subtracted leaves zeros
    pred[1, 0] = -np.inf  # in an ignored row, where its label would point (0, the ignored rows' stand-in)
    upstream = np.random.default_rng(10).standard_normal(N)
    loss_fn = CrossEntropyLoss(weight=weight, reduction=reduction)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no inf − inf, no 0 · inf (underflow is fine)
        ours = run_minnet(loss_fn, pred, target, upstream)
    assert np.all(np.isfinite(ours[0]))
    assert np.all(np.isfinite(ours[1]))
    theirs = run_torch(F.cross_entropy, pred, target, upstream, weight=torch_weight(weight), reduction=reduction)
    assert_matches_torch(ours, theirs)


def test_cross_entropy_with_probabilities_takes_zero_times_log_zero_as_zero():
    """A −inf logit of a class whose probability is 0: minnet gives the loss without that class (PyTorch: NaN)."""
    pred = np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, -np.inf]])
    target = np.array([[0.5, 0.0, 0.5], [0.25, 0.75, 0.0]])
    loss_fn = CrossEntropyLoss(reduction="none")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss_fn(pred, target)
        grad = loss_fn.backward()
    reference = CrossEntropyLoss(reduction="none")
    expected = [reference(pred[:1, [0, 2]], target[:1, [0, 2]])[0], reference(pred[1:, :2], target[1:, :2])[0]]
    np.testing.assert_allclose(value, expected, rtol=1e-15)
    assert np.all(np.isfinite(grad))
    assert grad[0, 1] == 0
    assert grad[1, 2] == 0
    assert torch.isnan(F.cross_entropy(torch.tensor(pred), torch.tensor(target), reduction="none")[0])  # torch's NaN


# -- integer class probabilities ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_an_integer_target_of_shape_n_c_is_refused_naming_the_loss(dtype):
    pred = logits()
    one_hot = np.eye(C, dtype=dtype)[labels(-100) % C]
    with pytest.raises(TypeError, match=rf"CrossEntropyLoss: a target of shape \(7, 5\) holds class probabilities "
                       rf"and must be floats, got dtype {np.dtype(dtype)}"):  # fmt: skip
        CrossEntropyLoss()(pred, one_hot)
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class probabilities"):
        F.cross_entropy(torch.tensor(pred), torch.tensor(np.eye(C, dtype=np.int64)[[0] * N]))  # torch refuses too
    assert np.isfinite(CrossEntropyLoss()(pred, one_hot.astype(np.float64)))  # float probabilities are taken


# -- MultiMarginLoss ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "margin", "weight", "reduction"),
    list(itertools.product((1, 2), (1.0, 0.3), (None, WEIGHT), REDUCTIONS)),
)
def test_multi_margin_loss_matches_torch(p, margin, weight, reduction):
    rng = np.random.default_rng(11)
    pred, target, upstream = rng.standard_normal((N, C)), rng.integers(0, C, N), rng.standard_normal(N)
    pred[0, :] = [1e4, -1e4, 0.0, 5.0, -5.0]
    loss_fn = MultiMarginLoss(p=p, margin=margin, weight=weight, reduction=reduction)
    ours = run_minnet(loss_fn, pred, target, upstream)
    theirs = run_torch(
        F.multi_margin_loss, pred, target, upstream, p=p, margin=margin, weight=torch_weight(weight),
        reduction=reduction,
    )  # fmt: skip
    assert_matches_torch(ours, theirs)


def test_multi_margin_loss_by_hand():
    """x = [0.1, 0.2, 0.4, 0.8], y = 3: the gaps 1 − 0.8 + x_c are 0.3, 0.4, 0.6; ℓ = 1.3/4, p = 2: 0.61/4."""
    x, y = np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3])
    assert MultiMarginLoss()(x, y) == pytest.approx(1.3 / 4, rel=1e-15)
    loss_fn = MultiMarginLoss(p=2, weight=[1.0, 1.0, 1.0, 2.0])
    assert loss_fn(x, y) == pytest.approx(2 * 0.61 / 4, rel=1e-14)
    np.testing.assert_allclose(loss_fn.backward(), [[0.3, 0.4, 0.6, -1.3]], rtol=1e-14)  # 2 · 2 h / 4 each


# -- arguments ------------------------------------------------------------------------------------------------------


def test_arguments_are_checked_and_shown():
    assert repr(CrossEntropyLoss()) == "CrossEntropyLoss(reduction='mean')"
    assert (
        repr(CrossEntropyLoss(weight=[1, 2], ignore_index=0, reduction="sum", label_smoothing=0.1))
        == "CrossEntropyLoss(reduction='sum', weight=[1.0, 2.0], ignore_index=0, label_smoothing=0.1)"
    )
    assert repr(MultiMarginLoss(p=2, margin=0.5)) == "MultiMarginLoss(reduction='mean', p=2, margin=0.5)"
    with pytest.raises(TypeError, match=r"CrossEntropyLoss: weight must be an array .*\(reduction='sum'\)"):
        CrossEntropyLoss("sum")  # minnet's old first argument
    with pytest.raises(ValueError, match=r"NLLLoss: weight must have shape \(C,\)"):
        NLLLoss(weight=[[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: label_smoothing must be a number in \[0, 1\], got 1.5"):
        CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="MultiMarginLoss: only p=1 and p=2 are supported, got 3"):
        MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="CrossEntropyLoss: weight has 4 entries but the input 5 classes"):
        CrossEntropyLoss(weight=WEIGHT[:4])(logits(), labels(-100))
    with pytest.raises(ValueError, match=r"NLLLoss: class labels must be in \[0, 4\] for 5 classes, got values "
                       r"from -1 to 3 \(or ignore_index=-100, a row not counted\)"):  # fmt: skip
        NLLLoss()(logits(), np.array([0, -1, 3, 3, 3, 3, 3]))
    assert CrossEntropyLoss(weight=[1, 2]).local_derivatives()["∂L/∂ℓ"].startswith("1/Σ_i w[y_i], the rows counted")
    assert CrossEntropyLoss().local_derivatives()["∂L/∂ℓ"] == "1/M, M the number of terms (mean)"
    weight = CrossEntropyLoss(weight=WEIGHT).weight
    assert not weight.flags.writeable  # a constant of the loss: nothing changes it after


def test_float32_predictions_use_the_weights_in_float32():
    pred, target = logits().astype(np.float32), labels(-100)
    loss_fn = CrossEntropyLoss(weight=WEIGHT, reduction="none", label_smoothing=0.1)
    assert loss_fn(pred, target).dtype == np.float32
    assert loss_fn.backward().dtype == np.float32
    pred_t = torch.tensor(pred, requires_grad=True)
    value_t = F.cross_entropy(
        pred_t, torch.tensor(target), weight=torch.tensor(WEIGHT, dtype=torch.float32), label_smoothing=0.1
    )
    value_t.backward()
    loss_fn = CrossEntropyLoss(weight=WEIGHT, label_smoothing=0.1)
    np.testing.assert_allclose(loss_fn(pred, target), value_t.item(), rtol=1e-5)
    np.testing.assert_allclose(loss_fn.backward(), pred_t.grad.numpy(), rtol=1e-5, atol=1e-6)
