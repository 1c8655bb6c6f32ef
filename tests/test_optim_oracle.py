"""Optimizers and learning-rate schedules against PyTorch's, step for step (needs torch)."""

import numpy as np
import pytest

import minnet
from minnet import SGD, Adam, AdamW, Parameter, RMSprop

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.oracle

STEPS = 20
TOLERANCE = 1e-10

OPTIMIZER_CASES = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.1, "momentum": 0.9}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (SGD, {"lr": 0.1, "weight_decay": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.2}),
    (SGD, {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.2, "nesterov": True, "maximize": True}),
    (Adam, {}),
    (Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
    (Adam, {"lr": 0.01, "weight_decay": 0.1}),
    (Adam, {"lr": 0.01, "amsgrad": True}),
    (Adam, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    (Adam, {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    (AdamW, {}),
    (AdamW, {"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-4, "weight_decay": 0.3}),
    (AdamW, {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}),
    (AdamW, {"lr": 0.02, "maximize": True}),
    (RMSprop, {}),
    (RMSprop, {"lr": 0.005, "alpha": 0.9, "eps": 1e-6}),
    (RMSprop, {"lr": 0.005, "weight_decay": 0.1}),
    (RMSprop, {"lr": 0.005, "momentum": 0.9}),
    (RMSprop, {"lr": 0.005, "centered": True}),
    (RMSprop, {"lr": 0.005, "alpha": 0.95, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    (RMSprop, {"lr": 0.005, "maximize": True, "momentum": 0.3}),
]


def _case_id(case):
    cls, kwargs = case
    return cls.__name__ + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def _gradients(rng, shapes):
    """A fixed random part for each step; the full gradient also depends on the
    parameters (g = G_t + 0.3 p), so a wrong step changes every later gradient."""
    return [[rng.standard_normal(shape) for shape in shapes] for _ in range(STEPS)]


def _run_both(cls, kwargs, scheduler=None):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,)]
    start = [rng.standard_normal(shape) for shape in shapes]
    noise = _gradients(rng, shapes)
    ours = [Parameter(a) for a in start]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in start]
    opt = cls(ours, **kwargs)
    torch_opt = getattr(torch.optim, cls.__name__)(theirs, **kwargs)
    schedules = None
    if scheduler is not None:
        name, schedule_kwargs = scheduler
        schedules = (
            getattr(minnet.optim, name)(opt, **schedule_kwargs),
            getattr(torch.optim.lr_scheduler, name)(torch_opt, **schedule_kwargs),
        )
    for step in range(STEPS):
        for p, t, g in zip(ours, theirs, noise[step], strict=True):
            p.grad[...] = g + 0.3 * p.data
            t.grad = torch.from_numpy(g) + 0.3 * t.detach()
        opt.step()
        torch_opt.step()
        if schedules is not None:
            schedules[0].step()
            schedules[1].step()
        for p, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=0, atol=TOLERANCE, err_msg=f"step {step}")
    return opt, torch_opt, ours, theirs


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=[_case_id(c) for c in OPTIMIZER_CASES])
def test_trajectory_equals_pytorch(case):
    cls, kwargs = case
    opt, torch_opt, ours, theirs = _run_both(cls, kwargs)
    # the kept state (moments, buffers) equals PyTorch's too
    for i, t in enumerate(theirs):
        for name, array in opt.state[i].items():
            np.testing.assert_allclose(array, torch_opt.state[t][name].numpy(), rtol=0, atol=TOLERANCE)
    # and the parameters moved: the test would see a no-op optimizer
    assert not np.allclose(ours[0].data, np.random.default_rng(0).standard_normal((3, 4)))


SCHEDULE_CASES = [
    ("StepLR", {"step_size": 3}),
    ("StepLR", {"step_size": 2, "gamma": 0.7}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7}),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}),
]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULE_CASES, ids=[f"{n}{k}" for n, k in SCHEDULE_CASES])
def test_schedule_equals_pytorch(name, kwargs):
    """Learning rates over 30 epochs (past T_max, where the cosine turns back up)."""
    opt = SGD([Parameter(np.zeros(1))], lr=0.5)
    torch_opt = torch.optim.SGD([torch.zeros(1, dtype=torch.float64, requires_grad=True)], lr=0.5)
    ours = getattr(minnet.optim, name)(opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    for epoch in range(30):
        torch_opt.step()  # PyTorch warns when a schedule steps before its optimizer
        ours.step()
        theirs.step()
        assert abs(opt.lr - theirs.get_last_lr()[0]) <= TOLERANCE, (epoch, opt.lr, theirs.get_last_lr()[0])
        assert ours.get_last_lr() == [opt.lr]


@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop])
def test_trajectory_with_a_schedule_equals_pytorch(cls):
    _run_both(
        cls, {"lr": 0.05, "momentum": 0.9} if cls is not Adam else {"lr": 0.05}, ("CosineAnnealingLR", {"T_max": 6})
    )
    _run_both(cls, {"lr": 0.05}, ("StepLR", {"step_size": 4, "gamma": 0.5}))


def test_float32_parameters_stay_float32_and_follow_pytorch():
    """A float32 model is updated in float32 (to float32 precision of PyTorch's)."""
    rng = np.random.default_rng(1)
    start = rng.standard_normal((5,)).astype(np.float32)
    ours = Parameter(start)
    theirs = torch.tensor(start, requires_grad=True)
    opt, torch_opt = Adam([ours], lr=0.01), torch.optim.Adam([theirs], lr=0.01)
    for _ in range(STEPS):
        g = rng.standard_normal(5).astype(np.float32)
        ours.grad[...] = g
        theirs.grad = torch.from_numpy(g)
        opt.step()
        torch_opt.step()
    assert ours.data.dtype == np.float32
    assert opt.state[0]["exp_avg"].dtype == np.float32
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
