"""Drawn parameter values: the test kit checks a layer at its initial values and again at these.

A parameter that starts at ones (a gain, a batch norm's γ) or at zeros (a
bias, a shift) hides a backward that forgets it: ``g ⊙ s`` and ``g`` agree
while ``s`` is one. Checks at drawn values cannot be fooled that way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._rng import RngLike, make_rng
from ..nn.module import Module

#: The two settings of the kit and of gradcheck: the values the layer was built with, and drawn ones.
VALUES = ("initial", "drawn")


def drawn_magnitudes(rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Magnitudes in [0.5, 0.8] ∪ [1.25, 2]: around one, yet never 0 or 1 (or close to them)."""
    exponent = rng.uniform(np.log(1.25), np.log(2.0), shape) * rng.choice([-1.0, 1.0], shape)
    magnitudes: NDArray[np.float64] = np.exp(exponent)
    return magnitudes


def draw_values(model: Module, rng: RngLike = 0) -> list[str]:
    """Give every parameter and every floating buffer of ``model`` drawn values, in place.

    Each element gets a magnitude in [0.5, 0.8] ∪ [1.25, 2], away from 0 and
    from 1, with a random sign. A buffer whose elements are all positive (a
    running variance) keeps them positive; integer buffers (a batch counter) are left
    alone. The arrays keep their objects and dtypes. Returns the names of what
    was drawn, as ``state_dict`` names them (empty: nothing to draw).

    Example:
        >>> from minnet import Linear
        >>> layer = Linear(3, 2, rng=0)
        >>> draw_values(layer, rng=1)
        ['weight', 'bias']
        >>> bool(np.all((np.abs(layer.bias.data) >= 0.5) & (np.abs(layer.bias.data) <= 2)))
        True
    """
    generator = make_rng(rng)
    drawn = []
    for name, param in model.named_parameters():
        param.data[...] = _drawn(generator, param.data, positive=False)
        param.mark_changed()
        drawn.append(name)
    for name, buffer in floating_buffers(model):
        buffer[...] = _drawn(generator, buffer, positive=bool(np.all(buffer > 0)))
        drawn.append(name)
    return drawn


def floating_buffers(model: Module) -> list[tuple[str, NDArray[Any]]]:
    """The buffers :func:`draw_values` draws: non-empty float arrays."""
    return [
        (name, buffer)
        for name, buffer in model.named_buffers()
        if isinstance(buffer, np.ndarray) and buffer.dtype.kind == "f" and buffer.size
    ]


def _drawn(rng: np.random.Generator, like: NDArray[Any], *, positive: bool) -> NDArray[Any]:
    values = drawn_magnitudes(rng, like.shape)
    if not positive:
        values *= rng.choice([-1.0, 1.0], like.shape)
    return values.astype(like.dtype)


def has_values(model: Module) -> bool:
    """Whether :func:`draw_values` has anything to draw: a parameter or a floating buffer."""
    return any(True for _ in model.parameters()) or bool(floating_buffers(model))
