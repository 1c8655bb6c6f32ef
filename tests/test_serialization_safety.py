"""Hostile and damaged weight files: refused from their headers, before any data is inflated."""

import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import minnet
from minnet import Linear, LoadError, Sequential, Sigmoid
from minnet.serialization import read_state

FORMATS = ["npz", "safetensors"]


def make_model(seed=0):
    return Sequential(Linear(3, 5, rng=seed), Sigmoid(), Linear(5, 2, rng=seed + 1))


def model_bytes(model):
    return sum(array.nbytes for array in model.state_dict().values())


def write_bomb(path, key="0.weight", shape=(25_000_000,), declared_shape=None, others=None):
    """An .npz whose member ``key`` is ``shape`` float64 zeros, deflated (about 1000:1); its .npy header
    declares ``declared_shape`` (default: ``shape``)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in (others or {}).items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, array)
        with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
            header = {"descr": "<f8", "fortran_order": False, "shape": declared_shape or shape}
            np.lib.format.write_array_header_1_0(member, header)
            zeros = bytes(1 << 20)
            left = int(np.prod(shape)) * 8
            while left:
                member.write(zeros[: min(left, len(zeros))])
                left -= min(left, len(zeros))


def peak_bytes(function):
    tracemalloc.start()
    try:
        function()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """200 MB of zeros behind a member name the model has, deflated to about 0.2 MB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    others = {key: array for key, array in make_model().state_dict().items() if key != "0.weight"}
    write_bomb(path, others=others)
    return path


def test_bomb_refused_by_load_without_inflating(bomb):
    size = bomb.stat().st_size
    model = make_model(1)
    before = {key: array.copy() for key, array in model.state_dict().items()}
    errors = []

    def attempt():
        try:
            minnet.load(model, bomb)
        except LoadError as error:
            errors.append(error)

    peak = peak_bytes(attempt)
    assert errors, "the zip bomb loaded"
    message = str(errors[0])
    assert str(bomb) in message
    assert "0.weight" in message
    assert peak < 2 * size + model_bytes(model), (peak, size)
    assert all(np.array_equal(model.state_dict()[key], before[key]) for key in before)


def test_bomb_refused_by_read_state_without_inflating(bomb):
    size = bomb.stat().st_size
    errors = []

    def attempt():
        try:
            read_state(bomb)
        except LoadError as error:
            errors.append(error)

    peak = peak_bytes(attempt)
    assert errors
    assert "zip bomb" in str(errors[0])
    assert "0.weight.npy" in str(errors[0])
    assert str(bomb) in str(errors[0])
    assert peak < 2 * size, (peak, size)


def test_member_with_the_targets_shape_but_a_larger_declared_size_is_refused(tmp_path):
    """The .npy header says (3, 5), as the model has, but the zip entry holds 0.8 MB more."""
    path = tmp_path / "lying.npz"
    others = {key: array for key, array in make_model().state_dict().items() if key != "0.weight"}
    write_bomb(path, shape=(100_015,), declared_shape=(3, 5), others=others)
    with pytest.raises(LoadError, match=r"0\.weight\.npy.*declares"):
        minnet.load(make_model(1), path)
    with pytest.raises(LoadError, match=r"0\.weight\.npy.*declares"):
        read_state(path)


def test_member_with_the_wrong_shape_is_refused_before_its_data_is_read(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    state = make_model().state_dict()
    state["0.weight"] = np.zeros((6, 5))
    minnet.save(state, path)
    calls = []
    original = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        calls.append(n)
        return original(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    with pytest.raises(LoadError, match=r"0\.weight.*\(6, 5\).*\(3, 5\)"):
        minnet.load(make_model(1), path)
    assert all(0 <= n <= 4096 for n in calls), calls  # headers only, never a whole member


@pytest.mark.parametrize("fmt", FORMATS)
def test_unexpected_members_are_not_read_with_strict_false(tmp_path, fmt):
    path = tmp_path / f"m.{fmt}"
    state = make_model().state_dict()
    state["extra"] = np.arange(4.0)
    minnet.save(state, path)
    model = minnet.load(make_model(1), path, strict=False)
    assert np.array_equal(model[0].weight.data, make_model()[0].weight.data)


def test_safetensors_tensor_whose_offsets_disagree_with_its_shape_is_refused(tmp_path):
    import json

    path = tmp_path / "m.safetensors"
    minnet.save(make_model(), path)
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    header["0.weight"]["shape"] = [5, 4]
    text = json.dumps(header, separators=(",", ":")).encode().ljust(size)
    assert len(text) == size
    path.write_bytes(data[:8] + text + data[8 + size :])
    with pytest.raises(LoadError, match=r"0\.weight.*\[5, 4\]|0\.weight.*\(5, 4\)"):
        read_state(path)


# -- integrity: every single-bit flip and every truncation is refused or harmless --------------------


def arrays_equal(a, b):
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)


def refused_or_equal(path, data, saved):
    """Write ``data`` to ``path``; True when reading it raises LoadError or gives ``saved`` bitwise."""
    path.write_bytes(data)
    try:
        read = read_state(path)
    except LoadError:
        return True
    return arrays_equal(read, saved) and all(read[key].tobytes() == saved[key].tobytes() for key in saved)


def flips_and_truncations(tmp_path, fmt, flips, truncations, seed=0):
    path = tmp_path / f"m.{fmt}"
    saved = make_model().state_dict()
    minnet.save(saved, path)
    data = path.read_bytes()
    rng = np.random.default_rng(seed)
    bits = range(len(data) * 8) if flips is None else rng.choice(len(data) * 8, size=flips, replace=False)
    lengths = range(len(data)) if truncations is None else rng.choice(len(data), size=truncations, replace=False)
    bad = []
    for bit in bits:
        damaged = bytearray(data)
        damaged[bit // 8] ^= 1 << (bit % 8)
        if not refused_or_equal(path, bytes(damaged), saved):
            bad.append(("flip", int(bit)))
    for length in lengths:
        if not refused_or_equal(path, data[:length], saved):
            bad.append(("truncate", int(length)))
    return len(data), bad


@pytest.mark.parametrize("fmt", FORMATS)
def test_bit_flips_and_truncations_are_refused_or_harmless(tmp_path, fmt):
    _, bad = flips_and_truncations(tmp_path, fmt, flips=300, truncations=100)
    assert bad == []


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_bit_flip_and_truncation_is_refused_or_harmless(tmp_path, fmt):
    """Every single-bit flip of the file (about 10,700 for npz) and every truncation length; under CI (the
    ``slow`` marker's bounded form) 2,000 random flips and every truncation."""
    size, bad = flips_and_truncations(
        tmp_path, fmt, flips=2_000 if os.environ.get("CI") == "true" else None, truncations=None
    )
    assert size * 8 >= 3_000
    assert bad == []


def test_checksum_mismatch_is_refused(tmp_path):
    """Data and CRC-32 rewritten consistently (a CRC-32 cannot catch it); the SHA-256 does."""
    path = tmp_path / "m.npz"
    saved = make_model().state_dict()
    minnet.save(saved, path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
        comment = archive.comment
    changed = bytearray(members["0.bias.npy"])
    changed[-1] ^= 1
    members["0.bias.npy"] = bytes(changed)
    with zipfile.ZipFile(path, "w") as archive:
        archive.comment = comment
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(LoadError, match="checksum"):
        read_state(path)
    with pytest.raises(LoadError, match="checksum"):
        minnet.load(make_model(1), path)


def test_file_of_the_previous_format_without_checksum_still_loads(tmp_path):
    """minnet 0.1 wrote a stored zip of the arrays' .npy and nothing else."""
    path = tmp_path / "old.npz"
    saved = make_model().state_dict()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in saved.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    assert arrays_equal(read_state(path), saved)
    assert arrays_equal(minnet.load(make_model(1), path).state_dict(), saved)


def test_saved_npz_carries_its_checksum(tmp_path):
    path = tmp_path / "m.npz"
    saved = make_model().state_dict()
    minnet.save(saved, path)
    with zipfile.ZipFile(path) as archive:
        assert archive.comment.startswith(b"minnet-sha256:")
        assert len(archive.comment) == len("minnet-sha256:") + 64
        assert sorted(archive.namelist()) == sorted(f"{key}.npy" for key in saved)


# -- saving cleanly -----------------------------------------------------------------------------------


def test_exception_during_write_leaves_no_temporary_file_and_names_the_path(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"

    def failing_write_array(fp, array, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(OSError, match="No space left") as caught:
        minnet.save(make_model(), path)
    assert "minnet-tmp" not in str(caught.value)
    assert os.listdir(tmp_path) == []


def test_permission_error_names_the_users_path(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(PermissionError) as caught:
            minnet.save(make_model(), folder / "m.npz")
        assert str(folder / "m.npz") in str(caught.value)
        assert "minnet-tmp" not in str(caught.value)
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("fmt", FORMATS)
def test_temporaries_of_killed_saves_are_removed_by_the_next_save(tmp_path, fmt):
    path = tmp_path / f"model.{fmt}"
    script = textwrap.dedent(
        f"""
        import os, minnet
        def crash(fd):
            os._exit(17)
        os.fsync = crash
        minnet.save(minnet.Sequential(minnet.Linear(3, 5, rng=9)), {str(path)!r})
        """
    )
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
        assert result.returncode == 17, result.stderr.decode()
    leftovers = sorted(os.listdir(tmp_path))
    assert len(leftovers) == 1  # the second killed save removed the first's; its own stays
    assert leftovers[0].startswith(f".model.{fmt}.minnet-tmp-")
    unrelated = tmp_path / ".model.other"
    unrelated.write_bytes(b"keep")
    minnet.save(make_model(), path)
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, unrelated.name])


@pytest.mark.parametrize("fmt", FORMATS)
def test_saving_through_a_symbolic_link_writes_its_target(tmp_path, fmt):
    real = tmp_path / "store" / f"real.{fmt}"
    real.parent.mkdir()
    minnet.save(make_model(0), real)
    link = tmp_path / f"link.{fmt}"
    link.symlink_to(real)
    minnet.save(make_model(1), link)
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert arrays_equal(read_state(real), make_model(1).state_dict())
    assert sorted(os.listdir(real.parent)) == [real.name]


@pytest.mark.parametrize(
    ("name", "fmt"), [("m.NPZ", "npz"), ("m.SafeTensors", "safetensors"), ("m.SAFETENSORS", "safetensors")]
)
def test_suffix_decides_the_format_in_any_case(tmp_path, name, fmt):
    path = tmp_path / name
    minnet.save(make_model(), path)
    assert zipfile.is_zipfile(path) == (fmt == "npz")
    assert arrays_equal(read_state(path), make_model().state_dict())
    assert arrays_equal(minnet.load(make_model(1), path).state_dict(), make_model().state_dict())


@pytest.mark.parametrize("name", ["model", "model.pt", "model.npy", "model.npz.bak"])
def test_unknown_suffix_is_refused_on_save(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.npz or \.safetensors"):
        minnet.save(make_model(), tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_load_into_an_optimizer_with_strict_false_is_refused_clearly(tmp_path):
    model = make_model()
    optimizer = minnet.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "opt.npz"
    minnet.save(optimizer, path)
    with pytest.raises(ValueError, match="strict=False"):
        minnet.load(optimizer, path, strict=False)


def test_missing_folder_error_names_the_users_path(tmp_path):
    path = tmp_path / "missing" / "m.npz"
    with pytest.raises(FileNotFoundError) as caught:
        minnet.save(make_model(), path)
    assert str(path) in str(caught.value)
    assert "minnet-tmp" not in str(caught.value)
    assert ".tmp" not in str(caught.value)


def test_temporaries_of_earlier_minnet_saves_are_removed_once_an_hour_old(tmp_path):
    """Earlier minnet saves named their temporary ``.{name}.XXXXXXXX.tmp``, with no process id:
    one untouched for over an hour is removed; a recent one (a save that may still run) stays."""
    path = tmp_path / "model.npz"
    old, recent = tmp_path / ".model.npz.k3x_9q2a.tmp", tmp_path / ".model.npz.ab12cd34.tmp"
    other = tmp_path / ".other.npz.k3x_9q2a.tmp"
    for leftover in (old, recent, other):
        leftover.write_bytes(b"\0" * 64)
    two_hours_ago = time.time() - 7200
    for aged in (old, other):
        os.utime(aged, (two_hours_ago, two_hours_ago))
    minnet.save(make_model(), path)
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, recent.name, other.name])
