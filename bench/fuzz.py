"""Fuzz `alpha simulate --file` with random well-formed expressions and the hostile corpus (issue 11).

    python bench/fuzz.py                      # 2,000 random trees in batches of 150, plus the hostile corpus
    python bench/fuzz.py --n 300 --seed 7 --batch 50 --depth 5 --triage

Each batch is written to a temp file and run as a user would, `alpha simulate --file F --json` in its own
process; per batch it records lines given vs answered, exit code, tracebacks on stderr, non-finite numbers
in the JSON, the child's peak RSS (``os.wait4``) and wall time. Then it prints the counts for the random
trees and the corpus side by side. ``--triage`` re-runs each expression of a lost batch alone and groups the
failures by their exception (shortest expression shown), which is how a failure is reported. ``--sim-args``
passes settings through (``--sim-args "--nan-handling ON --neutralization NONE"``).
Expressions come from ``alpha_core.gen.random_expr.random_expression`` over the real panel's fields.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "core" / "sim" / "hostile_expressions.txt"


@dataclass
class Tally:
    """Counts over the batches of one source (random trees or the corpus)."""

    given: int = 0
    lint_clean: int = 0
    ok: int = 0
    answered: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)
    batches: int = 0
    lost: int = 0
    tracebacks: int = 0
    nonfinite: int = 0
    max_rss_mb: float = 0.0
    seconds: float = 0.0
    lost_lines: list[str] = field(default_factory=list)
    stderr_tails: collections.Counter = field(default_factory=collections.Counter)
    samples: dict = field(default_factory=dict)  # error code -> (shortest expression, its error message)


def _nonfinite(obj) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_nonfinite(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_nonfinite(v) for v in obj)
    return False


def _run_batch(lines: list[str], timeout: float, extra: list[str]) -> tuple[int | None, str, str, float, float]:
    """(exit code or None on timeout, stdout, stderr, peak RSS in MB, seconds) of one `alpha simulate` run."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out, err = Path(tmp, "batch.txt"), Path(tmp, "out.json"), Path(tmp, "err.txt")
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        cmd = [sys.executable, "-m", "alpha_core.cli", "simulate", "--file", str(src), "--json", *extra]
        start = time.perf_counter()
        with out.open("wb") as fo, err.open("wb") as fe:
            proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, cwd=ROOT)
            code, rss = None, 0.0
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    code, rss = os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024
                    proc.returncode = code
                    break
                if time.perf_counter() - start > timeout:
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    proc.returncode, rss = os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024
                    break
                time.sleep(0.05)
        seconds = time.perf_counter() - start
        return code, out.read_text(errors="replace"), err.read_text(errors="replace"), rss, seconds


def _error_code(entry: dict) -> str:
    errors = entry.get("errors") or []
    if errors:
        return errors[0].get("code", "?")
    text = entry.get("error") or "?"
    m = re.match(r"[A-Z_]+", text)
    return m.group(0) if m else text[:40]


def run_source(lines: list[str], batch: int, timeout: float, tally: Tally, lint_ok: list[bool],
               extra: list[str]) -> None:
    """Run ``lines`` through `alpha simulate` in batches and add the counts to ``tally``."""
    tally.given += len(lines)
    tally.lint_clean += sum(lint_ok)
    for i in range(0, len(lines), batch):
        chunk = lines[i:i + batch]
        code, out, err, rss, seconds = _run_batch(chunk, timeout, extra)
        tally.batches += 1
        tally.seconds += seconds
        tally.max_rss_mb = max(tally.max_rss_mb, rss)
        if "Traceback" in err:
            tally.tracebacks += 1
            tally.stderr_tails[err.strip().splitlines()[-1][:200]] += 1
        try:
            payload = json.loads(out)
            payload = [payload] if isinstance(payload, dict) else payload
        except ValueError:
            payload = None
        answered = len(payload) if isinstance(payload, list) else 0
        tally.answered += min(answered, len(chunk))
        lost = code not in (0, 1) or payload is None or answered != len(chunk)
        if lost:
            tally.lost += 1
            tally.lost_lines.extend(chunk)
        for entry in payload or []:
            if entry.get("ok"):
                tally.ok += 1
            else:
                code_ = _error_code(entry)
                tally.errors[code_] += 1
                expr = entry.get("expression") or ""
                if code_ not in tally.samples or len(expr) < len(tally.samples[code_][0]):
                    tally.samples[code_] = (expr, (entry.get("error") or "")[:200])
            tally.nonfinite += _nonfinite(entry)
        print(f"  batch {tally.batches:3d}: {len(chunk):3d} given, {answered:3d} answered, exit {code}, "
              f"{'TRACEBACK ' if 'Traceback' in err else ''}{rss:7.0f} MB, {seconds:6.1f} s", flush=True)


def triage(lines: list[str], timeout: float, extra: list[str]) -> dict[str, list[str]]:
    """Each line of a lost batch alone through `alpha simulate`: failure class -> the lines that show it.

    The class is the last stderr line of a traceback (digits replaced by N), else the exit code.
    """
    classes: dict[str, list[str]] = collections.defaultdict(list)
    for text in lines:
        code, out, err, _, _ = _run_batch([text], timeout, extra)
        if "Traceback" in err:
            classes[re.sub(r"\d+", "N", err.strip().splitlines()[-1])[:200]].append(text)
        elif code not in (0, 1):
            classes[f"exit code {code}"].append(text)
    return classes


def main(argv: list[str] | None = None) -> int:
    """Generate, run, print the counts; returns 0 when no batch was lost and no traceback printed, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="random trees (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=150, help="expressions per `alpha simulate` run (default 150)")
    parser.add_argument("--depth", type=int, default=4, help="max call nesting of a tree (default 4)")
    parser.add_argument("--p-constant", type=float, default=0.05, help="share of leaves that are constant calls")
    parser.add_argument("--p-long-window", type=float, default=0.02, help="share of windows of 513-5,000 days")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a batch is killed")
    parser.add_argument("--no-corpus", action="store_true", help="skip the hostile corpus")
    parser.add_argument("--sim-args", default="", help='extra `alpha simulate` options, e.g. "--nan-handling ON"')
    parser.add_argument("--triage", action="store_true", help="classify the failures of lost batches")
    args = parser.parse_args(argv)

    from alpha_core.data.loader import load_panel
    from alpha_core.expr import lint
    from alpha_core.gen.random_expr import random_expression
    from alpha_core.sim.simulate import registry_for

    panel = load_panel()
    registry = registry_for(panel)
    fields = sorted(set(panel.field_names()) - set(panel.group_fields))
    rng = np.random.default_rng(args.seed)
    groups = sorted(panel.group_fields)
    trees = [random_expression(rng, fields, groups, max_depth=args.depth, p_constant=args.p_constant,
                               p_long_window=args.p_long_window) for _ in range(args.n)]
    corpus = [] if args.no_corpus else [
        line for line in CORPUS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")]

    sources = {"random": (trees, Tally()), "hostile": (corpus, Tally())}
    for name, (lines, tally) in sources.items():
        if lines:
            print(f"{name}: {len(lines)} expressions", flush=True)
            run_source(lines, args.batch, args.timeout, tally, [lint(t, registry).ok for t in lines],
                       args.sim_args.split())

    rows = [("generated", "given"), ("lint-clean", "lint_clean"), ("answered", "answered"), ("simulated ok", "ok"),
            ("batches", "batches"), ("batches lost", "lost"), ("tracebacks", "tracebacks"),
            ("entries with NaN/inf", "nonfinite"), ("max RSS MB", "max_rss_mb"), ("seconds", "seconds")]
    print(f"\n{'':24s}{'random':>12s}{'hostile':>12s}")
    for label, attr in rows:
        vals = [getattr(t, attr) for _, t in sources.values()]
        print(f"{label:24s}" + "".join(f"{v:12.0f}" if isinstance(v, float) else f"{v:12d}" for v in vals))
    codes = sorted(set().union(*(t.errors for _, t in sources.values())))
    for code in codes:
        print(f"{'error ' + code:24s}" + "".join(f"{t.errors[code]:12d}" for _, t in sources.values()))
    for name, (_, tally) in sources.items():
        for code, (expr, message) in sorted(tally.samples.items()):
            print(f"{name} {code} e.g. {expr[:160]}  ->  {message}")
        for tail, count in tally.stderr_tails.most_common():
            print(f"{name} traceback x{count}: {tail}")
    if args.triage:
        for name, (_, tally) in sources.items():
            if tally.lost_lines:
                print(f"\ntriage of {len(tally.lost_lines)} lines of {name}'s lost batches:")
                classes = triage(tally.lost_lines, args.timeout, args.sim_args.split())
                for cls, texts in sorted(classes.items(), key=lambda kv: -len(kv[1])):
                    print(f"  x{len(texts):4d} {cls}\n         e.g. {min(texts, key=len)[:200]}")
    bad = any(t.lost or t.tracebacks for _, t in sources.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
