"""The ``alpha`` command (ARCHITECTURE.md "Commands a user runs").

``alpha lint``, ``alpha fields``, ``alpha simulate``, ``alpha evaluate`` run on alpha_core alone;
``alpha mine`` hands over to the Dagster layer (``alpha_assets.mine``), imported only when that
command runs, so the domain library itself never depends on Dagster.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Sequence

from alpha_core import report


def _read_expressions(args: argparse.Namespace) -> list[str]:
    """Expressions from the command line, then from ``--file`` (one per line; blank and ``#`` lines skipped)."""
    texts = list(args.expressions or [])
    if args.file:
        source = sys.stdin if args.file == "-" else None
        try:
            content = source.read() if source else Path(args.file).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SystemExit(f"alpha: cannot read {args.file}: {exc.strerror}") from None
        texts += [line for line in content.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not texts:
        raise SystemExit("alpha: give at least one expression (or --file F)")
    return texts


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
    from alpha_core.sim.settings import SettingsError, SimSettings, UnsupportedLocal

    given = {
        "universe": args.universe, "delay": args.delay, "decay": args.decay,
        "neutralization": args.neutralization, "truncation": args.truncation,
        "pasteurization": args.pasteurization, "nanHandling": args.nan_handling,
    }
    try:
        settings = SimSettings(**{k: v for k, v in given.items() if v is not None})
        settings.check_local()
    except SettingsError as exc:
        raise SystemExit(f"alpha: invalid settings: {exc}") from None
    except UnsupportedLocal as exc:
        raise SystemExit(f"alpha: UNSUPPORTED_LOCAL: {exc}") from None
    return settings


def cmd_simulate(args: argparse.Namespace) -> int:
    from alpha_core.sim.simulate import simulate_many

    settings = _settings(args)
    texts = _read_expressions(args)
    panel = report.load_panel_or_exit()
    outcomes = simulate_many(texts, panel, settings, start=args.start, end=args.end)
    if args.json:
        payload = [o.to_dict() for o in outcomes]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2))
    else:
        for o in outcomes:
            print(report.format_simulation(o))
    if args.plot:
        report.plot_pnl([o for o in outcomes if o.result is not None], args.plot)
        print(f"PnL chart written to {args.plot}", file=sys.stderr)
    return 0 if all(o.result is not None for o in outcomes) else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    from alpha_core.sim.simulate import ExpressionError, evaluate_expression

    settings = _settings(args)
    panel = report.load_panel_or_exit()
    try:
        frame = evaluate_expression(args.expression, panel, settings)
    except ExpressionError as exc:
        print(report.format_lint(exc.lint), file=sys.stderr)
        return 1
    frame.write_parquet(args.out)
    print(f"{frame.height} rows (date, ticker, value) written to {args.out}", file=sys.stderr)
    return 0


def cmd_mine(argv: Sequence[str]) -> int:
    """Hand ``alpha mine ...`` to the Dagster layer (its own parser owns the options)."""
    mine = importlib.import_module("alpha_assets.mine")
    return mine.main(list(argv))


def _add_settings(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings (SIMULATION.md §1; defaults: TOP500, delay 1, decay 0, INDUSTRY, 0.08, ON, OFF)")
    g.add_argument("--universe", help="TOP500 or TOP200 (TOP1000/TOP3000 run as TOP500)")
    g.add_argument("--delay", type=int, help="1, or 0 (approximated with the delay-1 pipeline)")
    g.add_argument("--decay", type=int, help="linear decay in days, 0 = off")
    g.add_argument("--neutralization", help="NONE, MARKET, SECTOR, INDUSTRY or SUBINDUSTRY")
    g.add_argument("--truncation", type=float, help="max weight per instrument, 0 = off")
    g.add_argument("--pasteurization", help="ON or OFF")
    g.add_argument("--nan-handling", dest="nan_handling", help="ON or OFF")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alpha", description="Mine, lint and simulate WorldQuant BRAIN FastExpr alphas.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("lint", help="parse and lint expressions (exit 1 if any has an error)")
    p.add_argument("expressions", nargs="*", metavar="EXPR")
    p.add_argument("--file", help="file with one expression per line ('-' = stdin)")
    p.add_argument("--json", action="store_true", help="JSON list: expression, ok, errors, warnings, canonical, hash")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("fields", help="the field registry with local availability")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fields)

    p = sub.add_parser("simulate", help="simulate expressions on the local panel and print BRAIN-style metrics")
    p.add_argument("expressions", nargs="*", metavar="EXPR")
    p.add_argument("--file", help="file with one expression per line ('-' = stdin)")
    _add_settings(p)
    p.add_argument("--start", help="first trading date YYYY-MM-DD (earlier history still feeds the windows)")
    p.add_argument("--end", help="last trading date YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="JSON (one object, or a list when given several)")
    p.add_argument("--plot", metavar="FILE", help="write the cumulative PnL chart as a PNG")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("evaluate", help="write raw alpha values (date, ticker, value) before settings")
    p.add_argument("expression", metavar="EXPR")
    p.add_argument("--out", required=True, help="output .parquet file")
    _add_settings(p)
    p.set_defaults(func=cmd_evaluate)

    sub.add_parser("mine", help="run a day's mining pipeline through Dagster "
                                "(alpha mine --date YYYY-MM-DD [--fields f1,f2] [--per-field N]; see alpha mine -h)")
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
