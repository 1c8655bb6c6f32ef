"""minnet.init: in place, dtype kept, seeded, the documented bounds and fans."""

import math

import numpy as np
import pytest

from minnet import BatchNorm1d, Linear, Parameter, Sequential, init

RANDOM = [
    (init.normal_, {}),
    (init.uniform_, {}),
    (init.xavier_uniform_, {}),
    (init.xavier_normal_, {}),
    (init.kaiming_uniform_, {}),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}),
]


@pytest.mark.parametrize(("fn", "kwargs"), RANDOM, ids=[f.__name__ for f, _ in RANDOM])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_initialisers_are_in_place_seeded_and_keep_dtype(fn, kwargs, dtype):
    p = Parameter(np.zeros((30, 20)), dtype)
    data = p.data
    assert fn(p, rng=0, **kwargs) is p
    assert p.data is data
    assert p.data.dtype == p.grad.dtype == dtype
    q = fn(Parameter(np.zeros((30, 20)), dtype), rng=np.random.default_rng(0), **kwargs)
    np.testing.assert_array_equal(p.data, q.data)  # same seed, same values
    assert not np.array_equal(p.data, fn(Parameter(np.zeros((30, 20)), dtype), rng=1, **kwargs).data)


def test_constants():
    p = Parameter(np.full((2, 3), 7.0))
    assert not init.zeros_(p).data.any()
    np.testing.assert_array_equal(init.ones_(p).data, np.ones((2, 3)))
    np.testing.assert_array_equal(init.constant_(p, 0.25).data, np.full((2, 3), 0.25))


def test_bounds_and_spreads_follow_the_fans():
    fan_in, fan_out = 400, 100  # minnet's (in_features, out_features)
    p = Parameter(np.zeros((fan_in, fan_out)))
    bound = math.sqrt(6 / (fan_in + fan_out))
    init.xavier_uniform_(p, rng=0)
    assert np.abs(p.data).max() <= bound
    assert np.abs(p.data).max() > 0.99 * bound
    init.kaiming_uniform_(p, rng=0)
    assert np.abs(p.data).max() <= math.sqrt(6 / fan_in)
    assert np.abs(p.data).max() > 0.99 * math.sqrt(6 / fan_in)
    init.kaiming_normal_(p, rng=0)
    assert p.data.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
    init.kaiming_normal_(p, mode="fan_out", rng=0)
    assert p.data.std() == pytest.approx(math.sqrt(2 / fan_out), rel=0.02)
    init.xavier_normal_(p, gain=2.0, rng=0)
    assert p.data.std() == pytest.approx(2 * math.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    init.normal_(p, mean=3.0, std=0.5, rng=0)
    assert p.data.mean() == pytest.approx(3.0, abs=0.01)
    assert p.data.std() == pytest.approx(0.5, rel=0.02)
    init.uniform_(p, -2.0, -1.0, rng=0)
    assert p.data.min() >= -2.0
    assert p.data.max() < -1.0


def test_fans_of_a_convolution_weight():
    p = Parameter(np.zeros((8, 4, 3, 3)))  # (out_channels, in_channels, kh, kw)
    init.kaiming_uniform_(p, nonlinearity="relu", rng=0)
    assert np.abs(p.data).max() <= math.sqrt(6 / (4 * 9))


def test_gains():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_errors():
    with pytest.raises(ValueError, match=r"2 or more dimensions, got shape \(5,\)"):
        init.xavier_uniform_(Parameter(np.zeros(5)))
    with pytest.raises(TypeError, match=r"expected a minnet\.Parameter, got ndarray"):
        init.zeros_(np.zeros(3))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(Parameter(np.zeros((2, 2))), mode="fan_avg")


def test_the_same_seed_gives_the_same_network():
    def build(seed):
        rng = np.random.default_rng(seed)
        model = Sequential(Linear(4, 8, rng=rng), BatchNorm1d(8), Linear(8, 2, rng=rng))
        init.kaiming_normal_(model[0].weight, rng=rng)
        return model

    a, b, c = build(5), build(5), build(6)
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)
