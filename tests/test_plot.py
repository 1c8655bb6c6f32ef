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


def separable_points_and_model():
    """60 points, a model that predicts output 1 right of x₁ = 0 and output 0 left of it."""
    X = np.random.default_rng(0).standard_normal((60, 2))
    model = Sequential(Linear(2, 1, rng=0), Sigmoid())
    model[0].weight.data[...] = [[5.0], [0.0]]
    model[0].bias.data[...] = 0.0
    return X, model


@pytest.fixture
def drawn(monkeypatch):
    """What decision_boundary hands contourf: the class codes over the grid and the levels."""
    from matplotlib.axes import Axes

    calls = []
    contourf = Axes.contourf

    def spy(self, *args, **kwargs):
        calls.append({"codes": np.unique(args[2]), "levels": np.asarray(kwargs["levels"])})
        return contourf(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "contourf", spy)
    return calls


def drawn_classes(fig):
    ax = fig.axes[0]
    return [text.get_text() for text in ax.get_legend().get_texts()], ax.collections[-1].get_array().tolist()


def test_decision_boundary_work_does_not_grow_with_the_label_values(tmp_path, drawn):
    X, model = separable_points_and_model()
    y = np.where(X[:, 0] > 0, 10**9, 0)  # label 10⁹ is output 10⁹, which this model never predicts
    fig = plot.decision_boundary(model, X, y, tmp_path / "big.png", resolution=30)
    check_png(fig, tmp_path / "big.png")
    (call,) = drawn
    assert call["levels"].tolist() == [-0.5, 0.5, 1.5, 2.5]  # three classes occur: 0, 1 (predicted), 10⁹
    assert call["codes"].tolist() == [0, 1]
    legend, data_codes = drawn_classes(fig)
    assert legend == ["0", "1", "1000000000"]
    assert data_codes == np.where(X[:, 0] > 0, 2, 0).tolist()


@pytest.mark.parametrize(
    ("labels", "legend"),
    [
        (["cat", "dog"], ["cat", "dog"]),  # strings: output k is the k-th label in sorted order
        (np.array(["cat", "dog"], dtype=object), ["cat", "dog"]),
        ([-1, 1], ["-1", "1"]),  # negative numbers: the same
        ([0.25, 0.75], ["0.25", "0.75"]),
        ([False, True], ["0", "1"]),  # whole numbers >= 0: label k is output k
        ([0.0, 1.0], ["0", "1"]),
    ],
)
def test_decision_boundary_labels_that_are_not_class_indices(tmp_path, drawn, labels, legend):
    X, model = separable_points_and_model()
    y = np.where(X[:, 0] > 0, labels[1], labels[0])
    fig = plot.decision_boundary(model, X, y, tmp_path / "labels.png", resolution=30)
    check_png(fig, tmp_path / "labels.png")
    assert drawn[0]["levels"].tolist() == [-0.5, 0.5, 1.5]
    assert drawn[0]["codes"].tolist() == [0, 1]
    assert drawn_classes(fig) == (legend, (X[:, 0] > 0).astype(int).tolist())


def test_decision_boundary_an_output_beyond_the_string_labels_keeps_its_number(drawn):
    X, model = separable_points_and_model()
    fig = plot.decision_boundary(model, X, np.full(60, "only"), resolution=10)
    assert drawn_classes(fig) == (["only", "output 1"], [0] * 60)
    assert drawn[0]["levels"].tolist() == [-0.5, 0.5, 1.5]


BAD_DECISION_BOUNDARY_ARGUMENTS = [
    ({"resolution": 0}, ValueError, "resolution .* must be a whole number >= 2, got 0"),
    ({"resolution": -5}, ValueError, "resolution .* must be a whole number >= 2, got -5"),
    ({"resolution": 1}, ValueError, "resolution .* must be a whole number >= 2, got 1"),
    ({"resolution": 2.5}, ValueError, "resolution .* must be a whole number >= 2, got 2.5"),
    ({"resolution": True}, ValueError, "resolution .* must be a whole number >= 2, got True"),
    ({"resolution": "50"}, ValueError, "resolution .* must be a whole number >= 2, got '50'"),
    ({"threshold": float("nan")}, ValueError, "threshold must be None or a finite number, got nan"),
    ({"X": np.ones((5, 3))}, ValueError, r"X must be points of shape \(N, 2\) with N >= 1, got \(5, 3\)"),
    ({"X": np.ones(5)}, ValueError, r"X must be points of shape \(N, 2\) with N >= 1, got \(5,\)"),
    ({"X": np.ones((0, 2)), "y": []}, ValueError, r"X must be points of shape \(N, 2\) with N >= 1, got \(0, 2\)"),
    ({"X": [["a", "b"]] * 5}, TypeError, "X must be numbers of shape \\(N, 2\\)"),
    ({"X": [[0.0, np.nan]] * 5}, ValueError, "X holds nan or inf"),
    ({"y": np.ones(4)}, ValueError, r"y must hold one label per point, shape \(5,\) or \(5, 1\), got \(4,\)"),
    ({"y": np.ones((5, 2))}, ValueError, r"y must hold one label per point, .* got \(5, 2\)"),
    ({"y": [None, "a", "b", "c", "d"]}, TypeError, "y must hold numbers or strings, got dtype object"),
    ({"y": [0, 1, np.inf, 0, 1]}, ValueError, "y holds nan or inf"),
]


@pytest.mark.parametrize(("change", "error", "message"), BAD_DECISION_BOUNDARY_ARGUMENTS)
def test_decision_boundary_names_a_bad_argument(change, error, message):
    _, model = separable_points_and_model()
    arguments = {"X": np.random.default_rng(1).standard_normal((5, 2)), "y": [0, 1, 0, 1, 1], **change}
    X, y = arguments.pop("X"), arguments.pop("y")
    with pytest.raises(error, match=f"^decision_boundary: {message}"):
        plot.decision_boundary(model, X, y, **arguments)


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
