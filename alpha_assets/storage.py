"""Dagster instance storage: SQLite, with the ``duckdb`` pool's slot bookkeeping serialized across processes.

Dagster's SQL event log claims a pool slot in three separate statements: "is a slot free?", "queue this
step as assigned", "take the free slot row". Postgres makes that safe with ``SELECT ... FOR UPDATE``;
SQLite ignores the row lock, so two runs in two processes (two ``alpha mine``, or queued runs launched
by the daemon) can both be assigned the one slot and both write DuckDB at once. ``dagster.yaml`` therefore
names :class:`AlphaSqliteStorage`: the stock SQLite storage (same files under ``$DAGSTER_HOME``) whose
event log takes an exclusive ``flock`` on ``<event log dir>/concurrency.lock`` around every claim, free
and limit change, and which creates its SQLite files under a lock too (two processes migrating a fresh
``$DAGSTER_HOME`` at once corrupt alembic's version table). POSIX only, like the rest of the project.
"""
from __future__ import annotations

import fcntl
import functools
import os
import threading
from contextlib import contextmanager

from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (DagsterSqliteStorage, _event_logs_directory,
                                                  _runs_directory, _schedule_directory)
from dagster._serdes import ConfigurableClassData
from dagster._utils import mkdir_p

LOCK_NAME = "concurrency.lock"
_THREADS = threading.Lock()     # flock is per open file: threads of one process queue here first
_HELD = threading.local()       # a nested call inside a held lock runs under it (no self-deadlock)


@contextmanager
def file_lock(directory: str):
    """Hold an exclusive lock on ``<directory>/concurrency.lock``, blocking until every other process and
    thread holding it leaves. Re-entrant within a thread (every caller passes the same event log directory)."""
    if getattr(_HELD, "depth", 0):
        _HELD.depth += 1
        try:
            yield
        finally:
            _HELD.depth -= 1
        return
    mkdir_p(directory)
    with _THREADS, open(os.path.join(directory, LOCK_NAME), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        _HELD.depth = 1
        try:
            yield
        finally:
            _HELD.depth = 0
            fcntl.flock(fh, fcntl.LOCK_UN)


def _locked(method):
    """``method`` of the event log, run under ``file_lock`` of the storage's directory."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with file_lock(self._base_dir):
            return method(self, *args, **kwargs)
    return locked


class LockedSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` whose pool-slot claims, frees and limit changes run one at a time across
    every process sharing ``base_dir``."""

    claim_concurrency_slot = _locked(SqliteEventLogStorage.claim_concurrency_slot)
    free_concurrency_slots_for_run = _locked(SqliteEventLogStorage.free_concurrency_slots_for_run)
    free_concurrency_slot_for_step = _locked(SqliteEventLogStorage.free_concurrency_slot_for_step)
    initialize_concurrency_limit_to_default = _locked(SqliteEventLogStorage.initialize_concurrency_limit_to_default)
    set_concurrency_slots = _locked(SqliteEventLogStorage.set_concurrency_slots)
    delete_concurrency_limit = _locked(SqliteEventLogStorage.delete_concurrency_limit)


class AlphaSqliteStorage(DagsterSqliteStorage):
    """``DagsterSqliteStorage`` (same layout under ``base_dir``) with a :class:`LockedSqliteEventLogStorage`.

    Configured in ``dagster.yaml`` as ``storage: custom: {module: alpha_assets.storage, class:
    AlphaSqliteStorage, config: {base_dir: {env: DAGSTER_HOME}}}``."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self.base_dir = base_dir
        self._inst_data = inst_data
        with file_lock(_event_logs_directory(base_dir)):   # creating/migrating SQLite files must not race
            self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
            self._event_log_storage = LockedSqliteEventLogStorage(_event_logs_directory(base_dir))
            self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)
