"""Benchmark: probes of why the combined plan is not proven (issue #17, docs/performance.md "Where the gap lies").

Each probe builds the plan model as ``optimise`` does (the scenario's model with the baseline CV cuts) and
prints figures measured on what the plan can change (objective − the floor of unavoidable penalties):

``capital``
    The bound by regions (planner/model/lagrange.py) at the LP's duals with the capital budget's multiplier
    scaled by each ``--factors`` value: the bound, the capital the blocks' own solutions spend and the time.
    At factor 1 it is the bound ``optimise`` reports. Each block keeps its own share of every dualized row
    (``lagrange.block_restrictions``: no block alone spends more than the budget); before that, a higher price on
    money was the only thing keeping the blocks from each buying what the budget as a whole cannot.
``dive``
    Rounds the LP's whole capital projects (new schools, expansions) one step at a time and re-solves the LP:
    rule ``up`` fixes the largest fractional project at 1 (at 0 when that breaks the budget), rule
    ``settle`` fixes every project ≥ 0.9 at 1, else the smallest at 0. Prints the LP after each step: what
    whole projects within the budget cost against the LP's fractions.
``highs``
    HiGHS alone on the model for ``--time-limit`` seconds (no start heuristic, no regions): its plan and bound.

    python benchmarks/bound_probes.py capital [--scale 1] [--scenario S] [--factors 1 3 10 30]
    python benchmarks/bound_probes.py dive --scale 2 [--rule up|settle]
    python benchmarks/bound_probes.py highs --scale 2 --time-limit 240

``--scale K`` (K > 1) uses the county ``bench_scale.py`` generates into ``--work`` (with its cached inputs).
"""

from __future__ import annotations

import argparse
import logging
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_scale import county_dir, inputs_of  # noqa: E402

from planner.loader import load_county  # noqa: E402
from planner.model import lagrange, regions  # noqa: E402
from planner.model.backend import run  # noqa: E402
from planner.model.build import build_model  # noqa: E402
from planner.model.optimise import add_baseline_cuts, unavoidable_floor  # noqa: E402
from planner.scenario import load_scenario  # noqa: E402
from planner.standards import load_standards  # noqa: E402


def model(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The built model with its baseline cuts, and the floor of unavoidable penalties."""
    sc = load_scenario(args.scenario)
    folder = county_dir(args.scale, args.work)
    cache = folder / "inputs.pkl"
    if args.scale != 1 and cache.exists():
        with cache.open("rb") as fh:
            inp = pickle.load(fh)
    else:
        inp = inputs_of(load_county(folder), sc, load_standards())
    built = build_model(inp, sc)
    add_baseline_cuts(built)
    floor = unavoidable_floor(built, sc.solver, 600.0)
    return built, sc, float(floor or 0.0)


def probe_capital(args: argparse.Namespace) -> None:
    built, _sc, floor = model(args)
    prob = built.prob
    lp = run(prob, "highs", mip=False, time_limit_s=600.0)
    duals = lagrange.model_duals(prob)
    if lp.objective is None or duals is None:
        print("the LP relaxation did not solve")
        return
    variables = prob.variables()
    arrays = regions.model_arrays(prob, variables)
    block = lagrange.column_blocks(built.ctx, variables, regions.partition_units(built.ctx.inp))
    cap = list(prob.constraints).index("capital_budget")
    a = arrays["a"]
    print(f"LP {lp.objective - floor:,.0f} above the floor {floor:,.0f}; capital dual {duals[cap]:.4g} per yuan")
    print(f"{'factor':>7} {'bound − floor':>14} {'blocks spend (M)':>17} {'proved':>7} {'s':>6}")
    for factor in args.factors:
        y = np.array(duals, dtype=float)
        y[cap] *= factor
        rb = lagrange.region_bound(arrays, block, y, args.block_limit * (block.max() + 1), gap_abs=300.0)
        if rb is None:
            print(f"{factor:7g}  no bound")
            continue
        spend = block_spend(arrays, block, y, cap, a)
        print(f"{factor:7g} {rb.bound - floor:14,.0f} {spend / 1e6:17.1f} {sum(b.proved for b in rb.blocks):4d}/"
              f"{len(rb.blocks):<2d} {rb.seconds:6.0f}", flush=True)  # fmt: skip


def block_spend(arrays: dict, block: np.ndarray, duals: np.ndarray, cap: int, a) -> float:  # type: ignore[no-untyped-def]
    """Capital the blocks' own MIP solutions spend together at multipliers ``duals`` (each block solved again,
    with its own restrictions of the dualized rows: :func:`planner.model.lagrange.region_bound` keeps bounds,
    not solutions)."""
    where = lagrange.row_blocks(a, block)
    y, _b = lagrange.signed_duals(np.where(where == -1, duals, 0.0), arrays["row_lo"], arrays["row_up"])
    priced = arrays["cost"] - a.T @ y
    a_csc = a.tocsc()
    own = lagrange.block_restrictions(a, arrays["lower"], arrays["upper"], arrays["row_lo"], arrays["row_up"], block,
                                      where)  # fmt: skip
    total = 0.0
    for k in np.unique(block).tolist():
        cols, rows = np.flatnonzero(block == k), np.flatnonzero(where == k)
        sub, lo, up = a_csc[:, cols].tocsr()[rows], arrays["row_lo"][rows], arrays["row_up"][rows]
        if k in own:
            sub, lo, up = own[k].below(sub, lo, up)
        lp = regions.highs_lp(sub, priced[cols], arrays["lower"][cols], arrays["upper"][cols], lo, up,
                              arrays["is_int"][cols])  # fmt: skip
        h = regions.highs_solver(lp, 120.0)
        h.setOptionValue("mip_abs_gap", 300.0)
        h.run()
        x = np.asarray(h.getSolution().col_value)
        total += float(np.sum(a[cap, cols] @ x)) if x.size else 0.0
    return total


def probe_dive(args: argparse.Namespace) -> None:
    import highspy

    built, _sc, floor = model(args)
    prob = built.prob
    variables = prob.variables()
    arrays = regions.model_arrays(prob, variables)
    a = arrays["a"]
    cap = list(prob.constraints).index("capital_budget")
    row = a[cap]
    lower, upper = arrays["lower"], arrays["upper"]
    projects = np.array([j for j, c in zip(row.indices, row.data, strict=True)
                         if c > 0 and arrays["is_int"][j] and upper[j] <= 1 and lower[j] == 0])  # fmt: skip
    h = regions.highs_solver(regions.highs_lp(a, arrays["cost"], lower, upper, arrays["row_lo"], arrays["row_up"]),
                             600.0)  # fmt: skip
    t0 = time.perf_counter()
    h.run()
    off = arrays["offset"] - floor
    x = np.asarray(h.getSolution().col_value)
    lp = h.getInfo().objective_function_value + off
    print(f"{len(projects)} whole capital projects; LP {lp:,.0f} above the floor")
    step = 0
    while True:
        frac = projects[(x[projects] > 1e-6) & (x[projects] < 1 - 1e-6)]
        if not len(frac):
            break
        if args.rule == "up":
            j = int(frac[np.argmax(x[frac])])
            h.changeColBounds(j, 1.0, 1.0)
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                h.changeColBounds(j, 0.0, 0.0)
                h.run()
        else:
            high = frac[x[frac] >= 0.9]
            for j in high if len(high) else [frac[np.argmin(x[frac])]]:
                value = 1.0 if len(high) else 0.0
                h.changeColBounds(int(j), value, value)
            h.run()
        x = np.asarray(h.getSolution().col_value)
        step += 1
        print(f"step {step:3d}: {len(frac):3d} fractional, LP {h.getInfo().objective_function_value + off:,.0f} "
              f"above the floor ({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip


def probe_highs(args: argparse.Namespace) -> None:
    built, _sc, floor = model(args)
    arrays = regions.model_arrays(built.prob, built.prob.variables())
    lp = regions.highs_lp(arrays["a"], arrays["cost"], arrays["lower"], arrays["upper"], arrays["row_lo"],
                          arrays["row_up"], arrays["is_int"])  # fmt: skip
    h = regions.highs_solver(lp, args.time_limit)
    h.setOptionValue("mip_rel_gap", 1e-4)
    h.run()
    info = h.getInfo()
    off = arrays["offset"] - floor
    plan = info.objective_function_value + off if info.primal_solution_status == 2 else float("nan")
    bound = info.mip_dual_bound + off
    gap = (plan - bound) / plan if plan == plan and plan > 0 else float("nan")
    print(f"HiGHS alone {args.time_limit:g} s: {h.getModelStatus()}, plan {plan:,.0f} and bound {bound:,.0f} above the "
          f"floor {floor:,.0f}: gap {gap:.2%} on what the plan can change")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("probe", choices=["capital", "dive", "highs"])
    ap.add_argument("--scale", type=float, default=1)
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    ap.add_argument("--work", type=Path, default=Path("/tmp/planner-scale"), help="folder of generated counties")
    ap.add_argument("--factors", type=float, nargs="+", default=[1, 3, 10, 30])
    ap.add_argument("--block-limit", type=float, default=60.0, help="capital: seconds per block at most")
    ap.add_argument("--rule", choices=["up", "settle"], default="up")
    ap.add_argument("--time-limit", type=float, default=240.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    {"capital": probe_capital, "dive": probe_dive, "highs": probe_highs}[args.probe](args)


if __name__ == "__main__":
    main()
