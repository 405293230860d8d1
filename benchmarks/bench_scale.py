"""Benchmark: the combined scenario on the bundled county and on synthetic counties 2×, 4×, 8× its size.

For each size: generates the county with ``python -m planner.synth --county 411725 --scale K``
(into ``--work``; skipped when the folder already holds it), computes travel times, builds the
plan model and solves it with the scenario's solver under ``--time-limit``, and prints settlements,
schools, variables, constraints, build s, start-heuristic s and objective, solve s, status, gap,
objective and proven bound. Solve times depend on the machine's load: compare the gap reached
at a fixed time limit. Target (issue 8, a benchmark not a test): 8× county feasible with gap
≤ 2% within 10 minutes.

``--decompose off|auto|regions`` sets ``solver.decompose`` (region fix-and-optimise in place of the full
MIP, planner/model/regions.py); the columns ``regions``, ``sweeps``, ``before`` (the start's objective)
and ``after`` (the final objective) then show what it did. ``--cache-inputs`` keeps the prepared model
inputs (travel times included) as ``inputs.pkl`` in the county's work folder and reuses them: the 8×
county's preparation takes minutes (delete the file when the inputs code changes).

    python benchmarks/bench_scale.py [--scales 1 2 4 8] [--time-limit 600] [--work /tmp/planner-scale]
                                     [--no-start] [--decompose regions] [--region-units 40]
                                     [--start-share 0.5] [--cache-inputs]
"""

from __future__ import annotations

import argparse
import logging
import pickle
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.loader import load_county  # noqa: E402
from planner.model import regions  # noqa: E402
from planner.model.optimise import optimise  # noqa: E402
from planner.plan.instance import model_inputs  # noqa: E402
from planner.plan.variants import with_solver  # noqa: E402
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


def inputs_of(county: object, sc: object, std: object) -> object:
    """Travel times and model inputs of ``county`` under scenario ``sc`` (the preparation step)."""
    travel = plan_travel_times(county, sc)
    return model_inputs(county, sc, travel.long, travel.school_times, standards=std)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", nargs="+", type=float, default=[1, 2, 4, 8])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    ap.add_argument("--time-limit", type=float, default=600.0, help="solver time limit per county (s)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/planner-scale"), help="folder for generated counties")
    ap.add_argument("--no-start", action="store_true", help="switch the LP-guided start heuristic off")
    ap.add_argument("--cv-iterations", type=int, default=None, help="override the scenario's CV rounds")
    ap.add_argument("--decompose", choices=["off", "auto", "regions"], default=None, help="solver.decompose")
    ap.add_argument("--region-units", type=int, default=None, help="units per region (region heuristic)")
    ap.add_argument("--start-share", type=float, default=None, help="solver.start_share")
    ap.add_argument("--cache-inputs", action="store_true", help="keep/reuse prepared inputs in the work folder")
    ap.add_argument("--log", action="store_true", help="log the solver steps (INFO) to stderr")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.log else logging.WARNING, format="%(asctime)s %(message)s")

    base = load_scenario(args.scenario)
    upd: dict[str, object] = {"time_limit_s": args.time_limit, "start_heuristic": not args.no_start}
    if args.cv_iterations is not None:
        upd["cv_iterations"] = args.cv_iterations
    if args.decompose is not None:
        upd["decompose"] = args.decompose
    if args.start_share is not None:
        upd["start_share"] = args.start_share
    if args.region_units is not None:
        regions.REGION_UNITS = args.region_units
    sc = with_solver(base, **upd)
    std = load_standards()
    on = "on" if sc.solver.start_heuristic else "off"
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; solver {sc.solver.name}, "
          f"time limit {args.time_limit:g}s, start heuristic {on} (share {sc.solver.start_share:g}), "
          f"decompose {sc.solver.decompose} ({regions.REGION_UNITS} units a region)")  # fmt: skip
    cols = [("scale", 5), ("settl", 6), ("schools", 7), ("vars", 7), ("cons", 7), ("prep s", 7), ("build s", 7),
            ("start s", 7), ("start obj", 11), ("solve s", 7), ("regions", 7), ("sweeps", 6), ("before", 11),
            ("after", 11), ("objective", 11), ("bound", 11), ("gap", 7)]  # fmt: skip
    head = " ".join(f"{name:>{width}}" for name, width in cols) + "  status"
    print(head, flush=True)
    for k in args.scales:
        t0 = time.perf_counter()
        folder = county_dir(k, args.work)
        county = load_county(folder)
        cache = (args.work / "scale1" if k == 1 else folder) / "inputs.pkl"
        if args.cache_inputs and cache.exists():
            with cache.open("rb") as fh:
                inp = pickle.load(fh)
        else:
            inp = inputs_of(county, sc, std)
            if args.cache_inputs:
                cache.parent.mkdir(parents=True, exist_ok=True)
                with cache.open("wb") as fh:
                    pickle.dump(inp, fh)
        prep_s = time.perf_counter() - t0
        sol = optimise(inp, sc)
        r, st = sol.result, sol.start
        n_vars = len(sol.built.prob.variables())
        start_s = st.seconds if st else 0.0
        start_obj = f"{st.objective:11.4g}" if st and st.objective is not None else f"{'-':>11}"
        obj = f"{r.objective:11.4g}" if r.objective is not None else f"{'-':>11}"
        bound = f"{r.bound:11.4g}" if r.bound is not None else f"{'-':>11}"
        gap = f"{r.gap:7.2%}" if r.gap is not None else f"{'-':>7}"
        sweeps = [d for d in sol.rounds if d.get("phase") == "regions"]
        if sweeps:
            before = f"{st.objective:11.4g}" if st and st.objective is not None else f"{'-':>11}"
            dec = f"{sweeps[0]['regions']:7d} {len(sweeps):6d} {before} {sweeps[-1]['objective']:11.4g}"
        else:
            dec = f"{'-':>7} {'-':>6} {'-':>11} {'-':>11}"
        print(f"{k:5g} {len(county.settlements):6d} {len(county.schools):7d} {n_vars:7d} "
              f"{sol.built.ctx.n_constraints:7d} {prep_s:7.1f} {sol.built.build_s:7.1f} {start_s:7.1f} {start_obj} "
              f"{sol.solve_s:7.1f} {dec} {obj} {bound} {gap}  {r.describe()}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
