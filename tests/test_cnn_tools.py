"""A convolutional network through minnet's tools: the gradient of the whole network, summary, cache_report,
health, explain and fit, on (N, C, H, W) and (N, C, L) activations."""

import numpy as np
import pytest

import minnet
from minnet import gradcheck


def cnn():
    return minnet.Sequential(
        minnet.Conv2d(2, 4, 3, padding=1, rng=0),
        minnet.BatchNorm2d(4),
        minnet.ReLU(),
        minnet.MaxPool2d(2),
        minnet.Conv2d(4, 3, 2, rng=1),
        minnet.Tanh(),
        minnet.AvgPool2d((2, 1)),
        minnet.Flatten(),
        minnet.Linear(3, 5, rng=2),
    )


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 2, 6, 5)), np.arange(6) % 5


def test_the_whole_network_against_finite_differences(batch):
    X, y = batch
    result = gradcheck(cnn(), X[:3], y[:3], loss_fn=minnet.CrossEntropyLoss())
    assert result.passed, result


def test_a_sequence_network_against_finite_differences():
    model = minnet.Sequential(
        minnet.Conv1d(3, 4, 3, padding=1, rng=0), minnet.ReLU(), minnet.Conv1d(4, 2, 2, stride=2, rng=1)
    )
    x = np.random.default_rng(1).standard_normal((2, 3, 6))
    result = gradcheck(model, x, np.zeros((2, 2, 3)), loss_fn=minnet.MSELoss())
    assert result.passed, result


def test_summary_and_cache_report_show_the_image_shapes(batch):
    X, _ = batch
    model = cnn()
    summary = str(model.summary(X.shape))
    for shape in ["(6, 4, 6, 5)", "(6, 4, 3, 2)", "(6, 3, 2, 1)", "(6, 3, 1, 1)", "(6, 3)", "(6, 5)"]:
        assert shape in summary, shape
    assert "cols (18, 180)" in summary  # im2col: C·kh·kw rows, one column per output position of the batch
    assert "argmax (6, 4, 3, 2)" in summary
    model(X)
    report = str(model.cache_report())
    assert "cols" in report
    assert "uint8" in report  # max pooling caches the offset of each window's max, not the input


def test_health_counts_dead_units_per_channel_and_position(batch):
    X, y = batch
    model = cnn()
    model[1].bias.data[:] = [-100.0, -100.0, 100.0, 100.0]  # β after the normalisation: 2 channels off, 2 on
    report = model.health(X, y, minnet.CrossEntropyLoss())
    assert report.layers[2].dead == 0.5  # 2 of 4 channels, at all 6×5 positions
    assert report.layers[5].saturated == 1.0  # the Tanh on (N, 3, 2, 1): inputs of ±100 put it at ±1
    assert cnn().health(X, y, minnet.CrossEntropyLoss()).layers[5].saturated == 0.0  # as built: far from ±1


def test_explain_has_one_row_per_layer_with_the_gradient_shapes(batch):
    X, y = batch
    trace = minnet.explain(cnn(), minnet.CrossEntropyLoss(), X, y)
    text = str(trace)
    pool = next(row for row in trace if row.layer.startswith("MaxPool2d"))
    assert pool._cells()[3] == ["(6, 4, 3, 2)", "→ (6, 4, 6, 5)"]  # MaxPool2d's backward: window gradients to x
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "∂L/∂x = col2im(Wᵀ g)" in text
    assert [row.name for row in trace] == ["loss", *(str(i) for i in range(8, -1, -1))]


def test_fit_trains_a_cnn_and_predict_runs_in_eval_mode(batch):
    X, y = batch
    model = cnn()
    loss_fn = minnet.CrossEntropyLoss()
    before = minnet.evaluate(model, loss_fn, X, y)["loss"]
    minnet.fit(model, loss_fn, minnet.Adam(model.parameters(), lr=0.05), X, y, epochs=30, batch_size=3, rng=0,
               progress=False)  # fmt: skip
    assert minnet.evaluate(model, loss_fn, X, y)["loss"] < before / 4
    assert model[1].training  # fit leaves the modes as they were
    running_mean = model[1].running_mean.copy()
    assert minnet.predict(model, X).shape == (6, 5)
    assert np.array_equal(running_mean, model[1].running_mean)  # predict ran BatchNorm2d in eval mode
