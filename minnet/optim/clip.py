"""Gradient clipping: :func:`clip_grad_norm_` and :func:`clip_grad_value_`, PyTorch's ``torch.nn.utils`` functions."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .._checks import check_real
from ..parameter import Parameter


def clip_grad_norm_(
    parameters: Parameter | Iterable[Parameter],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""Scale the gradients of ``parameters`` in place so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type`` norm of all the gradients as if they were
    one vector: ``‖(‖g₁‖_p, …, ‖g_k‖_p)‖_p`` over the parameters' ``.grad``
    (``p = inf``: the largest ``|g|``). Where ``c = max_norm / (total + 1e-6)`` is
    below 1, every gradient is multiplied by ``c`` in place (so the clipped total is
    just under ``max_norm``); otherwise they are left as they are. The same rule,
    the same ``1e-6`` and the same argument names as PyTorch's; call it after
    ``backward`` and before ``optimizer.step()``.

    Args:
        parameters: a Parameter or an iterable of them (``model.parameters()``).
        max_norm: the largest total norm allowed.
        norm_type: the order p of the norm (default 2.0); ``float("inf")`` for the
            largest absolute value.
        error_if_nonfinite: if ``True``, a total norm that is NaN or infinite is a
            RuntimeError and no gradient changes; if ``False`` (default), the
            gradients are scaled by it as PyTorch does (NaN gives NaN gradients).

    Returns:
        the total norm of the gradients before clipping, a float (0.0 without
        parameters).

    Example:
        >>> p = Parameter(np.zeros(2)); p.grad[:] = [3.0, 4.0]
        >>> clip_grad_norm_([p], max_norm=1.0)
        5.0
        >>> p.grad.round(6)
        array([0.6, 0.8])
    """
    params = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    for param in params:
        if not isinstance(param, Parameter):
            raise TypeError(f"clip_grad_norm_: parameters must be minnet Parameters, got {type(param).__name__}")
    max_norm = check_real("clip_grad_norm_", "max_norm", max_norm, 0.0, infinite=True)
    norm_type = check_real("clip_grad_norm_", "norm_type", norm_type, infinite=True)
    grads = [param.grad for param in params]
    if not grads:
        return 0.0
    # the norm of each gradient, then the norm of those norms: the norm of all of them joined (as PyTorch computes it)
    norms = np.array([np.linalg.norm(grad.ravel(), ord=norm_type) for grad in grads], dtype=np.float64)
    total = float(np.linalg.norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, so they cannot be "
            "clipped; pass error_if_nonfinite=False to scale them by it anyway"
        )
    scale = min(max_norm / (total + 1e-6), 1.0)  # NaN stays NaN, as torch's clamp leaves it
    if scale != 1.0:
        with np.errstate(invalid="ignore"):  # an infinite total: scale 0, and 0 · inf is NaN, as in torch
            for grad in grads:
                grad *= scale
    return total


def clip_grad_value_(parameters: Parameter | Iterable[Parameter], clip_value: float) -> None:
    r"""Clip every gradient entry of ``parameters`` in place to ``[−clip_value, clip_value]``.

    PyTorch's ``torch.nn.utils.clip_grad_value_``: each ``.grad`` is clamped
    elementwise (a NaN stays NaN); unlike :func:`clip_grad_norm_` the direction
    of the gradient changes when some entries are clipped and others are not.
    Call it after ``backward`` and before ``optimizer.step()``.

    Args:
        parameters: a Parameter or an iterable of them (``model.parameters()``).
        clip_value: the largest absolute value allowed, a number >= 0 (a
            negative one is a ValueError; PyTorch would set every entry to it).

    Example:
        >>> p = Parameter(np.zeros(3)); p.grad[:] = [-3.0, 0.5, 2.0]
        >>> clip_grad_value_([p], clip_value=1.0); p.grad
        array([-1. ,  0.5,  1. ])
    """
    params = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    for param in params:
        if not isinstance(param, Parameter):
            raise TypeError(f"clip_grad_value_: parameters must be minnet Parameters, got {type(param).__name__}")
    clip_value = check_real("clip_grad_value_", "clip_value", clip_value, 0.0, infinite=True)
    for param in params:
        np.clip(param.grad, -clip_value, clip_value, out=param.grad)
