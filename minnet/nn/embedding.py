"""Embedding: a table of vectors looked up by integer indices."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_int
from .._rng import RngLike, make_rng
from ..parameter import Parameter
from .layer import Layer, float_dtype


class Embedding(Layer):
    r"""A lookup table ``y[..., :] = W[x[...], :]``: each integer index picks a row of W.

    Local derivatives, with ``g = ∂L/∂y`` of shape ``(*, embedding_dim)`` and the
    cached indices ``x``:

    - ``∂L/∂W[k] = Σ_{i : x_i = k} g_i``: each row of g is added into the row of
      W it was read from, so an index used twice gets both rows
      (``np.add.at``, not ``W.grad[x] += g``, which keeps one of them).
      The row ``padding_idx`` gets no gradient, as in PyTorch, even where it
      has been given other values than zeros.
    - the indices have no gradient: backward returns ``None``.

    Args:
        num_embeddings: the number of rows of the table (indices run from 0 to
            ``num_embeddings − 1``).
        embedding_dim: the size of each vector.
        padding_idx: a row that is initialised to zeros and never trained
            (a negative value counts from the end, as in PyTorch:
            ``num_embeddings + padding_idx``); ``None``: no such row.
        rng: an int seed or a ``numpy.random.Generator`` for the initial
            values (``None``: a fresh unseeded Generator).
        dtype: the weight's dtype, float64 (default) or float32.

    Shape:
        integer indices of any shape ``(*)`` to ``(*, embedding_dim)``, in the
        weight's dtype. Indices outside ``[0, num_embeddings)``, or data that
        is not integer, are an error naming the layer.

    Attributes:
        weight: Parameter of shape ``(num_embeddings, embedding_dim)``, drawn from
            N(0, 1) as in PyTorch, the row ``padding_idx`` set to zeros.

    Example:
        >>> emb = Embedding(5, 3, padding_idx=0, rng=0)
        >>> emb(np.array([[0, 2], [4, 4]])).shape
        (2, 2, 3)
        >>> emb
        Embedding(5, 3, padding_idx=0)
    """

    local_derivative = {"∂L/∂W[k]": "Σ_{i: x_i = k} g_i, 0 for k = padding_idx"}
    parameter_symbols = {"W": "weight"}
    input_kind = "integer"

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        rng: RngLike = None,
        dtype: Any = np.float64,
    ) -> None:
        num_embeddings = check_int("Embedding", "num_embeddings", num_embeddings, minimum=1)
        embedding_dim = check_int("Embedding", "embedding_dim", embedding_dim, minimum=1)
        if padding_idx is not None:
            check_int("Embedding", "padding_idx", padding_idx)
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be within num_embeddings: in [{-num_embeddings}, "
                    f"{num_embeddings - 1}], got {padding_idx}"
                )
            padding_idx = int(padding_idx) % num_embeddings  # −1 is the last row, as in PyTorch
        dtype = float_dtype(dtype, "Embedding")
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = Parameter(make_rng(rng, "Embedding").standard_normal((num_embeddings, embedding_dim)), dtype)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0.0
        self.indices: NDArray[np.integer]  # cached indices, set by forward

    def forward(self, indices: NDArray[np.integer]) -> NDArray[np.floating]:
        # the base class has refused data that is not integer (input_kind = "integer")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_embeddings):
            raise IndexError(
                f"Embedding: indices must be in [0, {self.num_embeddings - 1}] (num_embeddings={self.num_embeddings}), "
                f"got values from {indices.min()} to {indices.max()}"
            )
        self.indices = indices
        rows: NDArray[np.floating] = self.weight.data[indices]
        return rows

    def backward(self, grad_output: NDArray[np.floating]) -> None:
        # parameter gradient (added): each g_i into the row it was read from, repeats adding up
        rows = grad_output.reshape(-1, self.embedding_dim)
        indices = self.indices.reshape(-1)
        if self.padding_idx is not None:  # the padding row is never trained
            keep = indices != self.padding_idx
            indices, rows = indices[keep], rows[keep]
        np.add.at(self.weight.grad, indices, rows)
        # input gradient: none, the indices are integers
        return None

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
