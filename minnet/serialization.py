"""Saving and loading weights and optimizer state, in formats that cannot execute code.

Two formats, chosen by the file name's suffix in any case:

- ``*.safetensors``: the safetensors format (needs the optional ``safetensors``
  package: ``pip install "minnet-nn[safetensors]"``, or ``pip install -e ".[safetensors]"`` in a checkout);
- ``*.npz`` (and, when reading, any other name): numpy's ``.npz`` (a zip of
  ``.npy`` arrays), read without pickle.

Neither can hold pickled Python objects, so loading a file never runs code
from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import json
import math
import os
import re
import secrets
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from ._checks import check_bool, check_path, describe
from .errors import LoadError

__all__ = ["check_state_dict", "load", "read_state", "save"]

_CHECKSUM_KEY = "minnet.sha256"
#: The ``.npz`` archive's comment: this prefix, then the SHA-256 of the arrays (:func:`_checksum`) in hex.
#: In the comment, not a member: a damaged central directory that loses members cannot lose it too.
_NPZ_CHECKSUM = b"minnet-sha256:"


class HasState(Protocol):
    def state_dict(self) -> dict[str, NDArray[Any]]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> Any: ...


def _is_safetensors(path: Path) -> bool:
    """The format a name reads as: ``.safetensors`` in any case; anything else is read as ``.npz``."""
    return path.suffix.lower() == ".safetensors"


def _save_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".safetensors"):
        raise ValueError(
            f"save: cannot tell the format of {str(path)!r} from its name: it must end in .npz or .safetensors "
            "(in any case)"
        )
    return suffix


def _import_safetensors() -> Any:
    try:
        import safetensors.numpy
    except ImportError as error:
        from ._install import install_hint

        raise ImportError(
            f"reading or writing .safetensors files needs the safetensors package: {install_hint('safetensors')}"
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
    contiguous = {key: _contiguous(np.asanyarray(array)) for key, array in arrays.items()}
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.comment = _NPZ_CHECKSUM + _checksum(contiguous).encode()
        for key, array in contiguous.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


#: Deflate gives at most about 1032:1; real weights compress far less. A deflated member of more than
#: ``_BOMB_FLOOR`` bytes whose declared size is over ``_MAX_RATIO`` times its compressed size is refused unread.
_MAX_RATIO = 100
_BOMB_FLOOR = 1 << 20
_CHUNK = 1 << 20


class _Member(NamedTuple):
    """One ``.npy`` member of an ``.npz``, as its zip entry and ``.npy`` header declare it (data unread)."""

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool
    header_length: int


def _npz_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Member:
    """Read the zip entry and ``.npy`` header of one member and check its declared sizes, without its data."""
    name = info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise LoadError(f"the member {name!r} uses an unsupported compression (method {info.compress_type})")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise LoadError(
            f"the member {name!r} is stored uncompressed but declares {info.file_size} bytes in {info.compress_size}"
        )
    if info.file_size > _BOMB_FLOOR and info.file_size > _MAX_RATIO * max(info.compress_size, 1):
        raise LoadError(
            f"the member {name!r} declares {info.file_size} bytes from {info.compress_size} compressed bytes "
            f"(over {_MAX_RATIO}:1): refused as a zip bomb"
        )
    with archive.open(info) as stream:
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise LoadError(f"the member {name!r} is a .npy of unsupported version {version}")
        except (ValueError, EOFError) as error:
            raise LoadError(f"the member {name!r} has no valid .npy header ({error})") from error
        header_length = stream.tell()
    if dtype.hasobject:
        raise LoadError(
            f"the member {name!r} holds Python objects (dtype {dtype}), which only pickle can read: refused"
        )
    size = header_length + math.prod(shape) * dtype.itemsize
    if info.file_size != size:
        raise LoadError(
            f"the member {name!r} declares {info.file_size} bytes, but its .npy header (shape {shape}, "
            f"dtype {dtype}) makes {size}"
        )
    return _Member(info, tuple(shape), dtype, bool(fortran_order), header_length)


def _npz_members(archive: zipfile.ZipFile) -> dict[str, _Member]:
    members: dict[str, _Member] = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise LoadError(f"the member {info.filename!r} is not a .npy array")
        key = info.filename[: -len(".npy")]
        if key in members:
            raise LoadError(f"the member {info.filename!r} appears twice")
        members[key] = _npz_member(archive, info)
    return members


def _read_member(archive: zipfile.ZipFile, member: _Member) -> NDArray[Any]:
    """The member's array, read in chunks into an array of its declared size; the CRC-32 is checked at the end."""
    name = member.info.filename
    array = np.empty(member.shape[::-1] if member.fortran_order else member.shape, dtype=member.dtype)
    target = array.reshape(-1).view(np.uint8)
    with archive.open(member.info) as stream:
        stream.read(member.header_length)
        done = 0
        while done < len(target):
            chunk = stream.read(min(_CHUNK, len(target) - done))
            if not chunk:
                raise LoadError(f"the member {name!r} ends before its declared {len(target)} data bytes")
            target[done : done + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            done += len(chunk)
        if stream.read(1):  # reading to the end also checks the CRC-32
            raise LoadError(f"the member {name!r} holds more bytes than its .npy header declares")
    return array.T if member.fortran_order else array


def _header_arrays(declared: Mapping[str, tuple[tuple[int, ...], np.dtype[Any]]]) -> dict[str, NDArray[Any]]:
    """Arrays of no memory with the declared shapes and dtypes, for :func:`check_state_dict`."""
    return {key: np.broadcast_to(np.empty((), dtype=dtype), shape) for key, (shape, dtype) in declared.items()}


class _Target(NamedTuple):
    owner: str
    expected: Mapping[str, NDArray[Any]]
    strict: bool


def _hash_member(archive: zipfile.ZipFile, key: str, member: _Member, digest: Any) -> None:
    """Add an unread member to ``digest`` as :func:`_checksum` does, in chunks, keeping none of it."""
    if member.fortran_order:
        array = _contiguous(_read_member(archive, member))
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
        return
    digest.update(f"{key}|{member.dtype.str}|{member.shape}|".encode())
    with archive.open(member.info) as stream:
        stream.read(member.header_length)
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)


def _verify_npz(archive: zipfile.ZipFile, members: Mapping[str, _Member], arrays: Mapping[str, NDArray[Any]]) -> None:
    """Check the arrays against the SHA-256 in the archive's comment; files of minnet 0.1 have none."""
    comment = archive.comment
    if not comment.startswith(_NPZ_CHECKSUM):
        return
    expected = comment[len(_NPZ_CHECKSUM) :]
    if len(expected) != 64:
        raise LoadError(f"the checksum in the archive's comment is damaged ({comment!r}) (corrupted)")
    digest = hashlib.sha256()
    for key in sorted(members):
        if key in arrays:
            array = _contiguous(arrays[key])
            digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
            digest.update(array.tobytes())
        else:
            _hash_member(archive, key, members[key], digest)
    if digest.hexdigest().encode() != expected:
        raise LoadError("the data does not match the checksum stored in the file (corrupted)")


def _read_npz(data: bytes, target: _Target | None = None) -> dict[str, NDArray[Any]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = _npz_members(archive)
            keys = list(members)
            if target is not None:
                declared = {key: (member.shape, member.dtype) for key, member in members.items()}
                check_state_dict(target.owner, target.expected, _header_arrays(declared), target.strict)
                keys = [key for key in keys if key in target.expected]
            arrays = {key: _read_member(archive, members[key]) for key in keys}
            _verify_npz(archive, members, arrays)
            return arrays
    except zipfile.BadZipFile as error:
        if "CRC" in str(error):
            raise LoadError(f"a member is corrupted ({error})") from error
        raise


def _write_safetensors(file: IO[bytes], arrays: Mapping[str, NDArray[Any]]) -> None:
    st = _import_safetensors()
    contiguous = {key: _contiguous(array) for key, array in arrays.items()}
    file.write(st.save(contiguous, metadata={_CHECKSUM_KEY: _checksum(contiguous)}))


#: The safetensors dtypes numpy can hold.
_SAFETENSORS_DTYPES = {
    "BOOL": np.bool_,
    "U8": np.uint8,
    "I8": np.int8,
    "U16": np.uint16,
    "I16": np.int16,
    "U32": np.uint32,
    "I32": np.int32,
    "U64": np.uint64,
    "I64": np.int64,
    "F16": np.float16,
    "F32": np.float32,
    "F64": np.float64,
}


def _safetensors_header(data: bytes) -> tuple[dict[str, tuple[tuple[int, ...], np.dtype[Any]]], dict[str, Any]]:
    """The declared shape and dtype of every tensor, and the metadata, from the JSON header alone;
    each tensor's byte range must be exactly its shape times its dtype's size, inside the file."""
    if len(data) < 8:
        raise LoadError(f"the file has {len(data)} bytes, fewer than the 8 of a safetensors header length")
    header_size = int.from_bytes(data[:8], "little")
    if header_size > len(data) - 8:
        raise LoadError(f"the header declares {header_size} bytes, the file has {len(data) - 8} after its length")
    header = json.loads(data[8 : 8 + header_size])
    if not isinstance(header, dict):
        raise LoadError("the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise LoadError("the header's __metadata__ is not a JSON object")
    body = len(data) - 8 - header_size
    declared: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
    for key, entry in header.items():
        try:
            dtype = np.dtype(_SAFETENSORS_DTYPES[entry["dtype"]])
            shape = tuple(int(n) for n in entry["shape"])
            begin, end = (int(n) for n in entry["data_offsets"])
        except (KeyError, TypeError, ValueError) as error:
            raise LoadError(f"the tensor {key!r} has an invalid header entry {entry!r}") from error
        size = math.prod(shape) * dtype.itemsize
        if min(shape, default=0) < 0 or not 0 <= begin <= end <= body or end - begin != size:
            raise LoadError(
                f"the tensor {key!r} declares bytes {begin} to {end} of {body}, but its shape {shape} and "
                f"dtype {dtype} make {size}"
            )
        declared[key] = (shape, dtype)
    return declared, metadata


def _read_safetensors(data: bytes, target: _Target | None = None) -> dict[str, NDArray[Any]]:
    st = _import_safetensors()
    declared, metadata = _safetensors_header(data)
    if target is not None:
        check_state_dict(target.owner, target.expected, _header_arrays(declared), target.strict)
    arrays = st.load(data)
    expected = metadata.get(_CHECKSUM_KEY)
    if expected is not None and expected != _checksum(arrays):
        raise LoadError("the data does not match the checksum stored in the file (corrupted)")
    if target is not None:
        return {key: array for key, array in arrays.items() if key in target.expected}
    return dict(arrays)


#: Temporary files of a save to ``path``: ``.{path.name}.minnet-tmp-{pid}-{random}``, next to the target.
_TMP_MARK = ".minnet-tmp-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its file
    return True


#: Temporary files of earlier minnet saves, ``.{name}.XXXXXXXX.tmp`` (tempfile.mkstemp), which carry no
#: process id: one is taken for stale when it has not been written to for this many seconds.
_OLD_TMP_AGE = 3600.0


def _remove_stale_temporaries(folder: Path, name: str) -> None:
    """Remove the temporary files that saves to ``name`` killed part-way left: those of dead
    processes, and those of earlier minnet versions untouched for an hour."""
    prefix = f".{name}{_TMP_MARK}"
    old_form = re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}\.tmp")
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith(prefix):
                pid_text = entry.name[len(prefix) :].split("-", 1)[0]
                stale = pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text))
            else:
                stale = bool(old_form.fullmatch(entry.name)) and time.time() - entry.stat().st_mtime > _OLD_TMP_AGE
            if stale:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through ``write`` into a temporary file next to ``path``'s target, then rename it
    over the target: a crash part-way leaves the previous file untouched. A symbolic link is
    followed (its target is replaced, the link stays); an error names ``path``, never the
    temporary file, which is removed in every outcome."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent if str(target.parent) else Path(".")
    _remove_stale_temporaries(folder, target.name)
    temporary = str(folder / f".{target.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        existing_mode = target.stat().st_mode & 0o777 if target.exists() else None
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
    except OSError as error:
        raise _naming(error, path, temporary) from error
    with contextlib.suppress(OSError):  # make the rename itself durable where the system allows
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)


def _naming(error: OSError, path: Path, temporary: str) -> OSError:
    """``error`` with the user's ``path`` where it named the temporary file."""
    if error.errno is not None and error.strerror is not None:
        renamed = type(error)(error.errno, f"{error.strerror} (saving {str(path)!r})", str(path))
    else:
        renamed = type(error)(str(error).replace(temporary, str(path)))
    return renamed


def _state_of(obj: HasState | Mapping[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    if not isinstance(obj, Mapping) and not callable(getattr(obj, "state_dict", None)):
        raise TypeError(
            "save: obj must be a model, optimizer or schedule (with state_dict()) or a dict of arrays, "
            f"got {describe(obj)}"
        )
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

    The format follows the name, in any case: ``*.safetensors`` writes
    safetensors, ``*.npz`` numpy's ``.npz``, each with a SHA-256 of the data;
    any other name raises ValueError. The file is written to a temporary file
    ``.{name}.minnet-tmp-{pid}-{random}`` in the same folder and renamed over
    ``path``, so a crash part-way leaves any previous file at ``path`` byte for
    byte as it was; the temporary file is removed in every other outcome, and
    those of earlier saves killed part-way (their process is gone) are removed
    by the next save to ``path``. Through a symbolic link, the link's target is
    replaced and the link stays.

    Example:
        >>> import tempfile, os
        >>> model = Sequential(Linear(2, 3, rng=0))
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> minnet.save(model, path)
        >>> minnet.load(Sequential(Linear(2, 3, rng=1)), path)(np.ones((1, 2))) == model(np.ones((1, 2)))
        array([[ True,  True,  True]])
    """
    path = Path(check_path("save", "path", path))
    writer = _write_safetensors if _save_format(path) == ".safetensors" else _write_npz
    state = _state_of(obj)
    _atomic_write(path, lambda file: writer(file, state))


def read_state(path: str | os.PathLike[str]) -> dict[str, NDArray[Any]]:
    """Read the dict of arrays that :func:`save` wrote, without loading it anywhere.

    Every member's declared name, shape, dtype and size is read and checked
    before any array data: a member whose size disagrees with its header, or
    that inflates implausibly (a zip bomb), is refused unread.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        LoadError: the file is truncated, corrupted, not in the format its name
            says, or holds pickled objects.
    """
    return _read(Path(check_path("read_state", "path", path)), None, "read_state")


def _read(path: Path, target: _Target | None, function: str) -> dict[str, NDArray[Any]]:
    try:
        data = path.read_bytes()
    except OSError as error:  # no such file, a directory, no permission: os's message, led by the function
        raise type(error)(error.errno, f"{function}: {error.strerror}", error.filename) from error
    reader = _read_safetensors if _is_safetensors(path) else _read_npz
    try:
        return reader(data, target)
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
    written, and before any array data is read from the file: the names,
    shapes and dtypes come from the headers, so a file that does not fit
    ``obj`` (a zip bomb included) is refused without inflating it. A missing or
    unexpected key, a shape or dtype mismatch, and a truncated or corrupted
    file all raise :class:`~minnet.errors.LoadError` (the message names the
    key and both shapes), and after a LoadError ``obj`` is unchanged.
    ``strict=False`` (models only) allows missing and unexpected keys;
    unexpected ones are not read.
    """
    if not callable(getattr(obj, "load_state_dict", None)) or not callable(getattr(obj, "state_dict", None)):
        raise TypeError(
            "load: obj must be a model, optimizer or schedule to load into (with load_state_dict()), "
            f"got {describe(obj)}"
        )
    path, strict = Path(check_path("load", "path", path)), check_bool("load", "strict", strict)
    if not strict and "strict" not in inspect.signature(obj.load_state_dict).parameters:
        raise ValueError(
            f"load: strict=False applies to models only; {type(obj).__name__}.load_state_dict always checks every "
            "key (leave strict at True)"
        )
    target = _Target(type(obj).__name__, obj.state_dict(), strict)
    state = _read(path, target, "load")
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
