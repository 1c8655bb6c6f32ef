"""Issue 15: training that never loses the good model (divergence, reused callbacks, checks before the first
step, drop_last, reproducibility, binary accuracy on logits)."""

import numpy as np
import pytest

import minnet
from minnet import (
    SGD,
    Callback,
    CrossEntropyLoss,
    EarlyStopping,
    Linear,
    ModelCheckpoint,
    ReLU,
    Sequential,
    TerminateOnNaN,
    fit,
)
from minnet.metrics import accuracy


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def _model():
    return Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 2, rng=1))


class _Diverge(Callback):
    """Sets the weights to NaN at the end of epoch ``at`` (0-based), as a blown-up step would."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            for p in self.model.parameters():
                p.data[...] = np.nan


# 1. Divergence -------------------------------------------------------------------------------------------------


def test_accuracy_counts_nan_predictions_as_wrong():
    pred = np.full((4, 3), np.nan)
    assert accuracy(pred, np.array([0, 0, 0, 0])) == 0.0  # argmax of NaN rows is 0: it scored 1.0 before
    binary = np.array([[np.nan], [0.9], [np.inf], [0.1]])
    assert accuracy(binary, np.array([0, 1, 1, 0])) == 0.5


def test_diverged_model_never_overwrites_the_best_checkpoint_or_the_restored_weights(tmp_path):
    X, y = _data()
    Xv, yv = X[:32], np.zeros(32, dtype=int)  # all class 0: a NaN model would score 1.0 under the old accuracy
    model = _model()
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True)
    stopper = EarlyStopping(monitor="val_accuracy", patience=10, restore_best=True)
    # the diverged epoch is not saved, and fit says so (the one warning of this run)
    with pytest.warns(RuntimeWarning, match=r"ModelCheckpoint: epoch 2: the weights hold NaN .*; not saved"):
        history = fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.1),
            X,
            y,
            epochs=4,
            rng=0,
            validation_data=(Xv, yv),
            metrics=["accuracy"],
            callbacks=[_Diverge(1), checkpoint, stopper],
            progress=False,
            on_nonfinite="continue",
        )
    saved = minnet.load(_model(), path)
    assert all(np.isfinite(p.data).all() for p in saved.parameters())
    assert all(np.isfinite(p.data).all() for p in model.parameters())  # EarlyStopping put the good ones back
    assert stopper.best_epoch == 0
    assert history.history["val_accuracy"][2] == 0.0


def test_fit_stops_on_a_nonfinite_loss_restores_and_says_so(tmp_path):
    X, y = _data()
    model = _model()
    stopper = EarlyStopping(monitor="val_loss", patience=10, restore_best=True)
    with pytest.warns(RuntimeWarning, match="training stopped.*Restored the weights of epoch 1"):
        history = fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.1),
            X,
            y,
            epochs=6,
            rng=0,
            validation_data=(X[:32], y[:32]),
            callbacks=[_Diverge(1), stopper],
            progress=False,
        )
    assert history.epoch == [0, 1]  # the diverged epoch is not recorded
    assert history.nonfinite["epoch"] == 2
    assert history.nonfinite["batch"] == 0
    assert "EarlyStopping" in history.nonfinite["restored"]
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_fit_stop_restores_from_the_checkpoint_file_and_never_saves_nan_weights(tmp_path):
    X, y = _data()
    model = _model()
    checkpoint = ModelCheckpoint(tmp_path / "last.npz")
    with pytest.warns(RuntimeWarning, match="ModelCheckpoint in"):
        history = fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.1),
            X,
            y,
            epochs=5,
            rng=0,
            callbacks=[checkpoint, _Diverge(1)],
            progress=False,
        )
    assert history.epoch == [0, 1]
    assert "last.npz" in history.nonfinite["restored"]
    assert all(np.isfinite(p.data).all() for p in model.parameters())

    checkpoint = ModelCheckpoint(tmp_path / "never.npz")
    other = _model()
    with pytest.warns(RuntimeWarning, match="not saved"):
        fit(
            other,
            CrossEntropyLoss(),
            SGD(other.parameters(), lr=0.1),
            X,
            y,
            epochs=1,
            rng=0,
            callbacks=[_Diverge(0), checkpoint],
            progress=False,
        )
    assert checkpoint.last_path is None
    assert not (tmp_path / "never.npz").exists()


def test_fit_on_nonfinite_raise_and_bad_value():
    X, y = _data()
    model = _model()
    with pytest.raises(FloatingPointError, match="epoch 2, batch 1"):
        fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.1),
            X,
            y,
            epochs=3,
            rng=0,
            callbacks=[_Diverge(0)],
            progress=False,
            on_nonfinite="raise",
        )
    with pytest.raises(ValueError, match="on_nonfinite"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=1, on_nonfinite="ignore")


def test_terminate_on_nan_for_custom_loops_and_in_fit():
    stopper = TerminateOnNaN()
    stopper.on_batch_end(0, {"loss": 0.3})
    assert not stopper.stop_training
    stopper.on_batch_end(1, {"loss": float("inf")})
    assert stopper.stop_training
    assert stopper.nonfinite == (1, float("inf"))
    X, y = _data()
    model = _model()
    with pytest.warns(RuntimeWarning, match="training stopped"):
        history = fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.1),
            X,
            y,
            epochs=3,
            rng=0,
            callbacks=[_Diverge(0), TerminateOnNaN()],
            progress=False,
            on_nonfinite="continue",
        )
    assert history.nonfinite["epoch"] == 1


# 2. Callbacks reused -------------------------------------------------------------------------------------------


def test_a_checkpoint_and_an_early_stopping_reused_for_a_second_fit_start_afresh(tmp_path):
    X, y = _data()
    checkpoint = ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss", save_best_only=True)
    stopper = EarlyStopping(monitor="val_loss", patience=3)
    first = _model()
    fit(
        first,
        CrossEntropyLoss(),
        SGD(first.parameters(), lr=0.5),
        X,
        y,
        epochs=5,
        rng=0,
        validation_data=(X, y),
        callbacks=[checkpoint, stopper],
        progress=False,
    )
    best_of_first = checkpoint.best
    # a second, worse model (tiny learning rate): its val_loss stays above the first run's best
    second = Sequential(Linear(4, 8, rng=5), ReLU(), Linear(8, 2, rng=6))
    fit(
        second,
        CrossEntropyLoss(),
        SGD(second.parameters(), lr=1e-6),
        X,
        y,
        epochs=2,
        rng=0,
        validation_data=(X, y),
        callbacks=[checkpoint, stopper],
        progress=False,
    )
    assert checkpoint.best > best_of_first  # the second run's own best
    assert checkpoint.last_path is not None
    saved = minnet.load(Sequential(Linear(4, 8), ReLU(), Linear(8, 2)), tmp_path / "best.npz")
    assert np.array_equal(saved[0].weight.data, second[0].weight.data)
    assert stopper.best_epoch == 1


# 3. Checks before the first step -------------------------------------------------------------------------------


class _CountForwards(Callback):
    def on_train_begin(self, logs):
        raise AssertionError("training began")


def test_an_optimizer_on_another_models_parameters_is_refused_before_training():
    X, y = _data()
    model, other = _model(), _model()
    with pytest.raises(ValueError, match="not the model's"):
        fit(model, CrossEntropyLoss(), SGD(other.parameters(), lr=0.1), X, y, epochs=1, progress=False,
            callbacks=[_CountForwards()])  # fmt: skip
    with pytest.raises(ValueError, match=r"does not step 2 .*2\.weight, 2\.bias"):
        fit(model, CrossEntropyLoss(), SGD(model[0].parameters(), lr=0.1), X, y, epochs=1, progress=False)
    groups = SGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.01}], lr=0.1)
    fit(model, CrossEntropyLoss(), groups, X, y, epochs=1, progress=False)  # groups covering all: fine


def test_validation_data_of_a_wrong_shape_is_refused_before_training():
    X, y = _data()
    model = _model()
    with pytest.raises(ValueError, match=r"validation_data \(X_val \(10, 3\)"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=1, progress=False,
            validation_data=(np.ones((10, 3)), np.zeros(10, dtype=int)), callbacks=[_CountForwards()])  # fmt: skip
    with pytest.raises(ValueError, match="same number of samples"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=1, progress=False,
            validation_data=(np.ones((10, 4)), np.zeros(9, dtype=int)))  # fmt: skip


def test_monitored_keys_and_checkpoint_fields_are_checked_before_training(tmp_path):
    X, y = _data()
    model = _model()

    def run(callback, **kwargs):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=1, progress=False,
            callbacks=[callback, _CountForwards()], **kwargs)  # fmt: skip

    with pytest.raises(KeyError, match=r"EarlyStopping: monitor 'val_accuracy'.*validation_data"):
        run(EarlyStopping(monitor="val_accuracy"), metrics=["accuracy"])
    with pytest.raises(KeyError, match=r"ModelCheckpoint: monitor 'val_acc'.*metrics="):
        run(ModelCheckpoint(tmp_path / "m.npz", monitor="val_acc", save_best_only=True), validation_data=(X, y))
    with pytest.raises(KeyError, match="the path's field 'val_loss'"):
        run(ModelCheckpoint(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.npz"))
    fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=1, progress=False,
        callbacks=[ModelCheckpoint(tmp_path / "m-{epoch:02d}-{loss:.3f}.npz")])  # fmt: skip
    assert len(list(tmp_path.glob("m-01-*.npz"))) == 1


def test_a_loss_class_is_refused_with_the_instance_form():
    X, y = _data()
    model = _model()
    with pytest.raises(TypeError, match=r"pass an instance: CrossEntropyLoss\(\)"):
        fit(model, CrossEntropyLoss, SGD(model.parameters(), lr=0.1), X, y, epochs=1, progress=False)
    with pytest.raises(TypeError, match=r"CrossEntropyLoss\(\)"):
        minnet.evaluate(model, CrossEntropyLoss, X, y)


# 4. drop_last --------------------------------------------------------------------------------------------------


def _bn_model():
    return Sequential(Linear(4, 8, rng=0), minnet.BatchNorm1d(8), ReLU(), Linear(8, 2, rng=1))


def test_fit_drop_last_skips_the_one_row_batch_that_crashes_batchnorm():
    X, y = _data(33)
    model = _bn_model()
    calls = []

    class Batches(Callback):
        def on_batch_end(self, batch, logs):
            calls.append(batch)

    history = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=32,
                  rng=0, drop_last=True, callbacks=[Batches()], progress=False)  # fmt: skip
    assert calls == [0, 0]
    assert len(history.history["loss"]) == 2


def test_fit_refuses_a_last_batch_of_one_row_with_batchnorm_before_training():
    X, y = _data(33)
    model = _bn_model()
    with pytest.raises(ValueError, match=r"last batch of 1 row.*BatchNorm1d at '1'.*drop_last=True"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=1, batch_size=32,
            progress=False, callbacks=[_CountForwards()])  # fmt: skip
    plain = _model()  # no BatchNorm: a batch of one row is fine
    fit(plain, CrossEntropyLoss(), SGD(plain.parameters(), lr=0.1), X, y, epochs=1, batch_size=32, progress=False)
    with pytest.raises(ValueError, match="leaves no batch"):
        fit(plain, CrossEntropyLoss(), SGD(plain.parameters(), lr=0.1), X, y, epochs=1, batch_size=64,
            drop_last=True, progress=False)  # fmt: skip


def test_dataloader_drop_last_with_shuffle():
    X, y = _data(10)
    loader = minnet.DataLoader(X, y, batch_size=4, shuffle=True, drop_last=True, rng=0)
    batches = [len(xb) for xb, _ in loader]
    assert batches == [4, 4]
    assert len(loader) == 2


# 5. Reproducibility --------------------------------------------------------------------------------------------


@pytest.fixture
def seeded():
    yield minnet.manual_seed
    minnet.manual_seed(None)  # back to fresh entropy for the other tests


def _seeded_run(seed):
    if seed is not None:
        minnet.manual_seed(seed)
    X, y = _data()
    model = Sequential(Linear(4, 16), ReLU(), minnet.Dropout(0.5), Linear(16, 2))  # no rng= anywhere
    fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=16, progress=False)
    return [p.data.copy() for p in model.parameters()]


def test_manual_seed_makes_layers_dropout_and_shuffling_reproducible(seeded):
    first, second = _seeded_run(3), _seeded_run(3)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    other = _seeded_run(4)
    assert not np.array_equal(first[0], other[0])
    seeded(None)
    assert not np.array_equal(_seeded_run(None)[0], _seeded_run(None)[0])  # fresh entropy again


def test_manual_seed_covers_each_source_on_its_own(seeded):
    seeded(1)
    a = minnet.Dropout(0.5)(np.ones((8, 8)))
    order_a = [yb.tolist() for _, yb in minnet.DataLoader(np.arange(10), np.arange(10), batch_size=10, shuffle=True)]
    seeded(1)
    b = minnet.Dropout(0.5)(np.ones((8, 8)))
    order_b = [yb.tolist() for _, yb in minnet.DataLoader(np.arange(10), np.arange(10), batch_size=10, shuffle=True)]
    assert np.array_equal(a, b)
    assert order_a == order_b
    with pytest.raises(TypeError, match="manual_seed"):
        seeded(1.5)
