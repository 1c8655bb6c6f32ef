"""Export a minnet model to ONNX, for ONNX runtimes that serve it: :func:`export_onnx`.

The file is written with the ``onnx`` package directly from minnet's layers
(``onnx.helper.make_node``, ``make_graph``, ``make_model``; the weights become
initializers), not through PyTorch's exporter:

- no dependency on PyTorch, whose recent exporters need ``onnxscript`` and
  trace a model of their own; minnet's layers are known here one by one;
- the graph mirrors minnet's layers one to one: each layer becomes the node
  (or the few nodes) that compute its forward formula, in eval mode, and each
  node is named by the layer's path in the model (``named_layers``: ``"0"``,
  ``"2.block.1"``; a layer of several nodes names them ``"<path>/<op>"``);
- each initializer is named as ``state_dict`` names it (``"0.weight"``,
  ``"1.running_mean"``), so a file reads back against the model that wrote it
  (a recurrent layer's, rearranged for ONNX, are named ``"<path>/W_l0"``...).

The graph has one input, ``"input"``, whose first axis is the batch, ``"N"``,
of any size, and one output, ``"output"`` (a recurrent layer adds its final
state, below). The opset is 17 (IR version 8),
which every current ONNX runtime reads; GELU (tanh approximation, or exact with Erf) and
Softplus (with minnet's β and threshold) are written out from their formulas,
since opset 17 has no node with their exact semantics.

The export is always of eval mode, whatever mode the model is in: Dropout is
the identity, BatchNorm uses its running statistics. The model is left as it
was (modes, parameters, buffers, random generators).

Supported layers: :class:`~minnet.nn.container.Sequential` (nested too),
:class:`~minnet.nn.container.Residual`, :class:`~minnet.nn.container.Concat`,
:class:`~minnet.nn.linear.Linear`, :class:`~minnet.nn.linear.Identity`, the
activations (Sigmoid, Tanh, ReLU, LeakyReLU, ELU, SELU, Hardtanh, Hardsigmoid,
Softplus, GELU, Softmax, LogSoftmax), :class:`~minnet.nn.flatten.Flatten`,
:class:`~minnet.nn.dropout.Dropout`, BatchNorm1d, BatchNorm2d, LayerNorm,
Conv1d, Conv2d, MaxPool2d, AvgPool2d, :class:`~minnet.nn.embedding.Embedding`
(its model's input is int64 indices), and the sequence layers
:class:`~minnet.nn.recurrent.RNN`, :class:`~minnet.nn.recurrent.LSTM` and
:class:`~minnet.nn.recurrent.GRU` built with ``batch_first=True`` (the graph's
batch is the first axis), each stacked layer one ONNX RNN, LSTM or GRU node
(its gates reordered into ONNX's order), from a zero initial state, as the
model's last layer: the graph's outputs are then ``"output"``, ``"h_n"`` and,
for an LSTM, ``"c_n"``. Any other layer (the cells, MultiheadAttention, a
layer of your own, a subclass of a supported one) and a time-major sequence
layer are refused with a TypeError naming it and its path, before anything is
written.

The ``onnx`` extra brings what this needs, ``onnx`` and ``onnxruntime`` (for
the check). A float64 model exports in float64, which onnxruntime's CPU
kernels run except for Conv, AveragePool, Elu, Selu, HardSigmoid, Erf (exact
GELU), RNN, LSTM and GRU: export such a model with ``dtype=np.float32``, the
usual precision for serving.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .. import __version__
from ..nn.activation import (
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from ..nn.container import Concat, Residual, Sequential
from ..nn.conv import Conv1d, Conv2d
from ..nn.dropout import Dropout
from ..nn.embedding import Embedding
from ..nn.flatten import Flatten
from ..nn.layer import Layer
from ..nn.linear import Identity, Linear
from ..nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from ..nn.pooling import AvgPool2d, MaxPool2d
from ..nn.recurrent import GRU, LSTM, RNN
from ..nn.snapshot import preserved
from ..serialization import _atomic_write

#: The ONNX opset the graph is written in (17: LayerNormalization is one node), and the IR version it needs.
OPSET = 17
IR_VERSION = 8
#: The graph's outputs: the model's output, and a recurrent layer's final state after it (h_n; an LSTM's c_n).
OUTPUT_NAMES = ("output", "h_n", "c_n")
#: The check's tolerance, absolute and relative, by the exported dtype. Not tighter in float64: ONNX stores float
#: attributes in float32 (LeakyReLU's slope 0.2 is 0.2 + 3e-9, ELU's α and the ε of the norms alike).
CHECK_TOLERANCE = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-7}

_MISSING = (
    "minnet.interop.export_onnx needs the packages onnx and onnxruntime: install minnet's `onnx` extra, "
    'from a checkout `.venv/bin/pip install -e ".[onnx]"`'
)


def export_onnx(
    model: Layer,
    path: str | os.PathLike[str],
    input_shape: tuple[int, ...],
    *,
    dtype: DTypeLike | None = None,
    check: bool = True,
) -> None:
    """Write ``model`` as an ONNX file at ``path`` that ONNX runtimes run with minnet's outputs (eval mode).

    Args:
        model: the model, built of the supported layers (see the module's docstring).
        path: the file to write (replaced atomically: a failure leaves an existing file as it was).
        input_shape: the shape of one input batch, ``(N, ...)``: the graph's input is ``("N", ...)``, the batch
            of any size; ``N`` is the batch of the check. An Embedding first takes int64 indices of that shape.
        dtype: the floating dtype of the graph, its input, output and weights: ``None`` (default) the model's
            own (float32 for a model without parameters), or ``np.float32`` / ``np.float64`` (a float64 model
            exported in float32 for serving).
        check: run the written graph with onnxruntime on a random batch of ``input_shape`` and compare it with
            minnet's eval-mode output (within 1e-4 in float32, 1e-7 in float64) before writing the file.

    Raises:
        ImportError: onnx (or, with ``check``, onnxruntime) is not installed: the message names the ``onnx`` extra.
        TypeError: a layer has no ONNX export: the message names its class and its path in the model.
        RuntimeError: the check failed (onnxruntime could not run the graph, or its output differs).

    Example (needs the ``onnx`` extra)::

        model = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 2, rng=1))
        export_onnx(model, "model.onnx", (16, 4), dtype=np.float32)
        # onnxruntime.InferenceSession("model.onnx").run(None, {"input": x.astype(np.float32)})[0]
    """
    try:
        import onnx
    except ImportError as error:
        raise ImportError(_MISSING) from error
    if check:
        try:
            import onnxruntime  # noqa: F401  (imported here so that a missing one fails before any work)
        except ImportError as error:
            raise ImportError(_MISSING + "; or pass check=False to skip the check") from error
    if not isinstance(model, Layer):
        raise TypeError(f"export_onnx: expected a minnet Layer, got {type(model).__name__}")
    _refuse_unsupported(model)
    shape = tuple(int(side) for side in input_shape)
    if not shape or shape[0] < 1 or min(shape) < 0:
        raise ValueError(f"export_onnx: input_shape must be (N, ...) with N ≥ 1, got {input_shape!r}")
    model_dtype = _model_dtype(model)
    graph_dtype = np.dtype(model_dtype if dtype is None else dtype)
    if graph_dtype not in CHECK_TOLERANCE:
        raise ValueError(f"export_onnx: dtype must be float32 or float64, got {graph_dtype}")
    first = _first_leaf(model)
    integer_input = isinstance(first, Embedding)

    rng = np.random.default_rng(0)
    with preserved(model, mode=False):
        shapes, out_shapes = _record_shapes(model, shape, model_dtype, integer_input)
        x = (
            rng.integers(0, first.num_embeddings, shape)
            if isinstance(first, Embedding)
            else rng.standard_normal(shape).astype(model_dtype)
        )
        expected = [np.asarray(y) for y in _leaves(model(x))]

    builder = _Builder(onnx, graph_dtype, shapes)
    input_type = onnx.TensorProto.INT64 if integer_input else builder.elem_type
    outputs = _leaves(builder.emit(model, "", "input"))
    names = OUTPUT_NAMES[: len(outputs)]
    for tensor, name in zip(outputs, names, strict=True):
        builder.rename(tensor, name)
    graph = onnx.helper.make_graph(
        builder.nodes,
        type(model).__name__,
        [onnx.helper.make_tensor_value_info("input", input_type, ["N", *shape[1:]])],
        [
            onnx.helper.make_tensor_value_info(name, builder.elem_type, _symbolic(pair, shape[0]))
            for name, pair in zip(names, zip(*out_shapes, strict=True), strict=True)
        ],
        builder.initializers,
    )
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="minnet",
        producer_version=__version__,
    )
    onnx.checker.check_model(proto, full_check=True)
    data: bytes = proto.SerializeToString()
    if check:
        feed = x.astype(np.int64) if integer_input else x.astype(graph_dtype)
        _check(data, feed, names, [y.astype(graph_dtype) for y in expected])

    def write(file: IO[bytes]) -> None:
        file.write(data)

    _atomic_write(Path(path), write)


# -- what can be exported ---------------------------------------------------------------------------------------


def _refuse_unsupported(model: Layer) -> None:
    """A TypeError naming the first layer (class and path) that has no emitter; exact classes only, since a
    subclass may compute something else."""
    for path, module in model.named_layers():
        where = f"at {path!r}" if path else "(the model itself)"
        if type(module) not in _EMITTERS:
            supported = ", ".join(sorted(cls.__name__ for cls in _EMITTERS))
            raise TypeError(
                f"export_onnx: {type(module).__name__} {where} has no ONNX export; supported layers: {supported}"
            )
        if isinstance(module, (RNN, LSTM, GRU)) and not module.batch_first:
            raise TypeError(
                f"export_onnx: {type(module).__name__} {where} is time-major (batch_first=False); the graph's batch "
                "is the first axis of each array: export a layer built with batch_first=True"
            )


def _model_dtype(model: Layer) -> np.dtype[Any]:
    """The float dtype of the model's parameters and float buffers (float32 for a model without any); a
    TypeError when they mix dtypes."""
    dtypes = {param.data.dtype for param in model.parameters()}
    dtypes.update(b.dtype for _, b in model.named_buffers() if isinstance(b, np.ndarray) and b.dtype.kind == "f")
    if len(dtypes) > 1:
        raise TypeError(f"export_onnx: the model mixes dtypes {sorted(str(d) for d in dtypes)}; convert it to one")
    return dtypes.pop() if dtypes else np.dtype(np.float32)


def _first_leaf(layer: Layer) -> Layer:
    """The layer that reads the model's input first: down the first child of each container."""
    while type(layer) in (Sequential, Residual, Concat):
        if isinstance(layer, Sequential):
            if not layer.layers:
                break
            layer = layer.layers[0]
        elif isinstance(layer, Residual):
            layer = layer.block
        elif isinstance(layer, Concat):
            layer = layer.branches[0]
    return layer


def _leaves(value: Any) -> list[Any]:
    """The arrays (or tensor names) of a nested tuple, in order: ``(y, (h, c))`` gives ``[y, h, c]``."""
    return [leaf for item in value for leaf in _leaves(item)] if isinstance(value, tuple) else [value]


def _record_shapes(
    model: Layer, shape: tuple[int, ...], dtype: np.dtype[Any], integer: bool
) -> tuple[dict[int, tuple[list[tuple[int, ...]], list[tuple[int, ...]]]], list[list[tuple[int, ...]]]]:
    """Each layer's input and output shape (by ``id``) at two batch sizes, N and N + 1, from forward hooks on a
    batch of zeros: an axis that differs between the two follows the batch, the others are fixed. Also the shapes
    of the model's outputs (several for a recurrent layer's state), one list per batch size."""
    shapes: dict[int, tuple[list[tuple[int, ...]], list[tuple[int, ...]]]] = {}

    def record(layer: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ins, outs = shapes.setdefault(id(layer), ([], []))
        ins.append(np.shape(inputs[0]))
        outs.append(np.shape(output) if isinstance(output, np.ndarray) else ())

    handles = [module.register_forward_hook(record) for _, module in model.named_layers()]
    out_shapes = []
    try:
        for n in (shape[0], shape[0] + 1):
            output = model(np.zeros((n, *shape[1:]), np.int64 if integer else dtype))
            out_shapes.append([np.shape(y) for y in _leaves(output)])
    finally:
        for handle in handles:
            handle.remove()
    return shapes, out_shapes


def _symbolic(shapes: tuple[tuple[int, ...], ...], n: int) -> list[int | str | None]:
    """A shape for the graph: a side that is the batch in both runs is ``"N"``, another side that changes with it
    is unnamed, a fixed side its size."""
    (a, b) = shapes
    return [x if x == y else "N" if (x, y) == (n, n + 1) else None for x, y in zip(a, b, strict=True)]


def _check(data: bytes, x: NDArray[Any], names: tuple[str, ...], expected: list[NDArray[Any]]) -> None:
    """Run the graph with onnxruntime on ``x`` and compare each output with minnet's ``expected``; a RuntimeError
    otherwise."""
    import onnxruntime

    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # its error comes back in the exception: nothing on stderr
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        outputs = session.run(list(names), {"input": x})
    except Exception as error:  # onnxruntime raises its own exception types
        raise RuntimeError(
            f"export_onnx: onnxruntime could not run the exported graph ({error}); its CPU kernels for Conv, "
            "AveragePool, Elu, Selu, HardSigmoid, Erf (exact GELU), RNN, LSTM and GRU are float32 only: export with "
            "dtype=np.float32, or pass check=False"
        ) from error
    for name, got, want in zip(names, outputs, expected, strict=True):
        tolerance = CHECK_TOLERANCE[want.dtype]
        if got.shape != want.shape or not np.allclose(got, want, rtol=tolerance, atol=tolerance):
            worst = np.max(np.abs(got - want)) if got.shape == want.shape else float("nan")
            raise RuntimeError(
                f"export_onnx: onnxruntime's {name} (shape {got.shape}) differs from minnet's (shape {want.shape}) "
                f"by up to {worst:.3g}, more than {tolerance:g}: please report this as a bug of minnet"
            )


# -- the graph, layer by layer ----------------------------------------------------------------------------------


class _Builder:
    """The nodes and initializers of the graph, added layer by layer; names each node by its layer's path."""

    def __init__(self, onnx: Any, dtype: np.dtype[Any], shapes: dict[int, Any]) -> None:
        self.onnx, self.dtype, self.shapes = onnx, dtype, shapes
        self.elem_type: int = onnx.helper.np_dtype_to_tensor_dtype(dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: set[str] = {"input", "output"}  # the tensors'
        self.node_names: set[str] = set()
        self.label = ""  # the path of the layer being emitted, as node names show it

    def fresh(self, name: str) -> str:
        """``name``, or ``name`` with a suffix where it is taken."""
        candidate, k = name, 1
        while candidate in self.names:
            candidate, k = f"{name}:{k}", k + 1
        self.names.add(candidate)
        return candidate

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        """Add one node of the current layer; returns its output's name."""
        output = self.fresh(f"{self.label}/{op}")
        name, k = f"{self.label}/{op}", 1  # renamed to the bare path where the layer has one node
        while name in self.node_names:
            name, k = f"{self.label}/{op}:{k}", k + 1
        self.node_names.add(name)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attributes))
        return output

    def nodes_with_outputs(self, op: str, inputs: list[str], count: int, **attributes: Any) -> list[str]:
        """Add one node of the current layer with ``count`` outputs; returns their names."""
        outputs = [self.fresh(f"{self.label}/{op}:{k}") for k in range(count)]
        name, k = f"{self.label}/{op}", 1
        while name in self.node_names:
            name, k = f"{self.label}/{op}:{k}", k + 1
        self.node_names.add(name)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, outputs, name=name, **attributes))
        return outputs

    def weight(self, name: str, array: NDArray[Any]) -> str:
        """An initializer of the graph's dtype (integer arrays as they are)."""
        value = np.asarray(array)
        value = value.astype(self.dtype) if value.dtype.kind == "f" else value
        name = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def parameter(self, path: str, attribute: str, array: NDArray[Any]) -> str:
        """A parameter or buffer, named as ``state_dict`` names it."""
        return self.weight(f"{path}.{attribute}" if path else attribute, array)

    def constant(self, what: str, value: Any) -> str:
        """A constant of the current layer (a scalar of the formula, ones for a missing γ)."""
        return self.weight(f"{self.label}/{what}", np.asarray(value, dtype=self.dtype))

    def emit(self, layer: Layer, path: str, x: str) -> str:
        """The nodes of ``layer`` (at ``path``) applied to the tensor ``x``; returns the output tensor."""
        outer, first = self.label, len(self.nodes)
        self.label = path or type(layer).__name__
        try:
            y = _EMITTERS[type(layer)](self, layer, path, x)
        finally:
            label, self.label = self.label, outer
        own = self.nodes[first:]
        if len(own) == 1 and type(layer) not in (Sequential, Residual, Concat) and label not in self.node_names:
            own[0].name = label  # one node: named by the path itself
            self.node_names.add(label)
        return y

    def rename(self, tensor: str, name: str) -> None:
        """Give the tensor ``tensor`` (a node's output) the name ``name`` everywhere."""
        for node in self.nodes:
            for i, value in enumerate(node.output):
                if value == tensor:
                    node.output[i] = name
            for i, value in enumerate(node.input):
                if value == tensor:
                    node.input[i] = name

    def shapes_of(self, layer: Layer) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
        """The layer's input and output shapes at the two recorded batch sizes."""
        shapes: tuple[list[tuple[int, ...]], list[tuple[int, ...]]] = self.shapes[id(layer)]
        return shapes


Emitter = Callable[[_Builder, Any, str, str], str]


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _sequential(b: _Builder, layer: Sequential, path: str, x: str) -> str:
    if not layer.layers:
        return b.node("Identity", [x])
    for i, child in enumerate(layer.layers):
        x = b.emit(child, _child(path, str(i)), x)
    return x


def _residual(b: _Builder, layer: Residual, path: str, x: str) -> str:
    fx = b.emit(layer.block, _child(path, "block"), x)
    return b.node("Add", [x, fx])


def _concat(b: _Builder, layer: Concat, path: str, x: str) -> str:
    outputs = [b.emit(branch, _child(path, str(i)), x) for i, branch in enumerate(layer.branches)]
    return b.node("Concat", outputs, axis=layer.axis)


def _linear(b: _Builder, layer: Linear, path: str, x: str) -> str:
    weight = b.parameter(path, "weight", layer.weight.data)  # (in, out): y = x W, no transpose
    bias = None if layer.bias is None else b.parameter(path, "bias", layer.bias.data)
    if len(b.shapes_of(layer)[0][0]) == 2:
        return b.node("Gemm", [x, weight] + ([] if bias is None else [bias]))
    y = b.node("MatMul", [x, weight])
    return y if bias is None else b.node("Add", [y, bias])


def _identity(b: _Builder, layer: Identity | Dropout, path: str, x: str) -> str:
    return b.node("Identity", [x])  # Dropout in eval mode: the identity


def _elementwise(op: str, **attributes: Callable[[Any], Any]) -> Emitter:
    def emit(b: _Builder, layer: Any, path: str, x: str) -> str:
        return b.node(op, [x], **{name: read(layer) for name, read in attributes.items()})

    return emit


def _hardtanh(b: _Builder, layer: Hardtanh, path: str, x: str) -> str:
    """Clip to [min_val, max_val]."""
    return b.node("Clip", [x, b.constant("min_val", layer.min_val), b.constant("max_val", layer.max_val)])


def _softplus(b: _Builder, layer: Softplus, path: str, x: str) -> str:
    """minnet's formula: z = β x; y = x where z > threshold, else (max(z, 0) + log(1 + exp(−|z|))) / β."""
    z = b.node("Mul", [x, b.constant("beta", layer.beta)])
    tail = b.node("Exp", [b.node("Neg", [b.node("Abs", [z])])])
    soft = b.node("Add", [b.node("Relu", [z]), b.node("Log", [b.node("Add", [b.constant("one", 1.0), tail])])])
    soft = b.node("Div", [soft, b.constant("beta", layer.beta)])
    linear = b.node("Greater", [z, b.constant("threshold", layer.threshold)])
    return b.node("Where", [linear, x, soft])


def _gelu(b: _Builder, layer: GELU, path: str, x: str) -> str:
    """minnet's formulas: y = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))) (``approximate="tanh"``), or
    y = ½ x (1 + erf(x/√2)) (``"none"``, with ONNX's Erf)."""
    half_x = b.node("Mul", [b.constant("half", 0.5), x])
    if layer.approximate == "none":
        erf = b.node("Erf", [b.node("Mul", [b.constant("inv_sqrt2", 0.5**0.5), x])])
        return b.node("Mul", [half_x, b.node("Add", [b.constant("one", 1.0), erf])])
    cube = b.node("Mul", [b.node("Mul", [x, x]), x])
    u = b.node("Mul", [b.constant("K", GELU.K), b.node("Add", [x, b.node("Mul", [b.constant("C", GELU.C), cube])])])
    return b.node("Mul", [half_x, b.node("Add", [b.constant("one", 1.0), b.node("Tanh", [u])])])


def _flatten(b: _Builder, layer: Flatten, path: str, x: str) -> str:
    (in_shape, _), out_shapes = b.shapes_of(layer)
    rank = len(in_shape)
    start, end = layer.start_dim % max(rank, 1), layer.end_dim % max(rank, 1)
    if start == 1 and end == rank - 1:
        return b.node("Flatten", [x], axis=1)
    (a, c) = out_shapes
    target = [p if p == q else -1 for p, q in zip(a, c, strict=True)]
    if target.count(-1) > 1:
        raise TypeError(f"export_onnx: Flatten at {path!r} gives several sides that follow the batch: {a}")
    return b.node("Reshape", [x, b.weight(f"{b.label}/shape", np.array(target, dtype=np.int64))])


def _batchnorm(b: _Builder, layer: BatchNorm1d | BatchNorm2d, path: str, x: str) -> str:
    c = layer.num_features
    scale = b.constant("ones", np.ones(c)) if layer.weight is None else b.parameter(path, "weight", layer.weight.data)
    shift = b.constant("zeros", np.zeros(c)) if layer.bias is None else b.parameter(path, "bias", layer.bias.data)
    mean = b.parameter(path, "running_mean", layer.running_mean)
    var = b.parameter(path, "running_var", layer.running_var)
    return b.node("BatchNormalization", [x, scale, shift, mean, var], epsilon=layer.eps)


def _layernorm(b: _Builder, layer: LayerNorm, path: str, x: str) -> str:
    shape = layer.normalized_shape
    scale = (
        b.constant("ones", np.ones(shape)) if layer.weight is None else b.parameter(path, "weight", layer.weight.data)
    )
    inputs = [x, scale] + ([] if layer.bias is None else [b.parameter(path, "bias", layer.bias.data)])
    return b.node("LayerNormalization", inputs, axis=-len(shape), epsilon=layer.eps)


def _conv(b: _Builder, layer: Conv1d | Conv2d, path: str, x: str) -> str:
    weight = b.parameter(path, "weight", layer.weight.data)  # (out, in, *kernel): ONNX's layout too
    bias = [] if layer.bias is None else [b.parameter(path, "bias", layer.bias.data)]
    widths = layer.padding_widths
    return b.node(
        "Conv",
        [x, weight, *bias],
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.stride),
        dilations=list(layer.dilation),
        pads=[before for before, _ in widths] + [after for _, after in widths],
        group=1,
    )


def _pool(b: _Builder, layer: MaxPool2d | AvgPool2d, path: str, x: str) -> str:
    (ph, pw) = layer._pads
    attributes: dict[str, Any] = {
        "kernel_shape": list(layer._kernel),
        "strides": list(layer._strides),
        "pads": [ph, pw, ph, pw],
        "ceil_mode": 0,
    }
    if isinstance(layer, MaxPool2d):
        return b.node("MaxPool", [x], **attributes)  # the padding never wins, as minnet's −∞
    return b.node("AveragePool", [x], count_include_pad=int(layer.count_include_pad), **attributes)


def _embedding(b: _Builder, layer: Embedding, path: str, x: str) -> str:
    return b.node("Gather", [b.parameter(path, "weight", layer.weight.data), x], axis=0)


#: Where ONNX's gate blocks come from in minnet's (PyTorch's) order: LSTM i, f, g, o → ONNX i, o, f, c;
#: GRU r, z, n → ONNX z, r, h; RNN has one block.
_GATES = {RNN: [0], LSTM: [0, 3, 1, 2], GRU: [1, 0, 2]}


def _recurrent(b: _Builder, layer: RNN | LSTM | GRU, path: str, x: str) -> Any:
    """One ONNX RNN, LSTM or GRU node per stacked layer (both directions in one), on a zero initial state.

    minnet's weights are ``(in, G·H)`` with the gates in PyTorch's order; ONNX's ``W`` is ``(D, G·H, in)``, ``R``
    ``(D, G·H, H)`` and ``B`` ``(D, 2·G·H)`` (the input's biases, then the state's), gates in its own order.
    ONNX's sequences are time-major, its output ``(L, D, N, H)``: the input is transposed from minnet's
    batch-first ``(N, L, in)``, each layer's output made ``(L, N, D·H)`` for the next, the last one transposed
    back. The final states of all layers are concatenated, ``(num_layers·D, N, H)``, as minnet returns them."""
    op, hidden, gates = type(layer).__name__, layer.hidden_size, _GATES[type(layer)]
    suffixes = ["", "_reverse"][: layer.directions]

    def onnx_order(matrix: NDArray[Any]) -> NDArray[Any]:  # minnet's (rows, G·H) → ONNX's (G·H, rows)
        blocks = np.split(matrix.T, len(gates), axis=0)
        return np.concatenate([blocks[g] for g in gates], axis=0)

    attributes: dict[str, Any] = {
        "hidden_size": hidden,
        "direction": "bidirectional" if layer.directions == 2 else "forward",
    }
    if isinstance(layer, GRU):
        attributes["linear_before_reset"] = 1  # n = tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn)), as PyTorch
    if isinstance(layer, RNN):
        attributes["activations"] = [layer.nonlinearity.capitalize()] * layer.directions
    sequence = b.node("Transpose", [x], perm=[1, 0, 2])  # (L, N, in)
    finals: list[list[str]] = [[], []] if isinstance(layer, LSTM) else [[]]
    for k in range(layer.num_layers):
        ws = [getattr(layer, f"weight_ih_l{k}{suffix}").data for suffix in suffixes]
        rs = [getattr(layer, f"weight_hh_l{k}{suffix}").data for suffix in suffixes]
        inputs = [
            sequence,
            b.weight(f"{b.label}/W_l{k}", np.stack([onnx_order(w) for w in ws])),
            b.weight(f"{b.label}/R_l{k}", np.stack([onnx_order(r) for r in rs])),
        ]
        if layer.bias:
            biases = [
                np.concatenate(
                    [
                        onnx_order(getattr(layer, f"{name}_l{k}{suffix}").data[None])[:, 0]
                        for name in ("bias_ih", "bias_hh")
                    ]
                )
                for suffix in suffixes
            ]
            inputs.append(b.weight(f"{b.label}/B_l{k}", np.stack(biases)))
        outputs = b.nodes_with_outputs(op, inputs, 3 if isinstance(layer, LSTM) else 2, **attributes)
        y = b.node("Transpose", [outputs[0]], perm=[0, 2, 1, 3])  # (L, N, D, H)
        sequence = b.node("Reshape", [y, b.weight(f"{b.label}/shape", np.array([0, 0, -1], dtype=np.int64))])
        for final, name in zip(finals, outputs[1:], strict=False):
            final.append(name)
    output = b.node("Transpose", [sequence], perm=[1, 0, 2])  # (N, L, D·H)
    states = [b.node("Concat", names, axis=0) if len(names) > 1 else b.node("Identity", names) for names in finals]
    return (output, tuple(states)) if isinstance(layer, LSTM) else (output, states[0])


_EMITTERS: dict[type, Emitter] = {
    Sequential: _sequential,
    Residual: _residual,
    Concat: _concat,
    Linear: _linear,
    Identity: _identity,
    Dropout: _identity,
    Sigmoid: _elementwise("Sigmoid"),
    Tanh: _elementwise("Tanh"),
    ReLU: _elementwise("Relu"),
    LeakyReLU: _elementwise("LeakyRelu", alpha=lambda layer: layer.negative_slope),
    ELU: _elementwise("Elu", alpha=lambda layer: layer.alpha),
    Softplus: _softplus,
    GELU: _gelu,
    SELU: _elementwise("Selu", alpha=lambda layer: SELU.ALPHA, gamma=lambda layer: SELU.SCALE),
    Hardtanh: _hardtanh,
    Hardsigmoid: _elementwise("HardSigmoid", alpha=lambda layer: 1.0 / 6.0, beta=lambda layer: 0.5),
    Softmax: _elementwise("Softmax", axis=lambda layer: layer.axis),
    LogSoftmax: _elementwise("LogSoftmax", axis=lambda layer: layer.axis),
    Flatten: _flatten,
    BatchNorm1d: _batchnorm,
    BatchNorm2d: _batchnorm,
    LayerNorm: _layernorm,
    Conv1d: _conv,
    Conv2d: _conv,
    MaxPool2d: _pool,
    AvgPool2d: _pool,
    Embedding: _embedding,
    RNN: _recurrent,
    LSTM: _recurrent,
    GRU: _recurrent,
}
