"""On-disk result cache: atomic, verified, keyed by (experiment, configuration, code version).

A sweep stores one entry per chunk of grid points.  The key of an entry is

    sha256(canonical JSON of {format, experiment name, chunk configuration, code-version salt})

where the salt is :func:`code_version` of the modules the computation depends on.  Editing
one of those modules changes the salt, hence the key, of exactly the sweeps that name it;
every other entry stays valid.

Storage (one experiment = one directory ``<root>/<name>/``):

* ``<key>.npz``  — the chunk's output arrays (``np.savez``, no pickles);
* ``<key>.json`` — metadata: the name, configuration and salt the key was made from, the
  SHA-256 and size of the ``.npz`` file, provenance, and a checksum of the metadata itself.

Writes are atomic: each file is written to a temporary file in the same directory,
flushed and fsync'ed, then moved into place with :func:`os.replace` (atomic on POSIX), and
the directory is fsync'ed.  The ``.json`` is written last, so it is the commit record: an
interrupted write leaves either no entry, or an orphan ``.npz``/temporary file that is
ignored and later overwritten.  Loading re-derives the key from the metadata and checks
both checksums, so a truncated, corrupted or mismatched entry is detected, reported with a
:class:`CacheCorruptionWarning`, deleted and recomputed — never returned.

Concurrency: :meth:`Cache.lock` takes an exclusive lock per entry (``fcntl.flock`` on
``<key>.lock``).  A process that computes an entry holds its lock from the miss to the commit,
so a second process asking for the same entry waits and then loads it instead of computing it
again.  The operating system releases a flock when its holder dies, so a lock left by a killed
process (kill -9) is taken over at once; there is no stale-lock timeout to tune.

The cache root is ``$LAB_CACHE_DIR`` or ``.lab-cache/`` in the repository root.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import importlib
import inspect
import io
import json
import linecache
import marshal
import math
import os
import re
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

# provenance lives in lab.provenance; these two names are its old home
from lab.provenance import REPO_ROOT, static_provenance  # noqa: F401

#: Version of the storage layout; part of every key, so a layout change invalidates old entries.
CACHE_FORMAT = 1

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_KEY_RE = re.compile(r"^[0-9a-f]{64}$")


class CacheCorruptionWarning(UserWarning):
    """A cache entry failed verification; it is discarded and recomputed."""


def default_cache_dir() -> Path:
    """``$LAB_CACHE_DIR`` if set, else ``.lab-cache/`` in the repository root."""
    env = os.environ.get("LAB_CACHE_DIR")
    return Path(env).expanduser() if env else REPO_ROOT / ".lab-cache"


def check_name(name: Any, param: str = "name") -> str:
    """Validate an experiment name (it becomes a directory name)."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"{param} must be a non-empty string of letters, digits, '.', '_' or '-' "
            f"(starting with a letter or digit), got {name!r}"
        )
    return name


# --------------------------------------------------------------------------- hashing


def canonical(obj: Any, *, where: str = "value") -> Any:
    """A JSON-ready, type-faithful normal form of a configuration value.

    NumPy scalars become Python scalars, tuples become lists, mapping keys must be
    strings (sorted on output), arrays are summarised by dtype, shape and content hash.
    Non-finite floats become the strings "nan"/"inf"/"-inf" so that the JSON stays strict.
    Anything else raises a TypeError naming ``where``.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else repr(x)
    if isinstance(obj, (list, tuple)):
        return [canonical(v, where=f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: mapping keys must be strings, got {k!r}")
            out[k] = canonical(v, where=f"{where}[{k!r}]")
        return out
    if isinstance(obj, np.ndarray):
        data = np.ascontiguousarray(obj)
        if data.dtype == object:
            raise TypeError(f"{where}: object arrays cannot be hashed canonically")
        return {
            "__ndarray__": data.dtype.str,
            "shape": list(data.shape),
            "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
        }
    raise TypeError(
        f"{where} must be built from None, bool, int, float, str, lists/tuples, "
        f"str-keyed dicts and NumPy arrays, got {type(obj).__name__}"
    )


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text of ``canonical(obj)`` (sorted keys, no whitespace)."""
    return json.dumps(canonical(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(obj: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def _module_sources(module: ModuleType) -> list[tuple[str, bytes]]:
    """Source files of a module; all ``.py`` files below it for a package."""
    paths = getattr(module, "__path__", None)
    if paths:  # a package: every source file under it, in a fixed order
        files = []
        for base in paths:
            base = Path(base)
            files += [(str(p.relative_to(base)), p) for p in sorted(base.rglob("*.py"))]
        return [(rel, p.read_bytes()) for rel, p in files]
    path = getattr(module, "__file__", None)
    if not path or not Path(path).is_file():
        raise TypeError(f"code_version: module {module.__name__!r} has no source file to hash")
    if path.endswith((".pyc", ".pyo")):
        src = inspect.getsourcefile(module)
        if not src:
            raise TypeError(f"code_version: no source found for module {module.__name__!r}")
        path = src
    return [(Path(path).name, Path(path).read_bytes())]


def _source_of(obj: Any) -> bytes:
    """The source text that defines ``obj`` (read from disk now, not from a stale cache)."""

    if isinstance(obj, ModuleType):
        files = _module_sources(obj)
        if not hasattr(obj, "__path__"):
            return files[0][1]  # a plain module: its text alone, as for the path of its file
        return b"\0".join(name.encode() + b"\0" + data for name, data in files)
    if isinstance(obj, (str, os.PathLike)):
        text = os.fspath(obj)
        if text.endswith(".py") or os.sep in text:
            path = Path(text)
            if not path.is_file():
                raise ValueError(f"code_version: no such source file {text!r}")
            return path.read_bytes()
        return _source_of(importlib.import_module(text))
    if isinstance(obj, functools.partial):
        return _source_of(obj.func)
    target = obj
    if not (inspect.isfunction(target) or inspect.ismethod(target) or inspect.isclass(target)):
        target = type(obj)  # a callable instance: its class carries the code
    try:
        filename = inspect.getsourcefile(target)
        if filename:
            linecache.checkcache(filename)  # pick up edits made since the file was first read
        return inspect.getsource(target).encode()
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        if code is None:
            raise TypeError(
                f"code_version: cannot find the source of {obj!r}; pass its module instead"
            ) from None
        # Interactively defined functions: hash the compiled code object instead.
        return marshal.dumps(code)


def code_version(*modules_or_objects: Any) -> str:
    """Hash of the SOURCE code of the given modules, packages, functions or classes.

    Parameters
    ----------
    *modules_or_objects
        Module objects (a package hashes every ``.py`` file below it), dotted module names,
        paths to ``.py`` files, functions, classes, methods, ``functools.partial`` objects
        (their function) or callable instances (their class).

    Returns
    -------
    str
        16 hex digits.  Files are read from disk at call time, so an edited module gets a
        new version even if the running process imported the old one.  The result does not
        depend on the order or repetition of the arguments.
    """
    if not modules_or_objects:
        raise ValueError("code_version needs at least one module or object")
    digests = sorted({hashlib.sha256(_source_of(o)).hexdigest() for o in modules_or_objects})
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- storage


@dataclass(frozen=True)
class CacheEntry:
    """A verified cache entry: output arrays and the metadata stored with them."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same dir, fsync, os.replace."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _meta_checksum(meta: Mapping[str, Any]) -> str:
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Cache:
    """Verified on-disk store of chunk results.

    Parameters
    ----------
    root : path, optional
        Cache directory (default :func:`default_cache_dir`).

    Notes
    -----
    ``load`` returns ``None`` for a missing entry and for an entry that fails any check
    (unreadable or inconsistent metadata, key not re-derivable from the metadata, data
    size or SHA-256 mismatch, unreadable ``.npz``, array names not those recorded).  A
    failed entry is deleted, counted in ``self.corrupt`` and reported with a
    :class:`CacheCorruptionWarning`.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.corrupt = 0

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    # keys and paths ---------------------------------------------------------------

    @staticmethod
    def key(name: str, config: Any, salt: str) -> str:
        """The entry key of (experiment ``name``, chunk ``config``, code-version ``salt``)."""
        check_name(name)
        return config_hash({"format": CACHE_FORMAT, "name": name, "config": config, "salt": salt})

    def _paths(self, name: str, key: str) -> tuple[Path, Path]:
        check_name(name)
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise ValueError(f"key must be 64 lowercase hex digits, got {key!r}")
        base = self.root / name
        return base / f"{key}.npz", base / f"{key}.json"

    def keys(self, name: str) -> list[str]:
        """Keys of the committed (metadata present) entries of experiment ``name``; unverified."""
        base = self.root / check_name(name)
        if not base.is_dir():
            return []
        return sorted(p.stem for p in base.glob("*.json") if _KEY_RE.match(p.stem))

    def __contains__(self, item: tuple[str, str]) -> bool:
        name, key = item
        return self._paths(name, key)[1].is_file()

    # store / load -----------------------------------------------------------------

    def store(
        self,
        name: str,
        key: str,
        arrays: Mapping[str, np.ndarray],
        *,
        config: Any,
        salt: str,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """Atomically write an entry; ``config`` and ``salt`` must be those ``key`` came from."""
        if self.key(name, config, salt) != key:
            raise ValueError("store: key does not match (name, config, salt)")
        data_path, meta_path = self._paths(name, key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {str(k): np.asarray(v) for k, v in arrays.items()}
        for k, v in arrays.items():
            if v.dtype == object:
                raise TypeError(f"store: array {k!r} has dtype object; only numeric arrays are cached")
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        blob = buf.getvalue()
        meta = {
            "format": CACHE_FORMAT,
            "name": name,
            "key": key,
            "salt": salt,
            "config": canonical(config),
            "data_file": data_path.name,
            "data_size": len(blob),
            "data_sha256": hashlib.sha256(blob).hexdigest(),
            "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrays.items()},
            "extra": canonical(dict(extra or {})),
        }
        meta["meta_sha256"] = _meta_checksum(meta)
        # Data first, metadata last: the metadata file is the commit record.
        atomic_write_bytes(data_path, blob)
        atomic_write_bytes(meta_path, json.dumps(meta, sort_keys=True, indent=1).encode())
        return meta_path

    def load(self, name: str, key: str) -> CacheEntry | None:
        """The verified entry, or ``None`` (missing, or corrupt: then deleted and warned)."""
        data_path, meta_path = self._paths(name, key)
        if not meta_path.is_file():
            return None
        problem = None
        try:
            meta = json.loads(meta_path.read_bytes())
            problem = self._check_meta(meta, name, key)
            if problem is None:
                blob = data_path.read_bytes()
                if len(blob) != meta["data_size"]:
                    problem = f"data size {len(blob)} != recorded {meta['data_size']} (truncated?)"
                elif hashlib.sha256(blob).hexdigest() != meta["data_sha256"]:
                    problem = "data checksum mismatch"
                else:
                    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
                        arrays = {k: npz[k] for k in npz.files}
                    recorded = meta["arrays"]
                    if set(arrays) != set(recorded) or any(
                        arrays[k].dtype.str != recorded[k]["dtype"]
                        or list(arrays[k].shape) != recorded[k]["shape"]
                        for k in arrays
                    ):
                        problem = "arrays differ from the recorded names/dtypes/shapes"
        except FileNotFoundError:
            problem = "data file missing"
        except (ValueError, KeyError, TypeError, OSError, EOFError) as exc:
            problem = f"unreadable ({type(exc).__name__}: {exc})"
        if problem is not None:
            self.corrupt += 1
            warnings.warn(
                f"cache entry {name}/{key[:12]} is invalid ({problem}); discarding and recomputing",
                CacheCorruptionWarning,
                stacklevel=2,
            )
            self.discard(name, key)
            return None
        return CacheEntry(arrays=arrays, meta=meta)

    def _check_meta(self, meta: Any, name: str, key: str) -> str | None:
        if not isinstance(meta, dict):
            return "metadata is not a JSON object"
        if meta.get("meta_sha256") != _meta_checksum(meta):
            return "metadata checksum mismatch"
        if meta.get("format") != CACHE_FORMAT:
            return f"format {meta.get('format')!r} != {CACHE_FORMAT}"
        if meta.get("name") != name or meta.get("key") != key:
            return "metadata belongs to another entry"
        if self.key(name, meta.get("config"), meta.get("salt")) != key:
            return "key cannot be re-derived from the recorded configuration"
        return None

    def discard(self, name: str, key: str) -> None:
        """Delete an entry (metadata first, so a half-deleted entry is never committed)."""
        data_path, meta_path = self._paths(name, key)
        for p in (meta_path, data_path):
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    @contextlib.contextmanager
    def lock(self, name: str, key: str, *, blocking: bool = True):
        """Hold the exclusive lock of entry (``name``, ``key``) for the ``with`` block.

        Parameters
        ----------
        name, key : the entry.
        blocking : wait for the lock (default); False yields at once.

        Yields
        ------
        bool
            True when this process holds the lock; False when ``blocking=False`` and another
            process holds it, or when the cache directory cannot hold a lock file (read-only:
            nothing can be stored there either, so there is nothing to serialise).

        Notes
        -----
        The lock file is deleted on release.  A waiter that then acquires the deleted file's
        lock notices (its inode is no longer the one at the path) and locks the new file, so
        two processes never both believe they hold the same entry.
        """
        data_path, _ = self._paths(name, key)
        path = data_path.with_suffix(".lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                yield False
                return
            raise
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                    yield False
                    return
                raise
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                yield False
                return
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder deleted this file on release: lock the current one
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
            yield True
        finally:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            os.close(fd)

    def clear(self, name: str) -> int:
        """Delete every entry and leftover temporary file of experiment ``name``; returns the count."""
        base = self.root / check_name(name)
        if not base.is_dir():
            return 0
        n = 0
        for p in base.iterdir():
            if p.is_file() and (p.suffix in (".npz", ".json", ".tmp")):
                p.unlink()
                n += 1
        return n
