"""MultiheadAttention: three inputs and two outputs, so it is checked here rather than through the registry's
one-input cases: against float64 finite differences, against PyTorch (outputs, attention weights, the gradients
of the three inputs and of every parameter, with each kind of mask), and for its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minnet import MultiheadAttention
from minnet.testing.finite_differences import partial_derivatives

E, HEADS, L, S, N = 6, 3, 4, 5, 2


def inputs(rng, batch_first, dtype=np.float64, source=S):
    shape = (lambda length: (N, length, E)) if batch_first else (lambda length: (length, N, E))
    return tuple(rng.standard_normal(shape(length)).astype(dtype) for length in (L, source, source))


def masks(rng, kind, dtype=np.float64):
    if kind == "bool":  # True: not attended; every query keeps its first key
        mask = rng.random((L, S)) < 0.4
        mask[:, 0] = False
        return {"attn_mask": mask}
    if kind == "float":
        return {"attn_mask": rng.standard_normal((N * HEADS, L, S)).astype(dtype)}
    if kind == "padding":
        return {"key_padding_mask": np.array([[False] * S, [False, True, False, True, False]])}
    return {}


def with_biases(layer, rng):
    """Non-zero biases (both start at zero, where a forgotten bias gradient would pass)."""
    layer.in_proj_bias.data[...] = rng.uniform(-1, 1, 3 * E)
    layer.out_proj.bias.data[...] = rng.uniform(-1, 1, E)
    return layer


@pytest.mark.parametrize("mask", [None, "bool", "float", "padding"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_gradients_match_finite_differences(batch_first, mask):
    rng = np.random.default_rng(0)
    layer = with_biases(MultiheadAttention(E, HEADS, batch_first=batch_first, rng=1), rng)
    q, k, v = inputs(rng, batch_first)
    kwargs = masks(rng, mask)
    g = rng.standard_normal(q.shape)
    g_weights = rng.standard_normal((N, L, S))  # the loss reads the attention weights too

    def objective():
        y, weights = layer(q, k, v, **kwargs)
        return float(np.sum(y * g) + np.sum(weights * g_weights))

    layer(q, k, v, **kwargs)
    analytic_inputs = layer.backward((g, g_weights))
    for array, analytic in zip((q, k, v), analytic_inputs, strict=True):
        np.testing.assert_allclose(analytic, partial_derivatives(objective, array), rtol=1e-7, atol=1e-9)
    for name, param in layer.named_parameters():
        np.testing.assert_allclose(param.grad, partial_derivatives(objective, param.data), rtol=1e-7, atol=1e-9,
                                   err_msg=name)  # fmt: skip


@pytest.mark.oracle
@pytest.mark.parametrize(("dtype", "tolerance"), [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("mask", [None, "bool", "float", "padding"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("weights_grad", [None, "mean", "heads"])
def test_against_pytorch(batch_first, mask, dtype, tolerance, weights_grad):
    """With ``weights_grad``, the loss reads the attention weights too (averaged over the heads, or per head)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    ours = with_biases(MultiheadAttention(E, HEADS, batch_first=batch_first, rng=3, dtype=dtype), rng)
    theirs = torch.nn.MultiheadAttention(E, HEADS, batch_first=batch_first, dtype=getattr(torch, np.dtype(dtype).name))
    state = {name: value.T if name.endswith("weight") else value for name, value in ours.state_dict().items()}
    theirs.load_state_dict({name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in state.items()})
    q, k, v = inputs(rng, batch_first, dtype)
    kwargs = masks(rng, mask, dtype)
    y, weights = ours(q, k, v, **kwargs)
    tensors = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    their_y, their_weights = theirs(*tensors, **{name: torch.from_numpy(m) for name, m in kwargs.items()})
    g = rng.standard_normal(y.shape).astype(dtype)
    their_y.backward(torch.from_numpy(g))
    grads = ours.backward(g)

    def close(a, b, what):
        b = b.detach().numpy()
        scale = max(1.0, float(np.max(np.abs(b))))
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance * scale, err_msg=what)

    close(y, their_y, "output")
    close(weights, their_weights, "attention weights")
    for name, grad, tensor in zip("qkv", grads, tensors, strict=True):
        assert grad.dtype == dtype
        close(grad, tensor.grad, f"∂L/∂{name}")
    for name, param in ours.named_parameters():
        theirs_grad = dict(theirs.named_parameters())[name].grad
        close(param.grad.T if name.endswith("weight") else param.grad, theirs_grad, f"∂L/∂{name}")


def test_cross_attention_to_a_longer_source_and_the_weights_per_head():
    rng = np.random.default_rng(4)
    layer = MultiheadAttention(E, HEADS, batch_first=True, rng=5)
    q, k, v = inputs(rng, True, source=7)
    y, averaged = layer(q, k, v)
    _, per_head = layer(q, k, v, average_attn_weights=False)
    assert y.shape == (N, L, E)
    assert averaged.shape == (N, L, 7)
    assert per_head.shape == (N, HEADS, L, 7)
    np.testing.assert_allclose(per_head.sum(axis=-1), 1.0)  # each query's weights over the keys
    np.testing.assert_allclose(per_head.mean(axis=1), averaged)
    assert layer(q, k, v, need_weights=False)[1] is None


def test_a_masked_key_gets_no_weight_and_no_gradient():
    rng = np.random.default_rng(6)
    layer = MultiheadAttention(E, HEADS, rng=7)
    q, k, v = inputs(rng, False)
    padding = np.zeros((N, S), dtype=bool)
    padding[1, 2] = True  # the third key of the second sample
    _, weights = layer(q, k, v, key_padding_mask=padding)
    assert np.all(weights[1, :, 2] == 0.0)
    _, grad_k, grad_v = layer.backward(np.ones((L, N, E)))
    assert np.all(grad_k[2, 1] == 0.0)
    assert np.all(grad_v[2, 1] == 0.0)
    assert np.any(grad_v[2, 0] != 0.0)  # the first sample's third key still counts


def test_two_backwards_add_up_and_grad_output_is_left_alone():
    rng = np.random.default_rng(8)
    layer = with_biases(MultiheadAttention(E, HEADS, rng=9), rng)
    q, k, v = inputs(rng, False)
    layer(q, k, v)
    g = rng.standard_normal((L, N, E))
    g.flags.writeable = False
    layer.backward(g)
    once = {name: p.grad.copy() for name, p in layer.named_parameters()}
    layer.backward(g)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[name], err_msg=name)


def test_initialisation_and_repr():
    layer = MultiheadAttention(64, 8, rng=0)
    bound = math.sqrt(6 / (64 + 3 * 64))  # Xavier-uniform of PyTorch's (3E, E) weight
    assert layer.in_proj_weight.data.shape == (64, 192)
    assert np.abs(layer.in_proj_weight.data).max() <= bound
    assert np.abs(layer.in_proj_weight.data).max() > 0.9 * bound
    assert np.all(layer.in_proj_bias.data == 0)
    assert np.all(layer.out_proj.bias.data == 0)
    assert np.abs(layer.out_proj.weight.data).max() <= 1 / 8  # Linear's U(−1/√E, 1/√E)
    assert repr(layer) == (
        "MultiheadAttention(embed_dim=64, num_heads=8, bias=True, batch_first=False\n"
        "  (out_proj): Linear(in_features=64, out_features=64, bias=True)\n)"
    )
    assert MultiheadAttention(4, 2, bias=False).in_proj_bias is None


def attend(shapes=((L, N, E), (S, N, E), (S, N, E)), dtype=np.float64, **kwargs):
    query, key, value = (np.ones(shape, dtype if i == 0 else np.float64) for i, shape in enumerate(shapes))
    return MultiheadAttention(E, HEADS, rng=0)(query, key, value, **kwargs)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"shapes": ((L, N, 5), (S, N, E), (S, N, E))}, r"query of shape \(length, N, E\) with E = 6, got \(4, 2, 5\)"),
        ({"shapes": ((L, N, E), (S, N, E), (S + 1, N, E))}, "key and value must have one shape"),
        ({"shapes": ((L, N, E), (S, 3, E), (S, 3, E))}, "the batch of the query"),
        ({"attn_mask": np.ones((S, L))}, r"attn_mask of shape \(4, 5\) or \(6, 4, 5\), got \(5, 4\)"),
        ({"key_padding_mask": np.ones((S, N))}, r"key_padding_mask of shape \(2, 5\), got \(5, 2\)"),
        ({"dtype": np.float32}, "the query has dtype float32"),
    ],
)
def test_bad_input_is_an_error_naming_the_layer(arguments, message):
    with pytest.raises((ValueError, TypeError), match=f"MultiheadAttention: .*{message}"):
        attend(**arguments)


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="embed_dim must be a positive multiple of num_heads, got 6 and 4"):
        MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match=r"only dropout=0\.0 is implemented, got 0\.1"):
        MultiheadAttention(6, 3, 0.1)


def test_a_wrong_gradient_of_the_outputs_is_an_error_naming_the_layer():
    rng = np.random.default_rng(10)
    layer = MultiheadAttention(E, HEADS, rng=0)
    q, k, v = inputs(rng, False)
    layer(q, k, v)
    g = rng.standard_normal((L, N, E))
    with pytest.raises(ValueError, match=r"MultiheadAttention: expected the gradient of the attention weights of "
                                         r"shape \(2, 4, 5\), got \(2, 4, 4\)"):  # fmt: skip
        layer.backward((g, np.ones((N, L, L))))
    with pytest.raises(ValueError, match=r"MultiheadAttention: expected the gradient of the output of shape"):
        layer.backward(g[:2])
    np.testing.assert_array_equal(layer.backward((g, None))[0], layer.backward(g)[0])  # None: zero
    layer(q, k, v, need_weights=False)
    with pytest.raises(ValueError, match=r"forward returned none \(need_weights=False\)"):
        layer.backward((g, np.ones((N, L, S))))
