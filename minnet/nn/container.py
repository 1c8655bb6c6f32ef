"""Containers: layers made of layers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_int
from ..parameter import tree_changed
from .layer import Layer
from .module import Module, held_items, note_child

#: The attribute Sequential names its children from itself.
_LAYERS = frozenset({"layers"})


def checked_child(container: str, what: str, child: object) -> Layer:
    """``child`` if it is a layer; a TypeError naming the container otherwise (a loss ends the chain)."""
    if isinstance(child, Layer):
        return child
    if isinstance(child, Module):  # a Loss
        raise TypeError(
            f"{container}: {what} is a loss ({type(child).__name__}); a loss is where the backward chain starts, "
            "not a step of it: call it on the model's output, loss_fn(model(x), target), and start backward "
            "with model.backward(loss_fn.backward())"
        )
    raise TypeError(f"{container}: {what} must be a Layer, got {type(child).__name__}")


class Sequential(Layer):
    r"""A chain of layers: ``y = f_K(… f_2(f_1(x)))``.

    ``forward`` runs the layers in order. ``backward`` is the chain rule: it runs
    them in reverse, each turning ∂L/∂(its output) into ∂L/∂(its input),

        g_K = grad_output,   g_{k-1} = layer_k.backward(g_k),   returns g_0 = ∂L/∂x

    while each layer adds its own parameters' gradients on the way. Sequential
    caches nothing itself: every layer keeps its own cache.

    An error raised inside a child comes back unchanged (its own type and
    attributes), with a note naming the child's index and class.

    Several inputs and outputs (docs/custom-layer.md): ``model(x, state)``
    passes the inputs after ``x`` to the first layer (a recurrent layer's
    initial state), and backward returns what the first layer's backward
    returns, ``(∂L/∂x, ∂L/∂state)``. What a layer returns goes to the next as
    one value, a tuple too; a layer that takes one array refuses a tuple with
    an error that says so. A last layer with several outputs makes the model's
    output that tuple, and ``backward`` takes its gradients in that nesting.

    Args:
        *layers: the layers, in forward order.

    Shape:
        whatever the first layer takes to whatever the last one gives.

    Example:
        >>> model = Sequential(Linear(3, 4, bias=False, rng=0), Sigmoid())
        >>> len(model), model[1]
        (2, Sigmoid())
    """

    local_derivative = {"∂L/∂x": "layer_1.backward(… layer_K.backward(g))"}
    input_kind = "any"  # the first layer checks the input

    def __init__(self, *layers: Layer) -> None:
        self.layers: list[Layer] = [checked_child("Sequential", f"layer {i}", layer) for i, layer in enumerate(layers)]
        list(self.named_layers())  # one walk: a layer object in two places is refused here

    def forward(self, x: Any, *inputs: Any) -> Any:
        for i, layer in enumerate(self.layers):
            try:
                x = layer(x, *inputs) if i == 0 else layer(x)
            except Exception as error:
                note_child(error, self, i, layer, "forward")
                raise
        return x

    def backward(self, grad_output: Any) -> Any:
        grad: Any = grad_output
        for i in reversed(range(len(self.layers))):
            try:
                # a layer whose input has no gradient returns None; the next layer's wrapper refuses it, naming
                # the layer, unless that layer's forward returned no array (Layer.backward takes an array)
                grad = self.layers[i].backward(grad)
            except Exception as error:
                note_child(error, self, i, self.layers[i], "backward")
                raise
        return grad

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The layers, named ``0``, ``1``, ... (so ``state_dict`` keys read ``0.weight``),
        then any other child a subclass holds in its own attributes."""
        for i, layer in enumerate(self.layers):
            yield str(i), layer
        for name, child in held_items(self, skip=_LAYERS):
            if isinstance(child, Module):
                yield name, child

    def append(self, layer: Layer) -> Sequential:
        """Add a layer at the end; returns the Sequential.

        A layer object may appear only once in a model: its second forward
        would overwrite the cache its first backward needs. ``append`` walks
        the tree and refuses a second place, however deep; the next forward
        checks the tree again. (A change made to ``self.layers`` in place, by
        ``list.append`` or ``layers[i] = ...``, is seen only by the next walk:
        ``parameters()``, ``train()``, ``state_dict()`` or a diagnostic; use
        ``append``.) To tie weights, give two layers the same Parameter."""
        index = len(self.layers)
        self.layers.append(checked_child("Sequential", f"layer {index}", layer))
        tree_changed()
        try:
            list(self.named_layers())
        except ValueError:
            self.layers.pop()
            raise
        return self

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)


class Residual(Layer):
    r"""A skip connection around a block: ``y = x + block(x)``.

    The input reaches the output by two paths, so their gradients add:
    ``∂L/∂x = g + block.backward(g)`` with ``g = ∂L/∂y`` (the identity path's
    derivative is 1). Residual caches nothing itself; the block keeps its own
    cache. The block's output must have the input's shape.

    Args:
        block: the layer (often a :class:`Sequential`) the skip goes around.

    Shape:
        ``(N, *) -> (N, *)``, the same shape.

    Example:
        >>> res = Residual(Sequential(Linear(3, 3, rng=0), Tanh()))
        >>> res(np.zeros((2, 3))).shape
        (2, 3)
    """

    local_derivative = {"∂L/∂x": "g + block.backward(g)"}

    def __init__(self, block: Layer) -> None:
        self.block = checked_child("Residual", "block", block)

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        try:
            fx = self.block(x)
        except Exception as error:
            note_child(error, self, "block", self.block, "forward")
            raise
        if np.shape(fx) != x.shape:
            raise ValueError(
                f"Residual: the block maps shape {x.shape} to {np.shape(fx)}; x + block(x) needs the same shape"
            )
        return x + fx

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        try:
            grad_block = self.block.backward(grad_output)
        except Exception as error:
            note_child(error, self, "block", self.block, "backward")
            raise
        # identity path + block path; a block whose input_kind is "any" may return None, which fails here
        return grad_output + grad_block  # type: ignore[operator]


class Concat(Layer):
    r"""Parallel branches joined: ``y = concatenate([b_1(x), …, b_K(x)], axis)``.

    Every branch sees the same input. Backward splits ``g = ∂L/∂y`` along
    ``axis`` into the part each branch produced and adds the branches' input
    gradients, since x reaches the output by each of them:
    ``∂L/∂x = Σ_k b_k.backward(g_k)``. It caches the sizes of the branches'
    outputs along ``axis`` and the output's shape and dtype.

    Args:
        *branches: the layers, at least one.
        axis: the axis to join along (default -1, the features).

    Shape:
        ``(N, in) -> (N, out_1 + … + out_K)`` for ``axis=-1``; the outputs must
        agree on every other axis.

    Example:
        >>> cat = Concat(Linear(3, 2, rng=0), Linear(3, 4, rng=1))
        >>> cat(np.zeros((5, 3))).shape
        (5, 6)
    """

    local_derivative = {"∂L/∂x": "Σ_k branch_k.backward(g_k), g split along axis"}
    input_kind = "any"  # each branch checks the input

    def __init__(self, *branches: Layer, axis: int = -1) -> None:
        if not branches:
            raise ValueError("Concat: needs at least one branch")
        self.branches = [checked_child("Concat", f"branch {i}", branch) for i, branch in enumerate(branches)]
        self.axis = check_int("Concat", "axis", axis)
        self.sizes: list[int]  # cached output sizes along axis, set by forward
        list(self.named_layers())  # a layer object in two branches is refused here

    def forward(self, x: NDArray[Any]) -> NDArray[Any]:
        outputs = []
        for i, branch in enumerate(self.branches):
            try:
                outputs.append(np.asarray(branch(x)))
            except Exception as error:
                note_child(error, self, i, branch, "forward")
                raise
        shapes, dtypes = [out.shape for out in outputs], [out.dtype for out in outputs]
        if len(set(dtypes)) != 1:  # np.concatenate would upcast silently
            raise TypeError(f"Concat: the branch outputs have dtypes {[str(d) for d in dtypes]}, expected one dtype")
        try:
            y = np.concatenate(outputs, axis=self.axis)  # never broadcasts: any other mismatch raises
        except (ValueError, IndexError) as error:
            raise ValueError(f"Concat: cannot join branch outputs of shapes {shapes} along axis={self.axis}") from error
        self.sizes = [out.shape[self.axis] for out in outputs]
        return y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[Any] | None:
        parts = np.split(grad_output, np.cumsum(self.sizes)[:-1], axis=self.axis)
        grad_input: NDArray[Any] | None = None
        for i, (branch, part) in enumerate(zip(self.branches, parts, strict=True)):
            try:
                grad = branch.backward(part)
            except Exception as error:
                note_child(error, self, i, branch, "backward")
                raise
            if grad is not None:  # a branch whose input has no gradient (integer indices) adds nothing
                grad_input = grad if grad_input is None else grad_input + grad
        return grad_input

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The branches, named ``0``, ``1``, ..., then any other child a subclass holds."""
        for i, branch in enumerate(self.branches):
            yield str(i), branch
        for name, child in super().named_children():
            if not name.startswith("branches."):
                yield name, child

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
