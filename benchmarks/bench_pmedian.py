"""Benchmark: the location-allocation core on six OR-Library p-median instances (Beasley 1985).

For each instance and solver prints the objective, the published optimum, whether the run
PROVED optimality (the solver's own status and bound, not PuLP's "Optimal"), the gap,
seconds for shortest paths, heuristics, model building and the solver, the number of
solver runs and the final model's size, and peak memory. Each run is a fresh child
process; peak memory is that child's maximum resident set (``getrusage(RUSAGE_SELF)``,
which includes HiGHS, run in-process) and, separately, the largest CBC subprocess it ran
(``RUSAGE_CHILDREN``). Targets (issue 8; a benchmark, not a test): pmed40 solved to its
proven optimum 5128 in ≤ 60 s and ≤ 1 GB peak memory; all six proven optimal.

    python benchmarks/bench_pmedian.py [--solvers highs cbc] [--instances pmed1 pmed40]
                                       [--time-limit 600] [--threads 1] [--textbook]

``--textbook`` also runs the textbook model (one assignment variable per pair, x_ij ≤ y_j,
built in one pass from dicts, no heuristic start) as a baseline for the same solver.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT / "benchmarks" / "data" / "orlib"
OPTIMA = {"pmed1": 5819, "pmed5": 1355, "pmed10": 1255, "pmed20": 1789, "pmed30": 1989, "pmed40": 5128}


def _textbook(cost, p, solver: str, time_limit_s: float, threads: int) -> dict:
    """Baseline: x[i, j] for every pair, assignment and linking rows, built in one pass."""
    import numpy as np
    import pulp

    from planner.locate import _var
    from planner.model.backend import run

    t0 = time.perf_counter()
    n, m = cost.shape
    prob = pulp.LpProblem("p_median_textbook", pulp.LpMinimize)
    y = [_var(prob, f"y_{j:05d}", 0, 1, pulp.LpInteger) for j in range(m)]
    x = [[_var(prob, f"x_{i:05d}_{j:05d}", 0, 1, pulp.LpContinuous) for j in range(m)] for i in range(n)]
    obj = {x[i][j]: float(cost[i, j]) for i in range(n) for j in range(m) if cost[i, j]}
    for i in range(n):
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression((v, 1.0) for v in x[i]), 0, f"a_{i:05d}", 1.0))
        for j in range(m):
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(x[i][j], 1.0), (y[j], -1.0)]), -1,
                                                 f"l_{i:05d}_{j:05d}", 0.0))  # fmt: skip
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression((v, 1.0) for v in y), 0, "p", p))
    prob.setObjective(pulp.LpAffineExpression(obj))
    build_s = time.perf_counter() - t0
    r = run(prob, solver, time_limit_s=time_limit_s, gap_rel=0.0, gap_abs=0.999, threads=threads)
    is_open = np.array([(v.varValue or 0) > 0.5 for v in y])
    objective = float(cost[:, is_open].min(axis=1).sum()) if is_open.any() else None
    return {
        "objective": objective,
        "status": r.status,
        "gap": r.gap,
        "bound": r.bound,
        "build_s": build_s,
        "heuristic_s": 0.0,
        "solve_s": r.seconds,
        "runs": 1,
        "rows": prob.numConstraints(),
        "columns": prob.numVariables(),
        "solver": r.solver,
    }


def child(name: str, solver: str, mode: str, time_limit_s: float, threads: int) -> None:
    """Solve one instance and print one JSON line."""
    from planner.locate import PMedian, read_orlib_pmedian

    t0 = time.perf_counter()
    cost, p = read_orlib_pmedian(DATA / f"{name}.txt")
    paths_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if mode == "textbook":
        out = _textbook(cost, p, solver, time_limit_s, threads)
    else:
        r = PMedian.from_cost_matrix(cost, p=p).solve(solver, time_limit_s=time_limit_s, gap_rel=0.0, threads=threads)
        last = r.iterations[-1] if r.iterations else {"rows": 0, "columns": 0}
        out = {
            "objective": r.objective,
            "status": r.status,
            "gap": r.gap,
            "bound": r.bound,
            "build_s": r.build_s,
            "heuristic_s": r.heuristic_s,
            "solve_s": r.solve_s,
            "runs": len(r.iterations),
            "rows": last["rows"],
            "columns": last["columns"],
            "solver": r.solver,
        }
    out["total_s"] = time.perf_counter() - t0
    out.update(name=name, n=int(cost.shape[0]), p=p, mode=mode, paths_s=paths_s)
    out["peak_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["peak_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--solvers", nargs="+", default=["highs", "cbc"], choices=["highs", "cbc"])
    ap.add_argument("--instances", nargs="+", default=list(OPTIMA), choices=list(OPTIMA))
    ap.add_argument("--time-limit", type=float, default=600.0, help="per run, seconds")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--textbook", action="store_true", help="also run the textbook one-variable-per-pair model")
    ap.add_argument("--child", nargs=3, metavar=("INSTANCE", "SOLVER", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child, time_limit_s=args.time_limit, threads=args.threads)
        return

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, {cpu}; python {platform.python_version()}; "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')}")  # fmt: skip
    head = (f"{'instance':9} {'n':>4} {'p':>4} {'model':8} {'solver':6} {'objective':>9} {'optimum':>7} {'proven':>6} "
            f"{'gap':>6} {'paths s':>7} {'heur s':>6} {'build s':>7} {'solve s':>7} {'total s':>7} {'runs':>4} "
            f"{'rows':>7} {'cols':>7} {'peak MB':>7} {'CBC MB':>6}")  # fmt: skip
    print(head)
    modes = ["radius"] + (["textbook"] if args.textbook else [])
    for name in args.instances:
        for mode in modes:
            for solver in args.solvers:
                cmd = [sys.executable, __file__, "--child", name, solver, mode,
                       "--time-limit", str(args.time_limit), "--threads", str(args.threads)]  # fmt: skip
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
                if proc.returncode != 0 or not lines:
                    print(f"{name:9} {mode:8} {solver:6} FAILED (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
                    continue
                r = json.loads(lines[-1])
                obj = f"{r['objective']:.0f}" if r["objective"] is not None else "-"
                gap = f"{r['gap']:.2%}" if r["gap"] is not None else "-"
                proven = "yes" if r["status"] == "optimal" else "NO"
                cbc_mb = f"{r['peak_children_mb']:.0f}" if solver == "cbc" else "-"
                print(f"{name:9} {r['n']:>4} {r['p']:>4} {mode:8} {solver:6} {obj:>9} {OPTIMA[name]:>7} {proven:>6} "
                      f"{gap:>6} {r['paths_s']:>7.2f} {r['heuristic_s']:>6.2f} {r['build_s']:>7.2f} "
                      f"{r['solve_s']:>7.2f} {r['total_s']:>7.2f} {r['runs']:>4} {r['rows']:>7} {r['columns']:>7} "
                      f"{r['peak_self_mb']:>7.0f} {cbc_mb:>6}")  # fmt: skip
                sys.stdout.flush()


if __name__ == "__main__":
    main()
