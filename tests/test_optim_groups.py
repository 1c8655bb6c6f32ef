"""Parameter groups, their state dicts and errors; Adagrad, clip_grad_value_ and the schedules without PyTorch."""

import numpy as np
import pytest

import minnet
from minnet import SGD, Adagrad, Adam, AdamW, Linear, LoadError, MSELoss, Parameter, RMSprop, Sequential
from minnet.optim import LinearLR, MultiStepLR, OneCycleLR, ReduceLROnPlateau, StepLR

OPTIMIZERS = [
    (SGD, {"lr": 0.1, "momentum": 0.9}, ({"weight_decay": 0.1}, {"lr": 0.02, "dampening": 0.2})),
    (Adam, {"lr": 0.01}, ({"weight_decay": 0.1}, {"lr": 0.03, "amsgrad": True})),
    (AdamW, {"lr": 0.01}, ({"weight_decay": 0.0}, {"weight_decay": 0.3})),
    (RMSprop, {"lr": 0.01}, ({"centered": True}, {"lr": 0.003, "momentum": 0.9})),
    (Adagrad, {"lr": 0.1}, ({"lr_decay": 0.1}, {"initial_accumulator_value": 0.5})),
]
IDS = [case[0].__name__ for case in OPTIMIZERS]


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(shape)) for shape in [(3, 4), (4,), (2, 3)]]


def _groups(params, options):
    return [{"params": params[:1], **options[0]}, {"params": params[1:], **options[1]}]


def _steps(opt, params, rng, count):
    for _ in range(count):
        for p in params:
            p.grad[...] = rng.standard_normal(p.data.shape) + 0.3 * p.data
        opt.step()


def test_groups_take_the_constructors_options_where_they_give_none():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(3))
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.5, "weight_decay": 0.1}], lr=0.1, momentum=0.9)
    first, second = opt.param_groups
    assert first == {
        "params": [a],
        "lr": 0.1,
        "momentum": 0.9,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
        "maximize": False,
    }
    assert (second["params"], second["lr"], second["weight_decay"]) == ([b], 0.5, 0.1)
    assert second["momentum"] == 0.9
    assert opt.defaults["lr"] == 0.1
    assert opt.params == [a, b]
    assert (opt.lr, opt.momentum) == (0.1, 0.9)  # the first group's, as before groups


def test_each_group_steps_with_its_own_options():
    """Plain SGD: the update of each parameter is its group's lr and weight_decay, by hand."""
    a, b = Parameter(np.array([1.0])), Parameter(np.array([1.0]))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "weight_decay": 1.0}], lr=0.1)
    a.grad[...] = b.grad[...] = 2.0
    opt.step()
    np.testing.assert_allclose(a.data, [1.0 - 0.1 * 2.0], rtol=1e-15)
    np.testing.assert_allclose(b.data, [1.0 - 0.5 * (2.0 + 1.0)], rtol=1e-15)
    opt.param_groups[1]["lr"] = 0.0  # writable: the next step reads it
    opt.step()
    np.testing.assert_allclose(b.data, [-0.5], rtol=1e-15)


def test_weight_decay_on_weights_only():
    """The usual use: decay the weight matrices, not the biases."""
    layer = Linear(3, 2, rng=0)
    decay = [p for name, p in layer.named_parameters() if name.endswith("weight")]
    no_decay = [p for name, p in layer.named_parameters() if not name.endswith("weight")]
    opt = AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=0.1)
    before = {name: p.data.copy() for name, p in layer.named_parameters()}
    opt.zero_grad()
    opt.step()  # zero gradients: only the decay moves a parameter
    after = dict(layer.named_parameters())
    np.testing.assert_allclose(after["weight"].data, before["weight"] * (1 - 0.1 * 0.1), rtol=1e-15)
    np.testing.assert_array_equal(after["bias"].data, before["bias"])


def test_setting_lr_needs_a_single_group():
    p, q = Parameter([1.0]), Parameter([2.0])
    opt = SGD([p, q], lr=0.1)
    opt.lr = 0.2
    assert opt.param_groups[0]["lr"] == 0.2
    grouped = SGD([{"params": [p]}, {"params": [q]}], lr=0.1)
    with pytest.raises(AttributeError, match=r"SGD.*2 parameter groups.*param_groups\[i\]\[\"lr\"\]"):
        grouped.lr = 0.2
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = grouped.nope


@pytest.mark.parametrize(("cls", "defaults", "options"), OPTIMIZERS, ids=IDS)
def test_a_parameter_in_two_groups_is_refused(cls, defaults, options):
    p, q = Parameter(np.zeros((2, 5))), Parameter([1.0])
    with pytest.raises(
        ValueError,
        match=rf"{cls.__name__}: param_groups\[1\]\['params'\]\[1\] is the same Parameter as "
        r"param_groups\[0\]\['params'\]\[0\] \(a Parameter of shape \(2, 5\)\)",
    ):
        cls([{"params": [p]}, {"params": [q, p]}], **defaults)
    opt = cls([p], **defaults)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: param_groups\[1\]\['params'\]\[0\] is the same"):
        opt.add_param_group({"params": [p]})
    assert (len(opt.param_groups), len(opt.state)) == (1, 1)  # nothing half-added


@pytest.mark.parametrize(("cls", "defaults", "options"), OPTIMIZERS, ids=IDS)
def test_an_unknown_option_is_refused(cls, defaults, options):
    with pytest.raises(
        ValueError, match=rf"{cls.__name__}: param_groups\[0\] has the unknown option\(s\) \['learning_rate'\]"
    ):
        cls([{"params": [Parameter([1.0])], "learning_rate": 0.1}], **defaults)


def test_bad_groups_are_refused_with_the_argument_named():
    p, q = Parameter([1.0]), Parameter([2.0])
    with pytest.raises(ValueError, match=r"SGD: param_groups\[1\] lr must be a finite number >= 0, got -1"):
        SGD([{"params": [p]}, {"params": [q], "lr": -1}], lr=0.1)
    with pytest.raises(ValueError, match=r"Adam: param_groups\[0\] betas must be two numbers"):
        Adam([{"params": [p], "betas": (0.9, 1.5)}])
    with pytest.raises(ValueError, match=r"RMSprop: param_groups\[1\] momentum must be a finite number >= 0"):
        RMSprop([{"params": [p]}, {"params": [q], "momentum": -0.1}])
    with pytest.raises(ValueError, match=r"SGD: param_groups\[0\] nesterov momentum needs momentum > 0"):
        SGD([{"params": [p], "nesterov": True}], lr=0.1)
    with pytest.raises(ValueError, match=r"Adagrad: param_groups\[0\] lr_decay must be a finite number >= 0"):
        Adagrad([{"params": [p], "lr_decay": -1.0}])
    with pytest.raises(ValueError, match=r"AdamW: param_groups\[0\] has the unknown option.*decoupled_weight_decay"):
        AdamW([{"params": [p], "decoupled_weight_decay": False}])
    with pytest.raises(ValueError, match=r"SGD: param_groups\[0\] has no 'params'"):
        SGD([{"lr": 0.1}], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: param_groups\[0\]\['params'\] is empty"):
        SGD([{"params": []}], lr=0.1)
    with pytest.raises(TypeError, match="mixes parameter groups"):
        SGD([p, {"params": [q]}], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD: param_groups\[0\]\['params'\]\[0\] is a ndarray"):
        SGD([{"params": [np.zeros(2)]}], lr=0.1)


@pytest.mark.parametrize(("cls", "defaults", "options"), OPTIMIZERS, ids=IDS)
def test_state_dict_round_trip_mid_trajectory_continues_identically(cls, defaults, options):
    params, copies = _params(), _params()
    opt = cls(_groups(params, options), **defaults)
    _steps(opt, params, np.random.default_rng(1), 6)
    opt.param_groups[1]["lr"] *= 0.5  # as a schedule would: the options are saved too
    opt.add_param_group({"params": [extra := Parameter(np.ones(2))], "lr": 0.07})
    _steps(opt, [*params, extra], np.random.default_rng(2), 4)
    state = opt.state_dict()
    # a fresh optimizer of the same groups, its options other than the state's
    resumed = cls(_groups(copies, options), **{**defaults, "lr": 0.9})
    resumed.add_param_group({"params": [extra_copy := Parameter(np.zeros(2))]})
    for p, c in zip([*params, extra], [*copies, extra_copy], strict=True):
        c.data[...] = p.data
    resumed.load_state_dict(state)
    assert [{k: v for k, v in g.items() if k != "params"} for g in resumed.param_groups] == [
        {k: v for k, v in g.items() if k != "params"} for g in opt.param_groups
    ]
    assert resumed.step_count == opt.step_count == 10
    _steps(opt, [*params, extra], np.random.default_rng(3), 10)
    _steps(resumed, [*copies, extra_copy], np.random.default_rng(3), 10)
    for p, c in zip([*params, extra], [*copies, extra_copy], strict=True):
        np.testing.assert_array_equal(c.data, p.data)


def test_one_group_keeps_the_state_dict_keys_of_before_groups():
    p = Parameter(np.zeros(3))
    assert list(SGD([p], lr=0.1, momentum=0.9).state_dict()) == [
        "lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "step", "state.0.momentum_buffer",
    ]  # fmt: skip
    assert list(Adagrad([p]).state_dict()) == [
        "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize", "step", "state.0.sum",
    ]  # fmt: skip
    two = SGD([{"params": [p]}, {"params": [Parameter(np.zeros(2)), Parameter(np.zeros(1))], "lr": 0.5}], lr=0.1)
    state = two.state_dict()
    assert [key for key in state if key.startswith("param_groups.")] == [
        "param_groups.1.lr", "param_groups.1.momentum", "param_groups.1.dampening", "param_groups.1.weight_decay",
        "param_groups.1.nesterov", "param_groups.1.maximize", "param_groups.1.step", "param_groups.1.params",
    ]  # fmt: skip
    assert state["param_groups.1.params"].tolist() == [1, 2]
    assert state["param_groups.1.lr"] == 0.5


def test_a_state_dict_from_before_groups_still_loads():
    """The flat dict minnet wrote before parameter groups (written out here by hand) loads and resumes."""
    p = Parameter(np.array([1.0, 2.0]))
    old = {
        "lr": np.array(0.05),
        "betas": np.array([0.8, 0.9]),
        "eps": np.array(1e-8),
        "weight_decay": np.array(0.0),
        "amsgrad": np.array(False),
        "maximize": np.array(False),
        "decoupled_weight_decay": np.array(False),
        "step": np.array(3, dtype=np.int64),
        "state.0.exp_avg": np.array([0.1, -0.2]),
        "state.0.exp_avg_sq": np.array([0.01, 0.04]),
    }
    opt = Adam([p])
    opt.load_state_dict(old)
    assert (opt.lr, opt.param_groups[0]["betas"], opt.step_count) == (0.05, (0.8, 0.9), 3)
    p.grad[...] = [1.0, 1.0]
    opt.step()  # the fourth step: bias corrections of t = 4
    m = 0.8 * np.array([0.1, -0.2]) + 0.2
    v = 0.9 * np.array([0.01, 0.04]) + 0.1
    expected = np.array([1.0, 2.0]) - 0.05 / (1 - 0.8**4) * m / (np.sqrt(v) / np.sqrt(1 - 0.9**4) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-14)


def test_loading_into_other_groups_is_refused():
    a, b, c = Parameter(np.zeros(2)), Parameter(np.zeros(2)), Parameter(np.zeros(2))
    state = SGD([{"params": [a]}, {"params": [b, c]}], lr=0.1).state_dict()
    with pytest.raises(LoadError, match="unexpected key"):
        SGD([a, b, c], lr=0.1).load_state_dict(state)
    other = SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1)
    with pytest.raises(LoadError, match=r"param_groups\.1\.params"):
        other.load_state_dict(state)
    assert other.param_groups[1]["params"] == [c]
    plain = SGD([{"params": [a]}, {"params": [b]}], lr=0.1).state_dict()  # no state arrays: only the indices differ
    with pytest.raises(LoadError, match=r"SGD: 'param_groups\.1\.params' holds the parameters \[1\], .* has \[2\]"):
        SGD([{"params": [a, c]}, {"params": [b]}], lr=0.1).load_state_dict(plain)


def test_adagrad_by_hand_and_each_groups_initial_accumulator():
    p, q = Parameter(np.array([1.0])), Parameter(np.array([1.0]))
    opt = Adagrad([{"params": [p]}, {"params": [q], "initial_accumulator_value": 5.0}], lr=0.5, lr_decay=1.0, eps=0.0)
    p.grad[...] = q.grad[...] = 2.0
    opt.step()  # s = 4 and 9; clr = 0.5
    np.testing.assert_allclose([p.data[0], q.data[0]], [1.0 - 0.5 * 2 / 2, 1.0 - 0.5 * 2 / 3], rtol=1e-15)
    opt.step()  # s = 8 and 13; clr = 0.5 / 2
    np.testing.assert_allclose(p.data, [0.5 - 0.25 * 2 / np.sqrt(8)], rtol=1e-15)
    np.testing.assert_allclose(q.data, [1.0 - 1 / 3 - 0.25 * 2 / np.sqrt(13)], rtol=1e-15)
    with pytest.raises(ValueError, match="Adagrad: initial_accumulator_value must be a finite number >= 0"):
        Adagrad([p], initial_accumulator_value=-1.0)


def test_clip_grad_value():
    p, q = Parameter(np.zeros(3)), Parameter(np.zeros((2, 2)))
    p.grad[...] = [-3.0, 0.5, np.nan]
    q.grad[...] = [[2.0, -0.1], [1.0, -1.0]]
    assert minnet.clip_grad_value_([p, q], clip_value=1.0) is None
    np.testing.assert_array_equal(p.grad, [-1.0, 0.5, np.nan])
    np.testing.assert_array_equal(q.grad, [[1.0, -0.1], [1.0, -1.0]])
    minnet.clip_grad_value_(p, 0.25)  # one Parameter
    np.testing.assert_array_equal(p.grad, [-0.25, 0.25, np.nan])
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value must be a number >= 0, got -1"):
        minnet.clip_grad_value_([p], -1)
    with pytest.raises(TypeError, match="clip_grad_value_: parameters must be minnet Parameters"):
        minnet.clip_grad_value_([np.zeros(2)], 1.0)


def test_schedules_set_every_group_and_return_lists():
    p, q = Parameter([0.0]), Parameter([0.0])
    opt = SGD([{"params": [p]}, {"params": [q], "lr": 0.1}], lr=1.0)
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    assert schedule.get_last_lr() == schedule.base_lrs == [1.0, 0.1]
    schedule.step()
    assert schedule.get_last_lr() == [0.5, 0.05] == [g["lr"] for g in opt.param_groups]


def test_schedule_state_dicts_round_trip_and_the_old_format_loads():
    opt = SGD([{"params": [Parameter([0.0])]}, {"params": [Parameter([0.0])], "lr": 0.1}], lr=1.0)
    schedule = MultiStepLR(opt, milestones=[4, 2], gamma=0.5)
    for _ in range(3):
        schedule.step()
    other = MultiStepLR(SGD([{"params": [Parameter([0.0])]}, {"params": [Parameter([0.0])]}], lr=1.0), [7, 8])
    other.load_state_dict(schedule.state_dict())
    assert (other.milestones, other.last_epoch, other.base_lrs) == ((2, 4), 3, [1.0, 0.1])
    plateau = ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.01])
    plateau.step(1.0)
    plateau.step(2.0)
    again = ReduceLROnPlateau(opt)
    again.load_state_dict(plateau.state_dict())
    assert (again.best, again.patience, again.min_lrs, again.last_epoch) == (1.0, 0, [0.0, 0.01], 2)
    # a schedule's state from before groups: a float base_lr
    old = {"last_epoch": np.array(3), "base_lr": np.array(0.5), "step_size": np.array(2), "gamma": np.array(0.1)}
    resumed = StepLR(SGD([Parameter([0.0])], lr=0.5), step_size=7)
    resumed.load_state_dict(old)
    assert (resumed.last_epoch, resumed.base_lrs, resumed.base_lr, resumed.step_size) == (3, [0.5], 0.5, 2)


def test_linear_and_one_cycle_set_their_first_rate_and_check_arguments():
    opt = SGD([Parameter([0.0])], lr=0.9)
    LinearLR(opt, start_factor=0.5)
    assert opt.lr == 0.45
    OneCycleLR(opt, max_lr=2.0, total_steps=4)
    assert abs(opt.lr - 2.0 / 25) < 1e-15  # the half cosine at its start
    with pytest.raises(ValueError, match="LinearLR: start_factor must be a number in"):
        LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps, or epochs and steps_per_epoch"):
        OneCycleLR(opt, max_lr=1.0, epochs=3)
    with pytest.raises(ValueError, match=r"OneCycleLR: expected 1 values of max_lr \(one per parameter group\)"):
        OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=4)
    cycle = OneCycleLR(opt, max_lr=1.0, total_steps=2)
    cycle.step()
    cycle.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 3 times, past the total_steps=2"):
        cycle.step()
    with pytest.raises(ValueError, match="MultiStepLR: milestones must be whole numbers"):
        MultiStepLR(opt, milestones=[1.5])


def test_reduce_on_plateau_checks_its_arguments():
    opt = SGD([Parameter([0.0])], lr=1.0)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: factor must be a number in \[0, 1\)"):
        ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode must be 'min' or 'max'"):
        ReduceLROnPlateau(opt, mode="lowest")
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau: step\(metrics\) takes the watched value"):
        ReduceLROnPlateau(opt).step(None)


class _Watched(ReduceLROnPlateau):
    """A ReduceLROnPlateau that records the values it is stepped with."""

    def step(self, metrics):
        self.seen = [*getattr(self, "seen", []), metrics]
        super().step(metrics)


@pytest.mark.parametrize("validation", [True, False])
def test_fit_steps_reduce_on_plateau_with_val_loss_or_loss(validation):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 2))
    Y = X @ np.array([[1.0], [-2.0]])
    model = Sequential(Linear(2, 1, rng=0))
    opt = SGD(model.parameters(), lr=0.05)
    schedule = _Watched(opt, patience=0, factor=0.5, threshold=10.0)  # better is below best·(1 − 10): never
    history = minnet.fit(
        model, MSELoss(), opt, X, Y, epochs=4, rng=0, progress=False, scheduler=schedule,
        validation_data=(X[:8], Y[:8]) if validation else None,
    )  # fmt: skip
    key = "val_loss" if validation else "loss"
    assert schedule.seen == history.history[key]
    assert history.history["lr"] == [0.05, 0.025, 0.0125, 0.00625]  # halved after every epoch
    assert opt.lr == 0.003125
