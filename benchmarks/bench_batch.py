"""Benchmark: wall time of a prefecture batch on a LocalCluster of 1 and of 2 workers (speed-up).

Runs the same (county, budget scale) tasks twice into fresh temporary folders — once on one
worker process, once on two — and prints each wall time, the tasks done and the speed-up
ratio. Counties default to four synthetic counties of 驻马店市 (generated into the cache on
first use, not timed); every task solves with one solver thread, as in ``planner batch``.

    python benchmarks/bench_batch.py [--counties 411728 411725 ...] [--budgets 0.8,1.0]
                                     [--time-limit 20] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.batch import make_tasks, parse_budget_scales, run_batch  # noqa: E402
from planner.scenario import load_scenario  # noqa: E402
from planner.synth.prefecture import prefecture_dir  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counties", nargs="+", default=["411728", "411725", "411721", "411724"],
                    help="adcodes of 驻马店 counties, or county folders")  # fmt: skip
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    ap.add_argument("--budgets", default="1.0", help="budget scales, e.g. 0.8,1.0,1.2")
    ap.add_argument("--time-limit", type=float, default=20.0, help="solver time limit per task (s)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)

    t0 = time.perf_counter()
    dirs = [Path(c) if Path(c).is_dir() else prefecture_dir(c) for c in args.counties]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine skews the figures)")  # fmt: skip
    print(f"county data ready in {time.perf_counter() - t0:.1f} s: {', '.join(d.name for d in dirs)}")
    scenario = load_scenario(args.scenario)
    scales = parse_budget_scales(args.budgets)
    walls: dict[int, float] = {}
    for n in args.workers:
        with tempfile.TemporaryDirectory(prefix=f"bench-batch-{n}w-") as tmp:
            tasks = make_tasks(dirs, [(scenario, args.scenario)], Path(tmp), budget_scales=scales,
                               time_limit_s=args.time_limit)  # fmt: skip
            t0 = time.perf_counter()
            table = run_batch(tasks, workers=n, progress=False)
            walls[n] = time.perf_counter() - t0
            states = table["state"].value_counts().to_dict()
            plan_s = sum(float(x) for x in table["elapsed_s"].dropna())
            print(f"{n} worker(s): {len(tasks)} tasks in {walls[n]:7.1f} s wall (cluster start included); "
                  f"sum of task times {plan_s:.1f} s; states {states}")  # fmt: skip
    if 1 in walls and len(walls) > 1:
        for n, w in walls.items():
            if n != 1:
                print(f"speed-up 1 → {n} workers: {walls[1] / w:.2f}×")


if __name__ == "__main__":
    main()
