"""Saving and loading: bitwise round trips, exact resumes, and every bad file raising LoadError."""

import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import minnet
from minnet import SGD, Adam, AdamW, Layer, Linear, LoadError, Parameter, RMSprop, Sequential, Sigmoid
from minnet.optim import CosineAnnealingLR, StepLR
from minnet.serialization import read_state

FORMATS = ["npz", "safetensors"]


def make_model(seed=0, hidden=5, dtype=np.float64):
    return Sequential(Linear(3, hidden, rng=seed, dtype=dtype), Sigmoid(), Linear(hidden, 2, rng=seed + 1, dtype=dtype))


class WithBuffer(Layer):
    """A layer with a buffer, to check that buffers are saved with the parameters."""

    buffer_names = ("running_mean",)

    def __init__(self):
        self.scale = Parameter(np.ones(3))
        self.running_mean = np.zeros(3)

    def forward(self, x):
        return x * self.scale.data - self.running_mean


def arrays_equal(a, b):
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_is_bitwise(tmp_path, fmt):
    model = make_model(0)
    path = tmp_path / f"model.{fmt}"
    minnet.save(model, path)
    other = make_model(7)
    x = np.random.default_rng(3).standard_normal((4, 3))
    assert not np.array_equal(other(x), model(x))
    assert minnet.load(other, path) is other
    assert np.array_equal(other(x), model(x))
    assert arrays_equal(other.state_dict(), model.state_dict())


@pytest.mark.parametrize("fmt", FORMATS)
def test_float32_and_buffers_round_trip(tmp_path, fmt):
    model = Sequential(Linear(3, 3, rng=0, dtype=np.float32), WithBuffer())
    model[1].running_mean[...] = [1.0, 2.0, 3.0]
    path = tmp_path / f"m.{fmt}"
    minnet.save(model, path)
    other = Sequential(Linear(3, 3, rng=1, dtype=np.float32), WithBuffer())
    minnet.load(other, path)
    assert other[0].weight.data.dtype == np.float32
    assert np.array_equal(other[1].running_mean, [1.0, 2.0, 3.0])
    assert list(read_state(path)) == ["0.weight", "0.bias", "1.scale", "1.running_mean"] or fmt == "safetensors"


def test_state_dict_names_and_copies():
    model = make_model()
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    state["0.weight"][...] = 0  # a copy: the model is untouched
    assert model[0].weight.data.any()


def test_load_state_dict_strict_false_reports_keys():
    model = make_model()
    state = model.state_dict()
    del state["2.bias"]
    state["extra"] = np.zeros(1)
    result = make_model(3).load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"]
    assert result.unexpected_keys == ["extra"]


# -- resuming -----------------------------------------------------------------------------------

OPTIMIZERS = [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: AdamW(ps, lr=0.01),
    lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
]


def train_steps(model, optimizer, scheduler, steps, start):
    rng = np.random.default_rng(100 + start)
    loss_fn = minnet.MSELoss()
    for _ in range(steps):
        x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
        optimizer.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("make_optimizer", OPTIMIZERS, ids=["SGD", "Adam", "AdamW", "RMSprop"])
def test_resumed_run_continues_bitwise(tmp_path, fmt, make_optimizer):
    """Train 5 steps, save model + optimizer + schedule, load them into fresh objects:
    the next 10 steps equal the uninterrupted run's bit for bit."""
    model = make_model(0)
    optimizer = make_optimizer(model.parameters())
    scheduler = CosineAnnealingLR(optimizer, T_max=7)
    train_steps(model, optimizer, scheduler, 5, start=0)
    for name, obj in [("model", model), ("optim", optimizer), ("sched", scheduler)]:
        minnet.save(obj, tmp_path / f"{name}.{fmt}")
    train_steps(model, optimizer, scheduler, 10, start=5)  # the uninterrupted run

    resumed = make_model(42)
    resumed_optimizer = make_optimizer(resumed.parameters())
    resumed_scheduler = CosineAnnealingLR(resumed_optimizer, T_max=7)
    minnet.load(resumed, tmp_path / f"model.{fmt}")
    minnet.load(resumed_optimizer, tmp_path / f"optim.{fmt}")
    minnet.load(resumed_scheduler, tmp_path / f"sched.{fmt}")
    train_steps(resumed, resumed_optimizer, resumed_scheduler, 10, start=5)

    assert arrays_equal(resumed.state_dict(), model.state_dict())
    assert arrays_equal(resumed_optimizer.state_dict(), optimizer.state_dict())
    assert resumed_optimizer.lr == optimizer.lr


def test_optimizer_state_dict_contents():
    p = Parameter(np.zeros((2, 2)))
    opt = Adam([p], lr=0.5, betas=(0.8, 0.9), amsgrad=True)
    state = opt.state_dict()
    assert set(state) == {
        "lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay", "step",
        "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
    }  # fmt: skip
    assert state["betas"].tolist() == [0.8, 0.9]
    assert state["step"].dtype == np.int64
    other = Adam([Parameter(np.zeros((2, 2)))], amsgrad=True)
    other.load_state_dict(state)
    assert other.lr == 0.5
    assert other.betas == (0.8, 0.9)
    assert other.step_count == 0


def test_optimizer_load_mismatch_leaves_it_unchanged():
    opt = SGD([Parameter(np.zeros(3))], lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["lr"] = np.array(5.0)
    state["state.0.momentum_buffer"] = np.zeros(4)
    with pytest.raises(LoadError, match=r"state\.0\.momentum_buffer.*\(4,\).*\(3,\)"):
        opt.load_state_dict(state)
    assert opt.lr == 0.1
    with pytest.raises(LoadError, match=r"unexpected.*momentum_buffer"):
        SGD([Parameter(np.zeros(3))], lr=0.1).load_state_dict(opt.state_dict())


def test_schedule_state_round_trip():
    opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    schedule = StepLR(opt, step_size=2)
    for _ in range(3):
        schedule.step()
    other = StepLR(SGD([Parameter(np.zeros(1))], lr=1.0), step_size=5)
    other.load_state_dict(schedule.state_dict())
    assert other.last_epoch == 3
    assert other.step_size == 2
    assert other.base_lr == 1.0


# -- every bad file raises LoadError, and the model is unchanged --------------------------------


def assert_load_fails(model, path, *patterns):
    before = model.state_dict()
    with pytest.raises(LoadError) as info:
        minnet.load(model, path)
    for pattern in patterns:
        assert pattern in str(info.value), (pattern, str(info.value))
    assert arrays_equal(model.state_dict(), before)
    return info.value


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_key(tmp_path, fmt):
    state = make_model().state_dict()
    del state["2.bias"]
    minnet.save(state, tmp_path / f"m.{fmt}")
    assert_load_fails(make_model(1), tmp_path / f"m.{fmt}", "missing", "'2.bias'")


@pytest.mark.parametrize("fmt", FORMATS)
def test_unexpected_key(tmp_path, fmt):
    state = make_model().state_dict()
    state["3.weight"] = np.zeros((2, 2))
    minnet.save(state, tmp_path / f"m.{fmt}")
    assert_load_fails(make_model(1), tmp_path / f"m.{fmt}", "unexpected", "'3.weight'")


@pytest.mark.parametrize("fmt", FORMATS)
def test_shape_mismatch_names_key_and_both_shapes(tmp_path, fmt):
    minnet.save(make_model(hidden=6), tmp_path / f"m.{fmt}")
    assert_load_fails(make_model(1, hidden=5), tmp_path / f"m.{fmt}", "'0.weight'", "(3, 6)", "(3, 5)")


@pytest.mark.parametrize("fmt", FORMATS)
def test_dtype_mismatch(tmp_path, fmt):
    minnet.save(make_model(dtype=np.float32), tmp_path / f"m.{fmt}")
    assert_load_fails(make_model(1), tmp_path / f"m.{fmt}", "'0.weight'", "float32", "float64", "(3, 5)")


def test_a_later_key_failing_leaves_earlier_keys_unwritten(tmp_path):
    """Validation runs over every key before the first write."""
    state = make_model(0).state_dict()
    state["2.bias"] = np.zeros(7)
    minnet.save(state, tmp_path / "m.npz")
    assert_load_fails(make_model(1), tmp_path / "m.npz", "'2.bias'", "(7,)", "(2,)")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("keep", [0.0, 0.3, 0.9, 0.999])
def test_truncated_file(tmp_path, fmt, keep):
    path = tmp_path / f"m.{fmt}"
    minnet.save(make_model(), path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert_load_fails(make_model(1), path, str(path))


@pytest.mark.parametrize("fmt", FORMATS)
def test_corrupted_bytes_in_the_data(tmp_path, fmt):
    path = tmp_path / f"m.{fmt}"
    minnet.save(make_model(), path)
    data = bytearray(path.read_bytes())
    position = bytes(data).index(make_model()[2].weight.data.tobytes()) + 3  # inside the last array's bytes
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))
    assert_load_fails(make_model(1), path, "corrupted")


@pytest.mark.parametrize("fmt", FORMATS)
def test_garbage_file(tmp_path, fmt):
    path = tmp_path / f"m.{fmt}"
    path.write_bytes(b"this is not a weights file" * 10)
    assert_load_fails(make_model(1), path, str(path))


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    state = make_model().state_dict()
    state["0.weight"] = np.array([{"a": 1}], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, **state)  # numpy itself would pickle this; minnet never reads it
    assert_load_fails(make_model(1), path, "pickle")
    with pytest.raises(TypeError, match="Python objects"):
        minnet.save(state, tmp_path / "never.npz")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        minnet.load(make_model(), tmp_path / "nope.npz")


# -- atomic saving ------------------------------------------------------------------------------


def test_exception_mid_save_leaves_old_file_byte_identical(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    minnet.save(make_model(0), path)
    old = path.read_bytes()
    calls = []

    def failing_write_array(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            fp.write(b"partial")
            raise OSError("disk full")
        return original(fp, array, *args, **kwargs)

    original = np.lib.format.write_array
    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(OSError, match="disk full"):
        minnet.save(make_model(5), path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.npz"]  # the temporary file was removed


@pytest.mark.parametrize("fmt", FORMATS)
def test_process_killed_mid_save_leaves_old_file_byte_identical(tmp_path, fmt):
    """A real crash: the saving process dies (os._exit) half-way through writing."""
    path = tmp_path / f"model.{fmt}"
    minnet.save(make_model(0), path)
    old = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os, numpy as np, minnet
        from minnet import serialization
        real_fsync = os.fsync
        def crash(fd):
            os.write(fd, b"half")  # bytes reach the temporary file, then the process dies
            os._exit(17)
        os.fsync = crash
        model = minnet.Sequential(minnet.Linear(3, 5, rng=9), minnet.Sigmoid(), minnet.Linear(5, 2, rng=10))
        minnet.save(model, {str(path)!r})
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == 17, result.stderr.decode()
    assert path.read_bytes() == old
    leftovers = [name for name in os.listdir(tmp_path) if name != path.name]
    assert len(leftovers) == 1
    assert leftovers[0].startswith(f".{path.name}.minnet-tmp-")
    minnet.load(make_model(1), path)  # the old file still loads
    minnet.save(make_model(0), path)  # the next save removes the dead process's temporary file
    assert os.listdir(tmp_path) == [path.name]


def test_saved_file_permissions_follow_umask(tmp_path):
    path = tmp_path / "m.npz"
    minnet.save(make_model(), path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_npz_is_a_plain_zip_of_npy(tmp_path):
    path = tmp_path / "m.npz"
    minnet.save(make_model(), path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["0.bias.npy", "0.weight.npy", "2.bias.npy", "2.weight.npy"]
    with np.load(path, allow_pickle=False) as npz:
        assert np.array_equal(npz["0.weight"], make_model()[0].weight.data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_batchnorm_buffers_round_trip_bitwise(tmp_path, fmt):
    """Running statistics (buffers) are saved with the weights: eval outputs match bit for bit."""
    rng = np.random.default_rng(0)

    def build(seed):
        return Sequential(Linear(3, 4, rng=seed), minnet.BatchNorm1d(4), minnet.ReLU(), Linear(4, 2, rng=seed + 1))

    model = build(0)
    for _ in range(3):
        model(rng.standard_normal((16, 3)))  # train mode: the running statistics move
    minnet.save(model, tmp_path / f"bn.{fmt}")
    assert "1.running_mean" in read_state(tmp_path / f"bn.{fmt}")
    other = minnet.load(build(5), tmp_path / f"bn.{fmt}")
    x = rng.standard_normal((5, 3))
    assert np.array_equal(other.eval()(x), model.eval()(x))
    assert int(other[1].num_batches_tracked) == 3


def test_load_error_is_a_value_error():
    assert issubclass(LoadError, ValueError)
    assert minnet.LoadError is LoadError
