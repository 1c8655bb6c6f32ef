"""Exchange models and optimizers with PyTorch: the same layers, weights, buffers, modes and optimizer state.

- :func:`to_torch`: a minnet model as a ``torch.nn.Module`` of the matching PyTorch layers;
- :func:`from_torch`: the reverse, for the PyTorch layers minnet has;
- :func:`optimizer_to_torch`, :func:`optimizer_from_torch`: an optimizer (SGD, Adam, AdamW, RMSprop) with its
  hyperparameters and state (step count, moment estimates, momentum buffers), so training continues where it
  stopped on the other side.

Every matrix minnet uses as ``x @ W`` is ``(in, out)``, PyTorch's ``(out, in)``: each Linear's weight, every
weight of a recurrent layer or cell (``weight_ih_l0``, ``weight_hh``, ...: ``(in, G·H)`` in minnet, the gates in
PyTorch's order) and MultiheadAttention's ``in_proj_weight`` are transposed on the way, and so is the optimizer
state kept for them. The other parameters (convolutions, normalisations, embeddings) have one layout in both.
Parameters and buffers keep their names (``state_dict`` keys are the same on both sides) and their dtype, and a
round trip minnet → PyTorch → minnet gives back the same bits.

minnet's :class:`~minnet.Residual` and :class:`~minnet.Concat` have no PyTorch module; they become
:class:`Residual` and :class:`Concat` of this module (``minnet.interop.torch.Residual``), small ``torch.nn.Module``
classes defined on first use (so that importing minnet never needs torch) at module level, so that a converted
model pickles and goes through ``DistributedDataParallel``.

PyTorch is an optional dependency: the ``torch`` extra (or ``test``) brings it; without it each function raises
an ImportError that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import nn as mnn
from ..nn.layer import Layer
from ..optim.optimizer import SGD, Adam, AdamW, Optimizer, RMSprop
from ..parameter import Parameter

__all__ = ["from_torch", "loss_to_torch", "optimizer_from_torch", "optimizer_to_torch", "to_torch"]

_RECURRENT: tuple[type[Layer], ...] = (mnn.RNNCell, mnn.LSTMCell, mnn.GRUCell, mnn.RNN, mnn.LSTM, mnn.GRU)


def _import_torch() -> Any:
    """The torch module, or an ImportError naming the extra that brings it."""
    try:
        import torch
    except ImportError as error:  # pragma: no cover - only without the extra
        raise ImportError(
            "minnet.interop.torch needs PyTorch: install the `torch` extra of minnet (in a checkout: "
            'pip install -e ".[torch]"; the `test` extra brings it too) or torch==2.13.0 itself'
        ) from error
    return torch


# -- the torch modules for minnet's containers -------------------------------------------------------------------

_CLASSES: dict[str, type] = {}


def _containers() -> dict[str, type]:
    """Define :class:`Residual` and :class:`Concat` (torch modules) once, at module level."""
    if _CLASSES:
        return _CLASSES
    torch = _import_torch()

    class Residual(torch.nn.Module):  # type: ignore[misc, name-defined]
        """minnet's Residual in PyTorch: ``y = x + block(x)``."""

        def __init__(self, block: Any) -> None:
            super().__init__()
            self.block = block

        def forward(self, x: Any) -> Any:
            return x + self.block(x)

    class Concat(torch.nn.Module):  # type: ignore[misc, name-defined]
        """minnet's Concat in PyTorch: ``torch.cat([b(x) for b in branches], dim=axis)``; the branches are its
        children ``0``, ``1``, ... as in minnet, so parameter names match."""

        def __init__(self, *branches: Any, axis: int = -1) -> None:
            super().__init__()
            if not branches:
                raise ValueError("Concat: needs at least one branch")
            for i, branch in enumerate(branches):
                self.add_module(str(i), branch)
            self.axis = axis

        def forward(self, x: Any) -> Any:
            return torch.cat([branch(x) for branch in self.children()], dim=self.axis)

        def extra_repr(self) -> str:
            return f"axis={self.axis}"

    for cls in (Residual, Concat):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
        _CLASSES[cls.__name__] = cls
    return _CLASSES


def __getattr__(name: str) -> Any:
    """``Residual`` and ``Concat``, defined on first access (they need torch)."""
    if name in ("Residual", "Concat"):
        return _containers()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- minnet -> torch --------------------------------------------------------------------------------------------


def _where(path: str) -> str:
    return f"at {path!r}" if path else "at the top of the model"


class _ToTorch:
    """One conversion: the torch module, and the torch Parameter made for each minnet Parameter (tied weights
    stay tied)."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.made: dict[int, tuple[Any, bool]] = {}

    def parameter(self, p: Parameter, transposed: bool, path: str) -> Any:
        if id(p) in self.made:
            made, was_transposed = self.made[id(p)]
            if was_transposed != transposed:
                raise ValueError(
                    f"to_torch: the Parameter {_where(path)} is shared with a layer that stores it in the other "
                    "layout (transposed in PyTorch in one, not in the other); torch cannot tie these"
                )
            return made
        data = p.data.T if transposed else p.data
        made = self.torch.nn.Parameter(self.torch.from_numpy(np.array(data, order="C", copy=True)))
        self.made[id(p)] = (made, transposed)
        return made

    def tensor(self, array: NDArray[Any]) -> Any:
        return self.torch.from_numpy(np.array(array, order="C", copy=True))

    def copy_parameters(self, layer: Layer, theirs: Any, transposed: Callable[[str], bool], path: str) -> None:
        """Each Parameter of ``layer`` (its own and its children's: a leaf's, e.g. MultiheadAttention's out_proj)
        into ``theirs`` under the same name."""
        expected = {name for name, _ in theirs.named_parameters()}
        ours = dict(layer.named_parameters())
        if set(ours) != expected:
            raise ValueError(
                f"to_torch: {type(layer).__name__} {_where(path)} has parameters {sorted(ours)}, its PyTorch "
                f"counterpart {sorted(expected)}"
            )
        for name, p in ours.items():
            owner_path, _, attr = name.rpartition(".")
            owner = theirs.get_submodule(owner_path)
            made = self.parameter(p, transposed(name), f"{path}.{name}" if path else name)
            if tuple(made.shape) != tuple(getattr(owner, attr).shape):
                raise ValueError(
                    f"to_torch: {name} of {type(layer).__name__} {_where(path)} has shape {tuple(made.shape)} "
                    f"in PyTorch's layout, expected {tuple(getattr(owner, attr).shape)}"
                )
            setattr(owner, attr, made)

    def convert(self, layer: Layer, path: str) -> Any:
        nn = self.torch.nn
        kind = type(layer)
        if kind is mnn.Sequential:
            assert isinstance(layer, mnn.Sequential)
            return nn.Sequential(*(self.convert(child, _join(path, str(i))) for i, child in enumerate(layer.layers)))
        if kind is mnn.Residual:
            assert isinstance(layer, mnn.Residual)
            return _containers()["Residual"](self.convert(layer.block, _join(path, "block")))
        if kind is mnn.Concat:
            assert isinstance(layer, mnn.Concat)
            branches = (self.convert(b, _join(path, str(i))) for i, b in enumerate(layer.branches))
            return _containers()["Concat"](*branches, axis=layer.axis)
        build = _BUILD_TORCH.get(kind)
        if build is None:
            raise TypeError(
                f"to_torch: {kind.__name__} {_where(path)} has no PyTorch counterpart here; the layers converted "
                f"are {', '.join(sorted(c.__name__ for c in _BUILD_TORCH))} and the containers Sequential, "
                "Residual and Concat"
            )
        theirs = build(nn, layer, _torch_dtype(self.torch, layer))
        self.copy_parameters(layer, theirs, _transposed_rule(layer), path)
        for name in layer.buffer_names:
            value = getattr(layer, name)
            with self.torch.no_grad():
                getattr(theirs, name).copy_(self.tensor(np.asarray(value)))
        return theirs


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _torch_dtype(torch: Any, layer: Layer) -> Any:
    """The torch dtype of the layer's parameters and floating buffers (float64 when it has none)."""
    dtypes = {p.data.dtype for p in layer.parameters()}
    dtypes.update(a.dtype for _, a in layer.named_buffers() if np.asarray(a).dtype.kind == "f")
    if len(dtypes) > 1:
        raise ValueError(
            f"to_torch: {type(layer).__name__} has parameters of several dtypes {sorted(map(str, dtypes))}"
        )
    dtype = dtypes.pop() if dtypes else np.dtype(np.float64)
    return getattr(torch, np.dtype(dtype).name)


def _transposed_rule(layer: Layer) -> Callable[[str], bool]:
    """Which of the layer's parameter names PyTorch stores transposed."""
    if isinstance(layer, _RECURRENT):
        return lambda name: name.startswith("weight")
    if isinstance(layer, mnn.MultiheadAttention):
        return lambda name: name in ("in_proj_weight", "out_proj.weight")
    if isinstance(layer, mnn.Linear):
        return lambda name: name == "weight"
    return lambda name: False


def _sequence_args(layer: Any) -> dict[str, Any]:
    return {
        "input_size": layer.input_size,
        "hidden_size": layer.hidden_size,
        "num_layers": layer.num_layers,
        "bias": layer.bias,
        "batch_first": layer.batch_first,
        "dropout": layer.dropout,
        "bidirectional": layer.bidirectional,
    }


_BUILD_TORCH: dict[type[Layer], Callable[[Any, Any, Any], Any]] = {
    mnn.Linear: lambda nn, m, dt: nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dt),
    mnn.Identity: lambda nn, m, dt: nn.Identity(),
    mnn.Sigmoid: lambda nn, m, dt: nn.Sigmoid(),
    mnn.Tanh: lambda nn, m, dt: nn.Tanh(),
    mnn.ReLU: lambda nn, m, dt: nn.ReLU(),
    mnn.LeakyReLU: lambda nn, m, dt: nn.LeakyReLU(m.negative_slope),
    mnn.ELU: lambda nn, m, dt: nn.ELU(m.alpha),
    mnn.Softplus: lambda nn, m, dt: nn.Softplus(beta=m.beta, threshold=m.threshold),
    mnn.GELU: lambda nn, m, dt: nn.GELU(approximate=m.approximate),
    mnn.SELU: lambda nn, m, dt: nn.SELU(),
    mnn.Hardtanh: lambda nn, m, dt: nn.Hardtanh(m.min_val, m.max_val),
    mnn.Hardsigmoid: lambda nn, m, dt: nn.Hardsigmoid(),
    mnn.Softmax: lambda nn, m, dt: nn.Softmax(dim=m.axis),
    mnn.LogSoftmax: lambda nn, m, dt: nn.LogSoftmax(dim=m.axis),
    mnn.Dropout: lambda nn, m, dt: nn.Dropout(m.p),
    mnn.Flatten: lambda nn, m, dt: nn.Flatten(m.start_dim, m.end_dim),
    mnn.BatchNorm1d: lambda nn, m, dt: nn.BatchNorm1d(m.num_features, m.eps, m.momentum, m.affine, dtype=dt),
    mnn.BatchNorm2d: lambda nn, m, dt: nn.BatchNorm2d(m.num_features, m.eps, m.momentum, m.affine, dtype=dt),
    mnn.LayerNorm: lambda nn, m, dt: nn.LayerNorm(
        m.normalized_shape, m.eps, m.elementwise_affine, bias=m.elementwise_affine and m.bias is not None, dtype=dt
    ),
    mnn.Conv1d: lambda nn, m, dt: nn.Conv1d(
        m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, bias=m.bias is not None, dtype=dt
    ),
    mnn.Conv2d: lambda nn, m, dt: nn.Conv2d(
        m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, bias=m.bias is not None, dtype=dt
    ),
    mnn.MaxPool2d: lambda nn, m, dt: nn.MaxPool2d(m.kernel_size, m.stride, m.padding),
    mnn.AvgPool2d: lambda nn, m, dt: nn.AvgPool2d(
        m.kernel_size, m.stride, m.padding, count_include_pad=m.count_include_pad
    ),
    mnn.Embedding: lambda nn, m, dt: nn.Embedding(m.num_embeddings, m.embedding_dim, m.padding_idx, dtype=dt),
    mnn.RNNCell: lambda nn, m, dt: nn.RNNCell(m.input_size, m.hidden_size, m.bias, m.nonlinearity, dtype=dt),
    mnn.LSTMCell: lambda nn, m, dt: nn.LSTMCell(m.input_size, m.hidden_size, m.bias, dtype=dt),
    mnn.GRUCell: lambda nn, m, dt: nn.GRUCell(m.input_size, m.hidden_size, m.bias, dtype=dt),
    mnn.RNN: lambda nn, m, dt: nn.RNN(nonlinearity=m.nonlinearity, dtype=dt, **_sequence_args(m)),
    mnn.LSTM: lambda nn, m, dt: nn.LSTM(dtype=dt, **_sequence_args(m)),
    mnn.GRU: lambda nn, m, dt: nn.GRU(dtype=dt, **_sequence_args(m)),
    mnn.MultiheadAttention: lambda nn, m, dt: nn.MultiheadAttention(
        m.embed_dim, m.num_heads, bias=m.in_proj_bias is not None, batch_first=m.batch_first, dtype=dt
    ),
}


def to_torch(model: Layer) -> Any:
    """A ``torch.nn.Module`` of the matching PyTorch layers with the model's weights, buffers, dtype and modes.

    A :class:`~minnet.Sequential` becomes a ``torch.nn.Sequential`` (nested ones kept), a
    :class:`~minnet.Residual` or :class:`~minnet.Concat` this module's :class:`Residual` or :class:`Concat`;
    every other layer its PyTorch counterpart (``torch.nn.Linear``, ``torch.nn.LSTM``, ...), with the same
    arguments. Parameters and buffers (BatchNorm's running statistics and ``num_batches_tracked``) keep their
    names and dtype; the matrices minnet stores ``(in, out)`` are transposed into PyTorch's ``(out, in)``; each
    module is in the training or eval mode of its minnet layer. A Parameter shared by two layers is one torch
    Parameter. The values are copied: the two models do not share memory.

    Args:
        model: a minnet layer or network.

    Returns:
        the ``torch.nn.Module``.

    Raises:
        TypeError: a layer without a PyTorch counterpart (a layer of your own, a subclass of a minnet layer),
            named with its place in the model.
        ImportError: torch is not installed (the ``torch`` extra).

    Example:
        >>> from minnet import Linear, ReLU, Sequential
        >>> net = to_torch(Sequential(Linear(3, 4, rng=0), ReLU()))  # doctest: +SKIP
        >>> net  # doctest: +SKIP
        Sequential(
          (0): Linear(in_features=3, out_features=4, bias=True)
          (1): ReLU()
        )
    """
    if not isinstance(model, Layer):
        raise TypeError(f"to_torch: expected a minnet Layer, got {type(model).__name__}")
    torch = _import_torch()
    theirs = _ToTorch(torch).convert(model, "")
    for path, module in model.named_layers():
        theirs.get_submodule(path).training = module.training
    return theirs


# -- torch -> minnet --------------------------------------------------------------------------------------------


def _np_dtype(torch: Any, module: Any, path: str) -> Any:
    """The numpy dtype of the module's parameters and floating buffers (float64 when it has none)."""
    tensors = [*module.parameters(), *(b for b in module.buffers() if b.is_floating_point())]
    dtypes = {t.dtype for t in tensors}
    if not dtypes:
        return np.float64
    if len(dtypes) > 1 or dtypes.pop() not in (torch.float64, torch.float32):
        raise ValueError(
            f"from_torch: {type(module).__name__} {_where(path)} has tensors of dtype "
            f"{sorted({str(t.dtype) for t in tensors})}; minnet takes float64 or float32, one per layer"
        )
    return np.float64 if tensors[0].dtype == torch.float64 else np.float32


def _refuse(module: Any, path: str, **settings: Any) -> None:
    """A ValueError naming the module's settings that minnet does not have (values other than those given)."""
    wrong = {name: getattr(module, name) for name, default in settings.items() if getattr(module, name) != default}
    if wrong:
        shown = ", ".join(f"{name}={value!r}" for name, value in wrong.items())
        allowed = ", ".join(f"{name}={value!r}" for name, value in settings.items())
        raise ValueError(
            f"from_torch: {type(module).__name__} {_where(path)} has {shown}; minnet's counterpart has only {allowed}"
        )


def _from_linear(m: Any, dt: Any, path: str) -> Layer:
    return mnn.Linear(m.in_features, m.out_features, bias=m.bias is not None, rng=0, dtype=dt)


def _from_conv(cls: Any) -> Callable[[Any, Any, str], Layer]:
    def build(m: Any, dt: Any, path: str) -> Layer:
        _refuse(m, path, groups=1, padding_mode="zeros")
        return cls(  # type: ignore[no-any-return]
            m.in_channels,
            m.out_channels,
            m.kernel_size,
            m.stride,
            m.padding,
            m.dilation,
            m.bias is not None,
            rng=0,
            dtype=dt,
        )

    return build


def _from_batchnorm(cls: Any) -> Callable[[Any, Any, str], Layer]:
    def build(m: Any, dt: Any, path: str) -> Layer:
        _refuse(m, path, track_running_stats=True)
        return cls(m.num_features, m.eps, m.momentum, m.affine, dtype=dt)  # type: ignore[no-any-return]

    return build


def _from_softmax(cls: Any) -> Callable[[Any, Any, str], Layer]:
    def build(m: Any, dt: Any, path: str) -> Layer:
        if m.dim is None:
            raise ValueError(
                f"from_torch: {type(m).__name__} {_where(path)} has dim=None (PyTorch's implicit choice); give it a dim"
            )
        return cls(axis=m.dim)  # type: ignore[no-any-return]

    return build


def _from_layernorm(m: Any, dt: Any, path: str) -> Layer:
    return mnn.LayerNorm(
        tuple(m.normalized_shape),
        m.eps,
        m.elementwise_affine,
        bias=m.bias is not None or not m.elementwise_affine,
        dtype=dt,
    )


def _from_maxpool(m: Any, dt: Any, path: str) -> Layer:
    _refuse(m, path, dilation=1, ceil_mode=False, return_indices=False)
    return mnn.MaxPool2d(m.kernel_size, m.stride, m.padding)


def _from_avgpool(m: Any, dt: Any, path: str) -> Layer:
    _refuse(m, path, ceil_mode=False, divisor_override=None)
    return mnn.AvgPool2d(m.kernel_size, m.stride, m.padding, count_include_pad=m.count_include_pad)


def _from_embedding(m: Any, dt: Any, path: str) -> Layer:
    _refuse(m, path, max_norm=None, scale_grad_by_freq=False, sparse=False)
    return mnn.Embedding(m.num_embeddings, m.embedding_dim, m.padding_idx, rng=0, dtype=dt)


def _from_cell(cls: Any) -> Callable[[Any, Any, str], Layer]:
    def build(m: Any, dt: Any, path: str) -> Layer:
        extra = {"nonlinearity": m.nonlinearity} if cls is mnn.RNNCell else {}
        return cls(m.input_size, m.hidden_size, m.bias, rng=0, dtype=dt, **extra)  # type: ignore[no-any-return]

    return build


def _from_sequence(cls: Any) -> Callable[[Any, Any, str], Layer]:
    def build(m: Any, dt: Any, path: str) -> Layer:
        if cls is mnn.LSTM:
            _refuse(m, path, proj_size=0)
        extra = {"nonlinearity": m.nonlinearity} if cls is mnn.RNN else {}
        return cls(  # type: ignore[no-any-return]
            m.input_size,
            m.hidden_size,
            m.num_layers,
            bias=m.bias,
            batch_first=m.batch_first,
            dropout=m.dropout,
            bidirectional=m.bidirectional,
            rng=0,
            dtype=dt,
            **extra,
        )

    return build


def _from_attention(m: Any, dt: Any, path: str) -> Layer:
    _refuse(m, path, _qkv_same_embed_dim=True, bias_k=None, add_zero_attn=False, dropout=0.0)
    return mnn.MultiheadAttention(
        m.embed_dim, m.num_heads, bias=m.in_proj_bias is not None, batch_first=m.batch_first, rng=0, dtype=dt
    )


def _build_minnet(torch: Any) -> dict[Any, Callable[[Any, Any, str], Layer]]:
    nn = torch.nn
    return {
        nn.Linear: _from_linear,
        nn.Identity: lambda m, dt, path: mnn.Identity(),
        nn.Sigmoid: lambda m, dt, path: mnn.Sigmoid(),
        nn.Tanh: lambda m, dt, path: mnn.Tanh(),
        nn.ReLU: lambda m, dt, path: mnn.ReLU(),
        nn.LeakyReLU: lambda m, dt, path: mnn.LeakyReLU(m.negative_slope),
        nn.ELU: lambda m, dt, path: mnn.ELU(m.alpha),
        nn.Softplus: lambda m, dt, path: mnn.Softplus(m.beta, m.threshold),
        nn.GELU: lambda m, dt, path: mnn.GELU(m.approximate),
        nn.SELU: lambda m, dt, path: mnn.SELU(),
        nn.Hardtanh: lambda m, dt, path: mnn.Hardtanh(m.min_val, m.max_val),
        nn.Hardsigmoid: lambda m, dt, path: mnn.Hardsigmoid(),
        nn.Softmax: _from_softmax(mnn.Softmax),
        nn.LogSoftmax: _from_softmax(mnn.LogSoftmax),
        nn.Dropout: lambda m, dt, path: mnn.Dropout(m.p),
        nn.Flatten: lambda m, dt, path: mnn.Flatten(m.start_dim, m.end_dim),
        nn.BatchNorm1d: _from_batchnorm(mnn.BatchNorm1d),
        nn.BatchNorm2d: _from_batchnorm(mnn.BatchNorm2d),
        nn.LayerNorm: _from_layernorm,
        nn.Conv1d: _from_conv(mnn.Conv1d),
        nn.Conv2d: _from_conv(mnn.Conv2d),
        nn.MaxPool2d: _from_maxpool,
        nn.AvgPool2d: _from_avgpool,
        nn.Embedding: _from_embedding,
        nn.RNNCell: _from_cell(mnn.RNNCell),
        nn.LSTMCell: _from_cell(mnn.LSTMCell),
        nn.GRUCell: _from_cell(mnn.GRUCell),
        nn.RNN: _from_sequence(mnn.RNN),
        nn.LSTM: _from_sequence(mnn.LSTM),
        nn.GRU: _from_sequence(mnn.GRU),
        nn.MultiheadAttention: _from_attention,
    }


class _FromTorch:
    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.table = _build_minnet(torch)
        self.made: dict[int, tuple[Parameter, bool]] = {}

    def convert(self, module: Any, path: str) -> Layer:
        kind = type(module)
        containers = _containers()
        children = list(module.named_children())
        if kind is self.torch.nn.Sequential:
            return mnn.Sequential(*(self.convert(child, _join(path, name)) for name, child in children))
        if kind is containers["Residual"]:
            return mnn.Residual(self.convert(module.block, _join(path, "block")))
        if kind is containers["Concat"]:
            return mnn.Concat(*(self.convert(c, _join(path, name)) for name, c in children), axis=module.axis)
        build = self.table.get(kind)
        if build is None:
            raise TypeError(
                f"from_torch: {kind.__module__}.{kind.__qualname__} {_where(path)} has no minnet counterpart; the "
                f"modules converted are torch.nn.{', torch.nn.'.join(sorted(c.__name__ for c in self.table))}, "
                "torch.nn.Sequential and minnet.interop.torch.Residual and Concat"
            )
        try:
            ours = build(module, _np_dtype(self.torch, module, path), path)
        except (ValueError, TypeError) as error:
            if str(error).startswith("from_torch:"):
                raise
            raise ValueError(f"from_torch: {kind.__name__} {_where(path)}: {error}") from error
        self.copy_parameters(module, ours, path)
        for name in ours.buffer_names:
            value = getattr(module, name).detach().cpu().numpy()
            target = getattr(ours, name)
            if target.shape != value.shape:
                raise ValueError(f"from_torch: buffer {name} {_where(path)} has shape {value.shape}")
            target[...] = value
        return ours

    def copy_parameters(self, module: Any, ours: Layer, path: str) -> None:
        theirs = dict(module.named_parameters())
        expected = dict(ours.named_parameters())
        if set(theirs) != set(expected):
            raise ValueError(
                f"from_torch: {type(module).__name__} {_where(path)} has parameters {sorted(theirs)}, its minnet "
                f"counterpart {sorted(expected)}"
            )
        transposed = _transposed_rule(ours)
        for name, p in expected.items():
            t = theirs[name]
            flip = transposed(name)
            if id(t) in self.made:  # a tied weight: the same minnet Parameter
                made, was_flipped = self.made[id(t)]
                if was_flipped != flip:
                    raise ValueError(
                        f"from_torch: the parameter {_join(path, name)} is shared with a layer that stores it in "
                        "the other layout; minnet cannot tie these"
                    )
                owner_path, _, attr = name.rpartition(".")
                owner = dict(ours.named_layers())[owner_path]
                setattr(owner, attr, made)
                continue
            value = t.detach().cpu().numpy()
            value = value.T if flip else value
            if value.shape != p.data.shape:
                raise ValueError(
                    f"from_torch: {name} of {type(module).__name__} {_where(path)} has shape {tuple(t.shape)}, "
                    f"expected {p.data.shape[::-1] if flip else p.data.shape}"
                )
            p.data[...] = value
            p.mark_changed()
            self.made[id(t)] = (p, flip)


def from_torch(module: Any) -> Layer:
    """A minnet model of the matching layers with the module's weights, buffers, dtype and modes.

    The reverse of :func:`to_torch`: ``torch.nn.Sequential`` becomes :class:`~minnet.Sequential` (nested ones
    kept), this module's :class:`Residual` and :class:`Concat` minnet's, and each supported ``torch.nn`` layer
    its minnet counterpart, weights transposed where minnet stores ``(in, out)``. The values are copied. A
    ``torch.nn.Sequential`` built from an ``OrderedDict`` (children named ``fc1``, ...) gets minnet's names ``0``,
    ``1``, ...; the order of the parameters, which the optimizer conversions follow, stays the same.

    Args:
        module: a ``torch.nn.Module`` made of the supported layers (float64 or float32).

    Returns:
        the minnet :class:`~minnet.Layer`.

    Raises:
        TypeError: a module without a minnet counterpart, named with its class and place in the model.
        ValueError: a supported module with a setting minnet does not have (``Conv2d(groups=2)``,
            ``LSTM(proj_size=...)``, ...), named likewise.
    """
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    ours = _FromTorch(torch).convert(module, "")
    modes = dict(module.named_modules())
    for path, layer in ours.named_layers():
        layer.training = bool(modes[path].training)
    return ours


# -- losses -----------------------------------------------------------------------------------------------------

_LOSSES = {
    mnn.MSELoss: "MSELoss",
    mnn.L1Loss: "L1Loss",
    mnn.HuberLoss: "HuberLoss",
    mnn.BCELoss: "BCELoss",
    mnn.BCEWithLogitsLoss: "BCEWithLogitsLoss",
    mnn.CrossEntropyLoss: "CrossEntropyLoss",
    mnn.NLLLoss: "NLLLoss",
    mnn.MultiMarginLoss: "MultiMarginLoss",
}


def loss_to_torch(loss: mnn.Loss) -> Any:
    """The ``torch.nn`` loss of the same class and options (reduction, HuberLoss's ``delta``, the class weights,
    ``ignore_index``, ``label_smoothing``, MultiMarginLoss's ``p`` and ``margin``).

    MSELoss's default reduction, ``"half_batch_mean"`` (the derivation's ``1/(2N) Σ``), has no PyTorch
    counterpart: a ValueError says to use ``"mean"``, ``"sum"`` or ``"none"``, or to scale torch's ``"sum"`` by
    ``1/(2N)``.

    Raises:
        TypeError: a loss of another class.
        ValueError: MSELoss with ``reduction="half_batch_mean"``.
    """
    torch = _import_torch()
    name = _LOSSES.get(type(loss))
    if name is None:
        raise TypeError(f"loss_to_torch: {type(loss).__name__} has no PyTorch counterpart here")
    if loss.reduction == "half_batch_mean":
        raise ValueError(
            "loss_to_torch: MSELoss(reduction='half_batch_mean'), 1/(2N) Σ (ŷ − y)², has no PyTorch counterpart; "
            "use reduction 'mean', 'sum' or 'none' (torch's 'sum' divided by 2N is this one)"
        )
    extra: dict[str, Any] = {"delta": loss.delta} if isinstance(loss, mnn.HuberLoss) else {}
    if isinstance(loss, (mnn.CrossEntropyLoss, mnn.NLLLoss, mnn.MultiMarginLoss)):
        weight = loss.weight
        extra["weight"] = None if weight is None else torch.from_numpy(np.array(weight, copy=True))
    if isinstance(loss, (mnn.CrossEntropyLoss, mnn.NLLLoss)):
        extra["ignore_index"] = loss.ignore_index
    if isinstance(loss, mnn.CrossEntropyLoss):
        extra["label_smoothing"] = loss.label_smoothing
    if isinstance(loss, mnn.MultiMarginLoss):
        extra.update(p=loss.p, margin=loss.margin)
    return getattr(torch.nn, name)(reduction=loss.reduction, **extra)


# -- optimizers -------------------------------------------------------------------------------------------------


def _transposed_in_torch(torch: Any, torch_model: Any) -> set[int]:
    """The ids of the torch parameters minnet stores transposed."""
    nn = torch.nn
    ids: set[int] = set()
    for module in torch_model.modules():
        if isinstance(module, nn.Linear):
            ids.add(id(module.weight))
        elif isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
            ids.update(id(p) for name, p in module.named_parameters(recurse=False) if name.startswith("weight"))
        elif isinstance(module, nn.MultiheadAttention) and module.in_proj_weight is not None:
            ids.add(id(module.in_proj_weight))
    return ids


def _transposed_in_minnet(model: Layer) -> set[int]:
    """The ids of the minnet parameters PyTorch stores transposed."""
    ids: set[int] = set()
    for _, layer in model.named_layers():
        if isinstance(layer, Layer) and isinstance(layer, (mnn.Linear, mnn.MultiheadAttention, *_RECURRENT)):
            rule = _transposed_rule(layer)
            for name, p in layer.named_parameters():
                if "." not in name and rule(name):
                    ids.add(id(p))
    return ids


def _pairs(caller: str, ours: list[Parameter], theirs: list[Any], transposed: set[int], by: str) -> list[bool]:
    """Check that the parameters correspond one to one, in order; whether each is transposed."""
    if len(ours) != len(theirs):
        raise ValueError(
            f"{caller}: the minnet side has {len(ours)} parameters, the PyTorch side {len(theirs)}; the optimizer "
            "must hold every parameter of the model, in the order of model.parameters()"
        )
    flips = []
    for i, (p, t) in enumerate(zip(ours, theirs, strict=True)):
        flip = id(p if by == "minnet" else t) in transposed
        shape = p.data.shape[::-1] if flip else p.data.shape
        if tuple(t.shape) != shape or str(t.dtype).removeprefix("torch.") != p.data.dtype.name:
            raise ValueError(
                f"{caller}: parameter {i} is {p.data.dtype.name} {p.data.shape} in minnet and {t.dtype} "
                f"{tuple(t.shape)} in PyTorch; expected the same model on both sides (to_torch / from_torch), "
                "its parameters in the same order"
            )
        flips.append(flip)
    return flips


def _hyperparameters(optimizer: Optimizer) -> dict[str, Any]:
    names = [name for name in optimizer.hyperparameters if name != "lr"]
    return {"lr": optimizer.lr, **{name: getattr(optimizer, name) for name in names}}


_OPTIMIZERS = {SGD: "SGD", Adam: "Adam", AdamW: "AdamW", RMSprop: "RMSprop"}


def optimizer_to_torch(optimizer: Optimizer, torch_model: Any) -> Any:
    """A ``torch.optim`` optimizer over ``torch_model.parameters()`` in the state of ``optimizer``.

    Its class (SGD, Adam, AdamW, RMSprop) and hyperparameters are the minnet optimizer's, and so is its state:
    the step count (PyTorch's ``state[p]["step"]``), ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``,
    ``momentum_buffer``, ``square_avg``, ``grad_avg``, transposed like the weights. A further step of each, with
    the same gradients, gives the same weights.

    Args:
        optimizer: the minnet optimizer, over every parameter of a model in ``model.parameters()`` order.
        torch_model: that model converted by :func:`to_torch` (or one with the same parameters in the same
            order: names, shapes and dtypes are checked).

    Returns:
        the ``torch.optim.Optimizer``.

    Raises:
        TypeError: another optimizer class.
        ValueError: the parameters do not correspond (their count, shapes or dtypes differ).
    """
    torch = _import_torch()
    name = _OPTIMIZERS.get(type(optimizer))
    if name is None:
        raise TypeError(
            f"optimizer_to_torch: {type(optimizer).__name__} has no conversion; converted are SGD, Adam, AdamW, RMSprop"
        )
    if len(optimizer.param_groups) != 1:  # the options below are read as one set: refuse rather than merge groups
        raise ValueError(
            f"optimizer_to_torch: the {type(optimizer).__name__} has {len(optimizer.param_groups)} parameter groups; "
            "optimizer_to_torch converts one, holding every parameter of the model"
        )
    params = list(torch_model.parameters())
    flips = _pairs("optimizer_to_torch", optimizer.params, params, _transposed_in_torch(torch, torch_model), "torch")
    kwargs = _hyperparameters(optimizer)
    if type(optimizer) is AdamW:
        kwargs.pop("decoupled_weight_decay", None)
    theirs = getattr(torch.optim, name)(params, **kwargs)
    if optimizer.step_count == 0:
        return theirs
    scalar = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    for t, flip, state in zip(params, flips, optimizer.state, strict=True):
        entry = {key: torch.from_numpy(np.array(a.T if flip else a, order="C", copy=True)) for key, a in state.items()}
        # torch's SGD counts no steps, and ignores a "step" in its state: there it carries minnet's count
        entry["step"] = torch.tensor(float(optimizer.step_count), dtype=scalar)
        theirs.state[t] = entry
    return theirs


def optimizer_from_torch(torch_optimizer: Any, model: Layer) -> Optimizer:
    """A minnet optimizer over ``model.parameters()`` in the state of ``torch_optimizer``.

    The reverse of :func:`optimizer_to_torch`, for ``torch.optim.SGD``, ``Adam``, ``AdamW`` and ``RMSprop`` with
    one parameter group. minnet keeps one step count for all parameters: PyTorch's per-parameter ``step`` must be
    the same for each (a ValueError otherwise). PyTorch's SGD keeps no step count: the minnet SGD gets 1 when
    PyTorch has momentum buffers (so they are used, not restarted), 0 when it has none.

    Args:
        torch_optimizer: the PyTorch optimizer, over every parameter of a torch model in order.
        model: that model converted by :func:`from_torch` (or one with the same parameters in the same order).

    Returns:
        the minnet :class:`~minnet.optim.Optimizer`.

    Raises:
        TypeError: another optimizer class.
        ValueError: several parameter groups, parameters that do not correspond, unequal step counts, or a
            setting minnet's optimizer does not have.
    """
    torch = _import_torch()
    kinds: dict[Any, type[Optimizer]] = {getattr(torch.optim, name): cls for cls, name in _OPTIMIZERS.items()}
    cls = kinds.get(type(torch_optimizer))
    if cls is None:
        raise TypeError(
            f"optimizer_from_torch: {type(torch_optimizer).__name__} has no conversion; converted are SGD, Adam, "
            "AdamW, RMSprop"
        )
    if len(torch_optimizer.param_groups) != 1:
        raise ValueError(
            f"optimizer_from_torch: the {type(torch_optimizer).__name__} has {len(torch_optimizer.param_groups)} "
            "parameter groups; optimizer_from_torch converts one, holding every parameter of the model"
        )
    group = torch_optimizer.param_groups[0]
    params = list(model.parameters())
    flips = _pairs("optimizer_from_torch", params, list(group["params"]), _transposed_in_minnet(model), "minnet")
    names = [name for name in cls.hyperparameters if name != "lr"]
    if cls is Adam and "decoupled_weight_decay" not in group:
        names.remove("decoupled_weight_decay")
    kwargs = {name: group[name] for name in names}
    if "betas" in kwargs:
        kwargs["betas"] = tuple(float(b) for b in kwargs["betas"])
    if cls is SGD and kwargs.get("nesterov") is None:
        kwargs["nesterov"] = False
    make: Any = cls  # SGD, Adam, AdamW or RMSprop: each takes (params, lr, **options)
    ours: Optimizer = make(params, float(group["lr"]), **kwargs)
    states = [torch_optimizer.state.get(t, {}) for t in group["params"]]
    steps = {int(state["step"]) for state in states if "step" in state}
    if len(steps) > 1 or (steps and any("step" not in state for state in states)):
        raise ValueError(
            f"optimizer_from_torch: the parameters have taken different numbers of steps ({sorted(steps)}, or "
            "none for some); minnet keeps one step count"
        )
    if steps:
        step = steps.pop()
    elif cls is SGD:  # torch's own SGD counts no steps: 1 when it has momentum buffers, so they are used
        has = [state.get("momentum_buffer") is not None for state in states]
        if any(has) and not all(has):
            raise ValueError("optimizer_from_torch: some parameters have a momentum buffer and others none")
        step = int(all(has) and kwargs["momentum"] != 0)
    else:
        step = 0
    ours.step_count = step
    if step:
        for state, flip, kept in zip(states, flips, ours.state, strict=True):
            for key, array in kept.items():
                if key not in state or state[key] is None:
                    raise ValueError(f"optimizer_from_torch: PyTorch's state has no {key!r}")
                value = state[key].detach().cpu().numpy()
                array[...] = value.T if flip else value
    return ours
