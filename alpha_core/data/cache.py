"""On-disk cache of the parsed real panel: one ``.npy`` per stored array plus ``manifest.json``.

The manifest records the cache format, the loader version and each source file's size and mtime (the
key), and the size and CRC-32 of every ``.npy`` file, plus a CRC-32 of its own content. A read checks the
manifest, then every file's size and CRC-32 against it, before memory-mapping the arrays
(``mmap_mode='r'``: pages stay shared in the OS page cache); on any mismatch or damage (missing, empty,
truncated, overwritten, swapped or unreadable file, bad manifest) it logs one warning naming the file and
returns ``None``, so the caller rebuilds. Writes go to a temporary folder renamed into place, so readers
never see a half-written cache.
"""
from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import shutil
import uuid
import zlib
from pathlib import Path
from typing import Mapping

import numpy as np

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
FORMAT = 2
"""Cache layout version (2: per-file CRC-32 in the manifest); a cache of another format is rebuilt quietly."""


def default_cache_dir() -> Path:
    """``$ALPHA_CACHE_DIR`` if set, else ``~/.cache/alpha_factory``."""
    env = os.environ.get("ALPHA_CACHE_DIR", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "alpha_factory"


def source_stamp(paths: Mapping[str, Path]) -> dict[str, list[int]]:
    """{name: [size in bytes, mtime in ns]} of each source file (raises OSError if one is missing)."""
    out = {}
    for name, path in sorted(paths.items()):
        st = Path(path).stat()
        out[name] = [int(st.st_size), int(st.st_mtime_ns)]
    return out


def cache_folder(cache_dir: Path, data_dir: Path) -> Path:
    """The cache folder of one data directory (several data directories can share a cache root)."""
    digest = hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:12]
    return Path(cache_dir) / f"sp500-{digest}"


def _crc(data) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def _matches(path: Path, spec: dict) -> bool:
    """Whether the file at ``path`` has the size and CRC-32 of ``spec`` (hashed through a read-only
    memory map: no copy, and the pages read stay in the OS page cache for the arrays mapped next)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size != spec["bytes"]:
            return False
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return _crc(mapped) == spec["crc32"]


def _manifest_crc(manifest: dict) -> int:
    body = {k: v for k, v in manifest.items() if k != "crc32"}
    return _crc(json.dumps(body, sort_keys=True).encode())


def _damaged(folder: Path, what: str) -> None:
    log.warning("panel cache %s: %s; rebuilding the cache", folder, what)


def read_cache(folder: Path, key: dict) -> tuple[dict, dict[str, np.ndarray]] | None:
    """(manifest meta, {name: memory-mapped array}) if ``folder`` holds a sound cache made for ``key``
    (loader version + source stamps), else None. Every ``.npy`` is checked against the size and CRC-32
    in the manifest before it is mapped (about 10 ms for the real panel's 42 MB when the files are in the
    OS page cache). A missing folder or a stale key returns None quietly; damage logs one warning naming
    the file. Never raises for a damaged cache."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    current = MANIFEST  # the file being read, for the warning
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            log.info("panel cache %s has an older format; rebuilding", folder)
            return None
        if manifest.get("crc32") != _manifest_crc(manifest):
            _damaged(folder, f"{MANIFEST} fails its checksum")
            return None
        if manifest.get("key") != key:
            log.info("panel cache %s is stale; rebuilding", folder)
            return None
        arrays = {}
        for name, spec in manifest["arrays"].items():
            path = folder / f"{name}.npy"
            current = path.name
            if not _matches(path, spec):
                _damaged(folder, f"{current} does not match its checksum")
                return None
            arrays[name] = np.load(path, mmap_mode="r", allow_pickle=False)
        return manifest["meta"], arrays
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # JSONDecodeError is a ValueError; AttributeError: a manifest that is JSON but not an object
        _damaged(folder, f"{current} is unreadable ({type(exc).__name__}: {exc})")
        return None


def write_cache(folder: Path, key: dict, meta: dict, arrays: Mapping[str, np.ndarray]) -> bool:
    """Store ``arrays`` and a manifest (with each file's size and CRC-32) in ``folder`` atomically (temp
    folder + rename). True on success; an unwritable cache location is logged and ignored (the panel
    still works, uncached)."""
    folder = Path(folder)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        specs = {}
        for name, arr in arrays.items():
            path = tmp / f"{name}.npy"
            np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
            data = path.read_bytes()
            specs[name] = {"bytes": len(data), "crc32": _crc(data)}
        manifest = {"format": FORMAT, "key": key, "meta": meta, "arrays": specs}
        manifest["crc32"] = _manifest_crc(manifest)
        (tmp / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(folder, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, folder)
        return True
    except OSError as exc:
        log.warning("could not write the panel cache %s (%s); continuing without it", folder, exc)
        shutil.rmtree(tmp, ignore_errors=True)
        return False
