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
    assert isinstance(model[0], Linear) and isinstance(model[-1], Linear)
    assert [type(layer).__name__ for layer in model] == ["Linear", "Sigmoid", "Linear"]
    assert len(model[1:]) == 2 and isinstance(model[1:], Sequential)
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): Sigmoid()\n"
        "  (2): Linear(in_features=4, out_features=2, bias=True)\n"
        ")"
    )


def test_error_in_forward_names_the_child():
    model = make()
    expected = r"layer 2 \(Linear\).*forward.*expected input of shape \(N, 5\), got \(2, 4\)"
    with pytest.raises(ValueError, match=expected) as info:
        Sequential(Linear(3, 4, rng=0), Sigmoid(), Linear(5, 2, rng=1))(np.ones((2, 3)))
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(ValueError, match=r"layer 0 \(Linear\)"):
        model(np.ones((2, 7)))


def test_error_in_backward_names_the_child():
    model = make()
    model(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"layer 2 \(Linear\).*backward.*grad_output"):
        model.backward(np.ones((2, 3)))


def test_nested_error_names_both_levels():
    model = Sequential(Sigmoid(), Sequential(Linear(3, 1, rng=0)))
    with pytest.raises(ValueError, match=r"layer 1 \(Sequential\).*layer 0 \(Linear\)"):
        model(np.ones((1, 2)))


def test_backward_before_forward():
    with pytest.raises(BackwardBeforeForwardError):
        make().backward(np.ones((1, 2)))


def test_rejects_non_layers():
    with pytest.raises(TypeError, match="layer 1 must be a Layer"):
        Sequential(Sigmoid(), lambda x: x)


def test_same_layer_twice_is_refused_and_shared_parameters_tie_weights():
    linear = Linear(3, 3, rng=0)
    with pytest.raises(ValueError, match=r"layer 2 \(Linear\) is already layer 0.*Share its Parameter"):
        Sequential(linear, Sigmoid(), linear)
    twin = Linear(3, 3, rng=1)
    twin.weight = linear.weight
    model = Sequential(linear, Sigmoid(), twin)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    from minnet import gradcheck

    assert gradcheck(model, np.random.default_rng(0).standard_normal((4, 3)))
