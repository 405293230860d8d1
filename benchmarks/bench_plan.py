"""Benchmark: the bundled county's plan (combined scenario by default) with CBC and HiGHS.

Prints, per solver: model build seconds, solve seconds, the solver's status and MIP gap,
variables and constraints, and the end-to-end wall time. Targets (issue 5 / 8; a
benchmark, not a test): proven gap ≤ 1% within 120 s (issue 5) / 60 s end to end, model
build ≤ 5 s (issue 8), on this 2-core machine.

    python benchmarks/bench_plan.py [--scenario scenarios/combined.yaml] [--data geodata/queshan]
                                    [--solvers cbc highs] [--time-limit 120]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.loader import load_county  # noqa: E402
from planner.plan.pipeline import plan_county  # noqa: E402
from planner.plan.variants import with_solver  # noqa: E402
from planner.scenario import load_scenario  # noqa: E402
from planner.travel import plan_travel_times  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    ap.add_argument("--data", type=Path, default=ROOT / "geodata" / "queshan")
    ap.add_argument("--solvers", nargs="+", default=["cbc", "highs"])
    ap.add_argument("--time-limit", type=float, default=None, help="override the scenario's time limit (s)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    county = load_county(args.data)
    load_s = time.perf_counter() - t0
    base = load_scenario(args.scenario)
    t0 = time.perf_counter()
    travel = plan_travel_times(county, base)
    travel_s = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"county {county.name_zh}: load {load_s:.2f}s, travel times {travel_s:.2f}s ({travel.method})")
    print(f"{'solver':8} {'build s':>8} {'solve s':>8} {'total s':>8} {'vars':>7} {'cons':>7}  status")
    for name in args.solvers:
        sc = with_solver(base, name=name, **({"time_limit_s": args.time_limit} if args.time_limit else {}))
        t0 = time.perf_counter()
        plan = plan_county(county, sc, travel.long, travel.school_times, distance_method=travel.method)
        total = time.perf_counter() - t0
        s = plan.solver
        print(f"{name:8} {s.build_s:8.2f} {s.solve_s:8.2f} {total:8.2f} {s.variables:7d} "
              f"{s.constraints:7d}  {s.description}")  # fmt: skip
        passing = plan.after.summary[["stage", "schools_passing", "schools_assessed"]].to_dict("records")
        print(f"         capital {plan.costs['capital_yuan'] / 1e4:,.0f} 万元, after: {passing}")


if __name__ == "__main__":
    main()
