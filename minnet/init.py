"""Initialisers: each fills a :class:`~minnet.Parameter`'s ``data`` in place
(keeping its shape and dtype) and returns the Parameter.

The random ones take ``rng``: an int seed or a ``numpy.random.Generator``
(``None``: a fresh unseeded Generator), so the same seed gives the same values.

Fans, for the Xavier and Kaiming rules: a 2-D weight is minnet's Linear
orientation ``(in_features, out_features)``, so ``fan_in = shape[0]`` and
``fan_out = shape[1]``; a weight of 3 or more dimensions is read as
``(out_channels, in_channels, *kernel)``: ``fan_in = in_channels · prod(kernel)``,
``fan_out = out_channels · prod(kernel)``.

Example:
    >>> from minnet import init
    >>> layer = Linear(4, 3, rng=0)
    >>> init.xavier_uniform_(layer.weight, rng=0) is layer.weight
    True
    >>> float(init.zeros_(layer.bias).data.sum())
    0.0
"""

from __future__ import annotations

import math
from typing import Any

from numpy.typing import NDArray

from ._checks import check_choice, check_real, describe
from ._rng import RngLike, make_rng
from .parameter import Parameter

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def _checked(param: Parameter) -> Parameter:
    if not isinstance(param, Parameter):
        raise TypeError(f"init: expected a minnet.Parameter, got {type(param).__name__}")
    return param


def _fill(param: Parameter, values: NDArray[Any] | float) -> Parameter:
    _checked(param).data[...] = values  # in place, in the parameter's own dtype
    param.mark_changed()
    return param


def _fans(param: Parameter) -> tuple[int, int]:
    shape = _checked(param).data.shape
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a weight of 2 or more dimensions, got shape {shape}")
    if len(shape) == 2:
        return shape[0], shape[1]  # (in_features, out_features)
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive  # (out_channels, in_channels, *kernel)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: 1 for linear/sigmoid, 5/3 for tanh,
    √2 for relu, √(2/(1 + a²)) for leaky_relu with slope ``a`` (default 0.01)."""
    if not isinstance(nonlinearity, str):
        raise TypeError(f"calculate_gain: nonlinearity must be a name such as 'relu', got {describe(nonlinearity)}")
    if nonlinearity in ("linear", "identity", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_real("calculate_gain", "param", param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def zeros_(param: Parameter) -> Parameter:
    """Fill with 0."""
    return _fill(param, 0.0)


def ones_(param: Parameter) -> Parameter:
    """Fill with 1."""
    return _fill(param, 1.0)


def constant_(param: Parameter, val: float) -> Parameter:
    """Fill with ``val``."""
    return _fill(param, check_real("constant_", "val", val))


def normal_(param: Parameter, mean: float = 0.0, std: float = 1.0, *, rng: RngLike = None) -> Parameter:
    """Draw from N(mean, std²)."""
    mean, std = check_real("normal_", "mean", mean), check_real("normal_", "std", std, 0.0)
    return _fill(param, make_rng(rng, "init").normal(mean, std, _checked(param).data.shape))


def uniform_(param: Parameter, a: float = 0.0, b: float = 1.0, *, rng: RngLike = None) -> Parameter:
    """Draw from U(a, b)."""
    a, b = check_real("uniform_", "a", a), check_real("uniform_", "b", b)
    if b < a:
        raise ValueError(f"uniform_: b must be >= a, got a={a} and b={b}")
    return _fill(param, make_rng(rng, "init").uniform(a, b, _checked(param).data.shape))


def xavier_uniform_(param: Parameter, gain: float = 1.0, *, rng: RngLike = None) -> Parameter:
    """Glorot: U(−a, a), ``a = gain · √(6 / (fan_in + fan_out))``."""
    gain, (fan_in, fan_out) = check_real("xavier_uniform_", "gain", gain, 0.0), _fans(param)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(param, -bound, bound, rng=rng)


def xavier_normal_(param: Parameter, gain: float = 1.0, *, rng: RngLike = None) -> Parameter:
    """Glorot: N(0, std²), ``std = gain · √(2 / (fan_in + fan_out))``."""
    gain, (fan_in, fan_out) = check_real("xavier_normal_", "gain", gain, 0.0), _fans(param)
    return normal_(param, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng=rng)


def _kaiming_std(owner: str, param: Parameter, a: float, mode: str, nonlinearity: str) -> float:
    a, mode = check_real(owner, "a", a), check_choice(owner, "mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = _fans(param)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(
    param: Parameter, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *, rng: RngLike = None
) -> Parameter:
    """He: U(−b, b), ``b = √3 · gain / √fan``, gain from ``nonlinearity`` (slope ``a``
    for leaky_relu; the default a = 0 gives √2, the ReLU gain)."""
    bound = math.sqrt(3.0) * _kaiming_std("kaiming_uniform_", param, a, mode, nonlinearity)
    return uniform_(param, -bound, bound, rng=rng)


def kaiming_normal_(
    param: Parameter, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *, rng: RngLike = None
) -> Parameter:
    """He: N(0, std²), ``std = gain / √fan``."""
    return normal_(param, 0.0, _kaiming_std("kaiming_normal_", param, a, mode, nonlinearity), rng=rng)
