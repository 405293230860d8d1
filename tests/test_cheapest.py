"""The cheapest passing plan (``objective: min_cost_to_pass``, issue #17 item 3).

A hand-made instance whose cheapest passing plan is found by enumerating every school's ways to
pass (which indicator is the one allowed at 85%, which expansions, how many rooms) independently of
the model; the real solver must return that cost, pass exactly the schools the enumeration can pass,
and list the one no money can fix with what binds.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pandas as pd
import pytest
from model_instances import STANDARD, UNIT_COSTS, tiny_primary

from planner.model.cheapest import lifted_budgets, min_cost_to_pass
from planner.model.optimise import part_state
from planner.plan.readback import projects
from planner.scenario import scenario_from_dict

MIN_LOT = 10_000.0


def _scenario(**extra: object):
    levers = {"catchments": False, "new_schools": False, "expansions": True, "resources": True, "rotation": False,
              "hires": False}  # fmt: skip
    return scenario_from_dict({"name": "t", "levers": levers, "objective": "min_cost_to_pass",
                               "solver": {"gap_rel": 0.0, "time_limit_s": 60}, **extra})  # fmt: skip


def _instance():
    """A: 600 pupils short of floor area, sports area (both 89%) and equipment (75%); one expansion EA.

    B: 60 pupils, one multimedia room where 1.38 are needed (72%). C: 100 pupils, floor and sports area
    at 67%, no expansion option: no money can pass it (land). Classrooms hold everyone.
    """
    inp = tiny_primary(capital_budget_yuan=0.0)  # the budget is lifted: the county's does not matter
    units = inp.units.loc[["A", "B"]].copy()
    units.loc["A", "equipment"] = 0.9e6
    units.loc["A", "classrooms"] = 14
    units.loc["B", "multimedia"] = 1
    c = units.loc["B"].copy()
    c["unit_id"] = "C"
    c["classrooms"], c["floor_area"], c["sports_area"], c["equipment"], c["multimedia"] = 6, 300.0, 500.0, 3e5, 3
    units.loc["C"] = c
    parts = inp.parts.loc[[("A", "primary"), ("B", "primary"), ("B", "primary")]].reset_index()
    parts.loc[1, "pupils"] = 60.0
    parts.loc[2, ["unit_id", "pupils"]] = ["C", 100.0]
    parts = parts.set_index(["unit_id", "stage"])
    demand = pd.DataFrame(
        [("v1", "primary", 250, "A"), ("v2", "primary", 200, "A"), ("v3", "primary", 150, "A"),
         ("v4", "primary", 40, "B"), ("v5", "primary", 20, "B"), ("v6", "primary", 100, "C")],
        columns=["settlement_id", "stage", "pupils", "current_unit"],
    )  # fmt: skip
    arcs = demand.rename(columns={"current_unit": "unit_id"})[["settlement_id", "unit_id", "stage"]].copy()
    arcs["time_min"] = 5.0
    arcs["distance_m"] = 350.0
    return replace(inp, units=units, parts=parts, demand=demand, arcs=arcs,
                   site_options=inp.site_options.iloc[0:0])  # fmt: skip


def _cheapest_by_hand(inp) -> tuple[float, set[str]]:
    """Every school's cheapest way to pass, by enumeration; (total cost, schools no way passes)."""
    each = _each_by_hand(inp)
    return sum(c for c in each.values() if math.isfinite(c)), {u for u, c in each.items() if math.isinf(c)}


def _each_by_hand(inp) -> dict[str, float]:
    """Each school's cheapest way to pass (inf: none), by enumeration."""
    std = STANDARD["primary"]
    each: dict[str, float] = {}
    for unit, row in inp.units.iterrows():
        part = inp.parts.loc[(unit, "primary")]
        pupils = float(part["pupils"])
        options = inp.expansions[inp.expansions["unit_id"] == unit]
        best = math.inf
        for n in range(len(options) + 1):
            for chosen in itertools.combinations(options.itertuples(index=False), n):
                floor = row["floor_area"] + sum(o.floor_area for o in chosen)
                sports = row["sports_area"] + sum(o.sports_area for o in chosen)
                rooms = row["classrooms"] + sum(o.added_classrooms for o in chosen)
                have = {"above_required": part["above_required"], "backbone": part["backbone"],
                        "pe_art": part["pe_art"], "floor_area": floor, "sports_area": sports,
                        "equipment": row["equipment"], "multimedia": row["multimedia"]}  # fmt: skip
                for relaxed in [None, *std]:
                    need = {k: std[k] * pupils * (0.85 if k == relaxed else 1.0) for k in std}
                    # what cannot be bought here: teachers (no hires or rotation), floor and sports area
                    if any(have[k] < need[k] - 1e-9 for k in ("above_required", "backbone", "pe_art",
                                                              "floor_area", "sports_area")):  # fmt: skip
                        continue
                    eq = max(0.0, need["equipment"] - have["equipment"])
                    eq = max(eq, MIN_LOT) if eq > 0 else 0.0
                    mm = max(0, math.ceil(need["multimedia"] - have["multimedia"] - 1e-9))
                    if mm > rooms:
                        continue
                    cost = sum(o.cost_yuan for o in chosen) + eq + mm * UNIT_COSTS["multimedia_room_yuan"]
                    best = min(best, cost)
        each[unit] = best
    return each


def test_the_cheapest_passing_plan_is_the_enumerated_one() -> None:
    inp = _instance()
    cost, unfixable = _cheapest_by_hand(inp)
    assert unfixable == {"C"}
    assert cost == pytest.approx(5e6 + 300_000 + 39_000)  # EA, A's equipment, one room at B
    sol, record = min_cost_to_pass(inp, _scenario())
    assert record.failing_parts == (("C", "primary"),)
    ctx = sol.built.ctx
    spent = ctx.capital_yuan.value() + ctx.recurrent_yuan.value()
    assert spent == pytest.approx(cost, rel=1e-6)
    assert sol.result.status == "optimal"
    assert record.stage1_description.startswith("optimal")
    state = part_state(ctx).set_index("unit_id")
    for unit in ("A", "B"):
        std = STANDARD["primary"]
        ratios = [state.loc[unit, k] / (std[k] * state.loc[unit, "pupils"]) for k in std]
        below = [r for r in ratios if r < 1 - 1e-9]
        assert not below or (len(below) == 1 and below[0] >= 0.85 - 1e-9), (unit, ratios)
    proj = projects(ctx)
    assert set(proj.loc[proj["kind"] == "expansion", "item"]) == {"EA"}


def test_bottom_lines_held_at_today_or_at_the_best_money_can_do() -> None:
    # A now meets floor area (2,800 of 2,700 m²) but its 10 classrooms seat 450 of its 600 pupils: only the
    # expansion EA (4 classrooms, 5 M yuan) fixes that bottom line, and A passes without it
    inp = _instance()
    units = inp.units.copy()
    units.loc["A", "floor_area"] = 2800.0
    units.loc["A", "classrooms"] = 10
    inp = replace(inp, units=units)
    cost, unfixable = _cheapest_by_hand(inp)
    assert unfixable == {"C"} and cost == pytest.approx(300_000 + 39_000)  # A's equipment, B's room
    sol, record = min_cost_to_pass(inp, _scenario())  # default: no bottom line worse than today
    ctx = sol.built.ctx
    assert ctx.capital_yuan.value() == pytest.approx(cost, rel=1e-6)
    # today's plan leaves 150 pupils over capacity at 200,000 each: the level held
    assert record.bottom_lines_today == pytest.approx(150 * 200_000)
    assert record.bottom_lines == pytest.approx(0, abs=1e-6)  # stage 1, money no object, built EA
    sol, record = min_cost_to_pass(inp, _scenario(cheapest={"bottom_lines": "best"}))
    assert sol.built.ctx.capital_yuan.value() == pytest.approx(5e6 + cost, rel=1e-6)
    assert record.bottom_lines_held == pytest.approx(0, abs=1e-3)


def test_the_parts_named_pass_the_cheapest_way() -> None:
    from planner.errors import ScenarioError

    inp = _instance()
    by_hand = _each_by_hand(inp)
    assert by_hand["B"] == pytest.approx(39_000)
    for parts in (["B"], ["A:primary", "B"]):
        sol, record = min_cost_to_pass(inp, _scenario(cheapest={"parts": parts}))
        want = sum(by_hand[p.split(":")[0]] for p in parts)
        assert sol.built.ctx.capital_yuan.value() == pytest.approx(want, rel=1e-6), parts
        assert record.stage1_status == "skipped"
        passed = {k for k, v in sol.built.ctx.vars["fail"].items() if (v.varValue or 0) < 0.5}
        assert {(p.split(":")[0], "primary") for p in parts} <= passed
    # a named part no money can pass (C: no land) stays failing instead of making the model infeasible
    sol, _record = min_cost_to_pass(inp, _scenario(cheapest={"parts": ["B", "C"]}))
    assert sol.built.ctx.capital_yuan.value() == pytest.approx(by_hand["B"], rel=1e-6)
    assert math.isinf(by_hand["C"])
    assert sol.built.ctx.vars["fail"][("C", "primary")].varValue == pytest.approx(1)
    with pytest.raises(ScenarioError, match=r"cheapest\.parts"):
        min_cost_to_pass(inp, _scenario(cheapest={"parts": ["B:junior"]}))


def test_the_lifted_budget_covers_everything_the_model_can_buy() -> None:
    inp = _instance()
    capital, recurrent = lifted_budgets(inp, _scenario())
    # EA, and per school the equipment big-M (2 × 2500 pupils × the junior 2500 yuan), a set per classroom and
    # six of each room
    per_school = 2 * 2500 * 2500 + 6 * (150_000 + 120_000)
    rooms = (14 + 4) + 12 + 6
    assert capital == pytest.approx(5e6 + 3 * per_school + rooms * 39_000)
    assert recurrent == pytest.approx(0.0 + float(inp.parts["teachers"].sum()) * 12_000)


def test_the_tiny_county_lists_what_no_money_can_fix_and_the_rest_passes(tmp_path) -> None:
    from pathlib import Path

    from tiny_county import straight_line_travel, write_tiny_county

    from planner.loader import load_county
    from planner.plan.pipeline import plan_county
    from planner.scenario import load_scenario

    county = load_county(write_tiny_county(tmp_path / "c"), check_network=False)
    travel, school_times = straight_line_travel(county)
    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "combined.yaml")
    sc = sc.model_copy(update={"objective": "min_cost_to_pass"})
    plan = plan_county(county, sc, travel, school_times, distance_method="straight_line")
    table = plan.extra_tables["no_money_fix"]
    schools = plan.after.schools
    assessed = schools[schools["assessed"].astype(bool)]
    failing = {(r.school_id, r.stage) for r in assessed.itertuples(index=False) if not bool(r.passes)}
    listed = {(r.school_id, r.stage) for r in table[table["source"] == "school"].itertuples(index=False)}
    # the independent assessment: every part not listed passes, every part listed fails
    assert listed == failing
    # and the model agrees: the parts its stage 1 left failing are exactly the ones the assessment finds failing
    stages = plan.extra_tables["cheapest_stages"]
    model = {tuple(p.split(":")) for p in str(stages["model_parts_failing"].iloc[0]).split(";") if p}
    assert model == failing
    # money is never what binds (the budgets were lifted)
    codes = {c for b in table["binds"] for c in b.split(";")}
    assert not codes & {"capital_budget", "recurrent_budget"}
    binds = table.set_index(["school_id", "stage"])["binds"]
    # the private school: the county's money does not reach it
    assert binds[("R1", "primary")] == "private_school"
    # P1 is short of sports area (80% < 85%) and no expansion option of P1 adds any: land, by the data
    opts = county.expansion_options
    assert not ((opts["school_id"] == "P1") & (opts["added_sports_area_m2"] > 0)).any()
    p1 = plan.after.indicators.set_index(["school_id", "stage", "indicator"]).loc[("P1", "primary", "sports_area")]
    assert float(p1["ratio"]) < 0.85
    assert "land" in binds[("P1", "primary")].split(";")
    # listed first, then the cost, which is what the plan spends
    assert plan.notes[0].startswith("无论投入多少资金都无法达标")
    assert plan.costs["capital_yuan"] == pytest.approx(float(plan.projects["cost_yuan"].sum()))
    assert plan.solver.status in ("optimal", "feasible")

    # no bottom line traded: no existing school part enters or leaves the assessment (the 50-pupil line)
    def scope(a) -> set[tuple[str, str]]:
        s = a.schools
        return {(r.school_id, r.stage) for r in s[s["assessed"].astype(bool)].itertuples() if r.school_id in
                set(county.schools.index)}  # fmt: skip

    assert scope(plan.after) == scope(plan.before)
    # the notes say a CV was made worse exactly when the assessment shows one above max(threshold, before)
    b = plan.before.balance.set_index(["stage", "indicator"])["cv"]
    worse = [r for r in plan.after.balance.itertuples() if r.cv > max(r.threshold, b[(r.stage, r.indicator)]) + 1e-3]
    assert ("差异系数不恶化" in plan.notes[0]) == (not worse)
    # CVs the plan leaves over their threshold are listed too
    over = plan.after.balance[~plan.after.balance["met"].astype(bool)]
    assert len(table[table["source"] == "cv"]) == len(over)


def test_sweep_names_the_cheapest_passing_plan(tmp_path) -> None:
    from pathlib import Path

    from tiny_county import write_tiny_county

    from planner.cli import main

    root = Path(__file__).resolve().parents[1]
    data = write_tiny_county(tmp_path / "county")
    out = tmp_path / "sweep"
    code = main(["sweep", str(root / "scenarios" / "combined.yaml"), "--budget", "0:10000000:2", "--data", str(data),
                 "--out", str(out), "-q"])  # fmt: skip
    assert code == 0
    grid = pd.read_csv(out / "sweep.csv", encoding="utf-8-sig")
    cheapest = pd.read_csv(out / "cheapest.csv", encoding="utf-8-sig").set_index("item")
    listed = pd.read_csv(out / "no_money_fix.csv", encoding="utf-8-sig")
    assert (out / "cheapest.csv").read_text(encoding="utf-8-sig").startswith("项目,item,")  # Chinese first
    n = int(cheapest.loc["school parts no money can fix", "数值 value"])
    assert n == int((listed["类型 source"] == "school").sum()) > 0
    capital = float(cheapest.loc["cheapest capital passing the rest (yuan)", "数值 value"])
    # a grid budget at or above the cheapest plan's capital fails no more parts than the cheapest plan leaves
    # (the tiny county's recurrent budget covers its recruits), checked on the grid's own assessments
    at = grid[grid["capital_budget_yuan"] >= capital - 1e-6]
    assert len(at) and (at["schools_failing"] == n).all()
    assert (out / "sweep.xlsx").stat().st_size > 0


def test_area_no_money_can_fix_is_land_and_the_travel_cap_by_the_data() -> None:
    from planner.plan.cheapest import area_binds

    schools = pd.DataFrame({"pupils_primary": [1000], "pupils_junior": [0], "sports_area_m2": [5000.0],
                            "floor_area_m2": [9000.0]}, index=pd.Index(["S"], name="school_id"))  # fmt: skip
    opts = pd.DataFrame({"option_id": ["E1", "E2"], "school_id": ["S", "S"], "added_sports_area_m2": [1000.0, 500.0],
                         "added_floor_area_m2": [0.0, 0.0]})  # fmt: skip
    taken = pd.DataFrame({"kind": ["expansion"], "item": ["E2"]})  # E2 is built already: its area is in the 5000
    # 85% of 7.5 m² is 6.375 m² a pupil; 5000 + 1000 (E1) = 6000 m² is 6.0 for 1000 pupils: land
    why, _ = area_binds(schools, opts, taken, {"S": 900.0}, "S", "sports_area", 7.5, 0.85)
    assert why == ["land"]  # 900 pupils who cannot go elsewhere would have 6.67 m² each: the cap does not bind
    why, _ = area_binds(schools, opts, taken, {"S": 950.0}, "S", "sports_area", 7.5, 0.85)
    assert why == ["land", "distance_cap"]  # 6000 / 950 = 6.32 < 6.375
    # with E2 not taken its 500 m² count too: 6500 / 1000 = 6.5 ≥ 6.375, nothing binds by the data
    assert area_binds(schools, opts, taken.iloc[0:0], {}, "S", "sports_area", 7.5, 0.85)[0] == []


def test_bad_cheapest_settings_name_the_key(tmp_path) -> None:
    from tiny_county import write_tiny_county

    from planner.errors import ScenarioError
    from planner.loader import load_county
    from planner.scenario_check import validate_against_county

    with pytest.raises(ScenarioError, match=r"key cheapest\.parts.*stage after ':' must be primary or junior"):
        _scenario(cheapest={"parts": ["P1:senior"]})
    with pytest.raises(ScenarioError, match=r"key objective"):
        scenario_from_dict({"name": "t", "objective": "cheapest"})
    county = load_county(write_tiny_county(tmp_path / "c"), check_network=False)
    validate_against_county(_scenario(cheapest={"parts": ["P1", "J1:junior"]}), county)
    with pytest.raises(ScenarioError, match=r"key cheapest\.parts: school 'P999' does not exist"):
        validate_against_county(_scenario(cheapest={"parts": ["P999"]}), county)
