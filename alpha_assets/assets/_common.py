"""Shared bits of the stage assets."""

from pathlib import Path

GROUP = "mining"
POOL = "duckdb"


def artifacts_dir(duckdb) -> Path | None:
    """Folder for images beside the DuckDB file (under DAGSTER_HOME by default); None for ``:memory:``."""
    if duckdb.database == ":memory:":
        return None
    return Path(duckdb.database).resolve().parent / "artifacts"


def accepted_pnls(con, before_date: str):
    """(IS pnl, dates, IS sharpe) of every alpha submitted on a mining date before ``before_date``
    (the "accepted" set of the self-correlation check; in dry-run mode a dry-run record counts)."""
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.store import reads

    subs = reads.read_partitions(con, "submissions", None, "mining_date < CAST(? AS DATE)", [str(before_date)])
    if subs.height == 0:
        return []
    hashes = sorted(set(subs["alpha_hash"].to_list()))
    marks = ", ".join("?" * len(hashes))
    sims = reads.read_partitions(con, "simulations", None, f"alpha_hash IN ({marks}) AND status = 'ok'", hashes)
    out, seen = [], set()
    for r in sims.iter_rows(named=True):
        if r["alpha_hash"] in seen:
            continue
        seen.add(r["alpha_hash"])
        pnl, dates = is_pnl(r)
        out.append((pnl, dates, r["is_sharpe"] or 0.0))
    return out
