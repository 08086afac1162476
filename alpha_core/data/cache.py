"""On-disk cache of the parsed real panel: one ``.npy`` per stored array plus ``manifest.json``.

The manifest records the loader version and each source file's size and mtime; a warm read memory-maps
every array (``mmap_mode='r'``: pages load on first touch) and returns ``None`` on any mismatch or damage
(missing, truncated or unreadable file, bad manifest), so the caller rebuilds. Writes go to a temporary
folder renamed into place, so readers never see a half-written cache.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Mapping

import numpy as np

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"


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


def read_cache(folder: Path, key: dict) -> tuple[dict, dict[str, np.ndarray]] | None:
    """(manifest meta, {name: memory-mapped array}) if ``folder`` holds a sound cache made for ``key``
    (loader version + source stamps), else None. Never raises for a damaged cache."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("key") != key:
            log.info("panel cache %s is stale", folder)
            return None
        arrays = {}
        for name, spec in manifest["arrays"].items():
            arr = np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            if list(arr.shape) != spec["shape"] or str(arr.dtype) != spec["dtype"]:
                log.info("panel cache %s: %s does not match its manifest", folder, name)
                return None
            arrays[name] = arr
        return manifest["meta"], arrays
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # JSONDecodeError is a ValueError
        log.info("panel cache %s is unreadable (%s); rebuilding", folder, exc)
        return None


def write_cache(folder: Path, key: dict, meta: dict, arrays: Mapping[str, np.ndarray]) -> bool:
    """Store ``arrays`` and a manifest in ``folder`` atomically (temp folder + rename). True on success;
    an unwritable cache location is logged and ignored (the panel still works, uncached)."""
    folder = Path(folder)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        specs = {}
        for name, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
            specs[name] = {"shape": list(arr.shape), "dtype": str(arr.dtype)}
        manifest = {"key": key, "meta": meta, "arrays": specs}
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
