"""A plan's costs recomputed from its written tables and the county's own files (test helper).

Independent of the planner's cost code: reads ``projects.csv``, ``hires.csv`` and
``exchange_list.csv`` as :meth:`Plan.save` writes them, and the unit costs, new-school designs,
expansion options and land costs straight from the county folder (``parameters.yaml``,
``expansion_options.csv``, ``candidate_sites.csv``), never through :class:`~planner.county.County`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

#: project kind -> unit cost key in parameters.yaml (cost = quantity x unit cost)
PER_UNIT = {
    "equipment": "equipment_yuan_per_yuan",
    "multimedia": "multimedia_room_yuan",
    "music_room": "music_room_yuan",
    "art_room": "art_room_yuan",
}


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"school_id": str, "item": str})


def expected_costs(plan_dir: Path, county_dir: Path) -> tuple[pd.DataFrame, float]:
    """The plan's project rows with ``expected_yuan`` added, and its recurrent cost per year.

    Capital per row: a new school costs its design's ``cost_yuan`` plus its site's land cost;
    an expansion its option's ``cost_yuan``; equipment and rooms quantity x unit cost; a
    closure nothing. Recurrent: every hire at ``teacher_hire_yuan_per_year`` plus every
    rotated teacher's ``rotation_allowance_yuan_per_year``.
    """
    params = yaml.safe_load((county_dir / "parameters.yaml").read_text(encoding="utf-8"))
    unit = {"equipment_yuan_per_yuan": 1.0, **params["unit_costs"]}  # 1 when not stated (docs/data.md)
    designs = {o["option_id"]: float(o["cost_yuan"]) for o in params.get("new_school_options", [])}
    options = pd.read_csv(county_dir / "expansion_options.csv", dtype={"option_id": str}).set_index("option_id")
    sites = pd.read_csv(county_dir / "candidate_sites.csv", dtype={"site_id": str}).set_index("site_id")
    projects = _csv(plan_dir / "projects.csv")

    def cost(row: pd.Series) -> float:
        if row["kind"] == "new_school":
            return designs[row["item"]] + float(sites.loc[row["school_id"], "land_cost_yuan"])
        if row["kind"] == "expansion":
            return float(options.loc[row["item"], "cost_yuan"])
        if row["kind"] == "closure":
            return 0.0
        return float(row["quantity"]) * float(unit[PER_UNIT[row["kind"]]])

    projects["expected_yuan"] = [cost(r) for _, r in projects.iterrows()]
    hires = _csv(plan_dir / "hires.csv")
    moves = _csv(plan_dir / "exchange_list.csv")
    recurrent = float(hires["count"].sum()) * float(unit["teacher_hire_yuan_per_year"]) + float(
        (moves["kind"] == "rotation").sum()
    ) * float(unit["rotation_allowance_yuan_per_year"])
    return projects, recurrent
