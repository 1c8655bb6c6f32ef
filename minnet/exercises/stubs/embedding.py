"""Exercise "embedding": write the backward of a lookup table (its weight gradient).

Check it with ``minnet exercise check embedding.py`` (or ``minnet.exercises.check("embedding", Embedding)``): it
is graded at hidden indices, some of them repeated, against minnet's own Embedding and finite differences.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from minnet import Layer, Parameter

EXERCISE = "embedding"


class Embedding(Layer):
    """A lookup table ``y[i, t, :] = W[x[i, t], :]``: each integer index picks a row of W.

    Shapes: indices x ``(N, T)`` (integers in ``[0, num_embeddings)``, some repeated), W
    ``(num_embeddings, embedding_dim)``, y and grad_output ``(N, T, embedding_dim)``.

    Cached by forward: the indices.
    """

    input_kind = "integer"  # the input is indices: it has no gradient

    def __init__(self, num_embeddings: int, embedding_dim: int, *, rng: int | None = None) -> None:
        self.weight = Parameter(np.random.default_rng(rng).standard_normal((num_embeddings, embedding_dim)))
        self.indices: NDArray[np.integer]  # cached indices, set by forward

    def forward(self, indices: NDArray[np.integer]) -> NDArray[np.float64]:
        self.indices = indices
        rows: NDArray[np.float64] = self.weight.data[indices]
        return rows

    def backward(self, grad_output: NDArray[np.float64]) -> None:
        # TODO: add (+=) ∂L/∂W into self.weight.grad: each row of grad_output goes to the row of W it was read
        # from. An index used twice was read twice. Return None: indices have no gradient.
        raise NotImplementedError("TODO: write Embedding.backward")
