"""The hostile corpus through `alpha simulate --file --json` (issue 11): every line answered, no traceback.

``hostile_expressions.txt`` holds what broke batches or the machine: constant sub-expressions that are not
literals inside time-series, cross-sectional and group operators (``ts_mean(abs(2), 5)``), windows of 1e9 and
1e300 days, a 993-character ``low-1-1-...-1`` chain, deep nesting, huge/tiny/NaN-like constants, division by
zero, malformed text. The command runs as a user runs it, in its own process on the real panel.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).with_name("hostile_expressions.txt")
ROOT = Path(__file__).resolve().parents[3]
MAX_RSS_MB = 2048  # the whole batch, panel included; the 993-character chain alone peaked at 2.7 GB
ISSUE_EXAMPLES = ("ts_mean(abs(2), 5) + close", "ts_delta(to_nan(10), 3) + close",
                  "group_rank(sqrt(1), sector) + close",
                  "ts_mean(close, 1e300)", "ts_arg_max(close, 1e9)", "group_backfill(high, market, 1500)",
                  "low" + "-1" * 495)


def _lines() -> list[str]:
    text = CORPUS.read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _no_constant(token: str):
    raise ValueError(f"non-finite number {token} in the JSON output")


def test_corpus_holds_the_issue_examples():
    lines = _lines()
    assert set(ISSUE_EXAMPLES) <= set(lines)
    assert len(lines) >= 100


HWM_RUNNER = (
    "import atexit, sys\n"
    "out = sys.argv.pop(1)\n"
    "def hwm():\n"
    "    kb = [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
    "    open(out, 'w').write(str(kb))\n"
    "atexit.register(hwm)\n"
    "from alpha_core.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n")


@pytest.mark.real_data
def test_every_hostile_line_is_answered(real_panel, tmp_path):
    lines = _lines()
    out, err = tmp_path / "out.json", tmp_path / "err.txt"
    # a first run fills numba's on-disk cache: on a fresh checkout (CI) the kernels that only this corpus uses
    # are compiled in the measured process otherwise, and compilation is not what the memory bound is about
    subprocess.run([sys.executable, "-m", "alpha_core.cli", "simulate", "--file", str(CORPUS), "--json"],
                   capture_output=True, cwd=ROOT, timeout=600)
    with out.open("wb") as fo, err.open("wb") as fe:
        # the CLI run in a child that reports its own peak (VmHWM of its address space, written to a file;
        # ru_maxrss would include the forking pytest process's own peak, past 2 GB in the full suite)
        proc = subprocess.Popen([sys.executable, "-c", HWM_RUNNER, str(tmp_path / "hwm"), "simulate", "--file",
                                 str(CORPUS), "--json"], stdout=fo, stderr=fe, cwd=ROOT)
        _, status, _ = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    stderr = err.read_text(errors="replace")
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "RuntimeWarning" not in stderr, stderr[-3000:]  # overflow in a kernel is NaN, not a warning line
    assert code in (0, 1), (code, stderr[-3000:])
    payload = json.loads(out.read_text(), parse_constant=_no_constant)
    assert [entry["expression"] for entry in payload] == lines
    for entry in payload:
        if not entry["ok"]:
            assert entry["error"] or entry["errors"], entry
    assert not any(entry["ok"] for entry in payload if entry["expression"] in ("close +", "()", ")))"))
    peak_mb = int((tmp_path / "hwm").read_text()) / 1024
    assert peak_mb < MAX_RSS_MB, f"alpha simulate peaked at {peak_mb:.0f} MB"
