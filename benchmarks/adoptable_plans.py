"""Read a plan as the bureau, the finance bureau and the inspector would (issue #16), on two counties.

Runs ``planner run`` (combined scenario by default) on the bundled county 确山 and on a second
generated county (西平, ``planner generate --county 411721``), or reads existing run directories,
and prints from the run directories' files alone (no model code; the standard's units from
``planner.standards``):

- schools passing before → after, per stage;
- every CV before → after against its threshold, flagging a CV pushed over its threshold or one
  already over it that rises (the no-worse rule);
- pupils re-zoned per stage and how their trips change (``plan/rezoning.csv``);
- teachers moved by direction and kind, school-subjects emptied, schools below their staffing norm
  (``teacher_policy_figures.py``);
- failing schools that 100,000 yuan or less of equipment and multimedia rooms would pass (worked out
  by hand from the after-assessment's indicator table);
- the −10% / 0 / +10% budget table (``plan/marginal_budget.csv``), checked for monotonicity.

    python benchmarks/adoptable_plans.py [--time-limit 120] [--scenario scenarios/combined.yaml]
                                         [--runs RUN_QS RUN_XP] [--no-marginal]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from teacher_policy_figures import figures  # noqa: E402

from planner.standards import INDICATORS_BY_KEY  # noqa: E402


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig")


def cheapest_pass_yuan(rows: pd.DataFrame, share: float, room_yuan: float) -> float:
    """Least equipment and multimedia money that passes one failing part (inf when none does)."""
    rows = rows.set_index("indicator")
    best = math.inf
    for missed in [None, *rows.index]:
        cost = 0.0
        for k, r in rows.iterrows():
            need = r["standard"] * (0.85 if k == missed else 1.0) * r["pupils"] / INDICATORS_BY_KEY[k].per_pupils
            if r["resource"] >= need - 1e-9:
                continue
            if k == "equipment":
                cost += (need - r["resource"]) / share
            elif k == "multimedia":
                cost += math.ceil((need - r["resource"]) / share - 1e-9) * room_yuan
            else:
                cost = math.inf
        best = min(best, cost)
    return best


def report(run: Path, data: Path, room_yuan: float) -> None:
    """Print the read-outs of one run directory."""
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    print(f"== {run.name}: {m['status']}; capital {m['costs']['capital_yuan'] / 1e4:,.0f} 万元")
    for when in ("before", "after"):
        s = _csv(run / when / "summary.csv")
        print(
            f"  {when:6}: " + ", ".join(f"{r.stage} {r.schools_passing}/{r.schools_assessed}" for r in s.itertuples())
        )
    b, a = _csv(run / "before" / "balance.csv"), _csv(run / "after" / "balance.csv")
    cv = b.merge(a, on=["stage", "indicator"], suffixes=("_b", "_a"))
    worse = []
    for r in cv.itertuples(index=False):
        pushed = r.cv_b <= r.threshold_b + 1e-3 < r.cv_a
        rose = r.cv_b > r.threshold_b and r.cv_a > r.cv_b + 1e-3
        flag = " ← pushed over" if pushed else " ← rose" if rose else ""
        if flag:
            worse.append(f"{r.stage} {r.indicator}")
        print(f"    CV {r.stage:7} {r.indicator:15} {r.cv_b:5.2f} → {r.cv_a:5.2f} (≤ {r.threshold_b:.2f}){flag}")
    print(f"  CVs made worse: {len(worse)} {worse}")
    rz = run / "plan" / "rezoning.csv"
    if rz.exists():
        for r in _csv(rz).itertuples(index=False):
            print(f"  re-zoned {r.stage}: {r.pupils_rezoned:,.0f} pupils ({r.share_rezoned:.1%}), mean change "
                  f"{r.mean_change_min:+.1f} min, largest {r.max_change_min:+.1f}, {r.pupils_longer:,.0f} longer, "
                  f"{r.pupils_longer_15_within_cap:,.0f} > +15 min with today's school within the cap")  # fmt: skip
    f = figures(run, data)
    print(f["direction"].to_string(index=False))
    print(
        f"  rotated into rural {f['rural_in']}, out of rural {f['rural_out']}; school-subjects emptied "
        f"{len(f['emptied'])}; below staffing norm {f['below_norm']['before']} → {f['below_norm']['after']}"
    )
    sch, ind = _csv(run / "after" / "schools.csv"), _csv(run / "after" / "indicators.csv")
    parts = _csv(run / "after" / "parts.csv").set_index(["school_id", "stage"])
    failing = sch[(sch["assessed"].astype(str) == "True") & (sch["passes"].astype(str) == "False")]
    cheap = {}
    for r in failing.itertuples(index=False):
        rows = ind[(ind["school_id"] == r.school_id) & (ind["stage"] == r.stage)]
        cost = cheapest_pass_yuan(rows, float(parts.loc[(r.school_id, r.stage), "share"]), room_yuan)
        if cost <= 100_000:
            cheap[f"{r.school_id}/{r.stage}"] = round(cost)
    print(f"  failing schools: {len(failing)}; passable with ≤ 100,000 yuan: {len(cheap)} {cheap}")
    mb = run / "plan" / "marginal_budget.csv"
    if mb.exists():
        t = _csv(mb).sort_values("scale")
        print(t[["label", "capital_budget_yuan", "capital_yuan", "schools_passing", "schools_failing", "cv_over",
                 "unmet_indicators", "solver_description"]].to_string(index=False))  # fmt: skip
        mono = t["schools_passing"].is_monotonic_increasing and t["schools_failing"].is_monotonic_decreasing
        print(f"  more money never passes fewer schools: {mono}; unmet items non-increasing: "
              f"{t['unmet_indicators'].is_monotonic_decreasing}")  # fmt: skip


def main() -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    ap.add_argument("--time-limit", type=float, default=120)
    ap.add_argument("--runs", type=Path, nargs=2, help="existing run directories (确山, 西平): no new runs")
    ap.add_argument("--no-marginal", action="store_true", help="skip the ±10%% re-solves")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="adoptable-"))
    xiping = tmp / "xiping"
    subprocess.run([sys.executable, "-m", "planner", "generate", "--county", "411721", "--out", str(xiping),
                    "--quiet"], check=True, cwd=ROOT)  # fmt: skip
    counties = [ROOT / "geodata" / "queshan", xiping]
    runs = list(args.runs) if args.runs else []
    if not runs:
        for data in counties:
            out = tmp / f"run-{data.name}"
            cmd = [sys.executable, "-m", "planner", "run", str(args.scenario), "--data", str(data), "--out", str(out),
                   "--time-limit", str(args.time_limit), "--no-maps", "--quiet"]  # fmt: skip
            if args.no_marginal:
                cmd.append("--no-marginal")
            subprocess.run(cmd, check=True, cwd=ROOT)
            runs.append(out)
    for run, data in zip(runs, counties, strict=True):
        params = yaml.safe_load((data / "parameters.yaml").read_text(encoding="utf-8"))
        report(run, data, room_yuan=float(params["unit_costs"]["multimedia_room_yuan"]))


if __name__ == "__main__":
    main()
