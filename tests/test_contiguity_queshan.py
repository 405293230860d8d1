"""Contiguity on the bundled county's combined plan (short time limit), checked on the plan's own tables."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from planner.adjacency import adjacency_graph, stage_graph
from planner.loader import load_county
from planner.pipeline import plan_county
from planner.scenario import load_scenario, scenario_from_dict
from planner.travel import plan_travel_times

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def queshan_plan():
    county = load_county(ROOT / "geodata" / "queshan", check_network=False)
    raw = load_scenario(ROOT / "scenarios" / "combined.yaml").model_dump()
    raw["solver"] = {**raw["solver"], "time_limit_s": 10, "cv_iterations": 0}
    raw["catchment_rules"] = {"contiguity": True}
    sc = scenario_from_dict(raw)
    travel = plan_travel_times(county, sc)
    plan = plan_county(county, sc, travel.long, travel.school_times, distance_method=travel.method)
    return county, plan


def test_every_catchment_is_one_connected_area(queshan_plan) -> None:
    """Connected, except for today's assignments kept at a penalty, which the plan lists."""
    county, plan = queshan_plan
    g = adjacency_graph(county)
    a = plan.assignments
    boarding = set(county.schools.index[county.schools["is_boarding"].astype(bool)])
    own = county.schools["settlement_id"]
    exc = plan.extra_tables["contiguity_exceptions"]
    listed = set(zip(exc["settlement_id"], exc["stage"], strict=True))
    broken = 0
    for stage, part in a.groupby("stage"):
        h = stage_graph(g, set(part["settlement_id"]))
        for school, members in part.groupby("school_id"):
            if school in boarding:
                continue
            comps = sorted(nx.connected_components(h.subgraph(members["settlement_id"])), key=len, reverse=True)
            if len(comps) == 1:
                continue
            broken += 1
            main = next((c for c in comps if own.get(school) in c), comps[0])
            for c in comps:
                if c is not main:
                    # every settlement cut off from the school's own area is a listed exception
                    assert {(s, stage) for s in c} <= listed, (school, stage, c)
    note = next(n for n in plan.notes if n.startswith("连片划分"))
    assert f"{len(exc)} settlement assignments" in note
    # exceptions are only ever today's assignments, kept
    today = a.set_index(["settlement_id", "stage"])
    for r in exc.itertuples(index=False):
        row = today.loc[(r.settlement_id, r.stage)]
        assert row["school_id"] == r.school_id == row["current_school_id"]
    assert broken <= len(exc)


def test_plan_says_whether_contiguity_changed_anything(queshan_plan) -> None:
    _, plan = queshan_plan
    note = next(n for n in plan.notes if n.startswith("连片划分"))
    assert "ruled out" in note
    assert "feeder" in plan.extra_tables
    f = plan.extra_tables["feeder"]
    prim = plan.assignments[plan.assignments["stage"] == "primary"]
    assert f["pupils_primary"].sum() == prim["pupils"].sum()
