"""SGD."""

import numpy as np
import pytest

from minnet import SGD, Linear, Parameter


def test_plain_step():
    p = Parameter(np.array([1.0, -2.0]))
    p.grad[...] = [0.5, 1.0]
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.1], rtol=1e-15)


def test_momentum_nesterov_weight_decay_by_hand():
    p = Parameter(np.array([1.0]))
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)
    p.grad[...] = 1.0
    opt.step()  # g = 1 + 0.1*1 = 1.1; b = 1.1; g = 1.1 + 0.9*1.1 = 2.09; p = 1 - 0.209
    np.testing.assert_allclose(p.data, [0.791], rtol=1e-14)
    opt.step()  # g = 1 + 0.0791 = 1.0791; b = 0.9*1.1 + 1.0791 = 2.0691; g = 1.0791 + 0.9*2.0691
    np.testing.assert_allclose(p.data, [0.791 - 0.1 * (1.0791 + 0.9 * 2.0691)], rtol=1e-14)


def test_zero_grad():
    layer = Linear(2, 2, rng=0)
    opt = SGD(layer.parameters(), lr=0.1)
    for p in layer.parameters():
        p.grad += 1
    opt.zero_grad()
    assert all(not p.grad.any() for p in layer.parameters())


def test_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        SGD([Parameter([1.0])], lr=-1)
    with pytest.raises(TypeError, match="Parameter"):
        SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([Parameter([1.0])], lr=0.1, nesterov=True)


def test_new_optimizers_check_their_arguments():
    from minnet import Adam, AdamW, RMSprop

    p = [Parameter([1.0])]
    with pytest.raises(ValueError, match="betas"):
        Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="eps"):
        AdamW(p, eps=-1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        Adam(p, weight_decay=-0.1)
    with pytest.raises(ValueError, match="alpha"):
        RMSprop(p, alpha=-0.5)
    with pytest.raises(ValueError, match="momentum"):
        RMSprop(p, momentum=-0.5)
    assert repr(RMSprop(p, centered=True)).startswith("RMSprop(lr=0.01, alpha=0.99, eps=1e-08")


def test_schedules_check_their_arguments():
    from minnet.optim import CosineAnnealingLR, StepLR

    opt = SGD([Parameter([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(TypeError, match="Optimizer"):
        StepLR(object(), step_size=1)
    assert repr(StepLR(opt, step_size=3)) == "StepLR(step_size=3, gamma=0.1, last_epoch=0)"


def test_state_arrays_follow_the_parameter_dtype():
    from minnet import Adam

    p = Parameter(np.ones(3, dtype=np.float32))
    opt = Adam([p], lr=0.1)
    p.grad[...] = 1.0
    opt.step()
    assert p.data.dtype == np.float32
    assert opt.state[0]["exp_avg_sq"].dtype == np.float32


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_a_parameter_given_twice_is_refused(name):
    """Stepping a repeated parameter would apply its update twice per step()."""
    import minnet

    cls = getattr(minnet, name)
    p, q = Parameter([1.0]), Parameter([2.0])
    with pytest.raises(ValueError, match=r"params\[2\] is the same Parameter as params\[0\]"):
        cls([p, q, p], lr=0.1)
    layer = Linear(2, 2, rng=0)
    with pytest.raises(ValueError, match=f"{name}: params"):
        cls(list(layer.parameters()) * 2, lr=0.1)


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_lr_is_refused(lr):
    from minnet import Adam, RMSprop

    for cls in (SGD, Adam, RMSprop):
        with pytest.raises(ValueError, match="lr must be a finite number"):
            cls([Parameter([1.0])], lr=lr)


def test_a_nan_hyperparameter_is_refused():
    from minnet import Adam, RMSprop

    with pytest.raises(ValueError, match="momentum"):
        SGD([Parameter([1.0])], lr=0.1, momentum=float("nan"))
    with pytest.raises(ValueError, match="weight_decay"):
        Adam([Parameter([1.0])], weight_decay=float("nan"))
    with pytest.raises(ValueError, match="eps"):
        RMSprop([Parameter([1.0])], eps=float("nan"))


@pytest.mark.parametrize("model", [Linear(2, 2, rng=0), None], ids=["Linear", "Sequential"])
def test_the_model_instead_of_its_parameters_is_a_clear_error(model):
    from minnet import Adam, Sequential

    model = model or Sequential(Linear(2, 2, rng=0))
    for cls in (SGD, Adam):
        with pytest.raises(TypeError, match=rf"{cls.__name__}: got the model itself; pass .*model.parameters\(\)"):
            cls(model, lr=0.1)


def test_schedules_refuse_a_fractional_period_instead_of_truncating_it():
    from minnet.optim import CosineAnnealingLR, StepLR

    opt = SGD([Parameter([1.0])], lr=0.1)
    with pytest.raises(ValueError, match=r"StepLR: step_size must be a whole number >= 1, got 2\.5"):
        StepLR(opt, step_size=2.5)
    with pytest.raises(ValueError, match=r"CosineAnnealingLR: T_max must be a whole number >= 1, got 1\.5"):
        CosineAnnealingLR(opt, T_max=1.5)
    assert StepLR(opt, step_size=3.0).step_size == 3
    assert CosineAnnealingLR(opt, T_max=np.int64(4)).T_max == 4
