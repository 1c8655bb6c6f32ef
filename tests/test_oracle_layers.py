"""Every layer and loss of the registry (tests/cases.py) against PyTorch (CPU) with the
same weights: forward outputs, every gradient and buffer, in float64 (tolerance 1e-10)
and float32 (1e-5), in each mode of the case; then what a generic comparison cannot
reach: BatchNorm1d over several batches, dropout with torch's mask, the containers
torch has no module for, a whole network.

Marked ``oracle``: where torch is missing each test is skipped with the reason,
and under CI (``CI=true``) tests/conftest.py turns any such skip into a failure."""

from __future__ import annotations

import numpy as np
import pytest
from cases import LAYER_CASES, layer_modes, loss_reductions, torch_layout

from minnet import GELU, BatchNorm1d, Concat, CrossEntropyLoss, Dropout, Linear, ReLU, Residual, Sequential, Tanh

pytestmark = [
    pytest.mark.oracle,
    # the counterpart's own note on its speed, for Conv2d-padding-same (an even kernel): PyTorch copies the input
    # into a padded one; it says nothing about either result. Any other warning still shows.
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning"),
]

TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip(
        "torch", reason="the oracle tests compare minnet with PyTorch; install the test extra (torch==2.13.0 CPU)"
    )


def close(ours, theirs, dtype):
    """Equal within the dtype's tolerance, and of the same dtype (no silent upcast)."""
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours)
    if ours.ndim:  # a loss value comes back as a Python float
        assert ours.dtype == dtype, f"minnet gave {ours.dtype}, expected {np.dtype(dtype)}"
    np.testing.assert_allclose(ours, theirs, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def tensor(torch, array, grad=False):
    return torch.tensor(np.array(array), requires_grad=grad)


def in_dtype(layer, dtype):
    """``layer`` with every parameter and floating buffer in ``dtype`` (the registry builds float64 layers)."""
    for param in layer.parameters():
        param.data = param.data.astype(dtype)
        param.grad = np.zeros_like(param.data)
    for _, module in layer.named_layers():
        for name in module.buffer_names:
            value = getattr(module, name)
            if value.dtype.kind == "f":
                setattr(module, name, value.astype(dtype))
    return layer


def copy_into_torch(torch, ours, theirs):
    """``theirs`` holding the parameters and buffers of ``ours``, by name and in torch's layout (each Linear's
    weight transposed); torch's load_state_dict refuses a name missing on either side."""
    state = torch_layout(ours, ours.state_dict())
    theirs.load_state_dict({name: tensor(torch, value) for name, value in state.items()})
    return theirs


def torch_dtype(torch, dtype):
    return getattr(torch, np.dtype(dtype).name)


def copy_linear(torch, ours):
    """A torch.nn.Linear with minnet's weights (torch stores W transposed: (out, in))."""
    dtype = torch_dtype(torch, ours.weight.data.dtype)
    theirs = torch.nn.Linear(ours.in_features, ours.out_features, bias=ours.bias is not None, dtype=dtype)
    return copy_into_torch(torch, ours, theirs)


# -- every layer case with a counterpart ---------------------------------------------------------------------------


@DTYPES
@pytest.mark.parametrize(("case", "mode"), layer_modes(torch=True))
def test_layer(torch, case, mode, dtype):
    rng = np.random.default_rng(0)
    ours = in_dtype(case.build(), dtype).train(mode == "train")
    theirs = copy_into_torch(torch, ours, case.torch(torch.nn).to(torch_dtype(torch, dtype)))
    theirs.train(mode == "train")
    x = case.make_input(rng, case.input_shape) if case.make_input else 3 * rng.standard_normal(case.input_shape)
    integer = ours.input_kind == "integer"  # indices: kept as integers, without a gradient
    x = x if integer else x.astype(dtype)
    x_t = tensor(torch, x, grad=not integer)
    y_t = theirs(x_t)
    g = rng.standard_normal(tuple(y_t.shape)).astype(dtype)
    y_t.backward(tensor(torch, g))
    close(ours(x), y_t, dtype)
    grad_input = ours.backward(g)
    if integer:
        assert grad_input is None
        assert x_t.grad is None
    else:
        close(grad_input, x_t.grad, dtype)
    grads = torch_layout(ours, {name: param.grad for name, param in ours.named_parameters()})
    assert grads.keys() == {name for name, _ in theirs.named_parameters()}
    for name, param in theirs.named_parameters():
        close(grads[name], param.grad, dtype)
    state = torch_layout(ours, ours.state_dict())  # the running statistics after a training batch
    for name, value in theirs.state_dict().items():
        close(state[name], value, dtype)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LAYER_CASES if c.activation])
def test_extreme_inputs(torch, case):
    x = np.array([[-1e4, -30.0, -1e-8, 0.0, 1e-8, 30.0, 1e4]])
    layer = case.build()
    y = layer(x)
    x_t = tensor(torch, x, grad=True)
    y_t = case.torch(torch.nn).double()(x_t)
    y_t.backward(torch.ones_like(y_t))
    close(y, y_t, np.float64)
    close(layer.backward(np.ones_like(x)), x_t.grad, np.float64)


# -- what one layer does over several batches, or with torch's random mask ------------------------------------


@DTYPES
@pytest.mark.parametrize(
    ("shape", "momentum", "affine"),
    [((6, 5), 0.1, True), ((4, 3, 5), 0.3, True), ((6, 5), None, True), ((7, 4), 0.1, False)],
    ids=["2d", "3d-momentum-0.3", "momentum-None", "no-affine"],
)
def test_batchnorm1d_train_then_eval(torch, dtype, shape, momentum, affine):
    rng = np.random.default_rng(3)
    c = shape[1]
    ours = BatchNorm1d(c, eps=1e-3, momentum=momentum, affine=affine, dtype=dtype)
    theirs = torch.nn.BatchNorm1d(c, eps=1e-3, momentum=momentum, affine=affine, dtype=torch_dtype(torch, dtype))
    if affine:
        ours.weight.data[:] = rng.uniform(0.5, 1.5, c)
        ours.bias.data[:] = rng.standard_normal(c)
        with torch.no_grad():
            theirs.weight.copy_(tensor(torch, ours.weight.data))
            theirs.bias.copy_(tensor(torch, ours.bias.data))
    for step in range(3):  # three training batches: the running statistics accumulate
        x = (2 * rng.standard_normal(shape) + step).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        x_t = tensor(torch, x, grad=True)
        y_t = theirs(x_t)
        y_t.backward(tensor(torch, g))
        close(ours(x), y_t, dtype)
        close(ours.backward(g), x_t.grad, dtype)
        close(ours.running_mean, theirs.running_mean, dtype)
        close(ours.running_var, theirs.running_var, dtype)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == step + 1
    if affine:  # accumulated over the three backwards, in both
        close(ours.weight.grad, theirs.weight.grad, dtype)
        close(ours.bias.grad, theirs.bias.grad, dtype)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    x_t = tensor(torch, x, grad=True)
    y_t = theirs(x_t)
    y_t.backward(tensor(torch, g))
    close(ours(x), y_t, dtype)
    close(ours.backward(g), x_t.grad, dtype)
    close(ours.running_mean, theirs.running_mean, dtype)  # eval leaves them alone
    close(ours.running_var, theirs.running_var, dtype)


class _FixedMask:
    """Stands in for Dropout's Generator: ``random`` returns 1 where the mask keeps an
    element and 0 where it drops one, so minnet's Dropout uses the given mask."""

    def __init__(self, keep):
        self.keep = keep

    def random(self, shape):
        assert shape == self.keep.shape
        return self.keep.astype(np.float64)


@DTYPES
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_dropout_train_with_torchs_mask_and_eval_identity(torch, dtype, p):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((8, 16)) + 5).astype(dtype)  # no zeros: the mask can be read off torch's output
    g = rng.standard_normal((8, 16)).astype(dtype)
    theirs = torch.nn.Dropout(p)
    torch.manual_seed(0)
    x_t = tensor(torch, x, grad=True)
    y_t = theirs(x_t)
    y_t.backward(tensor(torch, g))
    layer = Dropout(p)
    layer.rng = _FixedMask(y_t.detach().numpy() != 0)
    close(layer(x), y_t, dtype)
    close(layer.backward(g), x_t.grad, dtype)
    if 0 < p < 1:
        assert 0 < (y_t.detach().numpy() == 0).mean() < 1  # a real mask was compared
    layer.eval(), theirs.eval()
    x_t = tensor(torch, x, grad=True)
    y_t = theirs(x_t)
    y_t.backward(tensor(torch, g))
    close(layer(x), y_t, dtype)
    close(layer.backward(g), x_t.grad, dtype)


# -- the containers torch has no module for, written out ----------------------------------------------------------


@DTYPES
def test_residual_and_concat(torch, dtype):
    rng = np.random.default_rng(5)
    a, b, c = Linear(4, 4, rng=6, dtype=dtype), Linear(4, 2, rng=7, dtype=dtype), Linear(4, 3, rng=8, dtype=dtype)
    model = Sequential(Residual(Sequential(a, Tanh())), Concat(b, Sequential(c, ReLU())))
    a_t, b_t, c_t = (copy_linear(torch, layer) for layer in (a, b, c))
    x, g = rng.standard_normal((5, 4)).astype(dtype), rng.standard_normal((5, 5)).astype(dtype)
    x_t = tensor(torch, x, grad=True)
    h_t = x_t + torch.tanh(a_t(x_t))
    y_t = torch.cat([b_t(h_t), torch.relu(c_t(h_t))], dim=-1)
    y_t.backward(tensor(torch, g))
    close(model(x), y_t, dtype)
    close(model.backward(g), x_t.grad, dtype)
    for ours, theirs in ((a, a_t), (b, b_t), (c, c_t)):
        close(ours.weight.grad, theirs.weight.grad.T, dtype)
        close(ours.bias.grad, theirs.bias.grad, dtype)


# -- every loss case with a counterpart, with each reduction --------------------------------------------------------


@DTYPES
@pytest.mark.parametrize(("case", "reduction"), loss_reductions(torch=True))
def test_loss(torch, case, reduction, dtype):
    rng = np.random.default_rng(9)
    pred, target = case.draw(rng)
    if case.edges is not None:
        case.edges(pred, target)
    pred = pred.astype(dtype)
    target = target.astype(dtype) if target.dtype.kind == "f" else target  # labels stay integers
    loss_fn = case.build(reduction=reduction)
    value = loss_fn(pred, target)
    pred_t = tensor(torch, pred, grad=True)
    value_t = case.torch(torch.nn, reduction)(pred_t, tensor(torch, target))
    if reduction == "none":
        g = rng.standard_normal(value_t.shape).astype(dtype)
        value_t.backward(tensor(torch, g))
        grad = loss_fn.backward(g)
    else:
        assert isinstance(value, float)
        value_t.backward()
        grad = loss_fn.backward()
    assert np.all(np.isfinite(value))
    assert np.all(np.isfinite(grad))
    close(value, value_t, dtype)
    close(grad, pred_t.grad, dtype)


@DTYPES
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_mlp_with_cross_entropy(torch, dtype, mode):
    """A whole network: every parameter's gradient through the chain."""
    rng = np.random.default_rng(11)
    l1, l2 = Linear(6, 8, rng=12, dtype=dtype), Linear(8, 3, rng=13, dtype=dtype)
    bn = BatchNorm1d(8, dtype=dtype)
    model = Sequential(l1, bn, GELU(), Dropout(0.0), l2)
    l1_t, l2_t = copy_linear(torch, l1), copy_linear(torch, l2)
    bn_t = torch.nn.BatchNorm1d(8, dtype=torch_dtype(torch, dtype))
    model_t = torch.nn.Sequential(l1_t, bn_t, torch.nn.GELU(approximate="tanh"), torch.nn.Dropout(0.0), l2_t)
    getattr(model, mode)()
    getattr(model_t, mode)()
    x, labels = rng.standard_normal((7, 6)).astype(dtype), rng.integers(0, 3, 7)
    loss_fn = CrossEntropyLoss()
    loss = loss_fn(model(x), labels)
    model.backward(loss_fn.backward())
    loss_t = torch.nn.CrossEntropyLoss()(model_t(tensor(torch, x)), torch.tensor(labels))
    loss_t.backward()
    close(loss, loss_t, dtype)
    for ours, theirs in ((l1, l1_t), (l2, l2_t)):
        close(ours.weight.grad, theirs.weight.grad.T, dtype)
        close(ours.bias.grad, theirs.bias.grad, dtype)
    close(bn.weight.grad, bn_t.weight.grad, dtype)
    close(bn.bias.grad, bn_t.bias.grad, dtype)
    close(bn.running_var, bn_t.running_var, dtype)
