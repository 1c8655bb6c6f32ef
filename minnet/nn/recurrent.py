r"""Recurrent layers: the cells RNNCell, LSTMCell and GRUCell (one time step), and
RNN, LSTM and GRU (a whole sequence, backward through time).

Each cell's math is written once, as a pair of functions: ``*_step`` computes
the new state and returns what the derivative needs; ``*_step_backward``
takes the gradient of the new state, ADDS (``+=``) the gradients of the four
parameters and returns the gradients of the step's input and of the old
state. The cell classes call the pair once; the sequence classes call it at
every time step, forward in time and then in a reversed loop.

**Weights.** minnet computes ``x @ W``, so every weight has the shape
``(in, out)``, the transpose of PyTorch's: ``weight_ih`` is ``(input_size,
G·hidden_size)`` and ``weight_hh`` ``(hidden_size, G·hidden_size)``, with G
gates (1 for RNN, 4 for LSTM in the order i, f, g, o, 3 for GRU in the order
r, z, n). Weights move from PyTorch with one transpose:
``ours.weight_ih.data[...] = theirs.weight_ih.detach().numpy().T``; biases
are the same.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._rng import RngLike, make_rng
from ..parameter import Parameter
from .layer import Layer, float_dtype
from .module import as_float

Array = NDArray[np.floating]
State = tuple[Array, ...]  # (h,) for RNN and GRU, (h, c) for LSTM


class Weights(NamedTuple):
    """The four parameters of one cell (of one layer and direction of a sequence layer)."""

    weight_ih: Parameter
    weight_hh: Parameter
    bias_ih: Parameter | None
    bias_hh: Parameter | None


def _sigmoid(a: Array) -> Array:
    s: Array = 0.5 * (1.0 + np.tanh(0.5 * a))  # σ(a), without overflow for large |a|
    return s


def _preactivation(w: Weights, x: Array, h: Array) -> tuple[Array, Array]:
    """``x W_ih + b_ih`` and ``h W_hh + b_hh``."""
    a_x, a_h = x @ w.weight_ih.data, h @ w.weight_hh.data
    if w.bias_ih is not None and w.bias_hh is not None:
        a_x, a_h = a_x + w.bias_ih.data, a_h + w.bias_hh.data
    return a_x, a_h


def _add_parameter_grads(w: Weights, x: Array, h: Array, g_x: Array, g_h: Array) -> None:
    """∂L/∂W_ih += xᵀ g_x, ∂L/∂W_hh += hᵀ g_h, ∂L/∂b_ih += Σ g_x, ∂L/∂b_hh += Σ g_h (sums over the batch)."""
    w.weight_ih.grad += x.T @ g_x
    w.weight_hh.grad += h.T @ g_h
    if w.bias_ih is not None and w.bias_hh is not None:
        w.bias_ih.grad += g_x.sum(axis=0)
        w.bias_hh.grad += g_h.sum(axis=0)


# -- the Elman cell: h' = tanh(x W_ih + b_ih + h W_hh + b_hh) ---------------------------------------------


def rnn_step(w: Weights, x: Array, state: State, nonlinearity: str) -> tuple[State, tuple[Any, ...]]:
    """One Elman step: ``((h',), cache)``; the cache holds x, h and h'."""
    (h,) = state
    a_x, a_h = _preactivation(w, x, h)
    a = a_x + a_h
    h_new = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
    return (h_new,), (x, h, h_new)


def rnn_step_backward(w: Weights, cache: tuple[Any, ...], grad_state: State, nonlinearity: str) -> tuple[Array, State]:
    """∂L/∂x and (∂L/∂h,) from (∂L/∂h',), adding the parameters' gradients."""
    x, h, h_new = cache
    (g,) = grad_state
    g_a = g * (1.0 - h_new**2) if nonlinearity == "tanh" else g * (h_new > 0)  # tanh' = 1 − h'², relu' = [h' > 0]
    _add_parameter_grads(w, x, h, g_a, g_a)
    return g_a @ w.weight_ih.data.T, (g_a @ w.weight_hh.data.T,)


# -- the LSTM cell: gates i, f, g, o; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c') -------------------------------


def lstm_step(w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
    """One LSTM step: ``((h', c'), cache)``; the cache holds x, h, c, the gates i, f, g, o and tanh(c')."""
    h, c = state
    a_x, a_h = _preactivation(w, x, h)
    a_i, a_f, a_g, a_o = np.split(a_x + a_h, 4, axis=-1)
    i, f, g, o = _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
    c_new = f * c + i * g
    tanh_c = np.tanh(c_new)
    return (o * tanh_c, c_new), (x, h, c, i, f, g, o, tanh_c)


def lstm_step_backward(w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
    """∂L/∂x and (∂L/∂h, ∂L/∂c) from (∂L/∂h', ∂L/∂c'), adding the parameters' gradients."""
    x, h, c, i, f, g, o, tanh_c = cache
    g_h, g_c = grad_state
    g_c = g_c + g_h * o * (1.0 - tanh_c**2)  # c' reaches L directly and through h' = o ⊙ tanh(c')
    g_a = np.concatenate(
        [
            g_c * g * i * (1.0 - i),  # ∂L/∂a_i = ∂L/∂c' ⊙ g ⊙ σ'(a_i)
            g_c * c * f * (1.0 - f),  # ∂L/∂a_f = ∂L/∂c' ⊙ c ⊙ σ'(a_f)
            g_c * i * (1.0 - g**2),  # ∂L/∂a_g = ∂L/∂c' ⊙ i ⊙ tanh'(a_g)
            g_h * tanh_c * o * (1.0 - o),  # ∂L/∂a_o = ∂L/∂h' ⊙ tanh(c') ⊙ σ'(a_o)
        ],
        axis=-1,
    )
    _add_parameter_grads(w, x, h, g_a, g_a)
    return g_a @ w.weight_ih.data.T, (g_a @ w.weight_hh.data.T, g_c * f)


# -- the GRU cell: gates r, z, n; h' = (1 − z) ⊙ n + z ⊙ h -------------------------------------------------


def gru_step(w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
    """One GRU step: ``((h',), cache)``; the cache holds x, h, r, z, n and h W_hn + b_hn."""
    (h,) = state
    a_x, a_h = _preactivation(w, x, h)
    x_r, x_z, x_n = np.split(a_x, 3, axis=-1)
    h_r, h_z, h_n = np.split(a_h, 3, axis=-1)
    r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return ((1.0 - z) * n + z * h,), (x, h, r, z, n, h_n)


def gru_step_backward(w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
    """∂L/∂x and (∂L/∂h,) from (∂L/∂h',), adding the parameters' gradients."""
    x, h, r, z, n, h_n = cache
    (g,) = grad_state
    g_n = g * (1.0 - z) * (1.0 - n**2)  # ∂L/∂(pre-activation of n)
    g_r = g_n * h_n * r * (1.0 - r)  # n's pre-activation holds r ⊙ (h W_hn + b_hn)
    g_z = g * (h - n) * z * (1.0 - z)
    g_x = np.concatenate([g_r, g_z, g_n], axis=-1)  # the gradient of x W_ih + b_ih
    g_hh = np.concatenate([g_r, g_z, g_n * r], axis=-1)  # the gradient of h W_hh + b_hh
    _add_parameter_grads(w, x, h, g_x, g_hh)
    return g_x @ w.weight_ih.data.T, (g_hh @ w.weight_hh.data.T + g * z,)


# -- what the cells and the sequence layers share -----------------------------------------------------------


def _check_nonlinearity(name: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


def grad_parts(layer: Layer, grads: Any, shapes: list[tuple[int, ...]], dtype: Any, names: list[str]) -> list[Array]:
    """The gradients of a layer's several outputs, each an array of its shape: ``grads`` is one array (the first
    output's), or a tuple with an array or ``None`` per output (a missing element or ``None``: zero)."""
    items = list(grads) if isinstance(grads, (tuple, list)) else [grads]
    if len(items) > len(shapes):
        raise ValueError(f"{type(layer).__name__}.backward: got {len(items)} gradients for {len(shapes)} outputs")
    parts = []
    for item, shape, name in zip(
        items + [None] * (len(shapes) - len(items)), shapes, names[: len(shapes)], strict=True
    ):
        if item is None:
            parts.append(np.zeros(shape, dtype))
            continue
        item = np.asarray(item)
        if item.shape != shape:
            raise ValueError(
                f"{type(layer).__name__}: expected the gradient of {name} of shape {shape}, got {item.shape}"
            )
        if item.dtype != dtype:
            if item.dtype.kind == "f":
                raise TypeError(
                    f"{type(layer).__name__}: the gradient of {name} has dtype {item.dtype}, expected {dtype}"
                )
            item = item.astype(dtype)
        parts.append(item)
    return parts


def _init_weights(
    owner: Layer,
    suffix: str,
    input_size: int,
    hidden_size: int,
    gates: int,
    bias: bool,
    generator: np.random.Generator,
    dtype: Any,
) -> None:
    """Set ``weight_ih{suffix}``, ``weight_hh{suffix}``, ``bias_ih{suffix}``, ``bias_hh{suffix}`` on ``owner``,
    drawn from U(−1/√hidden_size, 1/√hidden_size) as in PyTorch."""
    bound = 1.0 / math.sqrt(hidden_size)
    out = gates * hidden_size
    setattr(owner, f"weight_ih{suffix}", Parameter(generator.uniform(-bound, bound, (input_size, out)), dtype))
    setattr(owner, f"weight_hh{suffix}", Parameter(generator.uniform(-bound, bound, (hidden_size, out)), dtype))
    setattr(owner, f"bias_ih{suffix}", Parameter(generator.uniform(-bound, bound, out), dtype) if bias else None)
    setattr(owner, f"bias_hh{suffix}", Parameter(generator.uniform(-bound, bound, out), dtype) if bias else None)


def _weights(owner: Layer, suffix: str = "") -> Weights:
    return Weights(*(getattr(owner, f"{name}{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))


# -- the cells: one time step ---------------------------------------------------------------------------------


class _Cell(Layer):
    """What RNNCell, LSTMCell and GRUCell share: the parameters, the checks of the input and the state, and
    forward and backward around the cell's step pair. A subclass sets ``gates``, ``state_size`` (1: h, 2: (h, c))
    and ``_step`` / ``_step_backward``."""

    gates = 1
    state_size = 1
    parameter_symbols = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, *, rng: RngLike = None, dtype: Any = np.float64
    ) -> None:
        name = type(self).__name__
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"{name}: input_size and hidden_size must be positive, got {input_size} and {hidden_size}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        _init_weights(self, "", input_size, hidden_size, self.gates, bias, make_rng(rng), float_dtype(dtype, name))
        self.cache: tuple[Any, ...] | None = None  # what the step's derivative needs, set by forward
        self.batched = True  # whether forward's input had a batch axis
        self.state_given = False  # whether forward got hx: backward then returns its gradient too

    def _step(self, w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
        raise NotImplementedError

    def _step_backward(self, w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
        raise NotImplementedError

    def forward(self, input: Array, hx: Any = None) -> Any:
        name, H = type(self).__name__, self.hidden_size
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input of shape (N, {self.input_size}) or ({self.input_size},), got {input.shape}"
            )
        self.batched = input.ndim == 2
        x = input if self.batched else input[None]
        shape = (x.shape[0], H) if self.batched else (H,)
        self.state_given = hx is not None
        given = (hx,) if self.state_size == 1 else hx
        if hx is None:
            state = tuple(np.zeros((x.shape[0], H), x.dtype) for _ in range(self.state_size))
        elif not isinstance(given, tuple) or len(given) != self.state_size:
            raise TypeError(f"{name}: expected hx as (h, c), a tuple of two arrays, got {type(hx).__name__}")
        else:
            state = tuple(as_float(self, np.asarray(s), what="hx") for s in given)
            for s, what in zip(state, ("h", "c"), strict=False):
                if s.shape != shape:
                    raise ValueError(f"{name}: expected {what} of shape {shape}, got {s.shape}")
            state = tuple(s if self.batched else s[None] for s in state)
        new_state, self.cache = self._step(_weights(self), x, state)
        outputs = tuple(s if self.batched else s[0] for s in new_state)
        return outputs[0] if self.state_size == 1 else outputs

    def backward(self, grad_output: Any) -> Any:
        assert self.cache is not None
        shape = (self.cache[0].shape[0], self.hidden_size) if self.batched else (self.hidden_size,)
        names = ["h'", "c'"][: self.state_size]
        grads = grad_parts(self, grad_output, [shape] * self.state_size, _weights(self).weight_ih.data.dtype, names)
        grads = [g if self.batched else g[None] for g in grads]
        # the step's derivative: parameter gradients added inside, input and state gradients returned
        grad_x, grad_state = self._step_backward(_weights(self), self.cache, tuple(grads))
        if not self.batched:
            grad_x, grad_state = grad_x[0], tuple(g[0] for g in grad_state)
        if not self.state_given:
            return grad_x
        return grad_x, (grad_state[0] if self.state_size == 1 else grad_state)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}, bias={self.bias}"


class RNNCell(_Cell):
    r"""An Elman cell: ``h' = tanh(x W_ih + b_ih + h W_hh + b_hh)`` (or ReLU).

    Local derivatives, with ``g = ∂L/∂h'`` and ``a`` the pre-activation:
    ``∂L/∂a = g ⊙ (1 − h'²)`` (tanh) or ``g ⊙ [h' > 0]`` (relu); then
    ``∂L/∂x = ∂L/∂a W_ihᵀ``, ``∂L/∂h = ∂L/∂a W_hhᵀ``, ``∂L/∂W_ih = xᵀ ∂L/∂a``,
    ``∂L/∂W_hh = hᵀ ∂L/∂a``, ``∂L/∂b_ih = ∂L/∂b_hh = Σ_n ∂L/∂a``.

    Args:
        input_size: size of each input row.
        hidden_size: size of the state h.
        bias: if ``False``, no ``bias_ih`` and ``bias_hh``.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        rng: an int seed or a Generator for the initial values.
        dtype: the parameters' dtype, float64 (default) or float32.

    Shape:
        ``forward(input, hx=None)``: input ``(N, input_size)`` or ``(input_size,)``, hx ``(N, hidden_size)``
        or ``(hidden_size,)`` (zeros when omitted) -> h' ``(N, hidden_size)``. ``backward(grad_h')`` returns
        ∂L/∂input, or ``(∂L/∂input, ∂L/∂hx)`` when forward got hx.

    Attributes:
        weight_ih: ``(input_size, hidden_size)``, the transpose of PyTorch's ``weight_ih``.
        weight_hh: ``(hidden_size, hidden_size)``, the transpose of PyTorch's ``weight_hh``.
        bias_ih, bias_hh: ``(hidden_size,)`` or ``None``. All drawn from U(−1/√hidden_size, 1/√hidden_size).

    Example:
        >>> cell = RNNCell(3, 4, rng=0)
        >>> cell(np.ones((2, 3))).shape
        (2, 4)
    """

    local_derivative = {
        "∂L/∂a": "g ⊙ φ'(a)",
        "∂L/∂x": "∂L/∂a W_ihᵀ",
        "∂L/∂h": "∂L/∂a W_hhᵀ",
        "∂L/∂W_ih": "xᵀ ∂L/∂a",
        "∂L/∂W_hh": "hᵀ ∂L/∂a",
    }

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        *,
        rng: RngLike = None,
        dtype: Any = np.float64,
    ) -> None:
        self.nonlinearity = _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, rng=rng, dtype=dtype)

    def _step(self, w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
        return rnn_step(w, x, state, self.nonlinearity)

    def _step_backward(self, w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
        return rnn_step_backward(w, cache, grad_state, self.nonlinearity)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nonlinearity={self.nonlinearity!r}"


class LSTMCell(_Cell):
    r"""A long short-term memory cell, gates in PyTorch's order i, f, g, o:

    ``a = x W_ih + b_ih + h W_hh + b_hh`` split into ``a_i, a_f, a_g, a_o``;
    ``i = σ(a_i)``, ``f = σ(a_f)``, ``g = tanh(a_g)``, ``o = σ(a_o)``;
    ``c' = f ⊙ c + i ⊙ g``, ``h' = o ⊙ tanh(c')``.

    Local derivatives, with ``g_h = ∂L/∂h'`` and ``g_c = ∂L/∂c'`` (each zero when not given):
    ``δc = g_c + g_h ⊙ o ⊙ (1 − tanh²(c'))``; ``∂L/∂a_i = δc ⊙ g ⊙ i(1 − i)``,
    ``∂L/∂a_f = δc ⊙ c ⊙ f(1 − f)``, ``∂L/∂a_g = δc ⊙ i ⊙ (1 − g²)``,
    ``∂L/∂a_o = g_h ⊙ tanh(c') ⊙ o(1 − o)``; ``∂L/∂c = δc ⊙ f``; then as in
    RNNCell: ``∂L/∂x = ∂L/∂a W_ihᵀ``, ``∂L/∂h = ∂L/∂a W_hhᵀ``, ``∂L/∂W_ih = xᵀ ∂L/∂a``,
    ``∂L/∂W_hh = hᵀ ∂L/∂a``, ``∂L/∂b = Σ_n ∂L/∂a``.

    Args:
        input_size, hidden_size, bias, rng, dtype: as for :class:`RNNCell`.

    Shape:
        ``forward(input, hx=None)`` with hx ``(h, c)``, each ``(N, hidden_size)`` (zeros when omitted) ->
        ``(h', c')``. ``backward((grad_h', grad_c'))`` (either may be ``None`` or left out: zero; a single
        array is grad_h') returns ∂L/∂input, or ``(∂L/∂input, (∂L/∂h, ∂L/∂c))`` when forward got hx.

    Attributes:
        weight_ih: ``(input_size, 4·hidden_size)``, weight_hh: ``(hidden_size, 4·hidden_size)``, the
            transposes of PyTorch's; bias_ih, bias_hh: ``(4·hidden_size,)``. U(−1/√hidden_size, 1/√hidden_size).

    Example:
        >>> h, c = LSTMCell(3, 4, rng=0)(np.ones((2, 3)))
        >>> h.shape, c.shape
        ((2, 4), (2, 4))
    """

    gates, state_size = 4, 2
    local_derivative = {
        "∂L/∂c'": "g_c + g_h ⊙ o ⊙ (1 − tanh²(c'))",
        "∂L/∂c": "∂L/∂c' ⊙ f",
        "∂L/∂x": "∂L/∂a W_ihᵀ",
        "∂L/∂h": "∂L/∂a W_hhᵀ",
        "∂L/∂W_ih": "xᵀ ∂L/∂a",
        "∂L/∂W_hh": "hᵀ ∂L/∂a",
    }

    def _step(self, w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
        return lstm_step(w, x, state)

    def _step_backward(self, w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
        return lstm_step_backward(w, cache, grad_state)


class GRUCell(_Cell):
    r"""A gated recurrent unit, gates in PyTorch's order r, z, n:

    ``r = σ(x W_ir + b_ir + h W_hr + b_hr)``, ``z = σ(x W_iz + b_iz + h W_hz + b_hz)``,
    ``n = tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn))``, ``h' = (1 − z) ⊙ n + z ⊙ h``.

    Local derivatives, with ``g = ∂L/∂h'`` and ``a_n`` the pre-activation of n:
    ``∂L/∂a_n = g ⊙ (1 − z) ⊙ (1 − n²)``, ``∂L/∂a_r = ∂L/∂a_n ⊙ (h W_hn + b_hn) ⊙ r(1 − r)``,
    ``∂L/∂a_z = g ⊙ (h − n) ⊙ z(1 − z)``; the gradient of ``x W_ih + b_ih`` is ``[∂a_r, ∂a_z, ∂a_n]``,
    that of ``h W_hh + b_hh`` is ``[∂a_r, ∂a_z, ∂a_n ⊙ r]``; ``∂L/∂x`` and ``∂L/∂W_ih`` follow from the first,
    ``∂L/∂W_hh`` from the second, and ``∂L/∂h = (its gradient) W_hhᵀ + g ⊙ z``.

    Args:
        input_size, hidden_size, bias, rng, dtype: as for :class:`RNNCell`.

    Shape:
        as :class:`RNNCell`.

    Attributes:
        weight_ih: ``(input_size, 3·hidden_size)``, weight_hh: ``(hidden_size, 3·hidden_size)``, the
            transposes of PyTorch's; bias_ih, bias_hh: ``(3·hidden_size,)``. U(−1/√hidden_size, 1/√hidden_size).

    Example:
        >>> GRUCell(3, 4, rng=0)(np.ones((2, 3))).shape
        (2, 4)
    """

    gates = 3
    local_derivative = {
        "∂L/∂a_n": "g ⊙ (1 − z) ⊙ (1 − n²)",
        "∂L/∂a_z": "g ⊙ (h − n) ⊙ z(1 − z)",
        "∂L/∂h": "[∂a_r, ∂a_z, ∂a_n ⊙ r] W_hhᵀ + g ⊙ z",
    }

    def _step(self, w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
        return gru_step(w, x, state)

    def _step_backward(self, w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
        return gru_step_backward(w, cache, grad_state)


# -- the sequence layers: the cell's step over time, backward through time ----------------------------------


class _Sequence(Layer):
    """What RNN, LSTM and GRU share: parameters per layer and direction (PyTorch's names), the loop over time
    forward and the reversed loop backward. A subclass sets ``gates``, ``state_size`` and the step pair."""

    gates = 1
    state_size = 1
    local_derivative = {
        "∂L/∂h_t": "g_t + ∂L/∂h_t carried back from step t + 1",
        "∂L/∂x_t, ∂L/∂h_{t−1}": "the cell's, at step t",
        "∂L/∂W": "Σ_t the cell's ∂L/∂W at step t",
    }

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        rng: RngLike = None,
        dtype: Any = np.float64,
    ) -> None:
        name = type(self).__name__
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(
                f"{name}: input_size, hidden_size and num_layers must be positive, "
                f"got {input_size}, {hidden_size} and {num_layers}"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if dropout > 0 and num_layers == 1:  # as PyTorch: the argument has no effect then, say so
            warnings.warn(
                f"{name}: dropout={dropout} acts between stacked layers, after all but the last, so it needs "
                f"num_layers > 1; with num_layers=1 it has no effect",
                UserWarning,
                stacklevel=3,
            )
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        self.directions = 2 if bidirectional else 1
        generator, dtype = make_rng(rng), float_dtype(dtype, name)
        for k in range(num_layers):
            for suffix in self._suffixes(k):
                size = input_size if k == 0 else hidden_size * self.directions
                _init_weights(self, suffix, size, hidden_size, self.gates, bias, generator, dtype)
        self.rng = np.random.default_rng(generator.integers(2**63))  # dropout's own stream
        self.caches: list[list[list[tuple[Any, ...]]]] | None = None  # [layer][direction][time step], by forward
        self.masks: list[Array | None] = []  # dropout's scaled mask after each layer but the last (training)
        self.batched = True
        self.state_given = False
        self.shapes: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())  # (input, state) as forward got them

    def _suffixes(self, k: int) -> list[str]:
        return [f"_l{k}", f"_l{k}_reverse"][: self.directions]

    def _step(self, w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
        raise NotImplementedError

    def _step_backward(self, w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
        raise NotImplementedError

    def _initial_state(self, hx: Any, N: int, dtype: Any) -> list[Array]:
        """hx as ``state_size`` arrays ``(num_layers·directions, N, hidden_size)``, zeros when omitted."""
        name, shape = type(self).__name__, (self.num_layers * self.directions, N, self.hidden_size)
        if hx is None:
            return [np.zeros(shape, dtype) for _ in range(self.state_size)]
        given = (hx,) if self.state_size == 1 else hx
        if not isinstance(given, tuple) or len(given) != self.state_size:
            raise TypeError(f"{name}: expected hx as (h_0, c_0), a tuple of two arrays, got {type(hx).__name__}")
        expected = shape if self.batched else (shape[0], shape[2])
        state = [as_float(self, np.asarray(s), what="hx") for s in given]
        for s, what in zip(state, ("h_0", "c_0"), strict=False):
            if s.shape != expected:
                raise ValueError(f"{name}: expected {what} of shape {expected}, got {s.shape}")
        return [s if self.batched else s[:, None] for s in state]

    def forward(self, input: Array, hx: Any = None) -> Any:
        name = type(self).__name__
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            order = "(N, L, " if self.batch_first else "(L, N, "
            raise ValueError(
                f"{name}: expected input of shape {order}{self.input_size}) or (L, {self.input_size}), "
                f"got {input.shape}"
            )
        self.batched, self.state_given = input.ndim == 3, hx is not None
        x = (input.swapaxes(0, 1) if self.batch_first else input) if self.batched else input[:, None]  # (L, N, in)
        L, N = x.shape[:2]
        h0 = self._initial_state(hx, N, x.dtype)
        self.shapes = (input.shape, tuple(h0[0].shape if self.batched else (h0[0].shape[0], self.hidden_size)))
        finals: list[list[Array]] = [[] for _ in range(self.state_size)]
        self.caches, self.masks = [], []
        for k in range(self.num_layers):
            outputs, caches = [], []
            for d, suffix in enumerate(self._suffixes(k)):
                w, state = _weights(self, suffix), tuple(s[k * self.directions + d] for s in h0)
                out, step_caches = np.empty((L, N, self.hidden_size), x.dtype), [()] * L
                # the loop over time; the reverse direction reads the sequence backwards
                for t in range(L) if d == 0 else reversed(range(L)):
                    state, step_caches[t] = self._step(w, x[t], state)
                    out[t] = state[0]
                outputs.append(out)
                caches.append(step_caches)
                for final, s in zip(finals, state, strict=True):
                    final.append(s)
            self.caches.append(caches)
            x = np.concatenate(outputs, axis=-1) if self.directions == 2 else outputs[0]
            if self.training and self.dropout > 0 and k < self.num_layers - 1:  # between layers, not after the last
                keep = 1.0 - self.dropout
                mask = ((self.rng.random(x.shape) < keep) / keep if keep > 0 else np.zeros(x.shape)).astype(x.dtype)
                self.masks.append(mask)
                x = x * mask
            else:
                self.masks.append(None)
        output = (x.swapaxes(0, 1) if self.batch_first else x) if self.batched else x[:, 0]
        state_n = [np.stack(f) if self.batched else np.stack(f)[:, 0] for f in finals]
        return output, (state_n[0] if self.state_size == 1 else tuple(state_n))

    def backward(self, grad_output: Any) -> Any:
        assert self.caches is not None
        dtype, H, D = _weights(self, "_l0").weight_ih.data.dtype, self.hidden_size, self.directions
        out_shape = (*self.shapes[0][:-1], D * H)
        # grad_output: ∂L/∂output alone, or (∂L/∂output, ∂L/∂h_n) / (∂L/∂output, (∂L/∂h_n, ∂L/∂c_n))
        parts = grad_output if isinstance(grad_output, tuple) else (grad_output,)
        if len(parts) > 2:
            raise ValueError(
                f"{type(self).__name__}.backward: expected grad_output or (grad_output, grad of the "
                f"final state), got a tuple of {len(parts)}"
            )
        (g_y,) = grad_parts(self, parts[0], [out_shape], dtype, ["output"])
        final = parts[1] if len(parts) == 2 else None
        final = (final,) if self.state_size == 1 and final is not None else (final or ())
        g_final = grad_parts(self, final, [self.shapes[1]] * self.state_size, dtype, ["h_n", "c_n"])
        g_y = (g_y.swapaxes(0, 1) if self.batch_first else g_y) if self.batched else g_y[:, None]  # (L, N, D·H)
        g_final = [g if self.batched else g[:, None] for g in g_final]
        g_h0 = [np.zeros_like(g) for g in g_final]
        for k in reversed(range(self.num_layers)):
            mask = self.masks[k]
            if mask is not None:  # dropout's derivative: the same mask, scaled
                g_y = g_y * mask
            caches = self.caches[k]
            g_x = np.zeros((*g_y.shape[:2], caches[0][0][0].shape[-1]), dtype)
            for d, suffix in enumerate(self._suffixes(k)):
                w, i = _weights(self, suffix), k * D + d
                grad_state = tuple(g[i] for g in g_final)  # ∂L/∂(state after the last step), carried back in time
                for t in reversed(range(len(caches[d]))) if d == 0 else range(len(caches[d])):
                    # the step's h' is the output at t too: its gradient is what came from above plus from t + 1
                    grad_state = (grad_state[0] + g_y[t, :, d * H : (d + 1) * H], *grad_state[1:])
                    g_x_t, grad_state = self._step_backward(w, caches[d][t], grad_state)
                    g_x[t] += g_x_t
                for g, s in zip(g_h0, grad_state, strict=True):
                    g[i] = s
            g_y = g_x
        g_input = (g_y.swapaxes(0, 1) if self.batch_first else g_y) if self.batched else g_y[:, 0]
        if not self.state_given:
            return g_input
        g_h0 = [g if self.batched else g[:, 0] for g in g_h0]
        return g_input, (g_h0[0] if self.state_size == 1 else tuple(g_h0))

    def extra_repr(self) -> str:
        text = f"input_size={self.input_size}, hidden_size={self.hidden_size}, num_layers={self.num_layers}"
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)}"
        return text


class RNN(_Sequence):
    r"""An Elman RNN over a sequence: ``h_t = tanh(x_t W_ih + b_ih + h_{t−1} W_hh + b_hh)`` (or ReLU).

    The sequence runs through the cell's step for t = 0 … L−1 (the reverse direction of a bidirectional layer
    for t = L−1 … 0), layer after layer; layer k > 0 reads layer k−1's output (both directions concatenated),
    with dropout between layers in training, none after the last (as PyTorch).

    Backward through time is a reversed loop over the steps: at each step the gradient of the state h_t is
    what came from the output at t plus what the step t + 1 carried back, and the cell's local derivatives
    (see :class:`RNNCell`) give the gradients of the step's input, of the state before it and (added) of the
    parameters.

    Args:
        input_size: size of each input element; hidden_size: size of the state h.
        num_layers: stacked layers (default 1).
        bias: if ``False``, no ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: input and output ``(N, L, ·)`` instead of ``(L, N, ·)``; the states stay ``(·, N, H)``.
        dropout: the probability of dropout on each layer's output but the last, in training (its own
            Generator, drawn from ``rng``).
        bidirectional: a second direction per layer, parameters ``..._reverse``; outputs concatenated.
        rng: an int seed or a Generator for the initial values; dtype: float64 (default) or float32.

    Shape:
        ``forward(input, hx=None)``: input ``(L, N, input_size)`` (batch_first: ``(N, L, input_size)``) or
        unbatched ``(L, input_size)``; hx = h_0 ``(num_layers·D, N, hidden_size)`` (zeros when omitted)
        -> ``(output, h_n)``, output ``(L, N, D·hidden_size)`` with D = 2 if bidirectional else 1.
        ``backward(grad_output)``: the final state's gradient counts as zero; ``backward((grad_output,
        grad_h_n))`` gives it too (any of them may be ``None``: zero). Returns ∂L/∂input, or
        ``(∂L/∂input, ∂L/∂hx)`` when forward got hx.

    Attributes:
        weight_ih_l{k}: ``(input size of layer k, 1·hidden_size)``, weight_hh_l{k}: ``(hidden_size,
            1·hidden_size)``, each the transpose of PyTorch's; bias_ih_l{k}, bias_hh_l{k}:
            ``(1·hidden_size,)``; the same with ``_reverse`` for the second direction. All drawn from
            U(−1/√hidden_size, 1/√hidden_size).

    Example:
        >>> output, h_n = RNN(3, 4, num_layers=2, rng=0)(np.ones((5, 2, 3)))
        >>> output.shape, h_n.shape
        ((5, 2, 4), (2, 2, 4))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        rng: RngLike = None,
        dtype: Any = np.float64,
    ) -> None:
        self.nonlinearity = _check_nonlinearity("RNN", nonlinearity)
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, rng=rng, dtype=dtype
        )

    def _step(self, w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
        return rnn_step(w, x, state, self.nonlinearity)

    def _step_backward(self, w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
        return rnn_step_backward(w, cache, grad_state, self.nonlinearity)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else f"{text}, nonlinearity={self.nonlinearity!r}"


class LSTM(_Sequence):
    r"""An LSTM over a sequence, each step an :class:`LSTMCell` (gates i, f, g, o).

    The sequence runs through the cell's step for t = 0 … L−1 (the reverse direction of a bidirectional layer
    for t = L−1 … 0), layer after layer; layer k > 0 reads layer k−1's output (both directions concatenated),
    with dropout between layers in training, none after the last (as PyTorch).

    Backward through time is a reversed loop over the steps: at each step the gradient of the state h_t is
    what came from the output at t plus what the step t + 1 carried back, and the cell's local derivatives
    (see :class:`LSTMCell`) give the gradients of the step's input, of the state before it and (added) of the
    parameters.

    Args:
        input_size: size of each input element; hidden_size: size of the state h.
        num_layers: stacked layers (default 1).
        bias: if ``False``, no ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: input and output ``(N, L, ·)`` instead of ``(L, N, ·)``; the states stay ``(·, N, H)``.
        dropout: the probability of dropout on each layer's output but the last, in training (its own
            Generator, drawn from ``rng``).
        bidirectional: a second direction per layer, parameters ``..._reverse``; outputs concatenated.
        rng: an int seed or a Generator for the initial values; dtype: float64 (default) or float32.

    Shape:
        ``forward(input, hx=None)``: input ``(L, N, input_size)`` (batch_first: ``(N, L, input_size)``) or
        unbatched ``(L, input_size)``; hx = (h_0, c_0), each ``(num_layers·D, N, hidden_size)`` (zeros when omitted)
        -> ``(output, (h_n, c_n))``, output ``(L, N, D·hidden_size)`` with D = 2 if bidirectional else 1.
        ``backward(grad_output)``: the final state's gradient counts as zero; ``backward((grad_output,
        (grad_h_n, grad_c_n)))`` gives it too (any of them may be ``None``: zero). Returns ∂L/∂input, or
        ``(∂L/∂input, ∂L/∂hx)`` when forward got hx.

    Attributes:
        weight_ih_l{k}: ``(input size of layer k, 4·hidden_size)``, weight_hh_l{k}: ``(hidden_size,
            4·hidden_size)``, each the transpose of PyTorch's; bias_ih_l{k}, bias_hh_l{k}:
            ``(4·hidden_size,)``; the same with ``_reverse`` for the second direction. All drawn from
            U(−1/√hidden_size, 1/√hidden_size).

    Example:
        >>> output, (h_n, c_n) = LSTM(3, 4, bidirectional=True, rng=0)(np.ones((5, 2, 3)))
        >>> output.shape, h_n.shape, c_n.shape
        ((5, 2, 8), (2, 2, 4), (2, 2, 4))
    """

    gates, state_size = 4, 2

    def _step(self, w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
        return lstm_step(w, x, state)

    def _step_backward(self, w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
        return lstm_step_backward(w, cache, grad_state)


class GRU(_Sequence):
    r"""A GRU over a sequence, each step a :class:`GRUCell` (gates r, z, n).

    The sequence runs through the cell's step for t = 0 … L−1 (the reverse direction of a bidirectional layer
    for t = L−1 … 0), layer after layer; layer k > 0 reads layer k−1's output (both directions concatenated),
    with dropout between layers in training, none after the last (as PyTorch).

    Backward through time is a reversed loop over the steps: at each step the gradient of the state h_t is
    what came from the output at t plus what the step t + 1 carried back, and the cell's local derivatives
    (see :class:`GRUCell`) give the gradients of the step's input, of the state before it and (added) of the
    parameters.

    Args:
        input_size: size of each input element; hidden_size: size of the state h.
        num_layers: stacked layers (default 1).
        bias: if ``False``, no ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: input and output ``(N, L, ·)`` instead of ``(L, N, ·)``; the states stay ``(·, N, H)``.
        dropout: the probability of dropout on each layer's output but the last, in training (its own
            Generator, drawn from ``rng``).
        bidirectional: a second direction per layer, parameters ``..._reverse``; outputs concatenated.
        rng: an int seed or a Generator for the initial values; dtype: float64 (default) or float32.

    Shape:
        ``forward(input, hx=None)``: input ``(L, N, input_size)`` (batch_first: ``(N, L, input_size)``) or
        unbatched ``(L, input_size)``; hx = h_0 ``(num_layers·D, N, hidden_size)`` (zeros when omitted)
        -> ``(output, h_n)``, output ``(L, N, D·hidden_size)`` with D = 2 if bidirectional else 1.
        ``backward(grad_output)``: the final state's gradient counts as zero; ``backward((grad_output,
        grad_h_n))`` gives it too (any of them may be ``None``: zero). Returns ∂L/∂input, or
        ``(∂L/∂input, ∂L/∂hx)`` when forward got hx.

    Attributes:
        weight_ih_l{k}: ``(input size of layer k, 3·hidden_size)``, weight_hh_l{k}: ``(hidden_size,
            3·hidden_size)``, each the transpose of PyTorch's; bias_ih_l{k}, bias_hh_l{k}:
            ``(3·hidden_size,)``; the same with ``_reverse`` for the second direction. All drawn from
            U(−1/√hidden_size, 1/√hidden_size).

    Example:
        >>> output, h_n = GRU(3, 4, batch_first=True, rng=0)(np.ones((2, 5, 3)))
        >>> output.shape, h_n.shape
        ((2, 5, 4), (1, 2, 4))
    """

    gates = 3

    def _step(self, w: Weights, x: Array, state: State) -> tuple[State, tuple[Any, ...]]:
        return gru_step(w, x, state)

    def _step_backward(self, w: Weights, cache: tuple[Any, ...], grad_state: State) -> tuple[Array, State]:
        return gru_step_backward(w, cache, grad_state)
