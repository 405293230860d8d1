"""Each lever on a hand-made instance, with the expected decision worked out by hand."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from model_instances import tiny_primary, two_school_teachers

from planner.model.optimise import optimise, part_state
from planner.plan.readback import hires, pair_flows, projects, unmet
from planner.scenario import scenario_from_dict


def _sc(**levers: bool):
    on = {"catchments": False, "new_schools": False, "expansions": False, "resources": False, "rotation": False,
          "hires": False} | levers  # fmt: skip
    return scenario_from_dict({"name": "t", "levers": on, "solver": {"gap_rel": 0.0, "cv_iterations": 0}})


def test_rotation_moves_backbone_teachers_to_the_weak_school() -> None:
    # B needs 400 * 1.0 / 100 = 4 backbone teachers and has none. A has 8 (needs 4), 4 of them eligible.
    # Eligible teachers: 4 + 10 at A, 6 at B = 20, so at least ceil(10% * 20) = 2 must rotate, and
    # backbone >= 20% of those rotating. The cheapest plan that meets B's standard sends exactly the
    # 4 eligible backbone teachers A -> B; the staffing norm (ceil(400/19) = 22 posts, both schools have 21)
    # lets a school go down to 21 - 0 only if it gets teachers back: A must receive 4 teachers in exchange.
    inp = two_school_teachers()
    sol = optimise(inp, _sc(rotation=True))
    assert sol.result.status == "optimal"
    flows = pair_flows(sol.built.ctx, max_travel_min=90)
    a_to_b_backbone = flows[(flows["from_unit"] == "A") & (flows["to_unit"] == "B") & (flows["backbone"] == 1)]
    assert int(a_to_b_backbone["count"].sum()) == 4
    state = part_state(sol.built.ctx).set_index("unit_id")
    assert state.loc["B", "backbone"] == pytest.approx(4)
    assert state.loc["A", "backbone"] == pytest.approx(4)
    # staffing norm at both ends: each school keeps 21 teachers (exchange, not transfer)
    moved_out = flows.groupby("from_unit")["count"].sum()
    moved_in = flows.groupby("to_unit")["count"].sum()
    assert int(moved_out.get("A", 0)) == int(moved_in.get("A", 0)) == 4
    rotated = int(flows.loc[flows["eligible"], "count"].sum())
    backbone = int(flows.loc[flows["eligible"] & (flows["backbone"] == 1), "count"].sum())
    assert rotated >= 2 and backbone >= 0.2 * rotated
    assert flows["within_cap"].all()
    assert (flows["time_min"] == 20).all()
    assert unmet(sol.built.ctx).empty


def test_rotation_policy_forces_moves_even_when_no_standard_needs_them() -> None:
    # With only 1 eligible backbone teacher at A, B stays short; the policy still needs >= 2 rotated
    # with backbone >= 20%.
    inp = two_school_teachers(eligible_backbone_a=1)
    sol = optimise(inp, _sc(rotation=True))
    flows = pair_flows(sol.built.ctx, max_travel_min=90)
    rotated = int(flows["count"].sum())
    backbone = int(flows.loc[flows["backbone"] == 1, "count"].sum())
    assert rotated >= 2
    assert backbone >= 0.2 * rotated
    short = unmet(sol.built.ctx).set_index(["unit_id", "indicator"])
    # B gets the one backbone teacher; 3 are still missing there
    assert short.loc[("B", "backbone"), "shortfall"] == pytest.approx(3)


def test_hiring_fills_a_pe_art_gap_within_the_recurrent_budget() -> None:
    # B: pe_art needs 400 * 0.9 / 100 = 3.6, has 4 -> fine. Make it short: 2 PE/art teachers.
    inp = two_school_teachers()
    parts = inp.parts.copy()
    parts.loc[("B", "primary"), "pe_art"] = 2
    parts.loc[("B", "primary"), "teachers"] = 15  # below the norm of ceil(400/19) = 22 posts: room to hire
    inp = replace(inp, parts=parts)
    sol = optimise(inp, _sc(hires=True))
    h = hires(sol.built.ctx)
    # 3.6 - 2 = 1.6 PE/art teachers missing -> 2 PE/art hires at 90,000 yuan a year each
    assert int(h.loc[(h["unit_id"] == "B") & (h["pe_art"] == 1), "count"].sum()) == 2
    assert h["cost_yuan_per_year"].sum() == pytest.approx(180_000)
    # a recurrent budget for one hire leaves 0.6 teacher missing
    sol = optimise(replace(inp, recurrent_budget_yuan=100_000), _sc(hires=True))
    short = unmet(sol.built.ctx).set_index(["unit_id", "indicator"])
    assert short.loc[("B", "pe_art"), "shortfall"] == pytest.approx(0.6)


def test_equipment_bought_to_the_standard_and_capped_by_budget() -> None:
    # B (200 pupils) has 1.0e6 yuan of equipment, the standard is 2000 * 200 = 400,000: fine.
    # A (600 pupils) has 1.5e6, standard 1.2e6: fine. Lower A's equipment to 0.9e6 -> 300,000 missing.
    inp = tiny_primary(capital_budget_yuan=1e6)
    units = inp.units.copy()
    units.loc["A", "equipment"] = 0.9e6
    inp = replace(inp, units=units)
    sol = optimise(inp, _sc(resources=True))
    proj = projects(sol.built.ctx)
    eq = proj[proj["kind"] == "equipment"].set_index("unit_id")
    assert eq.loc["A", "cost_yuan"] == pytest.approx(300_000, abs=1)
    # capital 100,000: buy what the budget allows, the rest is reported unmet
    sol = optimise(replace(inp, capital_budget_yuan=100_000), _sc(resources=True))
    proj = projects(sol.built.ctx)
    assert proj["cost_yuan"].sum() <= 100_000 + 1e-6
    short = unmet(sol.built.ctx).set_index(["unit_id", "indicator"])
    assert short.loc[("A", "equipment"), "shortfall"] == pytest.approx(300_000 - proj["cost_yuan"].sum(), abs=1)


def test_budget_too_small_gives_a_plan_and_an_unmet_table() -> None:
    # No money and no re-zoning: A keeps 600 pupils with 2,400 m2 of floor area (needs 4.5 * 600 = 2,700)
    # and 4,000 m2 of sports area (needs 7.5 * 600 = 4,500).
    inp = tiny_primary(capital_budget_yuan=0.0)
    sol = optimise(inp, _sc(catchments=False, new_schools=True, expansions=True, resources=True))
    assert sol.result.status == "optimal"
    assert projects(sol.built.ctx).empty
    short = unmet(sol.built.ctx).set_index(["unit_id", "indicator"])
    assert short.loc[("A", "floor_area"), "shortfall"] == pytest.approx(300)
    assert short.loc[("A", "sports_area"), "shortfall"] == pytest.approx(500)
    # sports at 4000 / 4500 = 88.9% may be the one missed indicator; floor at 88.9% too, but only one
    # may be missed: the rule shortfall is the smaller normalised gap left, 300 m2 of floor or 500 of sports
    rule = short["rule_shortfall"]
    assert (rule > 1e-6).sum() == 1
    # re-zoning alone fixes it: v3's 150 pupils move from A to B
    sol = optimise(inp, _sc(catchments=True))
    assert unmet(sol.built.ctx).empty


def test_a_school_keeps_its_share_of_todays_pupils() -> None:
    # Re-zoning fixes A's floor and sports area by moving v3's 150 of its 600 pupils to B (25%). A school
    # must keep min_school_share of today's pupils: 0.75 allows exactly that move, 0.8 forbids it.
    from planner.plan.readback import assignments

    inp = tiny_primary(capital_budget_yuan=0.0)
    for share, moved in ((0.75, True), (0.8, False)):
        sc = _sc(catchments=True).model_copy(update={"min_school_share": share})
        sol = optimise(inp, sc)
        assert sol.result.status == "optimal"
        a = assignments(sol.built.ctx)
        at_a = float(a.loc[a["unit_id"] == "A", "pupils"].sum())
        assert at_a >= share * 600 - 1e-6
        assert (at_a == 450) == moved
        assert unmet(sol.built.ctx).empty == moved


def test_closing_a_small_weak_school_moves_its_pupils() -> None:
    # C: a public primary school of 60 pupils (settlement v6, 8 minutes from B) with 100 m2 of floor area
    # (needs 4.5 * 60 = 270) and 300 m2 of sports area (needs 450): it misses two indicators. B has room:
    # 12 classrooms (540 places) for 200 pupils, 2,000 m2 of floor area (needs 4.5 * 260 = 1,170 after).
    import pandas as pd

    from planner.plan.readback import closed_units

    inp = tiny_primary(capital_budget_yuan=0.0)
    units = pd.concat([inp.units, inp.units.loc[["B"]].assign(unit_id="C", classrooms=3, floor_area=100.0,
                                                              sports_area=300.0, equipment=2e5, multimedia=3)])  # fmt: skip  # noqa: E501
    units.index = units["unit_id"]
    parts = pd.concat([inp.parts, pd.DataFrame(
        [{"pupils": 60.0, "fixed_pupils": float("nan"), "included": True, "teachers": 5, "above_required": 5,
          "backbone": 1, "pe_art": 1}], index=pd.MultiIndex.from_tuples([("C", "primary")], names=["unit_id", "stage"]))])  # fmt: skip  # noqa: E501
    demand = pd.concat([inp.demand, pd.DataFrame([{"settlement_id": "v6", "stage": "primary", "pupils": 60,
                                                   "current_unit": "C"}])], ignore_index=True)  # fmt: skip
    arcs = pd.concat([inp.arcs, pd.DataFrame([("v6", "C", 3.0, "primary", 210.0), ("v6", "B", 8.0, "primary", 560.0)],
                                             columns=list(inp.arcs.columns))], ignore_index=True)  # fmt: skip
    inp = replace(inp, units=units, parts=parts, demand=demand, arcs=arcs)
    closing = scenario_from_dict({"name": "close", "levers": {"catchments": True, "new_schools": False,
                                  "expansions": False, "resources": False, "rotation": False, "hires": False,
                                  "closures": True}, "closures": {"kinds": ["primary"], "max_pupils": 100},
                                  "solver": {"gap_rel": 0.0, "cv_iterations": 0}})  # fmt: skip
    sol = optimise(inp, closing)
    assert closed_units(sol.built.ctx) == ["C"]
    state = part_state(sol.built.ctx).set_index("unit_id")
    assert state.loc["C", "pupils"] == 0
    proj = projects(sol.built.ctx)
    assert list(proj.loc[proj["kind"] == "closure", "unit_id"]) == ["C"]
    short = unmet(sol.built.ctx)
    assert "C" not in set(short["unit_id"])
    # without the closures lever re-zoning may not empty a school: v6 stays and C keeps its shortfalls
    sol = optimise(inp, closing.model_copy(update={"levers": closing.levers.model_copy(update={"closures": False})}))
    assert closed_units(sol.built.ctx) == []
    assert part_state(sol.built.ctx).set_index("unit_id").loc["C", "pupils"] == 60
    assert {"floor_area", "sports_area"} <= set(unmet(sol.built.ctx).query("unit_id == 'C'")["indicator"])


def test_no_teacher_is_sent_to_a_site_left_unbuilt() -> None:
    # rotation and hires on, new schools allowed but no money: nothing is built, so no teacher may be
    # placed or recruited at a candidate site
    # A is overstaffed (30 teachers, norm ceil(400/19) = 22) and may send teachers one way; B is at its
    # norm (22) and may not take more. A rotation of 15% of 20 eligible = 3 teachers is cheapest as three
    # one-way moves out of A; the only place they could go one way is the empty site S1, which is not built.
    inp = two_school_teachers()
    parts = inp.parts.copy()
    parts.loc[("A", "primary"), "teachers"] = 30
    parts.loc[("B", "primary"), "teachers"] = 22
    parts.loc[("B", "primary"), "backbone"] = 4  # B meets its standard: no move is needed for it
    full = tiny_primary(capital_budget_yuan=0.0)
    inp = replace(
        inp,
        units=pd.concat([inp.units, full.units.loc[["S1"]]]),
        parts=pd.concat([parts, full.parts.loc[[("S1", "primary")]]]),
        site_options=full.site_options,
        capital_budget_yuan=0.0,
    )
    sc = _sc(rotation=True, hires=True, new_schools=True)
    sc = sc.model_copy(update={"rotation": sc.rotation.model_copy(update={"min_share_of_eligible": 0.15})})
    sol = optimise(inp, sc)
    state = part_state(sol.built.ctx).set_index("unit_id")
    assert state.loc["S1", "pupils"] == 0
    flows = pair_flows(sol.built.ctx, max_travel_min=90)
    assert "S1" not in set(flows["to_unit"])
    assert "S1" not in set(hires(sol.built.ctx)["unit_id"])


def test_pe_art_recruits_stop_at_what_the_pupils_need() -> None:
    # A has 40 PE/art teachers for 400 pupils (10 per 100), B none: the PE/art CV is |40 - x| / (40 + x)
    # with x PE/art teachers at B, within 0.50 only from x = 14. B has 15 teachers against a norm of
    # ceil(400 / 19) = 22 posts: room for 7 recruits, and the budget pays for 11, so without a rule all 7
    # would be PE/art recruits. A recruit counts for indicator 3 only as a PE, music or art teacher the
    # school needs: 0.9 per 100 pupils x 400 = 3.6, plus one for rounding, so at most 4.
    inp = two_school_teachers()
    parts = inp.parts.copy()
    parts.loc[("A", "primary"), ["teachers", "above_required", "pe_art"]] = [44, 44, 40]
    parts.loc[("B", "primary"), ["teachers", "pe_art"]] = [15, 0]
    inp = replace(inp, parts=parts, cv_max={"primary": 0.5, "junior": 0.45})
    sc = scenario_from_dict({"name": "t", "levers": {"catchments": False, "new_schools": False, "expansions": False,
                                                     "resources": False, "rotation": False, "hires": True},
                             "solver": {"gap_rel": 0.0, "cv_iterations": 2}})  # fmt: skip
    sol = optimise(inp, sc)
    h = hires(sol.built.ctx)
    at_b = h[h["unit_id"] == "B"]
    assert int(at_b.loc[at_b["pe_art"] == 1, "count"].sum()) == 4  # the 3.6 needed, rounded up
    assert int(at_b["count"].sum()) <= 7
