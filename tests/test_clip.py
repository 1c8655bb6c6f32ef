"""clip_grad_norm_ against torch.nn.utils.clip_grad_norm_, its errors, and fit's clip_grad_norm."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minnet
from minnet import SGD, Linear, MSELoss, Parameter, Sequential, Tanh, clip_grad_norm_, fit


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="compares with PyTorch; install the test extra (torch==2.13.0 CPU)")


def parameters_with_gradients(dtype=np.float64, seed=0):
    """Three parameters of different shapes, gradients drawn with different scales."""
    rng = np.random.default_rng(seed)
    params = [Parameter(np.zeros(shape), dtype) for shape in [(3, 4), (4,), (2, 3, 2)]]
    for scale, param in zip([1.0, 5.0, 0.1], params, strict=True):
        param.grad[...] = scale * rng.standard_normal(param.shape)
    return params


def clipped_by_torch(torch, params, max_norm, norm_type, **kwargs):
    """torch's total norm and clipped gradients, from copies of the gradients of ``params``."""
    tensors = [torch.zeros(p.shape, dtype=getattr(torch, p.dtype.name), requires_grad=True) for p in params]
    for tensor, param in zip(tensors, params, strict=True):
        tensor.grad = torch.tensor(param.grad.copy())
    total = torch.nn.utils.clip_grad_norm_(tensors, max_norm, norm_type=norm_type, **kwargs)
    return float(total), [tensor.grad.numpy() for tensor in tensors]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3, 0.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6], ids=["below-the-total", "above-the-total"])
def test_against_torch(torch, norm_type, max_norm, dtype):
    params = parameters_with_gradients(dtype)
    before = [p.grad.copy() for p in params]
    grads = [p.grad for p in params]
    their_total, their_grads = clipped_by_torch(torch, params, max_norm, norm_type)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert total == pytest.approx(their_total, rel=rtol)
    for param, grad, theirs, old in zip(params, grads, their_grads, before, strict=True):
        assert param.grad is grad  # in place
        assert param.grad.dtype == dtype
        np.testing.assert_allclose(param.grad, theirs, rtol=rtol, atol=1e-12)
        if max_norm > total:
            np.testing.assert_array_equal(param.grad, old)  # left alone
    if max_norm < total:  # the clipped total is max_norm, up to the 1e-6
        assert clip_grad_norm_(params, max_norm, norm_type=norm_type) == pytest.approx(max_norm, rel=1e-5)


def test_one_parameter_a_generator_and_none():
    p = Parameter(np.zeros(2))
    p.grad[:] = [3.0, 4.0]
    assert clip_grad_norm_(p, 10.0) == 5.0
    assert clip_grad_norm_((q for q in [p]), 1.0) == 5.0
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-5)
    assert clip_grad_norm_([], 1.0) == 0.0
    with pytest.raises(TypeError, match="clip_grad_norm_: parameters must be minnet Parameters, got ndarray"):
        clip_grad_norm_([np.ones(2)], 1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_a_nonfinite_total_as_torch(torch, bad, norm_type):
    """error_if_nonfinite=False: scaled by it as torch does (NaN or 0 · inf); True: an error, nothing changed."""
    params = parameters_with_gradients()
    params[1].grad[2] = bad
    before = [p.grad.copy() for p in params]
    their_total, their_grads = clipped_by_torch(torch, params, 1.0, norm_type)
    total = clip_grad_norm_(params, 1.0, norm_type=norm_type)
    np.testing.assert_equal(total, their_total)
    for param, theirs in zip(params, their_grads, strict=True):
        np.testing.assert_array_equal(param.grad, theirs)  # NaN where torch has NaN
    for param, old in zip(params, before, strict=True):
        param.grad[...] = old
    with pytest.raises(RuntimeError, match="non-finite"):  # torch's own
        clipped_by_torch(torch, params, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total norm of order .* is (nan|inf)"):
        clip_grad_norm_(params, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    for param, old in zip(params, before, strict=True):
        np.testing.assert_array_equal(param.grad, old)


def test_exported_from_minnet_and_optim():
    assert minnet.clip_grad_norm_ is minnet.optim.clip_grad_norm_ is clip_grad_norm_


# -- fit(clip_grad_norm=...) ----------------------------------------------------------------------------------------


class _Recorder(SGD):
    """SGD that records the total 2-norm of the gradients it steps with."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.norms = []

    def step(self):
        self.norms.append(math.sqrt(sum(float((p.grad**2).sum()) for p in self.params)))
        super().step()


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 3))
    return X, 10 * X @ rng.standard_normal((3, 2))  # large targets: large gradients


def test_fit_clips_before_each_step():
    X, Y = _data()
    model = Sequential(Linear(3, 8, rng=0), Tanh(), Linear(8, 2, rng=1))
    optimizer = _Recorder(model.parameters(), lr=0.01)
    fit(model, MSELoss(), optimizer, X, Y, epochs=3, batch_size=8, rng=0, progress=False, clip_grad_norm=0.5)
    assert len(optimizer.norms) == 12
    assert max(optimizer.norms) <= 0.5


def test_fit_without_clip_grad_norm_steps_with_the_gradients_as_they_are():
    X, Y = _data()
    model = Sequential(Linear(3, 8, rng=0), Tanh(), Linear(8, 2, rng=1))
    optimizer = _Recorder(model.parameters(), lr=0.01)
    fit(model, MSELoss(), optimizer, X, Y, epochs=1, batch_size=8, rng=0, progress=False)
    assert max(optimizer.norms) > 0.5  # so the test above did clip


@pytest.mark.parametrize("bad", [0, -1.0, "1"])
def test_fit_refuses_a_clip_grad_norm_that_is_not_a_positive_number(bad):
    X, Y = _data()
    model = Sequential(Linear(3, 2, rng=0))
    with pytest.raises(ValueError, match="fit: clip_grad_norm must be a positive number"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), X, Y, epochs=1, progress=False, clip_grad_norm=bad)
