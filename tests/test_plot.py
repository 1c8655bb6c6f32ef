"""Each plot returns a Figure, writes a PNG that is not blank, and labels its axes."""

import matplotlib.image as image
import numpy as np
import pytest

import minnet
from minnet import Linear, MSELoss, Sequential, Sigmoid, plot
from minnet.derivation import build_network, make_data


def check_png(fig, path, labelled=True):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(path)
    assert pixels.shape[0] > 100
    assert pixels.shape[1] > 100
    assert np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0).shape[0] > 20  # not one flat colour
    for ax in fig.axes if labelled else ():  # feature_maps' pictures: a label per row, not per picture
        if ax.get_label() == "<colorbar>":
            continue
        assert ax.get_xlabel(), ax
        assert ax.get_ylabel(), ax


def test_loss_curve_of_a_list_and_of_a_history(tmp_path):
    fig = plot.loss_curve([1.0, 0.6, 0.4, 0.3], tmp_path / "list.png")
    check_png(fig, tmp_path / "list.png")
    assert fig.axes[0].get_xlabel() == "step"
    assert fig.axes[0].get_ylabel() == "loss"

    class History:
        history = {"loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 0.7, 0.4], "accuracy": [0.5, 0.7, 0.9]}

    fig = plot.loss_curve(History(), tmp_path / "history.png", log_scale=True)
    check_png(fig, tmp_path / "history.png")
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "metric"]
    assert [line.get_label() for line in fig.axes[0].lines] == ["loss", "val_loss"]
    assert fig.axes[0].get_xlabel() == "epoch"
    assert fig.axes[0].get_yscale() == "log"


def test_loss_curve_rejects_nothing_to_draw():
    with pytest.raises(ValueError, match="no values"):
        plot.loss_curve({"loss": []})


def test_gradient_flow_of_one_and_of_two_models(tmp_path):
    X, Y = make_data()
    model = build_network(0)
    with pytest.raises(ValueError, match="run a backward pass first"):
        plot.gradient_flow(model)
    trace = minnet.explain(model, MSELoss(), X, Y)
    fig = plot.gradient_flow(trace, tmp_path / "one.png")
    check_png(fig, tmp_path / "one.png")
    loss_fn = MSELoss()
    loss_fn(model(X), Y)
    model.backward(loss_fn.backward())  # the same gradients, now in the model's .grad
    expected = [np.abs(model[0].weight.grad).mean(), np.abs(model[2].weight.grad).mean()]
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), expected, rtol=1e-12)
    np.testing.assert_allclose(plot.gradient_flow(model).axes[0].lines[0].get_ydata(), expected, rtol=1e-12)

    other = Sequential(Linear(3, 4, rng=0), Sigmoid(), Linear(4, 4, rng=1), Sigmoid(), Linear(4, 1, rng=2))
    other_trace = minnet.explain(other, MSELoss(), X, Y)
    fig = plot.gradient_flow({"two": trace, "three": other_trace}, tmp_path / "two.png")
    check_png(fig, tmp_path / "two.png")
    assert [len(line.get_ydata()) for line in fig.axes[0].lines] == [2, 3]


def test_decision_boundary(tmp_path):
    X = np.random.default_rng(0).standard_normal((60, 2))
    y = (X[:, 0] > 0).astype(int)
    model = Sequential(Linear(2, 1, rng=0), Sigmoid())
    model[0].weight.data[...] = [[5.0], [0.0]]
    model[0].bias.data[...] = 0.0
    fig = plot.decision_boundary(model, X, y, tmp_path / "boundary.png", resolution=50)
    check_png(fig, tmp_path / "boundary.png")
    with pytest.raises(ValueError, match="shape \\(N, 2\\)"):
        plot.decision_boundary(model, np.ones((5, 3)), np.ones(5))


def test_activation_histograms(tmp_path):
    X, _ = make_data()
    model = build_network(0)
    fig = plot.activation_histograms(model, X, tmp_path / "hist.png")
    check_png(fig, tmp_path / "hist.png")
    assert [ax.get_title() for ax in fig.axes] == ["0 Linear", "1 Sigmoid", "2 Linear", "3 Sigmoid"]
    fig = plot.activation_histograms(model, X, layers=["Sigmoid"])
    assert len(fig.axes) == 2


def test_demo_writes_the_loss_curve(tmp_path, capsys):
    from minnet.cli import main

    path = tmp_path / "demo.png"
    assert main(["demo", "--steps", "50", "--plot", str(path)]) == 0
    assert f"loss curve written to {path}" in capsys.readouterr().out
    assert image.imread(path).std() > 0


def test_loss_curve_ticks_are_whole_epochs(tmp_path):
    fig = plot.loss_curve({"loss": [0.7, 0.55, 0.5], "accuracy": [0.6, 0.75, 0.78]}, tmp_path / "short.png")
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks, ticks
        assert all(float(t).is_integer() for t in ticks), ticks


def small_cnn():
    return Sequential(
        minnet.Conv2d(2, 5, 3, padding=1, rng=0),
        minnet.BatchNorm2d(5),
        minnet.ReLU(),
        minnet.MaxPool2d(2),
        minnet.Flatten(),
        Linear(5 * 3 * 2, 4, rng=2),
    )


def test_feature_maps_one_picture_per_channel_and_no_trace(tmp_path):
    model = small_cnn()
    X = np.random.default_rng(0).standard_normal((3, 2, 6, 5))
    model(X)
    before = {name: np.array(p.data) for name, p in model.named_parameters()}
    statistics = np.array(model[1].running_mean)
    fig = plot.feature_maps(model, X, tmp_path / "maps.png", sample=2, max_channels=4)
    check_png(fig, tmp_path / "maps.png", labelled=False)
    # the input's 2 channels, then 4 of the 5 channels of Conv2d, BatchNorm2d, ReLU and MaxPool2d; Flatten and
    # Linear give (N, F): no row
    assert len(fig.axes) == 2 + 4 * 4
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels == [
        "input\n(2, 6, 5)",
        "0 Conv2d\n(5, 6, 5), 4 shown",
        "1 BatchNorm2d\n(5, 6, 5), 4 shown",
        "2 ReLU\n(5, 6, 5), 4 shown",
        "3 MaxPool2d\n(5, 3, 2), 4 shown",
    ]
    shown = fig.axes[2 + 3 * 4].get_images()[0].get_array()  # MaxPool2d's first channel, of sample 2
    np.testing.assert_allclose(shown, model[:4].eval()(X)[2, 0])
    assert all(np.array_equal(before[name], p.data) for name, p in model.named_parameters())
    assert np.array_equal(statistics, model[1].running_mean)  # eval mode: no statistics were updated


def test_feature_maps_filters_layers_and_refuses_what_has_no_channels():
    model = small_cnn()
    X = np.ones((2, 2, 6, 5))
    assert len(plot.feature_maps(model, X, layers=["ReLU"]).axes) == 2 + 5
    assert len(plot.feature_maps(model, X, layers="ReLU").axes) == 2 + 5  # one class name as a string
    with pytest.raises(ValueError, match="max_channels must be at least 1, got 0"):
        plot.feature_maps(model, X, max_channels=0)
    with pytest.raises(ValueError, match=r"no layer of the classes \['Linear'\]"):
        plot.feature_maps(model, X, layers=["Linear"])
    with pytest.raises(ValueError, match=r"expected a batch \(N, C, H, W\) or \(N, C, L\).*got shape \(2, 60\)"):
        plot.feature_maps(model, np.ones((2, 60)))
    with pytest.raises(ValueError, match="sample=5"):
        plot.feature_maps(model, X, sample=5)


def test_feature_maps_shows_a_sequence_as_one_picture():
    model = Sequential(minnet.Conv1d(3, 4, 2, rng=0), minnet.ReLU())
    x = np.random.default_rng(1).standard_normal((2, 3, 7))
    fig = plot.feature_maps(model, x)
    assert [ax.get_ylabel() for ax in fig.axes] == ["input\n(3, 7)", "0 Conv1d\n(4, 6)", "1 ReLU\n(4, 6)"]
    np.testing.assert_allclose(fig.axes[2].get_images()[0].get_array(), model(x)[0])  # ReLU's (C, L), sample 0
