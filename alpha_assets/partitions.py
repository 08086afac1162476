"""Partitions of the mining assets (ARCHITECTURE.md "Stages (assets) and their tables").

``daily``: mining days (wall-clock days from 2026-01-01; the panel itself is the fixed 2013-2018 history).
``field_partitions``: the dynamic ``field`` dimension, kept in step with ``field_registry`` by a sensor.
``date_x_field``: ``MultiPartitionsDefinition`` with dimensions ``date`` and ``field`` (key ``"date|field"``).
"""
from __future__ import annotations

import dagster as dg

MINING_START = "2026-01-01"
daily = dg.DailyPartitionsDefinition(start_date=MINING_START, end_offset=1)  # today is a valid mining day
field_partitions = dg.DynamicPartitionsDefinition(name="field")
date_x_field = dg.MultiPartitionsDefinition({"date": daily, "field": field_partitions})


def multi_key(date: str, field: str) -> dg.MultiPartitionKey:
    """The ``date_x_field`` key of (date, field)."""
    return dg.MultiPartitionKey({"date": date, "field": field})


def split_key(key) -> tuple[str, str]:
    """(date, field) of a ``date_x_field`` key (a MultiPartitionKey or its ``"date|field"`` string)."""
    if isinstance(key, dg.MultiPartitionKey):
        kb = key.keys_by_dimension
        return kb["date"], kb["field"]
    date, field = str(key).split("|", 1)
    return date, field


def partition_keys(context) -> list:
    """The partitions a run of a partitioned asset writes.

    date_x_field -> [(date, field), ...]; daily -> [date, ...]; field -> [field, ...] (sorted). Works for
    single-partition runs and single-run backfills (partition ranges).
    """
    pdef = context.assets_def.partitions_def
    keys = list(context.partition_keys)
    if isinstance(pdef, dg.MultiPartitionsDefinition):
        return sorted(split_key(k) for k in keys)
    return sorted(str(k) for k in keys)
