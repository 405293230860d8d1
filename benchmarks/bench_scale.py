"""Benchmark: the combined scenario on the bundled county and on synthetic counties 2×, 4×, 8× its size.

For each size: generates the county with ``python -m planner.synth --county 411725 --scale K``
(into ``--work``; skipped when the folder already holds it), computes travel times, builds the
plan model and solves it with the scenario's solver under ``--time-limit``, and prints settlements,
schools, variables, constraints, build s, start-heuristic s and objective, solve s, status, gap,
objective and proven bound. Solve times depend on the machine's load: compare the gap reached
at a fixed time limit. Target (issue 8, a benchmark not a test): 8× county feasible with gap
≤ 2% within 10 minutes.

    python benchmarks/bench_scale.py [--scales 1 2 4 8] [--time-limit 600] [--work /tmp/planner-scale]
                                     [--no-start]
"""

from __future__ import annotations

import argparse
import logging
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.assess import school_parts, teacher_categories  # noqa: E402
from planner.loader import load_county  # noqa: E402
from planner.model.optimise import optimise  # noqa: E402
from planner.model.prepare import prepare_inputs  # noqa: E402
from planner.pipeline import limits_of, model_parts, standard_frame  # noqa: E402
from planner.scenario import load_scenario  # noqa: E402
from planner.standards import load_standards  # noqa: E402
from planner.travel import plan_travel_times  # noqa: E402


def county_dir(scale: float, work: Path) -> Path:
    """The bundled county for scale 1, else a generated county (made once)."""
    if scale == 1:
        return ROOT / "geodata" / "queshan"
    out = work / f"scale{scale:g}"
    if not (out / "county.gpkg").exists():
        cmd = [sys.executable, "-m", "planner.synth", "--county", "411725", "--out", str(out), "--scale", f"{scale:g}"]
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", nargs="+", type=float, default=[1, 2, 4, 8])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    ap.add_argument("--time-limit", type=float, default=600.0, help="solver time limit per county (s)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/planner-scale"), help="folder for generated counties")
    ap.add_argument("--no-start", action="store_true", help="switch the LP-guided start heuristic off")
    ap.add_argument("--cv-iterations", type=int, default=None, help="override the scenario's CV rounds")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    base = load_scenario(args.scenario)
    upd: dict[str, object] = {"time_limit_s": args.time_limit, "start_heuristic": not args.no_start}
    if args.cv_iterations is not None:
        upd["cv_iterations"] = args.cv_iterations
    sc = base.model_copy(update={"solver": base.solver.model_copy(update=upd)})
    std = load_standards()
    on = "on" if sc.solver.start_heuristic else "off"
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; solver {sc.solver.name}, "
          f"time limit {args.time_limit:g}s, start heuristic {on}")  # fmt: skip
    cols = [("scale", 5), ("settl", 6), ("schools", 7), ("vars", 7), ("cons", 7), ("prep s", 7), ("build s", 7),
            ("start s", 7), ("start obj", 11), ("solve s", 7), ("objective", 11), ("bound", 11),
            ("gap", 7)]  # fmt: skip
    head = " ".join(f"{name:>{width}}" for name, width in cols) + "  status"
    print(head, flush=True)
    for k in args.scales:
        t0 = time.perf_counter()
        county = load_county(county_dir(k, args.work))
        travel = plan_travel_times(county, sc)
        parts = school_parts(county, std)
        inp = prepare_inputs(
            county,
            sc,
            standard=standard_frame(std),
            limits=limits_of(std),
            parts=model_parts(parts),
            teacher_flags=teacher_categories(county.teachers, std)[
                ["school_id", "stage", "above_required", "backbone", "pe_art"]
            ],
            travel=travel.long,
            school_times=travel.school_times,
        )
        prep_s = time.perf_counter() - t0
        sol = optimise(inp, sc)
        r, st = sol.result, sol.start
        n_vars = len(sol.built.prob.variables())
        start_s = st.seconds if st else 0.0
        start_obj = f"{st.objective:11.4g}" if st and st.objective is not None else f"{'-':>11}"
        obj = f"{r.objective:11.4g}" if r.objective is not None else f"{'-':>11}"
        bound = f"{r.bound:11.4g}" if r.bound is not None else f"{'-':>11}"
        gap = f"{r.gap:7.2%}" if r.gap is not None else f"{'-':>7}"
        print(f"{k:5g} {len(county.settlements):6d} {len(county.schools):7d} {n_vars:7d} "
              f"{sol.built.ctx.n_constraints:7d} {prep_s:7.1f} {sol.built.build_s:7.1f} {start_s:7.1f} {start_obj} "
              f"{sol.solve_s:7.1f} {obj} {bound} {gap}  {r.describe()}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
