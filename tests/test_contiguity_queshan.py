"""Contiguity on the bundled county's combined plan, checked with networkx on the plan's own tables.

Two plans of the combined scenario on 确山县 (HiGHS, 20 s limit, the start heuristic's plan: ``full_mip``
off), one with ``catchment_rules.contiguity`` and one without, no exemption named. Time-limited, so
the tests check what must hold for any plan the optimiser returns: every catchment is one connected
area of the stage adjacency graph holding its school's own settlement — boarding schools too (until
2026-12-02 they were exempt, and 8 junior boarding catchments fell into 2-6 pieces) — except
settlements listed as unavoidable (today's school is their only allowed school and no settlement that
may go there joins them to it); no penalised exception is left.
"""

from __future__ import annotations

import logging
from pathlib import Path

import networkx as nx
import pytest

from planner.adjacency import adjacency_graph, own_settlements, stage_graph
from planner.loader import load_county
from planner.model.contiguity import contiguity_roots
from planner.plan.pipeline import plan_county
from planner.scenario import load_scenario, scenario_from_dict
from planner.travel import plan_travel_times

#: one worker runs the module (two long solves shared by its tests)
pytestmark = pytest.mark.xdist_group("contiguity_queshan")

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def queshan_plans():
    county = load_county(ROOT / "geodata" / "queshan", check_network=False)
    raw = load_scenario(ROOT / "scenarios" / "combined.yaml").model_dump()
    raw["solver"] = {**raw["solver"], "time_limit_s": 20, "start_share": 0.9, "full_mip": False, "cv_iterations": 0}
    plans = {}
    travel = None
    for contiguity in (True, False):
        sc = scenario_from_dict({**raw, "catchment_rules": {"contiguity": contiguity}})
        travel = travel or plan_travel_times(county, sc)
        plans[contiguity] = plan_county(county, sc, travel.long, travel.school_times, distance_method=travel.method)
    return county, adjacency_graph(county), plans[True], plans[False]


def broken_pieces(county, g: nx.Graph, assignments) -> list[tuple[str, str, set[str]]]:
    """(school, stage, settlements) of every piece of a catchment not connected to its school's own settlement."""
    own = own_settlements(county)
    sites = set(county.candidate_sites.index) if county.candidate_sites is not None else set()
    out = []
    for stage, part in assignments.groupby("stage"):
        h = stage_graph(g, set(part["settlement_id"]))
        for school, members in part.groupby("school_id"):
            roots = contiguity_roots(g, h, own.get(school))
            comps = sorted(nx.connected_components(h.subgraph(members["settlement_id"])), key=len, reverse=True)
            if school in sites and not any(c & roots for c in comps):
                # a site whose nearest settlement (straight line) may not go there grows from the settlement
                # nearest to it by road: its catchment must still be one area
                roots = comps[0]
            out.extend((school, stage, set(c)) for c in comps if not c & roots)
    return out


def test_every_catchment_is_one_connected_area_with_its_school(queshan_plans) -> None:
    county, g, plan, _ = queshan_plans
    exc = plan.extra_tables["contiguity_exceptions"]
    # no penalised exception: every listed one is unavoidable (its only school, kept, beyond the travel cap)
    assert exc["only_school"].all() and (exc["allowed_schools"] == 1).all()
    a = plan.assignments.set_index(["settlement_id", "stage"])
    for r in exc.itertuples(index=False):
        row = a.loc[(r.settlement_id, r.stage)]
        assert row["school_id"] == r.school_id == row["current_school_id"]
        assert not row["within_cap"]
    listed = set(zip(exc["settlement_id"], exc["stage"], strict=True))
    pieces = broken_pieces(county, g, plan.assignments)
    for school, stage, comp in pieces:
        # a piece cut off from its school is made of unavoidable settlements only
        assert {(s, stage) for s in comp} <= listed, (school, stage, comp)
    assert sum(len(c) for *_, c in pieces) == len(exc)
    note = next(n for n in plan.notes if n.startswith("连片划分"))
    assert f"{len(exc)} settlement assignments" in note and "ruled out" in note


def test_contiguity_changes_the_unconstrained_plan_or_it_was_contiguous(queshan_plans) -> None:
    county, g, plan, free = queshan_plans
    key = ["settlement_id", "stage"]
    both = plan.assignments.merge(free.assignments, on=key, suffixes=("", "_free"))
    assert len(both) == len(plan.assignments) == len(free.assignments)
    differ = int((both["school_id"] != both["school_id_free"]).sum())
    unavoidable = set(zip(plan.extra_tables["contiguity_exceptions"]["settlement_id"],
                          plan.extra_tables["contiguity_exceptions"]["stage"], strict=True))  # fmt: skip
    free_broken = [
        p for p in broken_pieces(county, g, free.assignments) if not {(s, p[1]) for s in p[2]} <= unavoidable
    ]
    log.info("contiguity changed %d assignments; the plan without it has %d cut-off pieces", differ, len(free_broken))
    # a plan with an avoidable cut-off piece cannot be the contiguous plan; without one, the unconstrained plan
    # was contiguous already and contiguity needed no change
    assert differ > 0 or not free_broken
    # both plans place every settlement's pupils wholly (no split) and the same pupils
    assert plan.assignments["pupils"].sum() == free.assignments["pupils"].sum()


def test_feeder_table_is_written(queshan_plans) -> None:
    _, _, plan, _ = queshan_plans
    assert "feeder" in plan.extra_tables
    f = plan.extra_tables["feeder"]
    prim = plan.assignments[plan.assignments["stage"] == "primary"]
    assert f["pupils_primary"].sum() == prim["pupils"].sum()
