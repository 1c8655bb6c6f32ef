"""Attention: MultiheadAttention, scaled dot-product attention over several heads."""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from .._checks import check_bool, check_int, check_real
from .._rng import RngLike, make_rng
from ..parameter import Parameter
from .layer import Layer, float_dtype
from .linear import Linear
from .recurrent import grad_parts


class MultiheadAttention(Layer):
    r"""Multi-head attention: ``y = concat(head_1, …, head_h) W_o + b_o`` with
    ``head_i = softmax(Q_i K_iᵀ / √d + M) V_i``.

    The query, key and value are projected by one weight, ``in_proj_weight`` of shape
    ``(E, 3E)``: ``Q = query W_q + b_q``, ``K = key W_k + b_k``, ``V = value W_v + b_v`` with
    ``[W_q | W_k | W_v] = in_proj_weight`` (columns) and ``[b_q | b_k | b_v] = in_proj_bias``.
    Each of ``Q, K, V`` is cut along its features into ``num_heads`` heads of ``d = E / num_heads``;
    ``M`` is the optional mask: ``attn_mask`` (per query and key) and ``key_padding_mask`` (per
    sample and key), each a float mask added to the scores or a boolean one that puts −∞ where
    it is True, so that that key is not attended to. The heads' outputs
    are joined and projected by ``out_proj``, a :class:`Linear` ``(E, E)``.

    Local derivatives, per head, with ``A = softmax(S)``, ``S = Q Kᵀ / √d + M`` and ``G = ∂L/∂O``
    for the head's output ``O = A V`` (the gradient ``out_proj.backward`` returns, cut into heads):

    - ``∂L/∂V = Aᵀ G``, ``∂L/∂A = G Vᵀ``
    - ``∂L/∂S = A ⊙ (∂L/∂A − Σ_j (∂L/∂A)_j A_j)`` (the softmax's, row by row)
    - ``∂L/∂Q = ∂L/∂S K / √d``, ``∂L/∂K = (∂L/∂S)ᵀ Q / √d``
    - ``∂L/∂W_q = queryᵀ ∂L/∂Q`` (and k, v alike), ``∂L/∂b_q = Σ ∂L/∂Q``,
      ``∂L/∂query = ∂L/∂Q W_qᵀ`` (and key, value alike).

    ``backward(grad_output)`` takes the gradient of the output alone, or
    ``backward((grad_output, grad_weights))`` with the gradient of the attention weights
    returned too (``None``: zero), which adds into ``∂L/∂A`` (divided by h for each head when
    the weights returned were averaged over the heads). It returns the gradients of
    ``(query, key, value)``. In self-attention, where one array is passed as all three, its
    gradient is the sum of the three.

    Args:
        embed_dim: E, the features of the query (and of the key and value).
        num_heads: h, the heads; E must be a multiple of h.
        dropout: the dropout of the attention weights; only 0.0 (PyTorch's default) is
            implemented: another value is a ValueError.
        bias: if ``False``, no ``in_proj_bias`` and no bias in ``out_proj``.
        batch_first: if ``True``, inputs and output are ``(N, L, E)``, else ``(L, N, E)``.
        rng: an int seed or a ``numpy.random.Generator`` for the initial values.
        dtype: the parameters' dtype, float64 (default) or float32.

    Shape:
        query ``(L, N, E)``, key and value ``(S, N, E)`` (``(N, L, E)`` and ``(N, S, E)`` with
        ``batch_first``); ``attn_mask`` ``(L, S)`` or ``(N·h, L, S)``; ``key_padding_mask``
        ``(N, S)``; the masks, ``need_weights`` and ``average_attn_weights`` are keyword
        arguments. Returns the output, the
        query's shape, and the attention weights ``(N, L, S)``, averaged over the heads (or
        ``(N, h, L, S)`` with ``average_attn_weights=False``; ``None`` with ``need_weights=False``).

    Attributes:
        in_proj_weight: Parameter ``(E, 3E)``, Xavier-uniform, U(−√(6 / 4E), √(6 / 4E)) as
            PyTorch draws its ``(3E, E)`` weight: minnet's is the transpose of PyTorch's,
            as every minnet matrix used as ``x @ W`` is ``(in, out)``.
        in_proj_bias: Parameter ``(3E,)``, zeros (``None`` without bias).
        out_proj: the output projection, a :class:`Linear` ``(E, E)`` with Linear's initial
            weight and a zero bias.

    Example:
        >>> attention = MultiheadAttention(4, 2, batch_first=True, rng=0)
        >>> x = np.ones((1, 3, 4))
        >>> y, weights = attention(x, x, x)
        >>> y.shape, weights.shape, weights[0, 0].round(3)
        ((1, 3, 4), (1, 3, 3), array([0.333, 0.333, 0.333]))
        >>> attention
        MultiheadAttention(embed_dim=4, num_heads=2, bias=True, batch_first=True
          (out_proj): Linear(in_features=4, out_features=4, bias=True)
        )
    """

    input_kind = "any"  # three inputs, each checked in forward
    local_derivative = {
        "∂L/∂V": "Aᵀ G",
        "∂L/∂S": "A ⊙ (∂L/∂A − Σ_j (∂L/∂A)_j A_j), ∂L/∂A = G Vᵀ (+ the weights' gradient)",
        "∂L/∂Q": "∂L/∂S K / √d",
        "∂L/∂K": "(∂L/∂S)ᵀ Q / √d",
        "∂L/∂W_in": "xᵀ [∂L/∂Q, ∂L/∂K, ∂L/∂V]",
    }

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        *,
        rng: RngLike = None,
        dtype: Any = np.float64,
    ) -> None:
        embed_dim = check_int("MultiheadAttention", "embed_dim", embed_dim, minimum=1)
        num_heads = check_int("MultiheadAttention", "num_heads", num_heads, minimum=1)
        dropout = check_real("MultiheadAttention", "dropout", dropout, 0.0, 1.0)
        bias = check_bool("MultiheadAttention", "bias", bias)
        batch_first = check_bool("MultiheadAttention", "batch_first", batch_first)
        if embed_dim % num_heads:
            raise ValueError(
                "MultiheadAttention: embed_dim must be a positive multiple of num_heads, "
                f"got {embed_dim} and {num_heads}"
            )
        if dropout != 0.0:
            raise ValueError(f"MultiheadAttention: only dropout=0.0 is implemented, got {dropout}")
        dtype = float_dtype(dtype, "MultiheadAttention")
        self.embed_dim, self.num_heads, self.batch_first = embed_dim, num_heads, batch_first
        self.head_dim = embed_dim // num_heads
        generator = make_rng(rng, "MultiheadAttention")
        bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))
        self.in_proj_weight = Parameter(generator.uniform(-bound, bound, (embed_dim, 3 * embed_dim)), dtype)
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim), dtype) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=generator, dtype=dtype)
        if self.out_proj.bias is not None:
            self.out_proj.bias.data[...] = 0.0
        self.inputs: tuple[NDArray[np.floating], ...]  # cached query, key, value as (N, ·, E), set by forward
        self.heads: tuple[NDArray[np.floating], ...]  # cached Q, K, V as (N, h, ·, d), set by forward
        self.weights: NDArray[np.floating]  # cached A = softmax(S), (N, h, L, S), set by forward
        self.weights_shape: tuple[int, ...] | None  # the shape of the weights returned (None: none), set by forward

    def forward(  # type: ignore[override]  # three inputs, two outputs: the class docstring says how
        self,
        query: NDArray[np.floating],
        key: NDArray[np.floating],
        value: NDArray[np.floating],
        *,
        key_padding_mask: NDArray[Any] | None = None,
        need_weights: bool = True,
        attn_mask: NDArray[Any] | None = None,
        average_attn_weights: bool = True,
    ) -> tuple[NDArray[np.floating], NDArray[np.floating] | None]:
        dtype = self.in_proj_weight.data.dtype
        query, key, value = (
            self._batch_major(x, name, dtype) for x, name in zip((query, key, value), "qkv", strict=True)
        )
        if key.shape != value.shape or key.shape[0] != query.shape[0]:
            raise ValueError(
                "MultiheadAttention: key and value must have one shape, and the batch of the query; got query "
                f"{query.shape}, key {key.shape}, value {value.shape} (as (N, length, E))"
            )
        self.inputs = (query, key, value)
        w, b = self.in_proj_weight.data, self.in_proj_bias
        E = self.embed_dim
        # Q = query W_q + b_q, K = key W_k + b_k, V = value W_v + b_v, each cut into heads (N, h, ·, d)
        projected = [x @ w[:, i * E : (i + 1) * E] for i, x in enumerate(self.inputs)]
        if b is not None:
            projected = [p + b.data[i * E : (i + 1) * E] for i, p in enumerate(projected)]
        self.heads = tuple(self._split(p) for p in projected)
        q, k, v = self.heads
        # S = Q Kᵀ / √d + M, A = softmax(S) along the keys
        scores = q @ k.swapaxes(-1, -2) / math.sqrt(self.head_dim)
        if attn_mask is not None:
            scores = scores + self._mask(attn_mask, scores.shape, dtype)
        if key_padding_mask is not None:  # (N, S): True (or −∞ in a float mask) leaves out that key of that sample
            scores = scores + self._padding(key_padding_mask, scores.shape, dtype)
        exp_scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        self.weights = exp_scores / exp_scores.sum(axis=-1, keepdims=True)
        # O = A V per head, the heads joined (N, L, E), then y = O W_o + b_o
        joined = (self.weights @ v).swapaxes(1, 2).reshape(query.shape)
        y = self.out_proj(joined)
        y = y if self.batch_first else y.swapaxes(0, 1)
        if not need_weights:
            self.weights_shape = None
            return y, None
        returned = self.weights.mean(axis=1) if average_attn_weights else self.weights.copy()
        self.weights_shape = returned.shape
        return y, returned

    def backward(self, grad_output: Any) -> tuple[NDArray[np.floating], ...]:  # type: ignore[override]
        a = self.weights
        g, grad_weights = self._output_gradients(grad_output)
        g = g if self.batch_first else g.swapaxes(0, 1)
        q, k, v = self.heads
        grad_joined = cast(NDArray[np.floating], self.out_proj.backward(np.ascontiguousarray(g)))  # ∂L/∂O (N, L, E)
        grad_o = self._split(grad_joined)
        # ∂L/∂V = Aᵀ G, ∂L/∂A = G Vᵀ (+ the returned weights' gradient), ∂L/∂S = A ⊙ (∂L/∂A − Σ_j (∂L/∂A)_j A_j)
        grad_v = a.swapaxes(-1, -2) @ grad_o
        grad_a = grad_o @ v.swapaxes(-1, -2)
        if grad_weights is not None:  # averaged over the heads: each head's weights count 1/h
            grad_a = grad_a + (grad_weights if grad_weights.ndim == 4 else grad_weights[:, None] / self.num_heads)
        grad_s = a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))
        # ∂L/∂Q = ∂L/∂S K / √d, ∂L/∂K = (∂L/∂S)ᵀ Q / √d
        scale = 1.0 / math.sqrt(self.head_dim)
        grad_q = grad_s @ k * scale
        grad_k = grad_s.swapaxes(-1, -2) @ q * scale
        # the projections: ∂L/∂W = xᵀ ∂L/∂P, ∂L/∂b = Σ ∂L/∂P, ∂L/∂x = ∂L/∂P Wᵀ, for P = Q, K, V in turn
        E, w = self.embed_dim, self.in_proj_weight
        grads = []
        for i, (x, grad_p) in enumerate(zip(self.inputs, (grad_q, grad_k, grad_v), strict=True)):
            grad_p = self._join(grad_p)  # (N, ·, E)
            columns = slice(i * E, (i + 1) * E)
            w.grad[:, columns] += x.reshape(-1, E).T @ grad_p.reshape(-1, E)
            if self.in_proj_bias is not None:
                self.in_proj_bias.grad[columns] += grad_p.reshape(-1, E).sum(axis=0)
            grad_x = grad_p @ w.data[:, columns].T
            grads.append(grad_x if self.batch_first else grad_x.swapaxes(0, 1))
        return tuple(grads)

    # -- shapes -------------------------------------------------------------------------------------

    def _output_gradients(self, grad_output: Any) -> tuple[NDArray[np.floating], NDArray[np.floating] | None]:
        """``(∂L/∂y, ∂L/∂weights or None)`` from one array (the output's) or a tuple, ``None`` standing for zero,
        each checked against what forward returned."""
        if grad_output is None:
            raise TypeError("MultiheadAttention.backward() needs grad_output, the gradient of the output")
        items = list(grad_output) if isinstance(grad_output, (tuple, list)) else [grad_output]
        n, _, length, _ = self.weights.shape
        shapes: list[tuple[int, ...]] = [
            (n, length, self.embed_dim) if self.batch_first else (length, n, self.embed_dim)
        ]
        if len(items) == 2 and items[1] is not None:
            if self.weights_shape is None:
                raise ValueError(
                    "MultiheadAttention.backward: got a gradient for the attention weights, but forward returned "
                    "none (need_weights=False)"
                )
            shapes.append(self.weights_shape)
        elif len(items) == 2:
            items.pop()
        parts = grad_parts(self, items, shapes, self.weights.dtype, ["the output", "the attention weights"])
        return parts[0], (parts[1] if len(parts) == 2 else None)

    def _batch_major(self, x: Any, name: str, dtype: np.dtype[Any]) -> NDArray[np.floating]:
        """An input as ``(N, length, E)``, checked: 3-D, E features, the parameters' float dtype."""
        x = np.asarray(x)
        what = {"q": "query", "k": "key", "v": "value"}[name]
        layout = "(N, length, E)" if self.batch_first else "(length, N, E)"
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiheadAttention: expected the {what} of shape {layout} with E = {self.embed_dim}, "
                             f"got {x.shape}")  # fmt: skip
        if x.dtype.kind in "iub":
            x = x.astype(dtype)
        elif x.dtype != dtype:
            raise TypeError(f"MultiheadAttention: the {what} has dtype {x.dtype}, the parameters {dtype}")
        batch_major: NDArray[np.floating] = x if self.batch_first else x.swapaxes(0, 1)
        return batch_major

    def _split(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        """(N, length, E) → (N, h, length, d)."""
        n, length, _ = x.shape
        heads: NDArray[np.floating] = x.reshape(n, length, self.num_heads, self.head_dim).swapaxes(1, 2)
        return heads

    def _join(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        """(N, h, length, d) → (N, length, E)."""
        n, _, length, _ = x.shape
        joined: NDArray[np.floating] = x.swapaxes(1, 2).reshape(n, length, self.embed_dim)
        return joined

    def _mask(self, mask: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> NDArray[np.floating]:
        """The mask as a float to add to the scores ``(N, h, L, S)``: −∞ where a boolean mask is True."""
        mask = np.asarray(mask)
        n, h, length, source = shape
        if mask.shape not in ((length, source), (n * h, length, source)):
            raise ValueError(
                f"MultiheadAttention: expected attn_mask of shape ({length}, {source}) or ({n * h}, {length}, "
                f"{source}), got {mask.shape}"
            )
        if mask.dtype == bool:
            mask = np.where(mask, -np.inf, 0.0)
        added: NDArray[np.floating] = mask.astype(dtype, copy=False)  # the scores' dtype
        return added.reshape(-1, h, length, source) if added.ndim == 3 else added

    def _padding(self, mask: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> NDArray[np.floating]:
        """``key_padding_mask`` ``(N, S)`` as a float to add to the scores ``(N, h, L, S)``."""
        mask = np.asarray(mask)
        if mask.shape != (shape[0], shape[-1]):
            raise ValueError(
                f"MultiheadAttention: expected key_padding_mask of shape ({shape[0]}, {shape[-1]}), got {mask.shape}"
            )
        if mask.dtype == bool:
            mask = np.where(mask, -np.inf, 0.0)
        added: NDArray[np.floating] = mask.astype(dtype, copy=False)[:, None, None, :]
        return added

    def extra_repr(self) -> str:
        bias = self.in_proj_bias is not None
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, bias={bias}, batch_first={self.batch_first}"
