"""Optimizers and learning-rate schedules against PyTorch's, step for step (needs torch)."""

import numpy as np
import pytest

import minnet
from minnet import SGD, Adagrad, Adam, AdamW, Parameter, RMSprop

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
    (Adagrad, {}),
    (Adagrad, {"lr": 0.1, "lr_decay": 0.05}),
    (Adagrad, {"lr": 0.1, "weight_decay": 0.2}),
    (Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-3}),
    (Adagrad, {"lr": 0.05, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.2, "eps": 1e-6}),
    (Adagrad, {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.1, "maximize": True}),
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
    ("MultiStepLR", {"milestones": [2, 5, 5, 11]}),
    ("MultiStepLR", {"milestones": [9, 3], "gamma": 0.5}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.6, "total_iters": 7}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 10}),
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


# ---- parameter groups: each group's own options, against PyTorch's optimizers with the same groups

SHAPES = [(3, 4), (4,), (2, 3)]


def _start(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in SHAPES], _gradients(rng, SHAPES)


def _grouped(params, group_options):
    """Group 0 holds the first parameter, group 1 the other two."""
    return [{"params": params[:1], **group_options[0]}, {"params": params[1:], **group_options[1]}]


def _set_gradients(ours, theirs, noise):
    for p, t, g in zip(ours, theirs, noise, strict=True):
        p.grad[...] = g + 0.3 * p.data
        t.grad = torch.from_numpy(g) + 0.3 * t.detach()


def _max_difference(ours, theirs):
    return max(float(np.max(np.abs(p.data - t.detach().numpy()))) for p, t in zip(ours, theirs, strict=True))


GROUP_CASES = [
    (SGD, {"lr": 0.1}, ({"weight_decay": 0.2}, {"lr": 0.02})),
    (SGD, {"lr": 0.1, "momentum": 0.9}, ({"lr": 0.05, "weight_decay": 0.1}, {"momentum": 0.5, "dampening": 0.3})),
    (SGD, {"lr": 0.1}, ({"momentum": 0.9, "nesterov": True}, {"maximize": True})),
    (Adam, {"lr": 0.01}, ({"weight_decay": 0.1}, {"lr": 0.03, "betas": (0.8, 0.99), "amsgrad": True})),
    (Adam, {"lr": 0.01, "weight_decay": 0.1}, ({"decoupled_weight_decay": True}, {"lr": 0.02, "eps": 1e-4})),
    (AdamW, {"lr": 0.01}, ({"weight_decay": 0.0}, {"weight_decay": 0.3, "lr": 0.02})),
    (AdamW, {"lr": 0.02, "weight_decay": 0.1}, ({"amsgrad": True}, {"maximize": True, "betas": (0.5, 0.9)})),
    (RMSprop, {"lr": 0.01}, ({"weight_decay": 0.2, "centered": True}, {"lr": 0.003, "momentum": 0.9})),
    (RMSprop, {"lr": 0.01, "alpha": 0.9}, ({"alpha": 0.5, "eps": 1e-4}, {"momentum": 0.5, "centered": True})),
    (Adagrad, {"lr": 0.1}, ({"lr_decay": 0.1, "weight_decay": 0.2}, {"lr": 0.05, "eps": 1e-3, "maximize": True})),
]


@pytest.mark.parametrize("case", GROUP_CASES, ids=[f"{c[0].__name__}{c[2]}" for c in GROUP_CASES])
def test_parameter_groups_trajectory_equals_pytorch(case):
    """Two groups with their own lr, weight_decay and other options; 20 steps to 1e-10."""
    cls, defaults, group_options = case
    start, noise = _start()
    ours = [Parameter(a) for a in start]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in start]
    opt = cls(_grouped(ours, group_options), **defaults)
    torch_opt = getattr(torch.optim, cls.__name__)(_grouped(theirs, group_options), **defaults)
    for step in range(STEPS):
        _set_gradients(ours, theirs, noise[step])
        opt.step()
        torch_opt.step()
        assert _max_difference(ours, theirs) <= TOLERANCE, step
    for i, t in enumerate(theirs):
        for name, array in opt.state[i].items():
            np.testing.assert_allclose(array, torch_opt.state[t][name].numpy(), rtol=0, atol=TOLERANCE)
    for ours_group, their_group in zip(opt.param_groups, torch_opt.param_groups, strict=True):
        for option in cls.hyperparameters:
            assert ours_group[option] == their_group[option], option


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop, Adagrad])
def test_add_param_group_mid_trajectory_equals_pytorch(cls):
    """A group added after 7 steps counts its own steps from 1 (Adam's bias correction, SGD's first buffer)."""
    start, noise = _start(1)
    ours = [Parameter(a) for a in start]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in start]
    defaults = {"lr": 0.05, "momentum": 0.9, "dampening": 0.4} if cls is SGD else {"lr": 0.05}
    opt = cls(ours[:1], **defaults)
    torch_opt = getattr(torch.optim, cls.__name__)(theirs[:1], **defaults)
    for step in range(STEPS):
        if step == 7:
            opt.add_param_group({"params": ours[1:], "lr": 0.02})
            torch_opt.add_param_group({"params": theirs[1:], "lr": 0.02})
        _set_gradients(ours, theirs, noise[step])
        opt.step()
        torch_opt.step()
        assert _max_difference(ours, theirs) <= TOLERANCE, step


def _lr_lists(name, kwargs, torch_kwargs=None, metrics=None, steps=STEPS):
    """Each group's rate at construction and after each of ``steps`` steps, ours and PyTorch's."""
    lrs = [0.5, 0.1, 0.02]
    params = [Parameter(np.zeros(1)) for _ in lrs]
    tensors = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in lrs]
    opt = SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)], lr=1.0, momentum=0.9)
    torch_opt = torch.optim.SGD(
        [{"params": [t], "lr": lr} for t, lr in zip(tensors, lrs, strict=True)], lr=1.0, momentum=0.9
    )
    ours = getattr(minnet.optim, name)(opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs, **(torch_kwargs or {}))
    mine, pytorch = [ours.get_last_lr()], [theirs.get_last_lr()]
    for step in range(steps):
        torch_opt.step()  # PyTorch warns when a schedule steps before its optimizer
        if metrics is None:
            ours.step()
            theirs.step()
        else:
            ours.step(metrics[step])
            theirs.step(metrics[step])
        mine.append(ours.get_last_lr())
        pytorch.append(theirs.get_last_lr())
        assert mine[-1] == [group["lr"] for group in opt.param_groups]
    return np.array(mine), np.array(pytorch, dtype=np.float64)


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULE_CASES, ids=[f"{n}{k}" for n, k in SCHEDULE_CASES])
def test_schedule_with_groups_equals_pytorch(name, kwargs):
    """Three groups of different rates: get_last_lr() is PyTorch's list, step for step."""
    mine, pytorch = _lr_lists(name, kwargs, steps=30)
    assert mine.shape == (31, 3)
    np.testing.assert_allclose(mine, pytorch, rtol=0, atol=TOLERANCE)


ONE_CYCLE_CASES = [
    {"max_lr": 1.0, "total_steps": STEPS},
    {"max_lr": [1.0, 0.3, 0.05], "total_steps": STEPS, "pct_start": 0.25, "anneal_strategy": "linear"},
    {"max_lr": 0.8, "epochs": 4, "steps_per_epoch": 5, "div_factor": 10.0, "final_div_factor": 100.0},
    {"max_lr": [1.0, 0.5, 0.1], "total_steps": STEPS, "three_phase": True},
    {"max_lr": 0.5, "total_steps": STEPS, "pct_start": 0.4, "three_phase": True, "anneal_strategy": "linear"},
]


@pytest.mark.parametrize("kwargs", ONE_CYCLE_CASES, ids=[str(k) for k in ONE_CYCLE_CASES])
def test_one_cycle_equals_pytorch(kwargs):
    """Every rate of the cycle (the momentum cycle: test_one_cycle_cycles_the_momentum_as_pytorch)."""
    mine, pytorch = _lr_lists("OneCycleLR", kwargs, {"cycle_momentum": False})
    np.testing.assert_allclose(mine, pytorch, rtol=0, atol=TOLERANCE)
    assert mine.max() > mine[0].max()  # it rose


PLATEAU_METRICS = [5.0, 4.0, 4.0, 3.9999, 4.1, 3.0, 3.0, 3.0, 3.0, 2.0, 2.5, 2.6, 2.7, 2.8, 2.9] + [1.0] * 5

PLATEAU_CASES = [
    {},
    {"patience": 1},
    {"patience": 2, "factor": 0.5, "cooldown": 2},
    {"mode": "max", "patience": 1, "factor": 0.5},
    {"patience": 0, "threshold": 0.1, "threshold_mode": "abs", "min_lr": [0.2, 0.01, 0.001]},
    {"patience": 0, "threshold": 0.3, "threshold_mode": "abs"},  # 5 → 4 is better by abs 0.3, not by rel 0.3
    {"mode": "max", "threshold_mode": "abs", "threshold": 0.5, "patience": 1, "min_lr": 0.05},
    {"patience": 0, "factor": 0.9, "eps": 0.01},
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES, ids=[str(k) for k in PLATEAU_CASES])
def test_reduce_on_plateau_equals_pytorch(kwargs):
    mine, pytorch = _lr_lists("ReduceLROnPlateau", kwargs, metrics=PLATEAU_METRICS)
    np.testing.assert_allclose(mine, pytorch, rtol=0, atol=TOLERANCE)


def test_parameter_groups_with_a_schedule_follow_pytorch():
    """Adam with two groups of different rates and weight decay, under a OneCycleLR stepped every step."""
    start, noise = _start(2)
    ours = [Parameter(a) for a in start]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in start]
    options = ({"weight_decay": 0.1}, {"lr": 0.001})
    opt = Adam(_grouped(ours, options), lr=0.01)
    torch_opt = torch.optim.Adam(_grouped(theirs, options), lr=0.01)
    schedule = minnet.optim.OneCycleLR(opt, max_lr=[0.05, 0.01], total_steps=STEPS, cycle_momentum=False)
    torch_schedule = torch.optim.lr_scheduler.OneCycleLR(torch_opt, [0.05, 0.01], STEPS, cycle_momentum=False)
    for step in range(STEPS):
        _set_gradients(ours, theirs, noise[step])
        opt.step()
        torch_opt.step()
        schedule.step()
        torch_schedule.step()
        assert _max_difference(ours, theirs) <= TOLERANCE, step


def test_clip_grad_value_equals_pytorch():
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(shape) * 2 for shape in SHAPES]
    ours = [Parameter(np.zeros(shape)) for shape in SHAPES]
    theirs = [torch.zeros(shape, dtype=torch.float64, requires_grad=True) for shape in SHAPES]
    for p, t, g in zip(ours, theirs, grads, strict=True):
        p.grad[...] = g
        t.grad = torch.from_numpy(g.copy())
    minnet.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
    assert any((np.abs(g) > 0.7).any() for g in grads)  # some were clipped


@pytest.mark.parametrize(
    ("name", "options", "kwargs"),
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9}, {}),
        ("SGD", {"lr": 0.1}, {"three_phase": True}),  # no momentum at first: the cycle sets it, as PyTorch's
        ("Adam", {"lr": 0.01}, {"base_momentum": 0.8, "max_momentum": 0.9}),
        ("RMSprop", {"lr": 0.01, "momentum": 0.5}, {"anneal_strategy": "linear"}),
    ],
)
def test_one_cycle_cycles_the_momentum_as_pytorch(name, options, kwargs):
    """PyTorch's default, cycle_momentum=True: the weights after every step and the momentum (β₁) of each step."""
    start, noise = _start(2)
    ours = [Parameter(a) for a in start]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in start]
    opt = getattr(minnet, name)(ours, **options)
    torch_opt = getattr(torch.optim, name)(theirs, **options)
    schedule = minnet.optim.OneCycleLR(opt, max_lr=0.05, total_steps=STEPS, **kwargs)
    torch_schedule = torch.optim.lr_scheduler.OneCycleLR(torch_opt, 0.05, STEPS, **kwargs)
    key = "betas" if name == "Adam" else "momentum"
    seen = set()
    for step in range(STEPS):
        assert opt.param_groups[0][key] == pytest.approx(torch_opt.param_groups[0][key], abs=1e-15), step
        seen.add(str(opt.param_groups[0][key]))
        _set_gradients(ours, theirs, noise[step])
        opt.step()
        torch_opt.step()
        schedule.step()
        torch_schedule.step()
        assert _max_difference(ours, theirs) <= TOLERANCE, step
    assert len(seen) > 5  # it cycled


def test_one_cycle_without_momentum_to_cycle_needs_cycle_momentum_false():
    opt = minnet.Adagrad([Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas"):
        minnet.optim.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    minnet.optim.OneCycleLR(opt, max_lr=0.1, total_steps=5, cycle_momentum=False)
