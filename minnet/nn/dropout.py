"""Dropout: inverted dropout in training, the identity in eval."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .._checks import check_real
from .._rng import RngLike, make_rng
from .layer import Layer


class Dropout(Layer):
    r"""Inverted dropout: in training ``y = x ⊙ m / (1 − p)``, ``m_i ~ Bernoulli(1 − p)``; in eval ``y = x``.

    Each element is zeroed with probability ``p`` and the survivors are scaled
    by ``1/(1 − p)``, so the expected output equals the input and eval mode
    needs no rescaling. The mask is drawn at each forward from the layer's own
    Generator ``self.rng``; replacing ``layer.rng`` by a fresh Generator of the
    same seed replays the same masks (what finite differences need).

    Local derivative, from the cached scaled mask ``s = m / (1 − p)``:
    ``∂L/∂x = grad_output ⊙ s`` in training, ``grad_output`` in eval.

    Args:
        p: the probability of zeroing an element, in [0, 1] (default 0.5);
            ``p = 1`` zeroes everything.
        rng: an int seed or a ``numpy.random.Generator`` for the masks
            (``None``: a fresh unseeded Generator).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Attributes:
        rng: the ``numpy.random.Generator`` the masks are drawn from.

    Example:
        >>> layer = Dropout(0.5, rng=0)
        >>> y = layer(np.ones((2, 4)))
        >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
        True
        >>> layer.eval()(np.ones(3))
        array([1., 1., 1.])
    """

    local_derivative = {"∂L/∂x": {"training": "g ⊙ m/(1 − p)", "eval": "g"}}

    def __init__(self, p: float = 0.5, *, rng: RngLike = None) -> None:
        self.p = check_real("Dropout", "p", p, 0.0, 1.0)
        self.rng = make_rng(rng, "Dropout")
        self.mask: NDArray[np.floating] | None = None  # cached m / (1 − p); None when nothing was dropped

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.mask = None
        if not self.training or self.p == 0.0:
            return x
        keep = self.rng.random(x.shape) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        self.mask = keep.astype(x.dtype) * x.dtype.type(scale)
        return x * self.mask

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        return grad_output if self.mask is None else grad_output * self.mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
