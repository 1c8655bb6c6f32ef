r"""Recurrent layers: the cells RNNCell, LSTMCell and GRUCell (one time step), and
RNN, LSTM and GRU (a whole sequence, backward through time).

Each cell's math is written once, as a pair of functions. ``*_step`` starts
from ``a_x = x W_ih + b_ih`` (:func:`input_projection`), writes what its
derivative needs into arrays the caller gives it and returns the new state;
``*_step_backward`` reads them, takes the gradient of the new state and returns
the gradients of the two pre-activations ``a_x`` and ``a_h = h W_hh + b_hh``
and of the old state. The caller turns the first two into the parameters' and
the input's gradients. The cell classes call the pair once; the sequence
classes call it at every time step, forward in time into caches allocated for
the whole sequence (one array per quantity, the slice at step t for the step),
then in a reversed loop; ``x W_ih + b_ih`` before the loop, and the weights'
gradients and ∂L/∂x after it, are one product each over all L·N rows.

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

from .._checks import check_bool, check_int, check_real
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


def _rows(a: Array) -> Array:
    """``a`` as a matrix of rows, ``(…, n)`` -> ``(·, n)``: a sequence's L·N rows for one product."""
    return a.reshape(-1, a.shape[-1])


def input_projection(w: Weights, x: Array) -> Array:
    """``a_x = x W_ih + b_ih``, the part of the pre-activation that does not depend on the state. For a whole
    sequence ``x`` of shape ``(L, N, in)`` it is one product over the L·N rows, before the loop over time."""
    a_x = (_rows(x) @ w.weight_ih.data).reshape(*x.shape[:-1], -1)
    return a_x if w.bias_ih is None else a_x + w.bias_ih.data


def _hidden_preactivation(w: Weights, h: Array) -> Array:
    """``a_h = h W_hh + b_hh``, the part of the pre-activation that depends on the state."""
    a_h = h @ w.weight_hh.data
    return a_h if w.bias_hh is None else a_h + w.bias_hh.data


def _add_parameter_grads(w: Weights, x: Array, h: Array, g_x: Array, g_h: Array) -> None:
    """∂L/∂W_ih += xᵀ g_x, ∂L/∂W_hh += hᵀ g_h, ∂L/∂b_ih += Σ g_x, ∂L/∂b_hh += Σ g_h, with ``g_x`` and ``g_h``
    the gradients of ``a_x = x W_ih + b_ih`` and ``a_h = h W_hh + b_hh`` and the sums over the rows: one step's
    batch for a cell, all L·N rows of a sequence at once for RNN, LSTM and GRU."""
    w.weight_ih.grad += _rows(x).T @ _rows(g_x)
    w.weight_hh.grad += _rows(h).T @ _rows(g_h)
    if w.bias_ih is not None and w.bias_hh is not None:
        w.bias_ih.grad += _rows(g_x).sum(axis=0)
        w.bias_hh.grad += _rows(g_h).sum(axis=0)


# Each step starts from ``a_x = x W_ih + b_ih`` (see input_projection) and returns the new state; the arrays
# its derivative needs it writes into arrays the caller allocated (a cell's, or the slice at step t of a
# sequence's stacked caches). Each step's backward takes the gradient of the new state and returns
# (∂L/∂a_x, ∂L/∂a_h, gradient of the old state); the caller turns the first two into the parameters' and the
# input's gradients (_add_parameter_grads, g_x W_ihᵀ), for a sequence once after the loop over time.

# -- the Elman cell: h' = tanh(x W_ih + b_ih + h W_hh + b_hh) ---------------------------------------------


def rnn_step(w: Weights, a_x: Array, state: State, nonlinearity: str) -> State:
    """One Elman step: ``(h',)``. Its derivative needs h' alone (a sequence keeps it among its states)."""
    (h,) = state
    a = a_x + _hidden_preactivation(w, h)
    return (np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0),)


def rnn_step_backward(w: Weights, h_new: Array, grad_state: State, nonlinearity: str) -> tuple[Array, Array, State]:
    """(∂L/∂a_x, ∂L/∂a_h, (∂L/∂h,)) from (∂L/∂h',); the two pre-activations' gradients are the same."""
    (g,) = grad_state
    g_a = g * (1.0 - h_new**2) if nonlinearity == "tanh" else g * (h_new > 0)  # tanh' = 1 − h'², relu' = [h' > 0]
    return g_a, g_a, (g_a @ w.weight_hh.data.T,)


# -- the LSTM cell: gates i, f, g, o; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c') -------------------------------


def lstm_step(w: Weights, a_x: Array, state: State, gates: Array, tanh_c: Array) -> State:
    """One LSTM step: ``(h', c')``. Writes the gates i, f, g, o into ``gates`` ``(N, 4·H)`` and tanh(c') into
    ``tanh_c`` ``(N, H)``: with the old c, what its derivative needs."""
    h, c = state
    a_i, a_f, a_g, a_o = np.split(a_x + _hidden_preactivation(w, h), 4, axis=-1)
    i, f, g, o = np.split(gates, 4, axis=-1)  # views of the caller's array: the assignments fill it
    i[...], f[...], g[...], o[...] = _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
    c_new = f * c + i * g
    tanh_c[...] = np.tanh(c_new)
    return o * tanh_c, c_new


def lstm_step_backward(
    w: Weights, c: Array, gates: Array, tanh_c: Array, grad_state: State
) -> tuple[Array, Array, State]:
    """(∂L/∂a_x, ∂L/∂a_h, (∂L/∂h, ∂L/∂c)) from (∂L/∂h', ∂L/∂c'), with c the old cell state and ``gates``,
    ``tanh_c`` what lstm_step wrote; the two pre-activations' gradients are the same."""
    i, f, g, o = np.split(gates, 4, axis=-1)
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
    return g_a, g_a, (g_a @ w.weight_hh.data.T, g_c * f)


# -- the GRU cell: gates r, z, n; h' = (1 − z) ⊙ n + z ⊙ h -------------------------------------------------


def gru_step(w: Weights, a_x: Array, state: State, gates: Array, a_hn: Array) -> State:
    """One GRU step: ``(h',)``. Writes the gates r, z, n into ``gates`` ``(N, 3·H)`` and ``h W_hn + b_hn`` into
    ``a_hn`` ``(N, H)``: with the old h, what its derivative needs."""
    (h,) = state
    x_r, x_z, x_n = np.split(a_x, 3, axis=-1)
    h_r, h_z, h_n = np.split(_hidden_preactivation(w, h), 3, axis=-1)
    r, z, n = np.split(gates, 3, axis=-1)  # views of the caller's array: the assignments fill it
    r[...], z[...] = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    n[...] = np.tanh(x_n + r * h_n)
    a_hn[...] = h_n
    return ((1.0 - z) * n + z * h,)


def gru_step_backward(w: Weights, h: Array, gates: Array, a_hn: Array, grad_state: State) -> tuple[Array, Array, State]:
    """(∂L/∂a_x, ∂L/∂a_h, (∂L/∂h,)) from (∂L/∂h',), with h the old state and ``gates``, ``a_hn`` what gru_step
    wrote."""
    r, z, n = np.split(gates, 3, axis=-1)
    (g,) = grad_state
    g_n = g * (1.0 - z) * (1.0 - n**2)  # ∂L/∂(pre-activation of n)
    g_r = g_n * a_hn * r * (1.0 - r)  # n's pre-activation holds r ⊙ (h W_hn + b_hn)
    g_z = g * (h - n) * z * (1.0 - z)
    g_x = np.concatenate([g_r, g_z, g_n], axis=-1)  # the gradient of x W_ih + b_ih
    g_hh = np.concatenate([g_r, g_z, g_n * r], axis=-1)  # the gradient of h W_hh + b_hh
    return g_x, g_hh, (g_hh @ w.weight_hh.data.T + g * z,)


# -- what the cells and the sequence layers share -----------------------------------------------------------


def _check_nonlinearity(name: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


def grad_parts(layer: Layer, grads: Any, shapes: list[tuple[int, ...]], dtype: Any, names: list[str]) -> list[Array]:
    """The gradients of a layer's several outputs, each an array of its shape: ``grads`` is one array (the first
    output's), or a tuple with an array or ``None`` per output (a missing element or ``None``: zero)."""
    if grads is None:  # None inside a tuple is zero; for the whole gradient it is a call without one
        raise TypeError(
            f"{type(layer).__name__}.backward() needs grad_output: the gradient of its output, or a tuple with "
            "one gradient (or None, zero) per output"
        )
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
        if item.dtype.kind not in "iuf":
            raise TypeError(f"{type(layer).__name__}: the gradient of {name} has dtype {item.dtype}, expected {dtype}")
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
    forward and backward around the cell's step pair. A subclass sets ``num_gates``, ``state_size`` (1: h, 2: (h, c))
    and ``_step`` / ``_step_backward``."""

    num_gates = 1  # G
    state_size = 1
    parameter_symbols = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, *, rng: RngLike = None, dtype: Any = np.float64
    ) -> None:
        name = type(self).__name__
        input_size = check_int(name, "input_size", input_size, minimum=1)
        hidden_size = check_int(name, "hidden_size", hidden_size, minimum=1)
        bias = check_bool(name, "bias", bias)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        _init_weights(
            self, "", input_size, hidden_size, self.num_gates, bias, make_rng(rng, name), float_dtype(dtype, name)
        )
        # the caches, set by forward: the input and the old state, then what the step writes for its derivative
        self.x: Array | None = None  # the input (N, input_size)
        self.h: Array | None = None  # the old state h (N, hidden_size)
        self.c: Array | None = None  # LSTMCell: the old cell state c (N, hidden_size)
        self.h_new: Array | None = None  # RNNCell: the new state h' (N, hidden_size), for tanh' or relu'
        self.gates: Array | None = None  # LSTMCell: i, f, g, o (N, 4·hidden_size); GRUCell: r, z, n (N, 3·…)
        self.tanh_c: Array | None = None  # LSTMCell: tanh(c') (N, hidden_size)
        self.a_hn: Array | None = None  # GRUCell: h W_hn + b_hn (N, hidden_size)
        self.batched = True  # whether forward's input had a batch axis
        self.state_given = False  # whether forward got hx: backward then returns its gradient too

    def _step(self, w: Weights, a_x: Array, state: State) -> State:
        """The cell's step from ``a_x = x W_ih + b_ih``, keeping what its derivative needs."""
        raise NotImplementedError

    def _step_backward(self, w: Weights, grad_state: State) -> tuple[Array, Array, State]:
        """The step's derivative from the caches: (∂L/∂a_x, ∂L/∂a_h, gradient of the old state)."""
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
        w = _weights(self)
        self.x, self.h = x, state[0]
        new_state = self._step(w, input_projection(w, x), state)
        outputs = tuple(s if self.batched else s[0] for s in new_state)
        return outputs[0] if self.state_size == 1 else outputs

    def backward(self, grad_output: Any) -> Any:
        assert self.x is not None
        assert self.h is not None
        w = _weights(self)
        shape = (self.x.shape[0], self.hidden_size) if self.batched else (self.hidden_size,)
        names = ["h'", "c'"][: self.state_size]
        grads = grad_parts(self, grad_output, [shape] * self.state_size, w.weight_ih.data.dtype, names)
        grads = [g if self.batched else g[None] for g in grads]
        # the step's derivative gives the gradients of a_x = x W_ih + b_ih, a_h = h W_hh + b_hh and the old state
        g_ax, g_ah, grad_state = self._step_backward(w, tuple(grads))
        _add_parameter_grads(w, self.x, self.h, g_ax, g_ah)
        if not self.needs_input_grad and not self.state_given:  # nothing reads ∂L/∂x (fit's first layer)
            return None
        grad_x = g_ax @ w.weight_ih.data.T
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

    Caches (set by forward): ``x`` ``(N, input_size)``, ``h`` the old state and ``h_new`` = h' (for tanh' or
    relu'), each ``(N, hidden_size)``.

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
        ∂L/∂input (``None`` when ``needs_input_grad`` is False), or ``(∂L/∂input, ∂L/∂hx)`` when forward got hx.

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

    def _step(self, w: Weights, a_x: Array, state: State) -> State:
        (self.h_new,) = rnn_step(w, a_x, state, self.nonlinearity)
        return (self.h_new,)

    def _step_backward(self, w: Weights, grad_state: State) -> tuple[Array, Array, State]:
        assert self.h_new is not None
        return rnn_step_backward(w, self.h_new, grad_state, self.nonlinearity)

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

    Caches (set by forward): ``x``, the old state ``h`` and ``c``, ``gates`` i, f, g, o ``(N, 4·hidden_size)``
    and ``tanh_c`` = tanh(c') ``(N, hidden_size)``.

    Args:
        input_size, hidden_size, bias, rng, dtype: as for :class:`RNNCell`.

    Shape:
        ``forward(input, hx=None)`` with hx ``(h, c)``, each ``(N, hidden_size)`` (zeros when omitted) ->
        ``(h', c')``. ``backward((grad_h', grad_c'))`` (either may be ``None`` or left out: zero; a single
        array is grad_h') returns ∂L/∂input (``None`` when ``needs_input_grad`` is False), or ``(∂L/∂input,
        (∂L/∂h, ∂L/∂c))`` when forward got hx.

    Attributes:
        weight_ih: ``(input_size, 4·hidden_size)``, weight_hh: ``(hidden_size, 4·hidden_size)``, the
            transposes of PyTorch's; bias_ih, bias_hh: ``(4·hidden_size,)``. U(−1/√hidden_size, 1/√hidden_size).

    Example:
        >>> h, c = LSTMCell(3, 4, rng=0)(np.ones((2, 3)))
        >>> h.shape, c.shape
        ((2, 4), (2, 4))
    """

    num_gates, state_size = 4, 2
    local_derivative = {
        "∂L/∂c'": "g_c + g_h ⊙ o ⊙ (1 − tanh²(c'))",
        "∂L/∂c": "∂L/∂c' ⊙ f",
        "∂L/∂x": "∂L/∂a W_ihᵀ",
        "∂L/∂h": "∂L/∂a W_hhᵀ",
        "∂L/∂W_ih": "xᵀ ∂L/∂a",
        "∂L/∂W_hh": "hᵀ ∂L/∂a",
    }

    def _step(self, w: Weights, a_x: Array, state: State) -> State:
        N, H = a_x.shape[0], self.hidden_size
        self.c = state[1]
        self.gates, self.tanh_c = np.empty((N, 4 * H), a_x.dtype), np.empty((N, H), a_x.dtype)
        return lstm_step(w, a_x, state, self.gates, self.tanh_c)

    def _step_backward(self, w: Weights, grad_state: State) -> tuple[Array, Array, State]:
        assert self.c is not None
        assert self.gates is not None
        assert self.tanh_c is not None
        return lstm_step_backward(w, self.c, self.gates, self.tanh_c, grad_state)


class GRUCell(_Cell):
    r"""A gated recurrent unit, gates in PyTorch's order r, z, n:

    ``r = σ(x W_ir + b_ir + h W_hr + b_hr)``, ``z = σ(x W_iz + b_iz + h W_hz + b_hz)``,
    ``n = tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn))``, ``h' = (1 − z) ⊙ n + z ⊙ h``.

    Local derivatives, with ``g = ∂L/∂h'`` and ``a_n`` the pre-activation of n:
    ``∂L/∂a_n = g ⊙ (1 − z) ⊙ (1 − n²)``, ``∂L/∂a_r = ∂L/∂a_n ⊙ (h W_hn + b_hn) ⊙ r(1 − r)``,
    ``∂L/∂a_z = g ⊙ (h − n) ⊙ z(1 − z)``; the gradient of ``x W_ih + b_ih`` is ``[∂a_r, ∂a_z, ∂a_n]``,
    that of ``h W_hh + b_hh`` is ``[∂a_r, ∂a_z, ∂a_n ⊙ r]``; ``∂L/∂x`` and ``∂L/∂W_ih`` follow from the first,
    ``∂L/∂W_hh`` from the second, and ``∂L/∂h = (its gradient) W_hhᵀ + g ⊙ z``.

    Caches (set by forward): ``x``, the old state ``h``, ``gates`` r, z, n ``(N, 3·hidden_size)`` and
    ``a_hn`` = h W_hn + b_hn ``(N, hidden_size)``.

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

    num_gates = 3
    local_derivative = {
        "∂L/∂a_n": "g ⊙ (1 − z) ⊙ (1 − n²)",
        "∂L/∂a_z": "g ⊙ (h − n) ⊙ z(1 − z)",
        "∂L/∂h": "[∂a_r, ∂a_z, ∂a_n ⊙ r] W_hhᵀ + g ⊙ z",
    }

    def _step(self, w: Weights, a_x: Array, state: State) -> State:
        N, H = a_x.shape[0], self.hidden_size
        self.gates, self.a_hn = np.empty((N, 3 * H), a_x.dtype), np.empty((N, H), a_x.dtype)
        return gru_step(w, a_x, state, self.gates, self.a_hn)

    def _step_backward(self, w: Weights, grad_state: State) -> tuple[Array, Array, State]:
        assert self.h is not None
        assert self.gates is not None
        assert self.a_hn is not None
        return gru_step_backward(w, self.h, self.gates, self.a_hn, grad_state)


# -- the sequence layers: the cell's step over time, backward through time ----------------------------------


class _Sequence(Layer):
    """What RNN, LSTM and GRU share: parameters per layer and direction (PyTorch's names), the loop over time
    forward and the reversed loop backward. A subclass sets ``num_gates``, ``state_size`` and the step pair."""

    num_gates = 1  # G
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
        input_size = check_int(name, "input_size", input_size, minimum=1)
        hidden_size = check_int(name, "hidden_size", hidden_size, minimum=1)
        num_layers = check_int(name, "num_layers", num_layers, minimum=1)
        dropout = check_real(name, "dropout", dropout, 0.0, 1.0)
        bias, batch_first = check_bool(name, "bias", bias), check_bool(name, "batch_first", batch_first)
        bidirectional = check_bool(name, "bidirectional", bidirectional)
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
        generator, dtype = make_rng(rng, name), float_dtype(dtype, name)
        for k in range(num_layers):
            for suffix in self._suffixes(k):
                size = input_size if k == 0 else hidden_size * self.directions
                _init_weights(self, suffix, size, hidden_size, self.num_gates, bias, generator, dtype)
        self.rng = np.random.default_rng(generator.integers(2**63))  # dropout's own stream
        # The caches, set by forward, each allocated for the whole sequence (L steps, N rows) and filled step by
        # step. Index i = k·D + d is layer k's direction d (D = 2 if bidirectional else 1), as in h_0 and h_n.
        self.x: Array | None = None  # the first layer's input (L, N, input_size)
        self.inputs: Array | None = None  # layer k ≥ 1's input, layer k − 1's output after dropout: (num_layers − 1,
        #   L, N, D·H); None for one layer
        self.masks: Array | None = None  # dropout's scaled masks on those inputs, alike; None without dropout
        self.h: Array | None = None  # the state h of every step, (num_layers·D, L + 1, N, H): the forward direction
        #   goes from h[i, t] to h[i, t + 1] at step t (h_0 at 0), the reverse from h[i, t + 1] to h[i, t] (h_0 at L)
        self.c: Array | None = None  # LSTM: the cell state c of every step, as h
        self.gates: Array | None = None  # LSTM: i, f, g, o; GRU: r, z, n; of every step, (num_layers·D, L, N, G·H)
        self.tanh_c: Array | None = None  # LSTM: tanh(c_t) of every step, (num_layers·D, L, N, H)
        self.a_hn: Array | None = None  # GRU: h_{t−1} W_hn + b_hn of every step, (num_layers·D, L, N, H)
        self.batched = True
        self.state_given = False
        self.shapes: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())  # (input, state) as forward got them

    def _suffixes(self, k: int) -> list[str]:
        return [f"_l{k}", f"_l{k}_reverse"][: self.directions]

    #: Whether the step's ∂L/∂a_h differs from its ∂L/∂a_x (GRU: r scales h W_hn + b_hn).
    separate_hidden_gradient = False

    def _allocate(self, shape: tuple[int, int, int, int], dtype: Any) -> None:
        """The caches beside h for ``shape`` = (num_layers·D, L, N, H): LSTM c, gates, tanh_c; GRU gates, a_hn."""

    def _states(self) -> list[Array]:
        """The stacked states: [h], or [h, c] for LSTM."""
        assert self.h is not None
        return [self.h]

    def _step(self, w: Weights, a_x: Array, i: int, t: int, old: int, new: int) -> None:
        """The step at time t of layer and direction i from ``a_x = x_t W_ih + b_ih``: from the states at index
        ``old`` to those at ``new``, filling the caches at t."""
        raise NotImplementedError

    def _step_backward(
        self, w: Weights, i: int, t: int, old: int, new: int, grad_state: State
    ) -> tuple[Array, Array, State]:
        """The derivative of that step from the caches: (∂L/∂a_x, ∂L/∂a_h, gradient of the old state)."""
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
        D, H, K = self.directions, self.hidden_size, self.num_layers
        self.x = np.ascontiguousarray(x)
        self.inputs = np.empty((K - 1, L, N, D * H), x.dtype) if K > 1 else None
        dropping = self.training and self.dropout > 0 and K > 1  # between layers, not after the last
        self.masks = np.empty((K - 1, L, N, D * H), x.dtype) if dropping else None
        self.h = np.empty((K * D, L + 1, N, H), x.dtype)
        self._allocate((K * D, L, N, H), x.dtype)
        layer_input = self.x
        for k in range(K):
            for d, suffix in enumerate(self._suffixes(k)):
                i, w = k * D + d, _weights(self, suffix)
                for state, given in zip(self._states(), h0, strict=True):
                    state[i, 0 if d == 0 else L] = given[i]
                a_x = input_projection(w, layer_input)  # x_t W_ih + b_ih for every t: one product over L·N rows
                # the loop over time; the reverse direction reads the sequence backwards
                for t in range(L) if d == 0 else reversed(range(L)):
                    self._step(w, a_x[t], i, t, *((t, t + 1) if d == 0 else (t + 1, t)))
            if k < K - 1:
                assert self.inputs is not None
                layer_input = self._layer_output(k, out=self.inputs[k])
                if self.masks is not None:
                    keep = 1.0 - self.dropout
                    shape = layer_input.shape
                    self.masks[k] = (self.rng.random(shape) < keep) / keep if keep > 0 else np.zeros(shape)
                    layer_input *= self.masks[k]
        x = self._layer_output(K - 1)
        output = (x.swapaxes(0, 1) if self.batch_first else x) if self.batched else x[:, 0]
        # the final states: the forward direction's after step L − 1 (index L), the reverse's after step 0 (index 0)
        ends = [L if d == 0 else 0 for _ in range(K) for d in range(D)]
        state_n = [s[np.arange(K * D), ends] for s in self._states()]  # a copy: fancy indexing
        state_n = [s if self.batched else s[:, 0] for s in state_n]
        return output, (state_n[0] if self.state_size == 1 else tuple(state_n))

    def _layer_output(self, k: int, out: Array | None = None) -> Array:
        """Layer k's output (L, N, D·H), written into ``out`` if given: its states after each step, both
        directions side by side."""
        assert self.h is not None
        _, L1, N, H = self.h.shape
        out = np.empty((L1 - 1, N, self.directions * H), self.h.dtype) if out is None else out
        out[..., :H] = self.h[k * self.directions, 1:]
        if self.directions == 2:
            out[..., H:] = self.h[2 * k + 1, :-1]
        return out

    def _layer_input(self, k: int) -> Array:
        """Layer k's input (L, N, ·): the sequence for the first layer, layer k − 1's output after dropout after."""
        if k == 0:
            assert self.x is not None
            return self.x
        assert self.inputs is not None
        layer_input: Array = self.inputs[k - 1]
        return layer_input

    def backward(self, grad_output: Any) -> Any:
        assert self.x is not None
        assert self.h is not None
        dtype, H, D = _weights(self, "_l0").weight_ih.data.dtype, self.hidden_size, self.directions
        out_shape = (*self.shapes[0][:-1], D * H)
        # grad_output: ∂L/∂output alone, or (∂L/∂output, ∂L/∂h_n) / (∂L/∂output, (∂L/∂h_n, ∂L/∂c_n))
        if grad_output is None:
            raise TypeError(f"{type(self).__name__}.backward() needs grad_output, ∂L/∂output of shape {out_shape}")
        parts = tuple(grad_output) if isinstance(grad_output, (tuple, list)) else (grad_output,)
        if not parts or len(parts) > 2:
            raise ValueError(
                f"{type(self).__name__}.backward: expected grad_output or (grad_output, grad of the "
                f"final state), got a tuple of {len(parts)}"
            )
        (g_y,) = grad_parts(self, (parts[0],), [out_shape], dtype, ["output"])  # None in a tuple: zero
        final = parts[1] if len(parts) == 2 else None
        if final is None:
            final = ()
        elif self.state_size == 1 or not isinstance(final, (tuple, list)):  # one array: h_n's (c_n's is zero)
            final = (final,)
        g_final = grad_parts(self, final, [self.shapes[1]] * self.state_size, dtype, ["h_n", "c_n"])
        g_y = (g_y.swapaxes(0, 1) if self.batch_first else g_y) if self.batched else g_y[:, None]  # (L, N, D·H)
        g_final = [g if self.batched else g[:, None] for g in g_final]
        g_h0 = [np.zeros_like(g) for g in g_final]
        L, N = self.x.shape[:2]
        g_x: Array | None = None
        for k in reversed(range(self.num_layers)):
            if self.masks is not None and k < self.num_layers - 1:  # dropout's derivative: the same mask, scaled
                g_y = g_y * self.masks[k]
            layer_input = self._layer_input(k)
            # ∂L/∂(layer input), unless nothing reads it: the first layer's input when fit says so (and forward got
            # no hx: a returned (∂L/∂x, ∂L/∂hx) must hold an array for x)
            input_grad_needed, g_x = k > 0 or self.needs_input_grad or self.state_given, None
            for d, suffix in enumerate(self._suffixes(k)):
                w, i = _weights(self, suffix), k * D + d
                g_ax = np.empty((L, N, self.num_gates * H), dtype)  # ∂L/∂a_x and ∂L/∂a_h of every step
                g_ah = np.empty_like(g_ax) if self.separate_hidden_gradient else g_ax
                grad_state = tuple(g[i] for g in g_final)  # ∂L/∂(state after the last step), carried back in time
                for t in reversed(range(L)) if d == 0 else range(L):
                    # the step's h' is the output at t too: its gradient is what came from above plus from t + 1
                    grad_state = (grad_state[0] + g_y[t, :, d * H : (d + 1) * H], *grad_state[1:])
                    old, new = (t, t + 1) if d == 0 else (t + 1, t)
                    g_ax[t], g_ah[t], grad_state = self._step_backward(w, i, t, old, new, grad_state)
                for g, s in zip(g_h0, grad_state, strict=True):
                    g[i] = s
                # the parameters' and the input's gradients: one product over the L·N rows of all steps
                h_old = self.h[i, :L] if d == 0 else self.h[i, 1:]
                _add_parameter_grads(w, layer_input, h_old, g_ax, g_ah)
                if input_grad_needed:
                    g_in = (_rows(g_ax) @ w.weight_ih.data.T).reshape(layer_input.shape)
                    g_x = g_in if g_x is None else g_x + g_in
            if g_x is not None:
                g_y = g_x
        g_input = None
        if g_x is not None:
            g_input = (g_x.swapaxes(0, 1) if self.batch_first else g_x) if self.batched else g_x[:, 0]
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
    (see :class:`RNNCell`) give the gradients of the step's pre-activations and of the state before it; the
    parameters' gradients and ∂L/∂input follow as one product each over all L·N rows (∂L/∂input is skipped,
    backward returning ``None``, when ``needs_input_grad`` is False and forward got no hx).

    Caches (arrays for the whole sequence, set by forward; index i = k·D + d as in h_n): ``x`` the input
    ``(L, N, input_size)``; ``inputs`` layer k ≥ 1's input, after dropout, and ``masks`` dropout's
    ``(num_layers − 1, L, N, D·hidden_size)`` (masks only in training); ``h`` ``(num_layers·D, L + 1, N, H)``,
    the state before and after every step (forward: h_0 at 0, step t writes t + 1; reverse: h_0 at L, step t
    writes t).

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

    def _step(self, w: Weights, a_x: Array, i: int, t: int, old: int, new: int) -> None:
        assert self.h is not None
        (self.h[i, new],) = rnn_step(w, a_x, (self.h[i, old],), self.nonlinearity)

    def _step_backward(
        self, w: Weights, i: int, t: int, old: int, new: int, grad_state: State
    ) -> tuple[Array, Array, State]:
        assert self.h is not None
        return rnn_step_backward(w, self.h[i, new], grad_state, self.nonlinearity)

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
    (see :class:`LSTMCell`) give the gradients of the step's pre-activations and of the state before it; the
    parameters' gradients and ∂L/∂input follow as one product each over all L·N rows (∂L/∂input is skipped,
    backward returning ``None``, when ``needs_input_grad`` is False and forward got no hx).

    Caches (arrays for the whole sequence, set by forward; index i = k·D + d as in h_n): ``x`` the input
    ``(L, N, input_size)``; ``inputs`` layer k ≥ 1's input, after dropout, and ``masks`` dropout's
    ``(num_layers − 1, L, N, D·hidden_size)`` (masks only in training); ``h`` ``(num_layers·D, L + 1, N, H)``,
    the state before and after every step (forward: h_0 at 0, step t writes t + 1; reverse: h_0 at L, step t
    writes t). ``c`` as h; ``gates`` i, f, g, o ``(num_layers·D, L, N, 4·H)``;
    ``tanh_c`` tanh(c_t) ``(num_layers·D, L, N, H)``.

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

    num_gates, state_size = 4, 2

    def _allocate(self, shape: tuple[int, int, int, int], dtype: Any) -> None:
        KD, L, N, H = shape
        self.c = np.empty((KD, L + 1, N, H), dtype)
        self.gates, self.tanh_c = np.empty((KD, L, N, 4 * H), dtype), np.empty((KD, L, N, H), dtype)

    def _states(self) -> list[Array]:
        assert self.h is not None
        assert self.c is not None
        return [self.h, self.c]

    def _step(self, w: Weights, a_x: Array, i: int, t: int, old: int, new: int) -> None:
        h, c, gates, tanh_c = self.h, self.c, self.gates, self.tanh_c
        assert h is not None
        assert c is not None
        assert gates is not None
        assert tanh_c is not None
        h[i, new], c[i, new] = lstm_step(w, a_x, (h[i, old], c[i, old]), gates[i, t], tanh_c[i, t])

    def _step_backward(
        self, w: Weights, i: int, t: int, old: int, new: int, grad_state: State
    ) -> tuple[Array, Array, State]:
        assert self.c is not None
        assert self.gates is not None
        assert self.tanh_c is not None
        return lstm_step_backward(w, self.c[i, old], self.gates[i, t], self.tanh_c[i, t], grad_state)


class GRU(_Sequence):
    r"""A GRU over a sequence, each step a :class:`GRUCell` (gates r, z, n).

    The sequence runs through the cell's step for t = 0 … L−1 (the reverse direction of a bidirectional layer
    for t = L−1 … 0), layer after layer; layer k > 0 reads layer k−1's output (both directions concatenated),
    with dropout between layers in training, none after the last (as PyTorch).

    Backward through time is a reversed loop over the steps: at each step the gradient of the state h_t is
    what came from the output at t plus what the step t + 1 carried back, and the cell's local derivatives
    (see :class:`GRUCell`) give the gradients of the step's pre-activations and of the state before it; the
    parameters' gradients and ∂L/∂input follow as one product each over all L·N rows (∂L/∂input is skipped,
    backward returning ``None``, when ``needs_input_grad`` is False and forward got no hx).

    Caches (arrays for the whole sequence, set by forward; index i = k·D + d as in h_n): ``x`` the input
    ``(L, N, input_size)``; ``inputs`` layer k ≥ 1's input, after dropout, and ``masks`` dropout's
    ``(num_layers − 1, L, N, D·hidden_size)`` (masks only in training); ``h`` ``(num_layers·D, L + 1, N, H)``,
    the state before and after every step (forward: h_0 at 0, step t writes t + 1; reverse: h_0 at L, step t
    writes t). ``gates`` r, z, n ``(num_layers·D, L, N, 3·H)``; ``a_hn`` =
    h_{t−1} W_hn + b_hn ``(num_layers·D, L, N, H)``.

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

    num_gates = 3
    separate_hidden_gradient = True

    def _allocate(self, shape: tuple[int, int, int, int], dtype: Any) -> None:
        KD, L, N, H = shape
        self.gates, self.a_hn = np.empty((KD, L, N, 3 * H), dtype), np.empty((KD, L, N, H), dtype)

    def _step(self, w: Weights, a_x: Array, i: int, t: int, old: int, new: int) -> None:
        h, gates, a_hn = self.h, self.gates, self.a_hn
        assert h is not None
        assert gates is not None
        assert a_hn is not None
        (h[i, new],) = gru_step(w, a_x, (h[i, old],), gates[i, t], a_hn[i, t])

    def _step_backward(
        self, w: Weights, i: int, t: int, old: int, new: int, grad_state: State
    ) -> tuple[Array, Array, State]:
        assert self.h is not None
        assert self.gates is not None
        assert self.a_hn is not None
        return gru_step_backward(w, self.h[i, old], self.gates[i, t], self.a_hn[i, t], grad_state)
