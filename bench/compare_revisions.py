"""Side-by-side timing of the simulator at two git revisions, interleaved in one process.

The machine's speed drifts by 10-20% over minutes (shared VM), so two benchmark runs made at different
times cannot tell a 10% change from noise. This script imports the ``alpha_core`` of another revision as
a renamed package next to the working tree's, and for each benchmark alpha alternates the two
``simulate`` calls on the real panel (best of ``--repeat`` each), so both see the same machine state.

    python bench/compare_revisions.py HEAD~3           # working tree vs HEAD~3
    python bench/compare_revisions.py 90318f6 --repeat 5
    python bench/compare_revisions.py HEAD --per-alpha    # and each alpha's pair, sorted by ratio

Prints the median and total of lint + evaluation + simulation per alpha for both, and their ratio. Both
sides read the same real panel (``ALPHA_DATA_DIR`` or ``../shared/data/sp500``). The other revision's numba
kernels compile on first use (a minute or two; cached in the temporary copy only).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "NUMBA_NUM_THREADS", "POLARS_MAX_THREADS", "RAYON_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

OTHER = "alpha_core_ref"


def export_revision(rev: str, dest: Path) -> None:
    """Write ``alpha_core`` of ``rev`` to ``dest/alpha_core_ref`` with its imports renamed."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "alpha_core"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    shutil.move(str(dest / "alpha_core"), str(dest / OTHER))
    word = re.compile(r"\balpha_core\b")
    for path in (dest / OTHER).rglob("*.py"):
        path.write_text(word.sub(OTHER, path.read_text()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rev", help="git revision to compare the working tree with (e.g. HEAD~1, a commit hash)")
    ap.add_argument("--repeat", type=int, default=3, help="timed calls per alpha and side, best kept")
    ap.add_argument("--per-alpha", action="store_true", help="also print each alpha's two times, by ratio")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    with tempfile.TemporaryDirectory(prefix="alpha_ref_") as tmp:
        export_revision(args.rev, Path(tmp))
        sys.path.insert(0, tmp)
        import importlib

        from alpha_core.data.loader import data_dir, load_panel
        from alpha_core.sim.simulate import simulate
        os.environ["ALPHA_DATA_DIR"] = str(data_dir())          # the copy's own default would miss it
        from expressions import CASES
        ref_loader = importlib.import_module(f"{OTHER}.data.loader")
        ref_simulate = importlib.import_module(f"{OTHER}.sim.simulate").simulate

        panel, ref_panel = load_panel(), ref_loader.load_panel()
        ours, theirs = [], []
        for case in CASES:
            settings = {"universe": "TOP500", **case.settings}
            simulate(case.expr, panel, settings)               # compile / warm both sides
            ref_simulate(case.expr, ref_panel, settings)
            a, b = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                ref_simulate(case.expr, ref_panel, settings)
                a.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                simulate(case.expr, panel, settings)
                b.append(time.perf_counter() - t0)
            theirs.append(min(a) * 1e3)
            ours.append(min(b) * 1e3)
    med_ref, med_new = statistics.median(theirs), statistics.median(ours)
    if args.per_alpha:
        for ref_ms, new_ms, case in sorted(zip(theirs, ours, CASES), key=lambda r: r[1] / r[0]):
            print(f"{ref_ms:7.2f} {new_ms:7.2f}  x{new_ms / ref_ms:.3f}  {case.expr[:70]}")
    print(f"{len(CASES)} alphas, best of {args.repeat}, interleaved on one core")
    print(f"  {args.rev:>12}: median {med_ref:6.2f} ms, total {sum(theirs) / 1e3:6.2f} s")
    print(f"  {'working tree':>12}: median {med_new:6.2f} ms, total {sum(ours) / 1e3:6.2f} s")
    print(f"  ratio (working tree / {args.rev}): median {med_new / med_ref:.3f}, total {sum(ours) / sum(theirs):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
