"""Training end to end: fit, evaluate, predict, History, callbacks and progress output."""

import sys

import numpy as np
import pytest

import minnet
from minnet import (
    SGD,
    Adam,
    Callback,
    CrossEntropyLoss,
    Dropout,
    EarlyStopping,
    Layer,
    Linear,
    ModelCheckpoint,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    evaluate,
    fit,
    predict,
)
from minnet.metrics import accuracy


def test_xor_loss_falls_by_90_percent():
    rng = np.random.default_rng(0)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = np.repeat(corners, 16, axis=0) + 0.05 * rng.standard_normal((64, 2))
    Y = np.repeat(np.array([[0.0], [1.0], [1.0], [0.0]]), 16, axis=0)
    model = Sequential(Linear(2, 8, rng=1), Sigmoid(), Linear(8, 1, rng=2), Sigmoid())
    loss_fn = MSELoss()
    optimizer = SGD(model.parameters(), lr=2.0, momentum=0.9)
    first = loss_fn(model(X), Y)
    for _ in range(1500):
        optimizer.zero_grad()
        loss_fn(model(X), Y)
        model.backward(loss_fn.backward())
        optimizer.step()
    last = loss_fn(model(X), Y)
    assert last < 0.1 * first, (first, last)
    assert np.all((model(corners) > 0.5).ravel() == np.array([False, True, True, False]))


# -- fit, evaluate, predict ---------------------------------------------------------------------


def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def test_fit_on_digits_reaches_95_percent():
    X_train, X_test, y_train, y_test = digits_split()
    model = Sequential(Linear(64, 64, rng=0), ReLU(), Linear(64, 10, rng=1))
    history = fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=0.01),
        X_train,
        y_train,
        epochs=8,
        rng=0,
        progress=False,
        metrics=["accuracy"],
        validation_data=(X_test, y_test),
    )
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 8 for values in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    test_accuracy = accuracy(predict(model, X_test), y_test)
    assert test_accuracy >= 0.95, test_accuracy
    assert history.history["val_accuracy"][-1] == test_accuracy
    assert evaluate(model, CrossEntropyLoss(), X_test, y_test)["loss"] == history.history["val_loss"][-1]


def small_problem(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    Y = X @ rng.standard_normal((3, 2))
    return X, Y


class ModeRecorder(Layer):
    """Records the training flag each forward pass sees."""

    def __init__(self):
        self.seen = []

    def forward(self, x):
        self.seen.append(self.training)
        return x

    def backward(self, grad_output):
        return grad_output


def test_fit_trains_in_train_mode_validates_in_eval_mode_and_restores_modes():
    X, Y = small_problem()
    recorder = ModeRecorder()
    model = Sequential(Linear(3, 2, rng=0), recorder)
    model.eval()
    model[0].train()  # a mixed state: fit must give back exactly this
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), X, Y, epochs=2, batch_size=40,
        validation_data=(X, Y), progress=False)  # fmt: skip
    # first, before any training, one batch of the validation data in eval mode (fit's check of its shapes)
    assert recorder.seen == [False, True, False, True, False]
    assert model.training is False
    assert model[0].training is True
    assert recorder.training is False


def test_fit_restores_modes_after_an_error():
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0)).eval()
    with pytest.raises(ValueError, match="target shape"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), X, Y[:, :1], epochs=1, progress=False)
    assert model.training is False
    assert model[0].training is False


def test_loss_history_is_the_sample_weighted_mean_of_batch_losses():
    """With lr=0 the weights do not move, so the epoch loss equals the full-data loss
    even though the last batch is smaller."""
    X, Y = small_problem(n=37)
    model = Sequential(Linear(3, 2, rng=0))
    loss_fn = MSELoss(reduction="mean")
    history = fit(model, loss_fn, SGD(model.parameters(), lr=0.0), X, Y, epochs=1, batch_size=10, progress=False)
    assert history.history["loss"][0] == pytest.approx(loss_fn(model(X), Y), rel=1e-12)
    summed = evaluate(model, MSELoss(reduction="sum"), X, Y, batch_size=10)["loss"]
    assert summed == pytest.approx(MSELoss(reduction="sum")(model(X), Y), rel=1e-12)


def test_fit_is_reproducible_from_a_seed():
    X, Y = small_problem()

    def run(seed):
        model = Sequential(Linear(3, 2, rng=0))
        return fit(model, MSELoss(), SGD(model.parameters(), lr=0.05), X, Y, epochs=3, batch_size=8, rng=seed,
                   progress=False).history["loss"]  # fmt: skip

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_fit_steps_a_schedule_and_logs_lr():
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0))
    optimizer = SGD(model.parameters(), lr=0.1)
    schedule = minnet.optim.StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(model, MSELoss(), optimizer, X, Y, epochs=3, scheduler=schedule, progress=False)
    assert history.history["lr"] == [0.1, 0.05, 0.025]
    assert optimizer.lr == 0.0125


def test_fit_rejects_bad_arguments():
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0))
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="reduction='none'"):
        fit(model, MSELoss(reduction="none"), opt, X, Y, epochs=1)
    with pytest.raises(ValueError, match="same length"):
        fit(model, MSELoss(), opt, X, Y[:5], epochs=1)
    with pytest.raises(ValueError, match="validation_data"):
        fit(model, MSELoss(), opt, X, Y, epochs=1, validation_data=X)
    with pytest.raises(TypeError, match="Callback"):
        fit(model, MSELoss(), opt, X, Y, epochs=1, callbacks=[print])
    with pytest.raises(ValueError, match="epochs"):
        fit(model, MSELoss(), opt, X, Y, epochs=-1)


def test_predict_is_batched_and_in_eval_mode():
    X = np.random.default_rng(0).standard_normal((25, 3))
    model = Sequential(Linear(3, 4, rng=0), Dropout(0.5, rng=0), Linear(4, 2, rng=1))
    out = predict(model, X, batch_size=7)
    assert model.training is True  # restored
    model.eval()
    assert np.allclose(out, model(X), rtol=1e-14)  # eval: dropout is the identity


# -- callbacks ----------------------------------------------------------------------------------


class Snapshots(Callback):
    """Keeps the weights after every epoch, and counts the hooks."""

    def __init__(self):
        self.states, self.calls = [], []

    def on_train_begin(self, logs):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, batch, logs):
        assert isinstance(logs["loss"], float)

    def on_epoch_end(self, epoch, logs):
        self.calls.append(f"epoch_end {epoch}")
        self.states.append(self.model.state_dict())

    def on_train_end(self, logs):
        self.calls.append("train_end")


def test_early_stopping_stops_and_restores_the_best_weights():
    """Gradient ascent (maximize=True) makes the loss rise every epoch: the best epoch
    is the first, training stops after `patience` worse epochs, and the first epoch's
    weights come back."""
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0))
    snapshots = Snapshots()
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    history = fit(model, MSELoss(), SGD(model.parameters(), lr=0.01, maximize=True), X, Y, epochs=20,
                  validation_data=(X, Y), callbacks=[snapshots, stopper], progress=False)  # fmt: skip
    assert len(history.history["val_loss"]) == 3
    assert stopper.stopped_epoch == 2
    assert stopper.best_epoch == 0
    assert snapshots.calls == ["train_begin"] + [f"epoch_{w} {e}" for e in range(3) for w in ("begin", "end")] + [
        "train_end"
    ]
    final = model.state_dict()
    assert all(np.array_equal(final[k], snapshots.states[0][k]) for k in final)
    assert not np.array_equal(final["0.weight"], snapshots.states[2]["0.weight"])


def test_early_stopping_without_restore_keeps_the_last_weights_and_max_mode():
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0))
    snapshots = Snapshots()
    stopper = EarlyStopping(monitor="loss", patience=0, restore_best=False)
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01, maximize=True), X, Y, epochs=20,
        callbacks=[snapshots, stopper], progress=False)  # fmt: skip
    assert stopper.stopped_epoch == 1
    assert np.array_equal(model.state_dict()["0.weight"], snapshots.states[-1]["0.weight"])
    assert EarlyStopping(monitor="val_accuracy").mode == "max"


def test_early_stopping_names_a_missing_monitor():
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0))
    with pytest.raises(KeyError, match="validation_data"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), X, Y, epochs=2, callbacks=[EarlyStopping()],
            progress=False)  # fmt: skip


def test_model_checkpoint_saves_best_only(tmp_path):
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0))
    snapshots = Snapshots()
    checkpoint = ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}.npz", monitor="loss", save_best_only=True)
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01, maximize=True), X, Y, epochs=3,
        callbacks=[snapshots, checkpoint], progress=False)  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01.npz"]
    restored = minnet.load(Sequential(Linear(3, 2, rng=5)), tmp_path / "ckpt-01.npz")
    assert np.array_equal(restored.state_dict()["0.weight"], snapshots.states[0]["0.weight"])


def test_model_checkpoint_every_epoch(tmp_path):
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0))
    checkpoint = ModelCheckpoint(str(tmp_path / "e{epoch}-{loss:.2f}.safetensors"))
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), X, Y, epochs=2, callbacks=[checkpoint], progress=False)
    assert len(list(tmp_path.iterdir())) == 2
    assert checkpoint.last_path.endswith(".safetensors")


# -- progress output ----------------------------------------------------------------------------


def run_with_progress(progress=True):
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0))
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), X, Y, epochs=2, batch_size=10,
        validation_data=(X, Y), metrics=["mse"], progress=progress)  # fmt: skip


def test_progress_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm")  # in the test extra; this checks the bar, the next test the fallback
    run_with_progress()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Epoch 1/2" in captured.err
    assert "Epoch 2/2" in captured.err
    assert "4/4" in captured.err
    assert "batch" in captured.err
    assert "val_loss: " in captured.err
    assert "mse: " in captured.err


def test_one_line_per_epoch_without_tqdm(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` fail
    run_with_progress()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"Epoch {epoch}/2 - ")
        assert "loss: " in line
        assert "val_mse: " in line
        assert "|" not in line  # no bar


def test_progress_false_is_silent(capsys):
    run_with_progress(progress=False)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_fit_refuses_a_schedule_of_another_optimizer():
    """Stepping it would change another optimizer's lr while this one never moves."""
    X, Y = small_problem()
    model = Sequential(Linear(3, 2, rng=0))
    optimizer, other = SGD(model.parameters(), lr=0.1), SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"scheduler.*another optimizer"):
        fit(model, MSELoss(), optimizer, X, Y, epochs=1, scheduler=minnet.optim.StepLR(other, 1), progress=False)
    with pytest.raises(TypeError, match="scheduler"):
        fit(model, MSELoss(), optimizer, X, Y, epochs=1, scheduler=optimizer, progress=False)
    assert other.lr == 0.1


class CountingArray:
    """An array-like that counts how often numpy converts it."""

    def __init__(self, array):
        self.array, self.conversions = array, 0

    def __len__(self):
        return len(self.array)

    def __array__(self, dtype=None, copy=None):
        self.conversions += 1
        return self.array


def test_fit_converts_the_validation_data_once_not_per_epoch():
    X, Y = small_problem()
    X_val = CountingArray(X)
    model = Sequential(Linear(3, 2, rng=0))
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), X, Y, epochs=4, validation_data=(X_val, Y),
        progress=False)  # fmt: skip
    assert X_val.conversions == 1


def _first_layer_case():
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((40, 3)), rng.standard_normal((40, 2))
    build = lambda: minnet.Sequential(  # noqa: E731
        minnet.Sequential(minnet.Linear(3, 4, rng=0), minnet.Tanh()), minnet.Linear(4, 2, rng=1)
    )
    return X, Y, build


def test_fit_skips_the_first_layers_input_gradient_and_gives_the_same_weights():
    """Nothing reads ∂L/∂x of the model's input in fit: the first Linear returns None there, and the
    weights come out bit for bit as from the plain loop, where backward returns every gradient."""
    X, Y, build = _first_layer_case()
    fitted, manual = build(), build()
    seen = []
    fitted[0][0].register_backward_hook(lambda layer, grad_output, grad_input: seen.append(grad_input))
    minnet.fit(
        fitted,
        minnet.MSELoss(),
        minnet.SGD(fitted.parameters(), lr=0.1),
        X,
        Y,
        epochs=2,
        batch_size=8,
        shuffle=False,
        progress=False,
    )
    optimizer, loss_fn = minnet.SGD(manual.parameters(), lr=0.1), minnet.MSELoss()
    for _ in range(2):
        for start in range(0, 40, 8):
            optimizer.zero_grad()
            loss_fn(manual(X[start : start + 8]), Y[start : start + 8])
            assert manual.backward(loss_fn.backward()).shape == (8, 3)  # called directly: the input gradient
            optimizer.step()
    assert seen
    assert all(grad_input is None for grad_input in seen)
    for (name, a), (_, b) in zip(fitted.named_parameters(), manual.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_fit_puts_needs_input_grad_back_even_when_it_raises():
    X, Y, build = _first_layer_case()
    model = build()

    class Stop(minnet.Callback):
        def on_batch_end(self, batch, logs):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        minnet.fit(
            model,
            minnet.MSELoss(),
            minnet.SGD(model.parameters(), lr=0.1),
            X,
            Y,
            epochs=1,
            callbacks=[Stop()],
            progress=False,
        )
    assert all("needs_input_grad" not in layer.__dict__ for _, layer in model.named_layers())
    model(X[:2])
    assert model.backward(np.ones((2, 2))).shape == (2, 3)
