"""Saving and loading weights and optimizer state, in formats that cannot execute code.

Two formats, chosen by the file name:

- ``*.safetensors``: the safetensors format (needs the optional ``safetensors``
  package: ``pip install "minnet[safetensors]"``);
- anything else: numpy's ``.npz`` (a zip of ``.npy`` arrays), read with
  ``allow_pickle=False``.

Neither can hold pickled Python objects, so loading a file never runs code
from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .errors import LoadError

__all__ = ["check_state_dict", "load", "read_state", "save"]

_CHECKSUM_KEY = "minnet.sha256"


class HasState(Protocol):
    def state_dict(self) -> dict[str, NDArray[Any]]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> Any: ...


def _is_safetensors(path: Path) -> bool:
    return path.suffix == ".safetensors"


def _import_safetensors() -> Any:
    try:
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(
            'reading or writing .safetensors files needs the safetensors package: pip install "minnet[safetensors]"'
        ) from error
    return safetensors.numpy


def _contiguous(array: NDArray[Any]) -> NDArray[Any]:
    # not np.ascontiguousarray, which turns a 0-d array into shape (1,)
    return array if array.flags.c_contiguous else array.copy(order="C")


def _checksum(arrays: Mapping[str, NDArray[Any]]) -> str:
    """A SHA-256 over every key, dtype, shape and byte, for formats without their own check."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = _contiguous(arrays[key])
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _write_npz(file: IO[bytes], arrays: Mapping[str, NDArray[Any]]) -> None:
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _read_npz(data: bytes) -> dict[str, NDArray[Any]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        bad_member = archive.testzip()  # checks every member's CRC-32
        if bad_member is not None:
            raise LoadError(f"the member {bad_member!r} is corrupted (its CRC-32 does not match)")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def _write_safetensors(file: IO[bytes], arrays: Mapping[str, NDArray[Any]]) -> None:
    st = _import_safetensors()
    contiguous = {key: _contiguous(array) for key, array in arrays.items()}
    file.write(st.save(contiguous, metadata={_CHECKSUM_KEY: _checksum(contiguous)}))


def _read_safetensors(data: bytes) -> dict[str, NDArray[Any]]:
    st = _import_safetensors()
    arrays = st.load(data)
    header_size = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8 : 8 + header_size]).get("__metadata__") or {}
    expected = metadata.get(_CHECKSUM_KEY)
    if expected is not None and expected != _checksum(arrays):
        raise LoadError("the data does not match the checksum stored in the file (corrupted)")
    return dict(arrays)


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through ``write`` into a temporary file in ``path``'s folder, then rename it
    over ``path``: a crash part-way leaves the previous file untouched."""
    folder = path.parent if str(path.parent) else Path(".")
    existing_mode = path.stat().st_mode & 0o777 if path.exists() else None
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        if existing_mode is None:
            umask = os.umask(0)
            os.umask(umask)
            existing_mode = 0o666 & ~umask
        os.chmod(temporary, existing_mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the system allows
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)


def _state_of(obj: HasState | Mapping[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    state = dict(obj) if isinstance(obj, Mapping) else obj.state_dict()
    for key, array in state.items():
        if not isinstance(key, str) or not isinstance(array, np.ndarray):
            raise TypeError(f"save: expected a mapping of str to ndarray, got {key!r}: {type(array).__name__}")
        if array.dtype.hasobject:
            raise TypeError(f"save: key {key!r} holds Python objects (dtype {array.dtype}); only numeric arrays")
    return state


def save(obj: HasState | Mapping[str, NDArray[Any]], path: str | os.PathLike[str]) -> None:
    """Save the state of a model, optimizer or schedule (anything with ``state_dict()``),
    or a dict of arrays, to ``path``.

    The format follows the name: ``*.safetensors`` writes safetensors (with a
    SHA-256 of the data in its metadata), anything else numpy's ``.npz`` (no
    suffix is added). The file is written to a temporary file in the same
    folder and renamed over ``path``, so a crash part-way leaves any previous
    file at ``path`` byte for byte as it was.

    Example:
        >>> import tempfile, os
        >>> model = Sequential(Linear(2, 3, rng=0))
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> minnet.save(model, path)
        >>> minnet.load(Sequential(Linear(2, 3, rng=1)), path)(np.ones((1, 2))) == model(np.ones((1, 2)))
        array([[ True,  True,  True]])
    """
    path = Path(path)
    state = _state_of(obj)
    writer = _write_safetensors if _is_safetensors(path) else _write_npz
    _atomic_write(path, lambda file: writer(file, state))


def read_state(path: str | os.PathLike[str]) -> dict[str, NDArray[Any]]:
    """Read the dict of arrays that :func:`save` wrote, without loading it anywhere.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        LoadError: the file is truncated, corrupted, not in the format its name
            says, or holds pickled objects.
    """
    path = Path(path)
    data = path.read_bytes()
    reader = _read_safetensors if _is_safetensors(path) else _read_npz
    try:
        return reader(data)
    except LoadError as error:
        raise LoadError(f"cannot read {str(path)!r}: {error}") from error
    except ImportError:
        raise
    except Exception as error:  # zipfile, numpy and safetensors each raise their own types
        raise LoadError(
            f"cannot read {str(path)!r}: the file is truncated, corrupted or not a minnet weights file "
            f"({type(error).__name__}: {error})"
        ) from error


def load(obj: Any, path: str | os.PathLike[str], strict: bool = True) -> Any:
    """Load the state in ``path`` into an existing model, optimizer or schedule and return it.

    Every key, shape and dtype is checked against ``obj`` before anything is
    written. A missing or unexpected key, a shape or dtype mismatch, and a
    truncated or corrupted file all raise :class:`~minnet.errors.LoadError`
    (the message names the key and both shapes), and after a LoadError ``obj``
    is unchanged. ``strict=False`` (models only) allows missing and unexpected
    keys.
    """
    state = read_state(path)
    try:
        if strict:
            obj.load_state_dict(state)
        else:
            obj.load_state_dict(state, strict=False)
    except LoadError as error:
        raise LoadError(f"{error} (file {str(path)!r})") from error
    return obj


def check_state_dict(
    owner: str, expected: Mapping[str, NDArray[Any]], given: Mapping[str, Any], strict: bool = True
) -> tuple[list[str], list[str]]:
    """Check every key, shape and dtype of ``given`` against ``expected``.

    Returns ``(missing_keys, unexpected_keys)`` (both empty when ``strict``).
    Raises :class:`LoadError` naming the key and both shapes (or dtypes) for a
    mismatch, and for any missing or unexpected key when ``strict``."""
    if not isinstance(given, Mapping):
        raise LoadError(f"{owner}: expected a mapping of name to array, got {type(given).__name__}")
    missing = [key for key in expected if key not in given]
    unexpected = [key for key in given if key not in expected]
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"missing key(s) {missing}")
        if unexpected:
            parts.append(f"unexpected key(s) {unexpected}")
        raise LoadError(f"{owner}: the state does not match: {'; '.join(parts)}")
    for key, target in expected.items():
        if key not in given:
            continue
        value = given[key]
        if not isinstance(value, np.ndarray):
            raise LoadError(f"{owner}: key {key!r} holds a {type(value).__name__}, expected an ndarray")
        if value.shape != target.shape:
            raise LoadError(
                f"{owner}: shape mismatch for key {key!r}: the state has shape {value.shape}, "
                f"the target has shape {target.shape}"
            )
        if value.dtype != target.dtype:
            raise LoadError(
                f"{owner}: dtype mismatch for key {key!r} (shape {value.shape}): the state has dtype "
                f"{value.dtype}, the target has dtype {target.dtype}"
            )
    return missing, unexpected
