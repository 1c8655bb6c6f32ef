"""Sequential."""

import numpy as np
import pytest

from minnet import BackwardBeforeForwardError, Linear, Sequential, Sigmoid


def make():
    return Sequential(Linear(3, 4, rng=0), Sigmoid(), Linear(4, 2, rng=1))


def test_forward_in_order_backward_in_reverse():
    model = make()
    x = np.random.default_rng(0).standard_normal((5, 3))
    expected = model[2](model[1](model[0](x)))
    np.testing.assert_array_equal(model(x), expected)
    g = np.ones((5, 2))
    by_hand = model[0].backward(model[1].backward(model[2].backward(g)))
    model.zero_grad()
    np.testing.assert_array_equal(model.backward(g), by_hand)


def test_len_indexing_iteration_repr():
    model = make()
    assert len(model) == 3
    assert isinstance(model[0], Linear)
    assert isinstance(model[-1], Linear)
    assert [type(layer).__name__ for layer in model] == ["Linear", "Sigmoid", "Linear"]
    assert len(model[1:]) == 2
    assert isinstance(model[1:], Sequential)
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): Sigmoid()\n"
        "  (2): Linear(in_features=4, out_features=2, bias=True)\n"
        ")"
    )


def test_error_in_forward_names_the_child():
    model = make()
    with pytest.raises(ValueError, match=r"^Linear: expected input of shape \(N, 5\), got \(2, 4\)") as info:
        Sequential(Linear(3, 4, rng=0), Sigmoid(), Linear(5, 2, rng=1))(np.ones((2, 3)))
    assert info.value.__notes__ == ["in layer 2 (Linear) of Sequential, during forward"]
    with pytest.raises(ValueError, match=r"^Linear: expected input of shape \(N, 3\), got \(2, 7\)") as info:
        model(np.ones((2, 7)))
    assert info.value.__notes__ == ["in layer 0 (Linear) of Sequential, during forward"]


def test_error_in_backward_names_the_child():
    class Unfinished(Sigmoid):
        def backward(self, grad_output):
            raise NotImplementedError("backward is left as an exercise")

    model = Sequential(Linear(3, 4, rng=0), Unfinished(), Linear(4, 2, rng=1))
    model(np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match=r"^backward is left as an exercise") as info:
        model.backward(np.ones((2, 2)))
    assert info.value.__notes__ == ["in layer 1 (Unfinished) of Sequential, during backward"]
    # a wrong grad_output is caught by the container that received it, before any child runs
    with pytest.raises(ValueError, match=r"^Sequential: expected grad_output of shape \(2, 2\), got \(2, 3\)"):
        model.backward(np.ones((2, 3)))


def test_nested_error_names_both_levels():
    model = Sequential(Sigmoid(), Sequential(Linear(3, 1, rng=0)))
    with pytest.raises(ValueError, match=r"^Linear: expected input") as info:
        model(np.ones((1, 2)))
    assert info.value.__notes__ == [
        "in layer 0 (Linear) of Sequential, during forward",
        "in layer 1 (Sequential) of Sequential, during forward",
    ]


def test_backward_before_forward():
    with pytest.raises(BackwardBeforeForwardError):
        make().backward(np.ones((1, 2)))


def test_rejects_non_layers():
    with pytest.raises(TypeError, match="layer 1 must be a Layer"):
        Sequential(Sigmoid(), lambda x: x)


def test_same_layer_twice_is_refused_and_shared_parameters_tie_weights():
    linear = Linear(3, 3, rng=0)
    with pytest.raises(
        ValueError, match=r"the same Linear object is at '0' and at '2'.*give two layers the same Parameter"
    ):
        Sequential(linear, Sigmoid(), linear)
    twin = Linear(3, 3, rng=1)
    twin.weight = linear.weight
    model = Sequential(linear, Sigmoid(), twin)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    from minnet import gradcheck

    assert gradcheck(model, np.random.default_rng(0).standard_normal((4, 3)))


# -- Residual and Concat ------------------------------------------------------------------------------------------

from minnet import Concat, Identity, Residual, Tanh, gradcheck  # noqa: E402


def test_residual_adds_the_skip_path_to_both_output_and_gradient():
    block = Sequential(Linear(3, 3, rng=0), Tanh())
    res = Residual(block)
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(res(x), x + block(x), rtol=1e-15)
    g = np.random.default_rng(1).standard_normal((4, 3))
    block(x)
    through_block = block.backward(g)
    block.zero_grad()
    res(x)
    np.testing.assert_allclose(res.backward(g), g + through_block, rtol=1e-15)
    assert [name for name, _ in res.named_parameters()] == ["block.0.weight", "block.0.bias"]


def test_residual_of_identity_doubles():
    res = Residual(Identity())
    np.testing.assert_array_equal(res(np.ones((2, 2))), 2 * np.ones((2, 2)))
    np.testing.assert_array_equal(res.backward(np.ones((2, 2))), 2 * np.ones((2, 2)))


def test_residual_errors():
    with pytest.raises(ValueError, match=r"Residual: the block maps shape \(2, 3\) to \(2, 4\)"):
        Residual(Linear(3, 4, rng=0))(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"in layer block \(Linear\) of Residual, during forward"):
        Residual(Linear(5, 5, rng=0))(np.ones((2, 3)))
    with pytest.raises(TypeError, match="Residual: block must be a Layer"):
        Residual(np.tanh)


def test_concat_joins_outputs_and_adds_input_gradients():
    a, b = Linear(3, 2, rng=0), Linear(3, 4, rng=1)
    cat = Concat(a, b)
    x = np.random.default_rng(2).standard_normal((5, 3))
    np.testing.assert_allclose(cat(x), np.concatenate([a(x), b(x)], axis=-1), rtol=1e-15)
    g = np.random.default_rng(3).standard_normal((5, 6))
    expected = g[:, :2] @ a.weight.data.T + g[:, 2:] @ b.weight.data.T
    cat(x)
    np.testing.assert_allclose(cat.backward(g), expected, rtol=1e-14)
    assert [name for name, _ in cat.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert repr(cat).startswith("Concat(axis=-1\n  (0): Linear(in_features=3, out_features=2, bias=True)")


def test_concat_along_the_batch_axis():
    cat = Concat(Identity(), Identity(), axis=0)
    assert cat(np.ones((2, 3))).shape == (4, 3)
    np.testing.assert_array_equal(cat.backward(np.ones((4, 3))), 2 * np.ones((2, 3)))
    assert gradcheck(Concat(Linear(2, 2, rng=0), Tanh(), axis=0), np.random.default_rng(0).standard_normal((3, 2)))


def test_concat_errors_name_the_branch():
    with pytest.raises(ValueError, match=r"Concat: cannot join branch outputs of shapes \[\(2, 3\), \(4, 3\)\] along"):
        Concat(Identity(), Concat(Identity(), Identity(), axis=0))(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"in layer 1 \(Linear\) of Concat, during forward"):
        Concat(Linear(3, 2, rng=0), Linear(4, 2, rng=1))(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Concat: needs at least one branch"):
        Concat()
    shared = Linear(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"Concat: the same Linear object is at '0' and at '1'"):
        Concat(shared, shared)
    cat = Concat(Identity(), Identity())
    cat(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Concat: expected grad_output of shape \(2, 6\), got \(2, 5\)"):
        cat.backward(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"Concat: expected grad_output of shape \(2, 6\), got \(3, 6\)"):
        cat.backward(np.ones((3, 6)))  # caught here, not inside a branch


def test_concat_refuses_to_upcast_and_names_a_bad_axis():
    """np.concatenate would join a float32 and a float64 output as float64, silently."""
    cat = Concat(Linear(3, 2, rng=0, dtype=np.float32), Tanh())  # integer input: float32 and float64
    with pytest.raises(TypeError, match=r"Concat: the branch outputs have dtypes \['float32', 'float64'\]"):
        cat(np.ones((2, 3), dtype=int))
    with pytest.raises(
        ValueError, match=r"Concat: cannot join branch outputs of shapes \[\(2, 3\), \(2, 3\)\] along axis=3"
    ):
        Concat(Identity(), Identity(), axis=3)(np.ones((2, 3)))
