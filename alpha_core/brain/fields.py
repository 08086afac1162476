"""Field registry sync from BRAIN's catalogue (issue 14 item 4; BRAIN_API.md §11).

``sync_registry`` reads ``GET /data-fields`` (paged by the client) for one (instrument type, region, delay,
universe) and returns a ``FieldRegistry`` whose rows are BRAIN's (id, description, dataset, category, type,
coverage, user and alpha counts) and whose local recipes come from the embedded registry
(``brain_fields.csv``: BRAIN does not know what the local panel provides). Embedded fields BRAIN did not list
are kept (a local field stays mineable while BRAIN's listing lacks it).
"""
from __future__ import annotations

from alpha_core.data.registry import KINDS, FieldInfo, FieldRegistry


def _num(value, cast):
    try:
        return None if value is None else cast(value)
    except (TypeError, ValueError):
        return None


def field_info(item: dict, embedded: FieldRegistry) -> FieldInfo | None:
    """A ``FieldInfo`` from one ``/data-fields`` result (None when it has no id or an unknown type); the
    ``local_source`` recipe of the embedded field with the same id (``''`` when none)."""
    fid = str(item.get("id") or "").strip().lower()
    kind = str(item.get("type") or "").strip().upper()
    if not fid or kind not in KINDS:
        return None
    base = embedded.get(fid)
    source = base.local_source if base is not None else ""
    return FieldInfo(
        id=fid, dataset=str((item.get("dataset") or {}).get("id") or ""),
        category=str((item.get("category") or {}).get("id") or ""), kind=kind,
        description=str(item.get("description") or ""), region=str(item.get("region") or ""),
        delay=_num(item.get("delay"), int) or 1, coverage=_num(item.get("coverage"), float),
        user_count=_num(item.get("userCount"), int), alpha_count=_num(item.get("alphaCount"), int),
        local_source=source, local=bool(source) and kind != "SYMBOL")


def sync_registry(client, embedded: FieldRegistry, instrument_type: str = "EQUITY", region: str = "USA",
                  delay: int = 1, universe: str = "TOP3000") -> tuple[FieldRegistry, dict]:
    """(registry, summary) from BRAIN's ``/data-fields`` through ``client`` (a ``BrainClient``).

    ``summary``: ``{"source": "brain", "listed": n BRAIN rows, "kept_embedded": n embedded-only fields,
    "skipped": n rows without id or with an unknown type, "truncated": bool}``. Raises the client's
    ``BrainError`` subclasses (the caller falls back to the embedded registry and says so).
    """
    catalogue = client.data_fields(instrument_type, region, delay, universe)
    fields: dict[str, FieldInfo] = {}
    skipped = 0
    for item in catalogue.items:
        info = field_info(item, embedded)
        if info is None:
            skipped += 1
            continue
        fields[info.id] = info
    kept = 0
    for fid, info in embedded.fields.items():
        if fid not in fields:
            fields[fid] = info
            kept += 1
    return FieldRegistry(fields), {"source": "brain", "listed": len(catalogue.items), "kept_embedded": kept,
                                   "skipped": skipped, "truncated": catalogue.truncated}


def registry_from_brain_or_embedded(settings, embedded: FieldRegistry, **client_options) -> tuple[FieldRegistry, dict]:
    """The registry the ``field_registry`` asset stores: synced from BRAIN when credentials are set
    (``BRAIN_SESSION_TOKEN`` or ``BRAIN_EMAIL`` + ``BRAIN_PASSWORD``), else the embedded one. A BRAIN error falls
    back to the embedded registry with ``summary["error"]`` saying why (no secret: the client's errors carry
    none). ``summary["source"]`` is ``brain`` or ``embedded``. ``client_options``: ``ClientOptions`` overrides
    (retries, timeouts, state file)."""
    import httpx

    from alpha_core.brain.client import BrainClient
    from alpha_core.brain.errors import BrainError

    creds = settings.brain_credentials()
    if creds.session_token is None and (creds.email is None or creds.password is None):
        return embedded, {"source": "embedded", "reason": "no BRAIN credentials set"}
    try:
        with BrainClient.from_settings(settings, **client_options) as client:
            return sync_registry(client, embedded)
    except (BrainError, httpx.HTTPError) as exc:
        return embedded, {"source": "embedded", "error": f"BRAIN field sync failed: {type(exc).__name__}: {exc}"}
