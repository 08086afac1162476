"""The market panel: (T dates x N instruments) float64 fields, loaded lazily (SIMULATION.md §2, FASTEXPR.md §6).

A ``Panel`` maps lower-case field ids to ``(T, N)`` float64 arrays. A field is either given as an array
or as a zero-argument callable (a lazy source: an ``np.load`` of a cached file, a derived computation);
the callable runs on first access, its result is checked (shape, dtype), made read-only and memoised.
Group fields (``sector``, ``industry``...) are float64 arrays of integer ids, NaN = no group.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterable, Mapping, Union

import numpy as np

FieldSource = Union[np.ndarray, Callable[[], np.ndarray]]


class UnknownFieldError(KeyError):
    """A field the panel does not hold; the message names it and lists the available fields."""

    def __init__(self, name: str, available: Iterable[str], label: str = "") -> None:
        self.name = name
        self.available = tuple(sorted(available))
        where = f" in panel {label!r}" if label else ""
        self.message = (f"unknown field {name!r}{where}; available fields: "
                        f"{', '.join(self.available) or '(none)'}")
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would repr-quote the message
        return self.message


class PanelShapeError(ValueError):
    """An array or the axes given to a panel do not fit (wrong shape, unsorted tickers, bad group ids)."""


def _as_dates(dates) -> np.ndarray:
    try:
        out = np.asarray(dates).astype("datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise PanelShapeError(f"dates cannot be read as datetime64[D]: {exc}") from None
    if out.ndim != 1:
        raise PanelShapeError(f"dates must be 1-D, got shape {out.shape}")
    if np.isnat(out).any():
        raise PanelShapeError("dates contain NaT")
    if out.size > 1 and not (np.diff(out.astype(np.int64)) > 0).all():
        raise PanelShapeError("dates must be strictly increasing")
    out = out.copy()
    out.flags.writeable = False
    return out


def _as_tickers(tickers) -> tuple[str, ...]:
    out = tuple(str(t) for t in tickers)
    if any(not t for t in out):
        raise PanelShapeError("tickers contain an empty name")
    if list(out) != sorted(set(out)):
        dup = sorted({t for t in out if out.count(t) > 1})
        why = f"duplicated {dup[:5]}" if dup else "not sorted"
        raise PanelShapeError(f"tickers must be sorted and unique ({why})")
    return out


class Panel:
    """A (T, N) market panel.

    Attributes: ``dates`` (T,) ``datetime64[D]`` (read-only, strictly increasing), ``tickers`` tuple of N
    sorted unique str, ``label`` str (``SYNTHETIC ...`` for generated panels), ``group_fields`` frozenset
    of the group field ids, ``T``, ``N``.

    ``panel[name]`` returns the field as a read-only ``(T, N)`` float64 array (case-insensitive id);
    raises ``UnknownFieldError`` (a ``KeyError``) naming the field and listing the available ones, and
    ``PanelShapeError`` if a lazy source produces an array of the wrong shape. Thread-safe.
    Build one with ``Panel.from_arrays``.
    """

    def __init__(self, dates, tickers, sources: Mapping[str, FieldSource], group_fields: Iterable[str] = (),
                 label: str = "") -> None:
        self.dates = _as_dates(dates)
        self.tickers = _as_tickers(tickers)
        self.label = str(label)
        self._sources: dict[str, FieldSource] = {}
        for name, src in sources.items():
            key = str(name).strip().lower()
            if not key:
                raise PanelShapeError("a field has an empty name")
            if key in self._sources:
                raise PanelShapeError(f"field {key!r} given twice (names are case-insensitive)")
            self._sources[key] = src
        groups = frozenset(str(g).strip().lower() for g in group_fields)
        missing = sorted(groups - set(self._sources))
        if missing:
            raise PanelShapeError(f"group fields {missing} have no array")
        self.group_fields = groups
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.RLock()
        for key, src in self._sources.items():
            if isinstance(src, np.ndarray):
                self._cache[key] = self._check(key, src)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, dates, tickers, fields: Mapping[str, FieldSource], group_fields: Iterable[str] = (),
                    label: str = "", *, copy: bool = True) -> "Panel":
        """A panel from ``fields``: id -> ``(T, N)`` array (any real dtype, stored as float64) or a
        zero-argument callable returning one (evaluated lazily, on first access).

        ``dates`` (T,) anything ``astype('datetime64[D]')`` accepts, strictly increasing; ``tickers`` N
        sorted unique names; ``group_fields`` ids among ``fields`` whose values are integer ids or NaN.
        ``copy=False`` keeps float64 arrays without copying (the caller must not mutate them).
        Raises ``PanelShapeError`` (a ``ValueError``) naming the field on a wrong shape, unsorted or
        duplicated tickers, unsorted dates or non-integer group ids.
        """
        srcs: dict[str, FieldSource] = {}
        for name, src in fields.items():
            if callable(src) and not isinstance(src, np.ndarray):
                srcs[name] = src
            else:
                arr = np.array(src, dtype=np.float64, copy=True) if copy else np.asarray(src, dtype=np.float64)
                srcs[name] = arr
        return cls(dates, tickers, srcs, group_fields, label)

    # -- access -------------------------------------------------------------------------------
    @property
    def T(self) -> int:
        """Number of dates."""
        return int(self.dates.shape[0])

    @property
    def N(self) -> int:
        """Number of instruments."""
        return len(self.tickers)

    def has(self, name: str) -> bool:
        """True when the panel provides field ``name`` (case-insensitive)."""
        return str(name).strip().lower() in self._sources

    __contains__ = has

    def field_names(self) -> tuple[str, ...]:
        """All field ids, sorted."""
        return tuple(sorted(self._sources))

    def is_loaded(self, name: str) -> bool:
        """True when ``name`` has already been computed or loaded (for tests and diagnostics)."""
        return str(name).strip().lower() in self._cache

    def __getitem__(self, name: str) -> np.ndarray:
        key = str(name).strip().lower()
        arr = self._cache.get(key)
        if arr is not None:
            return arr
        if key not in self._sources:
            raise UnknownFieldError(str(name), self._sources, self.label)
        with self._lock:
            arr = self._cache.get(key)
            if arr is None:
                arr = self._check(key, self._sources[key]())
                self._cache[key] = arr
        return arr

    def __repr__(self) -> str:
        span = f"{self.dates[0]}..{self.dates[-1]}" if self.T else "empty"
        return f"Panel({self.label!r}, T={self.T}, N={self.N}, {span}, {len(self._sources)} fields)"

    # -- internals ----------------------------------------------------------------------------
    def _check(self, key: str, arr) -> np.ndarray:
        arr = np.asarray(arr)
        if arr.dtype != np.float64:
            arr = arr.astype(np.float64)
        if arr.shape != (self.T, self.N):
            raise PanelShapeError(f"field {key!r} has shape {arr.shape}, expected (T, N) = ({self.T}, {self.N})")
        if key in self.group_fields:
            finite = arr[~np.isnan(arr)]
            if finite.size and not np.array_equal(finite, np.round(finite)):
                raise PanelShapeError(f"group field {key!r} holds non-integer ids")
        if arr.flags.writeable:
            arr = arr.view()
            arr.flags.writeable = False
        return arr
