"""Teacher-exchange figures of a plan run (issue #16 item 2), from its output files only.

Usage::

    python benchmarks/teacher_policy_figures.py RUN_DIR [--data DATA_DIR]

Reads ``RUN_DIR/plan/exchange_list.csv``, ``RUN_DIR/{before,after}/guarantee.csv`` and
``RUN_DIR/manifest.json``, and the county's ``teachers.csv``, ``schools.csv`` and
``settlements.csv``; it uses none of the planner's model code, so it is an independent
check of the plan. Prints teachers moved by direction (urban/town ↔ rural) and kind, by
subject, the school-subjects the plan empties, and the schools below their staffing norm
before and after.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd


def figures(run: Path, data: Path) -> dict[str, object]:
    """Compute the figures; see the module docstring."""
    ex = pd.read_csv(run / "plan" / "exchange_list.csv", encoding="utf-8-sig", dtype=str)
    teachers = pd.read_csv(data / "teachers.csv", dtype=str)
    schools = pd.read_csv(data / "schools.csv", dtype=str).set_index("school_id")
    settlements = pd.read_csv(data / "settlements.csv", dtype=str).set_index("settlement_id")
    area = schools["settlement_id"].map(settlements["area_type"]).fillna("new")
    side = area.map({"urban": "urban/town", "town": "urban/town", "rural": "rural"}).to_dict()
    moved = ex[ex["kind"].fillna("") != "itinerant"] if "kind" in ex.columns else ex
    moved = moved.assign(
        from_side=moved["from_school_id"].map(lambda s: side.get(s, "new")),
        to_side=moved["to_school_id"].map(lambda s: side.get(s, "new")),
        subject=moved["teacher_id"].map(teachers.set_index("teacher_id")["subject"]),
    )
    direction = moved.groupby(["kind", "from_side", "to_side"]).size().rename("teachers").reset_index()
    by_subject = moved.groupby(["kind", "subject"]).size().unstack(0, fill_value=0)
    # school-subjects emptied: (school, stage, subject) with teachers today and none after
    before = teachers.groupby(["school_id", "stage", "subject"]).size()
    after_t = teachers.set_index("teacher_id")["school_id"].copy()
    after_t.loc[moved["teacher_id"].to_numpy()] = moved["to_school_id"].to_numpy()
    after = (
        teachers.assign(school_id=teachers["teacher_id"].map(after_t)).groupby(["school_id", "stage", "subject"]).size()
    )
    after = after.reindex(before.index, fill_value=0)
    emptied = before[(before > 0) & (after == 0)]
    rural_in = int(((moved["to_side"] == "rural") & (moved["from_side"] != "rural")).sum())
    rural_out = int(((moved["from_side"] == "rural") & (moved["to_side"] != "rural")).sum())
    below = {}
    for when in ("before", "after"):
        g = pd.read_csv(run / when / "guarantee.csv", encoding="utf-8-sig")
        s = g[(g["item"] == "staffing") & (g["met"].astype(str) == "False")]
        below[when] = int(s["school_id"].nunique())
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    return {
        "direction": direction,
        "by_subject": by_subject,
        "emptied": emptied,
        "rural_in": rural_in,
        "rural_out": rural_out,
        "below_norm": below,
        "gap": manifest.get("gap"),
        "status": manifest.get("status", manifest.get("solver", {})),
    }


def main() -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "geodata" / "queshan")
    a = ap.parse_args()
    f = figures(a.run, a.data)
    print(f["direction"].to_string(index=False))
    print(f["by_subject"].to_string())
    print(f"rotated into rural schools (from urban/town): {f['rural_in']}; out of rural schools: {f['rural_out']}")
    print(f"school-subjects emptied: {len(f['emptied'])}")
    if len(f["emptied"]):
        print(f["emptied"].head(20).to_string())
    print(f"schools below staffing norm: before {f['below_norm']['before']}, after {f['below_norm']['after']}")
    print(f"gap: {f['gap']}; status: {f['status']}")


if __name__ == "__main__":
    main()
