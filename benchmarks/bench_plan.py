"""Benchmark: the bundled county's plan (combined scenario by default) with CBC and HiGHS.

Prints, per solver: model build seconds, solve seconds, the solver's status and MIP gap,
variables and constraints, and the end-to-end wall time. Targets (issue 5 / 8; a
benchmark, not a test): proven gap ≤ 1% within 120 s (issue 5) / 60 s end to end, model
build ≤ 5 s (issue 8), on this 2-core machine.

    python benchmarks/bench_plan.py [--scenario scenarios/combined.yaml] [--data geodata/queshan]
                                    [--solvers cbc highs] [--time-limit 120] [--chain [--log]]

``--chain``: instead, the budget chain of ``planner run`` with the first solver — the plan, then −10% and
+10% (:func:`planner.plan.variants.marginal_budget`, the same three solves) — each budget's wall seconds,
status, objective and parts passing, and the total; ``--log`` shows every solve's log on stderr (start
heuristic, region sweeps, the full MIP's stop, the polish, the bound by regions).
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.county import County  # noqa: E402
from planner.loader import load_county  # noqa: E402
from planner.plan.pipeline import plan_county  # noqa: E402
from planner.plan.variants import marginal_budget, unmet_summary, with_solver  # noqa: E402
from planner.scenario import Scenario, load_scenario  # noqa: E402
from planner.travel import PlanTravel, plan_travel_times  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    ap.add_argument("--data", type=Path, default=ROOT / "geodata" / "queshan")
    ap.add_argument("--solvers", nargs="+", default=["cbc", "highs"])
    ap.add_argument("--time-limit", type=float, default=None, help="override the scenario's time limit (s)")
    ap.add_argument("--chain", action="store_true", help="the plan and its -10%% / +10%% re-solves")
    ap.add_argument("--log", action="store_true", help="every solve's log on stderr")
    args = ap.parse_args()
    if args.log:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        for name in ("planner.loader", "planner.network"):
            logging.getLogger(name).setLevel(logging.WARNING)

    t0 = time.perf_counter()
    county = load_county(args.data)
    load_s = time.perf_counter() - t0
    base = load_scenario(args.scenario)
    t0 = time.perf_counter()
    travel = plan_travel_times(county, base)
    travel_s = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"county {county.name_zh}: load {load_s:.2f}s, travel times {travel_s:.2f}s ({travel.method})")
    if args.chain:
        chain(county, with_solver(base, name=args.solvers[0], **(
            {"time_limit_s": args.time_limit} if args.time_limit else {})), travel)  # fmt: skip
        return
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


def chain(county: County, scenario: Scenario, travel: PlanTravel) -> None:
    """The budget chain of ``planner run`` (:func:`planner.plan.variants.marginal_budget`), one line a budget."""
    t0 = time.perf_counter()
    budgets = marginal_budget(county, scenario, travel.long, travel.school_times, distance_method=travel.method)
    base = budgets.plan
    rows = [("0%", base.solver.solve_s + base.solver.build_s, base)]
    rows += [(label, wall, plan) for label, (_scale, plan, wall) in budgets.variants.items()]
    for label, wall, plan in sorted(rows, key=lambda r: r[2].costs["capital_budget_yuan"]):
        print(f"{label:>5}  {wall:6.1f} s  {plan.solver.description}  objective {plan.solver.objective:,.0f}  "
              f"parts passing {unmet_summary(plan.after)['schools_passing']}", flush=True)  # fmt: skip
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
