"""The ``alpha`` command (ARCHITECTURE.md "Commands a user runs").

``alpha lint``, ``alpha fields``, ``alpha simulate``, ``alpha evaluate`` run on alpha_core alone;
``alpha mine`` hands over to the Dagster layer (``alpha_assets.mine``), imported only when that
command runs, so the domain library itself never depends on Dagster.

A bad flag value is a usage error: one line naming the flag (``alpha simulate: error: argument --decay:
...``), exit code 2, checked before anything is simulated or written; settings are validated by
``SimSettings`` (BRAIN's messages), dates by ``backtest.trading_periods``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from alpha_core import report

# SimSettings field -> (flag, what it accepts); the help text and the error hint of each settings flag
SETTING_FLAGS = {
    "universe": ("--universe", "TOP500 or TOP200; TOP1000/TOP3000 run as TOP500"),
    "delay": ("--delay", "1, or 0 approximated with the delay-1 pipeline"),
    "decay": ("--decay", "linear decay in days, an integer >= 0, 0 = off"),
    "neutralization": ("--neutralization", "NONE, MARKET, SECTOR, INDUSTRY or SUBINDUSTRY"),
    "truncation": ("--truncation", "max weight per instrument, a number in [0, 1], 0 = off"),
    "pasteurization": ("--pasteurization", "ON or OFF"),
    "nanHandling": ("--nan-handling", "ON or OFF"),
}


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` whose usage errors are one line, ``alpha simulate: error: argument --decay: ...``, exit 2
    (``alpha mine``'s parser too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


def _usage_error(args: argparse.Namespace, flag: str | None, message: str) -> NoReturn:
    """Exit 2 with one line naming ``flag`` (e.g. ``"--decay"``; None for no particular flag)."""
    args.parser.error(f"argument {flag}: {message}" if flag else message)


def _read_expressions(args: argparse.Namespace) -> list[str]:
    """Expressions from the command line, then from ``--file`` (one per line; blank and ``#`` lines skipped)."""
    texts = list(args.expressions or [])
    if args.file:
        source = sys.stdin if args.file == "-" else None
        try:
            content = source.read() if source else Path(args.file).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            _usage_error(args, "--file", f"cannot read {args.file}: {exc.strerror}")
        texts += [line for line in content.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not texts:
        _usage_error(args, None, "give at least one expression (or --file F)")
    return texts


def _check_writable(args: argparse.Namespace, flag: str, path: str) -> None:
    """Usage error unless ``path`` can be written (tried by opening it for append; a file this creates is
    removed again), so a bad output path fails before any work."""
    target = Path(path)
    existed = target.exists()
    try:
        with target.open("ab"):
            pass
    except OSError as exc:
        _usage_error(args, flag, f"cannot write {path}: {exc.strerror}")
    if not existed:
        target.unlink(missing_ok=True)


def cmd_lint(args: argparse.Namespace) -> int:
    from alpha_core.expr import lint_many

    results = lint_many(_read_expressions(args), report.registry_for_lint())
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in results:
            print(report.format_lint(r))
    return 0 if all(r.ok for r in results) else 1


def cmd_fields(args: argparse.Namespace) -> int:
    rows = report.field_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(report.format_table(rows, ["id", "kind", "dataset", "coverage", "local", "local_source"]))
    return 0


def _settings(args: argparse.Namespace):
    """``SimSettings`` from the settings flags (given as text, coerced and checked by ``SimSettings``); a bad
    value is a usage error naming its flag, with BRAIN's message and what the flag accepts."""
    from alpha_core.sim.settings import SettingsError, SimSettings, UnsupportedLocal

    given = {name: getattr(args, flag[2:].replace("-", "_")) for name, (flag, _) in SETTING_FLAGS.items()}
    try:
        settings = SimSettings(**{k: v for k, v in given.items() if v is not None})
        settings.check_local()
    except SettingsError as exc:
        _usage_error(args, None, "; ".join(
            f"argument {SETTING_FLAGS[name][0]}: {' '.join(messages)} (expected: {SETTING_FLAGS[name][1]})"
            for name, messages in sorted(exc.errors.items())))
    except UnsupportedLocal as exc:
        _usage_error(args, SETTING_FLAGS[exc.field][0], str(exc))
    return settings


def _check_dates(args: argparse.Namespace, panel, settings) -> None:
    """Usage error naming ``--start``/``--end`` when the range cannot be simulated on ``panel``."""
    from alpha_core.sim.backtest import DateRangeError, trading_periods

    try:
        trading_periods(panel, settings, start=args.start, end=args.end)
    except DateRangeError as exc:
        _usage_error(args, "/".join(f"--{b}" for b in exc.bounds), str(exc))


def cmd_simulate(args: argparse.Namespace) -> int:
    from alpha_core.sim.simulate import iter_simulate

    settings = _settings(args)
    texts = _read_expressions(args)
    if args.plot:
        if Path(args.plot).suffix.lower() != ".png":
            _usage_error(args, "--plot", f"{args.plot!r} must end in .png")
        _check_writable(args, "--plot", args.plot)
    panel = report.load_panel_or_exit()
    if args.start is not None or args.end is not None:
        _check_dates(args, panel, settings)
    # each alpha's answer is printed as soon as it is done (a JSON list is closed even when interrupted), so a
    # batch never loses the results it has
    as_list = args.json and len(texts) > 1
    progress = len(texts) > 1 and sys.stderr.isatty()
    simulated, failed = [], 0
    if as_list:
        print("[")
    try:
        for i, outcome in enumerate(iter_simulate(texts, panel, settings, start=args.start, end=args.end)):
            if args.json:
                text = json.dumps(outcome.to_dict(), indent=2)
                if as_list:  # the separator goes before an item, so the list closes cleanly at any point
                    text = ("  " if i == 0 else ", ") + text.replace("\n", "\n  ")
                print(text, flush=True)
            else:
                print(report.format_simulation(outcome), flush=True)
            failed += outcome.result is None
            if args.plot and outcome.result is not None:
                simulated.append(outcome)
            if progress:
                print(f"\r{i + 1}/{len(texts)} simulated, {failed} failed", end="", file=sys.stderr, flush=True)
    finally:
        if as_list:
            print("]", flush=True)
        if progress:
            print(file=sys.stderr)
    if args.plot:
        report.plot_pnl(simulated, args.plot)
        print(f"PnL chart written to {args.plot}", file=sys.stderr)
    return 0 if failed == 0 else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    from alpha_core.sim.evaluate import EvaluationError
    from alpha_core.sim.simulate import ExpressionError, evaluate_expression

    settings = _settings(args)
    _check_writable(args, "--out", args.out)
    panel = report.load_panel_or_exit()
    try:
        frame = evaluate_expression(args.expression, panel, settings)
    except ExpressionError as exc:
        print(report.format_lint(exc.lint), file=sys.stderr)
        return 1
    except EvaluationError as exc:   # BRAIN-only operator, evaluation budget, kernel error: the alpha's fault
        print(f"alpha: {exc.code}: {exc}", file=sys.stderr)
        return 1
    frame.write_parquet(args.out)
    print(f"{frame.height} rows (date, ticker, value) written to {args.out}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the result page of one alpha (``alpha_core.page``) and print its path."""
    from alpha_core.data.loader import DataFileError
    from alpha_core.page import PageError, write_page

    db = _db_or_exit(args)
    if args.out:
        _check_writable(args, "--out", args.out)
    try:
        path = write_page(db, args.hash, Path(args.out) if args.out else None)
    except (PageError, DataFileError) as exc:
        print(f"alpha report: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"alpha report: cannot write the page: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _db_or_exit(args: argparse.Namespace) -> Path:
    """The DuckDB file of ``--db`` or the settings (``ALPHA_DUCKDB`` / ``$DAGSTER_HOME/alpha.duckdb``); a usage
    error (exit 2) when it does not exist."""
    from alpha_core.config import SettingsEnvError, load_settings

    if args.db:
        db = Path(args.db)
    else:
        try:
            db = load_settings().resolved_duckdb()
        except SettingsEnvError as exc:
            _usage_error(args, None, str(exc))
    if not db.is_file():
        _usage_error(args, "--db" if args.db else None,
                     f"no DuckDB file at {db}" + ("" if args.db else " (set ALPHA_DUCKDB or pass --db)"))
    return db


def cmd_brain_simulate(args: argparse.Namespace) -> int:
    """Simulate the day's ``--top`` ranked winners on BRAIN (``ALPHA_BRAIN_URL``) through the ledger; one line per
    alpha (status, BRAIN alpha id, IS sharpe). Exit 1 when BRAIN cannot be used."""
    import httpx

    from alpha_core.brain.calibration import send_day_to_brain
    from alpha_core.brain.client import BrainClient
    from alpha_core.brain.errors import BrainError
    from alpha_core.config import SettingsEnvError, load_settings

    db = _db_or_exit(args)
    try:
        settings = load_settings()
        with BrainClient.from_settings(settings) as client:
            outcomes = send_day_to_brain(str(db), args.date, args.top, client)
    except (SettingsEnvError, ValueError, BrainError, httpx.HTTPError) as exc:
        print(f"alpha brain simulate: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for o in outcomes:
        sharpe = ((o.alpha or {}).get("is") or {}).get("sharpe")
        print(f"{o.alpha_hash[:12]}  {o.status:<10} alpha {o.alpha_id or '-':<10} IS sharpe "
              f"{'-' if sharpe is None else f'{sharpe:.2f}'}  {'posted' if o.posted else 'from the ledger'}"
              + (f"  {o.message}" if o.message else ""))
    return 0


def cmd_brain_calibration(args: argparse.Namespace) -> int:
    """Local versus BRAIN for every alpha simulated on both (``alpha_core.brain.calibration``), and the agreement."""
    from alpha_core.brain.calibration import calibration_rows, calibration_summary
    from alpha_core.report import format_table
    from alpha_core.store.writes import reading

    db = _db_or_exit(args)
    with reading(db) as con:
        rows = calibration_rows(con)
    summary = calibration_summary(rows)
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=2))
        return 0
    if not rows:
        print("no alpha is simulated both locally and on BRAIN yet (alpha brain simulate --date D)")
        return 0
    cols = ["alpha_hash", "local_sharpe", "brain_sharpe", "local_turnover", "brain_turnover", "local_fitness",
            "brain_fitness", "local_verdict", "brain_verdict"]
    print(format_table([{**r, "alpha_hash": r["alpha_hash"][:12]} for r in rows], cols))
    print("agreement: " + "  ".join(f"{k} {'-' if v is None else (f'{v:.3g}' if isinstance(v, float) else v)}"
                                    for k, v in summary.items()))
    return 0


def cmd_brain_ledger(args: argparse.Namespace) -> int:
    """Print the BRAIN ledger (``alpha_core.brain.ledger``): one line per alpha hash, optionally one state."""
    from alpha_core.brain.ledger import Ledger
    from alpha_core.report import format_table

    rows = Ledger(_db_or_exit(args)).entries([args.state.upper()] if args.state else None)
    if not rows:
        print("no alpha in the BRAIN ledger" + (f" in state {args.state.upper()}" if args.state else ""))
        return 0
    cols = ["alpha_hash", "state", "simulation_id", "alpha_id", "submit_state", "updated_at", "message"]
    print(format_table([{**r.model_dump(include=set(cols)), "alpha_hash": r.alpha_hash[:12],
                         "message": (r.message or "")[:70]} for r in rows], cols))
    return 0


def cmd_brain_forget(args: argparse.Namespace) -> int:
    """Drop ``UNKNOWN`` ledger rows (a POST whose fate is unknown) once a human checked BRAIN: they may be posted
    again. Exit 1 when a hash prefix matches no UNKNOWN row or several rows."""
    from alpha_core.brain.ledger import Ledger

    ledger = Ledger(_db_or_exit(args))
    unknown = [r.alpha_hash for r in ledger.entries(["UNKNOWN"])]
    code = 0
    for prefix in args.hashes:
        hits = [h for h in unknown if h.startswith(prefix)]
        if len(hits) != 1:
            print(f"alpha brain forget: {prefix}: {'no' if not hits else len(hits)} UNKNOWN row(s) match; "
                  "see alpha brain ledger --state UNKNOWN", file=sys.stderr)
            code = 1
            continue
        ledger.forget(hits[0])
        print(f"{hits[0][:12]}: forgotten; the next run may post it again")
    return code


def cmd_brain_emulator(args: argparse.Namespace) -> int:
    """Serve the loopback BRAIN emulator (``alpha_core.brain.emulator``) until Ctrl-C; the account is
    BRAIN_EMAIL / BRAIN_PASSWORD (never printed)."""
    import time

    from pydantic import ValidationError

    from alpha_core.brain.emulator import EmulatorConfig, EmulatorError, check_loopback, run_in_thread
    from alpha_core.config import SettingsEnvError, load_settings

    try:
        check_loopback(args.host)
    except EmulatorError as exc:
        _usage_error(args, "--host", str(exc))
    try:
        settings = load_settings()
    except SettingsEnvError as exc:
        _usage_error(args, None, str(exc))
    missing = [n for n, v in (("BRAIN_EMAIL", settings.brain_email), ("BRAIN_PASSWORD", settings.brain_password))
               if v is None or not v.get_secret_value()]
    if missing:
        _usage_error(args, None, f"set {' and '.join(missing)}: the emulated account's credentials")
    try:
        config = EmulatorConfig(email=settings.brain_email.get_secret_value(), password=settings.brain_password,
                                faults=args.faults or "", slots=args.slots, fault_gap=args.fault_gap)
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = {"faults": "--faults", "slots": "--slots", "fault_gap": "--fault-gap"}.get(
            str(err["loc"][0]) if err["loc"] else "")
        _usage_error(args, flag, err["msg"].removeprefix("Value error, "))
    panel = report.load_panel_or_exit()   # a clear error now, not at the first simulation
    try:
        with run_in_thread(config, panel, port=args.port, host=args.host) as handle:
            faults = ", ".join(sorted(config.faults)) or "none"
            print(f"BRAIN emulator serving {handle.url} (slots {config.slots}, faults: {faults}); Ctrl-C stops it",
                  flush=True)
            while True:
                time.sleep(3600)
    except EmulatorError as exc:
        print(f"alpha brain-emulator: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def cmd_mine(argv: Sequence[str]) -> int:
    """Hand ``alpha mine ...`` to the Dagster layer (its own parser owns the options)."""
    mine = importlib.import_module("alpha_assets.mine")
    return mine.main(list(argv))


def _add_settings(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings (SIMULATION.md §1; defaults: TOP500, delay 1, decay 0, INDUSTRY, 0.08, ON, OFF)")
    for flag, accepts in SETTING_FLAGS.values():   # text: SimSettings coerces and validates it
        g.add_argument(flag, help=accepts)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="alpha", description="Mine, lint and simulate WorldQuant BRAIN FastExpr alphas.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("lint", help="parse and lint expressions (exit 1 if any has an error)")
    p.add_argument("expressions", nargs="*", metavar="EXPR")
    p.add_argument("--file", help="file with one expression per line ('-' = stdin)")
    p.add_argument("--json", action="store_true", help="JSON list: expression, ok, errors, warnings, canonical, hash")
    p.set_defaults(func=cmd_lint, parser=p)

    p = sub.add_parser("fields", help="the field registry with local availability")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fields, parser=p)

    p = sub.add_parser("simulate", help="simulate expressions on the local panel and print BRAIN-style metrics")
    p.add_argument("expressions", nargs="*", metavar="EXPR")
    p.add_argument("--file", help="file with one expression per line ('-' = stdin)")
    _add_settings(p)
    p.add_argument("--start", help="first trading date YYYY-MM-DD, inside the panel: positions and every metric "
                                   "period (IS, OS, yearly, train/test) start there; earlier history still "
                                   "feeds the windows and the decay")
    p.add_argument("--end", help="last trading date YYYY-MM-DD, inside the panel: positions and every metric "
                                 "period end there")
    p.add_argument("--json", action="store_true", help="JSON (one object, or a list when given several)")
    p.add_argument("--plot", metavar="FILE.png", help="write the cumulative PnL chart as a PNG")
    p.set_defaults(func=cmd_simulate, parser=p)

    p = sub.add_parser("evaluate", help="write raw alpha values (date, ticker, value) before settings")
    p.add_argument("expression", metavar="EXPR")
    p.add_argument("--out", required=True, help="output .parquet file")
    _add_settings(p)
    p.set_defaults(func=cmd_evaluate, parser=p)

    p = sub.add_parser("report", help="write the result page of one stored alpha as a self-contained HTML file")
    p.add_argument("hash", metavar="HASH", help="an alpha hash, or a unique prefix of one, stored in the DuckDB file")
    p.add_argument("--out", metavar="F.html", help="output file (default <db dir>/reports/<hash12>.html)")
    p.add_argument("--db", metavar="PATH", help="the DuckDB file (default ALPHA_DUCKDB or $DAGSTER_HOME/alpha.duckdb)")
    p.set_defaults(func=cmd_report, parser=p)

    from alpha_core.brain.emulator.config import faults_help

    p = sub.add_parser("brain-emulator", help="serve the loopback BRAIN emulator (BRAIN_API.md §13) until Ctrl-C",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="A local HTTP server speaking BRAIN's REST API with the local simulator as its "
                                   "engine. The account is BRAIN_EMAIL / BRAIN_PASSWORD; other credentials get 401. "
                                   "Faults can be switched at run time: PUT /_emulator/faults {\"faults\": [...]}.",
                       epilog="faults (--faults a,b):\n" + faults_help())
    p.add_argument("--port", type=int, default=0, help="TCP port (default 0: a free one, printed)")
    p.add_argument("--host", default="127.0.0.1", help="must be 127.0.0.1: the emulator is loopback only")
    p.add_argument("--faults", metavar="A,B", help="comma-separated faults switched on at start (see below)")
    p.add_argument("--slots", type=int, default=3, help="concurrent simulations of the account (default 3)")
    p.add_argument("--fault-gap", type=int, default=4,
                   help="normal answers between two bursts of a burst fault (default 4: dense; 50 is closer to "
                        "a bad day on BRAIN)")
    p.set_defaults(func=cmd_brain_emulator, parser=p)

    brain = sub.add_parser("brain", help="BRAIN: simulate the day's ranked winners, compare local and BRAIN")
    bsub = brain.add_subparsers(dest="brain_command", required=True,
                                metavar="{simulate,calibration,ledger,forget}")
    p = bsub.add_parser("simulate", help="simulate the day's best-ranked winners on BRAIN (ALPHA_BRAIN_URL)")
    p.add_argument("--date", required=True, help="mining day YYYY-MM-DD whose submission order is read")
    p.add_argument("--top", type=int, default=4, help="how many of the ranked winners (default 4)")
    p.add_argument("--db", metavar="PATH", help="the DuckDB file (default ALPHA_DUCKDB or $DAGSTER_HOME/alpha.duckdb)")
    p.set_defaults(func=cmd_brain_simulate, parser=p)
    p = bsub.add_parser("calibration", help="local versus BRAIN metrics and verdicts, side by side")
    p.add_argument("--db", metavar="PATH", help="the DuckDB file (default ALPHA_DUCKDB or $DAGSTER_HOME/alpha.duckdb)")
    p.add_argument("--json", action="store_true", help="rows and summary as JSON")
    p.set_defaults(func=cmd_brain_calibration, parser=p)
    p = bsub.add_parser("ledger", help="every alpha sent to BRAIN: state, ids, message (the brain_ledger table)")
    p.add_argument("--state", help="only rows in this state, e.g. UNKNOWN, IN_FLIGHT, TIMEOUT")
    p.add_argument("--db", metavar="PATH", help="the DuckDB file (default ALPHA_DUCKDB or $DAGSTER_HOME/alpha.duckdb)")
    p.set_defaults(func=cmd_brain_ledger, parser=p)
    p = bsub.add_parser("forget", help="drop UNKNOWN ledger rows after checking BRAIN's UI, so they may be posted "
                                       "again (hashes or unique prefixes)")
    p.add_argument("hashes", nargs="+", metavar="HASH")
    p.add_argument("--db", metavar="PATH", help="the DuckDB file (default ALPHA_DUCKDB or $DAGSTER_HOME/alpha.duckdb)")
    p.set_defaults(func=cmd_brain_forget, parser=p)

    sub.add_parser("mine", help="run a day's mining pipeline through Dagster "
                                "(alpha mine --date YYYY-MM-DD [--fields f1,f2] [--budget N]; see alpha mine -h)")
    from alpha_core.gen.llm.cli import add_research_parser

    add_research_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``alpha`` console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["mine"]:
        return cmd_mine(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
