"""Linear."""

import numpy as np
import pytest

from minnet import Linear


def test_shapes_orientation_and_repr():
    layer = Linear(3, 4, bias=False, rng=0)
    assert layer.weight.data.shape == (3, 4)
    assert layer.bias is None
    assert repr(layer) == "Linear(in_features=3, out_features=4, bias=False)"
    assert Linear(3, 4).bias.data.shape == (4,)


def test_forward_is_x_at_w_plus_b():
    layer = Linear(3, 2, rng=1)
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(layer(x), x @ layer.weight.data + layer.bias.data, rtol=0, atol=0)


def test_backward_by_hand():
    layer = Linear(2, 3, rng=0)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
    layer(x)
    grad_input = layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, x.T @ g)
    np.testing.assert_allclose(layer.bias.grad, [1.5, 2.0, 0.0])
    np.testing.assert_allclose(grad_input, g @ layer.weight.data.T)


def test_initialisation_is_seeded_and_bounded():
    a, b = Linear(50, 20, rng=7), Linear(50, 20, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert np.abs(a.weight.data).max() <= 1 / np.sqrt(50)
    assert not np.array_equal(a.weight.data, Linear(50, 20, rng=8).weight.data)


def test_float32_layer_keeps_float32():
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    out = layer(np.ones((4, 3), dtype=np.float32))
    assert out.dtype == np.float32
    assert layer.backward(np.ones((4, 2), dtype=np.float32)).dtype == np.float32
    assert layer.weight.grad.dtype == np.float32


def test_integer_input_is_converted():
    assert Linear(2, 1, rng=0)(np.array([[1, 0]])).dtype == np.float64


@pytest.mark.parametrize("shape", [(4, 2), (4,), (2, 4, 2)])
def test_wrong_feature_count_names_layer_and_shapes(shape):
    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(N, 3\), got"):
        Linear(3, 2, rng=0)(np.ones(shape))


def test_mismatched_float_dtype_raises():
    with pytest.raises(TypeError, match="Linear: input dtype float32 does not match"):
        Linear(3, 2, rng=0)(np.ones((1, 3), dtype=np.float32))


def test_wrong_grad_output_shape_raises():
    layer = Linear(3, 2, rng=0)
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"expected grad_output of shape \(4, 2\), got \(4, 3\)"):
        layer.backward(np.ones((4, 3)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        Linear(0, 2)
    with pytest.raises(TypeError, match="float dtype"):
        Linear(2, 2, dtype=np.int64)
    with pytest.raises(TypeError, match="rng"):
        Linear(2, 2, rng="seed")


# -- Dropout ----------------------------------------------------------------------------------------------------

from minnet import BatchNorm1d, Dropout, Flatten  # noqa: E402


def test_dropout_eval_is_the_identity():
    layer = Dropout(0.5, rng=0).eval()
    x = np.random.default_rng(0).standard_normal((4, 5))
    np.testing.assert_array_equal(layer(x), x)
    g = np.ones((4, 5))
    np.testing.assert_array_equal(layer.backward(g), g)


def test_dropout_train_zeroes_and_scales_by_one_over_keep():
    p = 0.25
    layer = Dropout(p, rng=1)
    x = np.random.default_rng(1).uniform(1, 2, (200, 50))
    y = layer(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-15)
    assert abs((~kept).mean() - p) < 0.02  # 10,000 draws: the dropped fraction is p ± 4 standard deviations
    g = np.random.default_rng(2).standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(g), np.where(kept, g / (1 - p), 0.0), rtol=1e-15)


def test_dropout_masks_come_from_self_rng_at_each_forward():
    layer = Dropout(0.5, rng=3)
    x = np.ones((6, 8))
    first, second = layer(x), layer(x)
    assert not np.array_equal(first, second)  # a new mask each forward
    layer.rng = np.random.default_rng(3)  # the same seed again: the same masks again
    np.testing.assert_array_equal(layer(x), first)
    np.testing.assert_array_equal(Dropout(0.5, rng=3)(x), first)  # same seed, same mask


def test_dropout_edges_and_errors():
    x = np.ones((2, 3))
    np.testing.assert_array_equal(Dropout(0.0, rng=0)(x), x)
    np.testing.assert_array_equal(Dropout(1.0, rng=0)(x), np.zeros((2, 3)))
    assert Dropout(0.5, rng=0)(x.astype(np.float32)).dtype == np.float32
    assert repr(Dropout(0.2)) == "Dropout(p=0.2)"
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"Dropout: p must be a number in \[0, 1\]"):
            Dropout(p)


# -- Flatten ----------------------------------------------------------------------------------------------------


def test_flatten_shapes_and_backward():
    layer = Flatten()
    x = np.arange(24.0).reshape(2, 3, 4)
    assert layer(x).shape == (2, 12)
    assert layer.backward(np.ones((2, 12))).shape == (2, 3, 4)
    assert Flatten(1, 2)(np.zeros((2, 3, 4, 5))).shape == (2, 12, 5)
    assert Flatten()(np.zeros((3, 4))).shape == (3, 4)
    with pytest.raises(ValueError, match=r"Flatten: cannot flatten dimensions 1..-1 of an input of shape \(3,\)"):
        Flatten()(np.zeros(3))


# -- BatchNorm1d ------------------------------------------------------------------------------------------------


def test_batchnorm_by_hand():
    bn = BatchNorm1d(2, eps=0.0)
    x = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])
    y = bn(x)
    mean, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var), rtol=1e-14)
    np.testing.assert_allclose(bn.running_mean, 0.1 * mean, rtol=1e-15)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-15)  # unbiased
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    np.testing.assert_allclose(bn(x), (x - bn.running_mean) / np.sqrt(bn.running_var), rtol=1e-14)
    assert int(bn.num_batches_tracked) == 1  # eval leaves the statistics alone


def test_batchnorm_momentum_none_is_the_cumulative_average():
    bn = BatchNorm1d(3, momentum=None)
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((4, 3)) + k for k in range(3)]
    for x in batches:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(axis=0) for x in batches], axis=0), rtol=1e-14)


def test_batchnorm_buffers_parameters_and_repr():
    bn = BatchNorm1d(4)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(bn.weight.data, np.ones(4))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(4))
    assert repr(bn) == "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True)"
    assert list(BatchNorm1d(4, affine=False).parameters()) == []


def test_batchnorm_float32_end_to_end():
    bn = BatchNorm1d(3, dtype=np.float32)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    y = bn(x)
    assert y.dtype == bn.running_mean.dtype == bn.running_var.dtype == np.float32
    assert bn.backward(np.ones_like(y)).dtype == bn.weight.grad.dtype == np.float32


def test_batchnorm_errors_name_the_layer():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, 3\) or \(N, 3, L\), got \(4, 2\)"):
        bn(np.ones((4, 2)))
    with pytest.raises(ValueError, match="BatchNorm1d: training needs more than 1 value per feature"):
        bn(np.ones((1, 3)))
    assert bn.eval()(np.ones((1, 3))).shape == (1, 3)  # one sample is fine in eval
    with pytest.raises(TypeError, match="BatchNorm1d: input dtype float32 does not match the layer's dtype float64"):
        bn(np.ones((4, 3), dtype=np.float32))


@pytest.mark.parametrize("dims", [(3, -1), (1, -4), (-5, -1), (2, 1)])
def test_flatten_rejects_dimensions_out_of_range(dims):
    with pytest.raises(ValueError, match=r"Flatten: cannot flatten dimensions"):
        Flatten(*dims)(np.zeros((2, 3, 4)))
