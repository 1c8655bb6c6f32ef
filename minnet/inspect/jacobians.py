"""``jacobian``: the full Jacobian of a layer from one backward per unit vector, beside finite differences."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_real, describe
from ..nn.layer import Layer
from ..nn.loss import Loss
from ..nn.snapshot import preserved
from ..testing.finite_differences import partial_derivatives


def _order_of(difference: float) -> str:
    """``"< 1e-12"`` for 3.1e-13: the power of ten above a finite-difference error, whose
    own digits are rounding noise that differs between machines (exact value: ``max_abs_diff``)."""
    if difference == 0.0:
        return "0"
    return f"< 1e{math.floor(math.log10(difference)) + 1:+03d}"


@dataclass
class JacobianPair:
    """The Jacobian of the output with respect to one tensor, of shape
    ``(output.size, tensor.size)``: ``analytic`` row j is what backward returns
    for the unit vector e_j; ``numeric`` is by central differences."""

    name: str
    shape: tuple[int, ...]
    analytic: NDArray[np.float64]
    numeric: NDArray[np.float64]

    @property
    def max_abs_diff(self) -> float:
        return float(np.max(np.abs(self.analytic - self.numeric), initial=0.0))


@dataclass
class JacobianResult:
    """What :func:`jacobian` computed: ``input`` and ``params`` (by name)."""

    output_shape: tuple[int, ...]
    input: JacobianPair
    params: dict[str, JacobianPair]

    def __iter__(self) -> Iterator[JacobianPair]:
        yield self.input
        yield from self.params.values()

    def __str__(self) -> str:
        blocks = []
        for pair in self:
            # rounded for display, so finite-difference noise of 1e-13 prints as 0, not −0
            left = np.array2string(np.round(pair.analytic, 10) + 0.0, precision=4, suppress_small=True).splitlines()
            right = np.array2string(np.round(pair.numeric, 10) + 0.0, precision=4, suppress_small=True).splitlines()
            width = max(max(len(line) for line in left), len("backward, one unit vector per row"))
            lines = [
                f"∂y/∂{pair.name}: output {self.output_shape} × {pair.name} {pair.shape} "
                f"-> J of shape {pair.analytic.shape}; largest difference {_order_of(pair.max_abs_diff)}",
                f"  {'backward, one unit vector per row'.ljust(width)}   finite differences",
            ]
            lines += [f"  {a.ljust(width)}   {b}" for a, b in zip(left, right, strict=True)]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


def jacobian(layer: Layer, x: ArrayLike, *, step: float = 1e-4) -> JacobianResult:
    r"""The full Jacobian of ``layer(x)`` with respect to ``x`` and each parameter.

    Built by running ``backward`` once per unit vector: with ``e_j`` the j-th
    unit vector of the output's shape, ``backward(e_j)`` returns ``e_jᵀ J``,
    row j of ∂y/∂x, and leaves row j of ∂y/∂p in each ``p.grad``. Beside it,
    the finite-difference Jacobian (five-point central differences, float64).
    A backward pass never builds J: it computes Jᵀ·g directly, which for an
    elementwise activation is a diagonal J applied as a product, and for
    Linear a block structure applied as one matrix product.

    The pass leaves no trace (see :func:`~minnet.nn.snapshot.preserved`):
    parameters, gradients, buffers (a BatchNorm's running statistics in
    training mode), random generators and modes are as they were; the caches
    hold the pass on ``x``. Random generators (a dropout mask's) are reset
    before every forward, so each finite difference sees the same mask.
    Meant for a small input: output size × input size must stay under a
    million.

    Args:
        layer: a layer taking one array (not a loss).
        x: the input, converted to float64; the parameters must be float64.
        step: the finite-difference step h, scaled by ``max(1, |v|)``.

    Returns:
        a :class:`JacobianResult`; ``str()`` of it shows each analytic Jacobian
        beside its numeric one.

    Example:
        >>> J = jacobian(Sigmoid(), np.array([[0.0, 1.0]]))
        >>> np.round(J.input.analytic, 4)
        array([[0.25  , 0.    ],
               [0.    , 0.1966]])
    """
    if isinstance(layer, Loss):
        raise TypeError(f"jacobian: {type(layer).__name__} is a loss (a scalar output); use gradcheck for it")
    if not isinstance(layer, Layer):
        raise TypeError(f"jacobian: layer must be a minnet Layer, got {describe(layer)}")
    step = check_real("jacobian", "step", step, 0.0, low_open=True)
    x = np.array(x, dtype=np.float64, copy=True)
    params = list(layer.named_parameters())
    for name, p in params:
        if p.data.dtype != np.float64:
            raise TypeError(f"jacobian: parameter {name!r} has dtype {p.data.dtype}; finite differences need float64")
    with preserved(layer) as snapshot:
        output = np.asarray(layer(x))
        m = output.size
        if m * max(x.size, max((p.size for _, p in params), default=0)) > 1_000_000:
            raise ValueError(f"jacobian: output {output.shape} and input {x.shape} are too large for a full Jacobian")
        J_x = np.zeros((m, x.size))
        J_p = [np.zeros((m, p.size)) for _, p in params]
        for j in range(m):
            for _, p in params:
                p.grad[...] = 0
            unit = np.zeros(output.shape)
            unit.flat[j] = 1.0
            J_x[j] = np.ravel(np.asarray(layer.backward(unit)))
            for k, (_, p) in enumerate(params):
                J_p[k][j] = p.grad.ravel()

        def f() -> NDArray[np.float64]:
            snapshot.restore_randomness()  # the same dropout mask on every pass
            return np.ravel(np.asarray(layer(x), dtype=np.float64))

        def numeric(array: NDArray[np.floating]) -> NDArray[np.float64]:
            return np.transpose(partial_derivatives(f, array, step).reshape(array.size, m))

        result = JacobianResult(
            tuple(output.shape),
            JacobianPair("x", tuple(x.shape), J_x, numeric(x)),
            {name: JacobianPair(name, tuple(p.shape), J_p[k], numeric(p.data)) for k, (name, p) in enumerate(params)},
        )
        f()  # leave the caches of x behind
    return result
