"""The plan MILP's optimum equals exhaustive enumeration on tiny instances.

The objective is recomputed here independently from the model's code: for every
assignment of settlements to schools and every build/expansion choice, the shortfalls,
the 6-of-7 school rule (best choice of the one missed indicator), guarantee overflows,
cost, travel and re-zoning are evaluated by direct arithmetic and the minimum is taken.
"""

from __future__ import annotations

import itertools
import math

import pytest
from model_instances import tiny_primary

from planner.model.inputs import INDICATORS, TEACHER_INDICATORS, ModelInputs
from planner.model.optimise import optimise
from planner.scenario import Scenario, scenario_from_dict


def _scenario(**levers: bool) -> Scenario:
    on = {"catchments": True, "new_schools": True, "expansions": True, "resources": False, "rotation": False,
          "hires": False} | levers  # fmt: skip
    return scenario_from_dict(
        {
            "name": "tiny",
            "levers": on,
            "solver": {"name": "cbc", "gap_rel": 0.0, "time_limit_s": 60, "cv_iterations": 0},
        }
    )


def _objective(inp: ModelInputs, sc: Scenario, assign: dict[str, str], builds: dict[str, str | None],
               expand: bool) -> float | None:  # fmt: skip
    w = sc.weights
    units = inp.units
    # capacity and resources after the decisions
    rooms = {u: float(units.loc[u, "classrooms"]) for u in units.index}
    res = {
        u: {k: float(units.loc[u, k]) for k in ("floor_area", "sports_area", "equipment", "multimedia")}
        for u in units.index
    }
    music = {u: float(units.loc[u, "music_rooms"]) for u in units.index}
    art = {u: float(units.loc[u, "art_rooms"]) for u in units.index}
    capital = 0.0
    opts = inp.site_options.set_index("option_id")
    for site, option in builds.items():
        if option is None:
            continue
        o = opts.loc[option]
        rooms[site] += o["classes"]
        for k in res[site]:
            res[site][k] += o[k]
        music[site] += o["music_rooms"]
        art[site] += o["art_rooms"]
        capital += o["cost_yuan"] + units.loc[site, "land_cost_yuan"]
    if expand:
        e = inp.expansions.iloc[0]
        rooms[e["unit_id"]] += e["added_classrooms"]
        res[e["unit_id"]]["floor_area"] += e["floor_area"]
        res[e["unit_id"]]["sports_area"] += e["sports_area"]
        capital += e["cost_yuan"]
    if capital > inp.capital_budget_yuan:
        return None
    pupils = {u: 0.0 for u in units.index}
    travel = rezoned = 0.0
    arcs = inp.arcs.set_index(["settlement_id", "unit_id"])["time_min"]
    for d in inp.demand.itertuples(index=False):
        u = assign[d.settlement_id]
        if units.loc[u, "is_new"] and builds.get(u) is None:
            return None  # an unopened site takes nobody
        pupils[u] += d.pupils
        travel += d.pupils * arcs.loc[(d.settlement_id, u)]
        rezoned += d.pupils * (u != d.current_unit)
    for u in set(inp.demand["current_unit"]):
        if u not in assign.values():
            return None  # re-zoning may not empty an existing school (no closures here)
        today = float(inp.demand.loc[inp.demand["current_unit"] == u, "pupils"].sum())
        if not units.loc[u, "is_new"] and pupils[u] < sc.min_school_share * today - 1e-9:
            return None  # nor take more than half of today's pupils away from it
    total = w.travel_per_pupil_min * travel + w.rezoned_pupil * rezoned + w.cost_per_10k_yuan * capital / 1e4
    for u in units.index:
        p = pupils[u]
        part = inp.parts.loc[(u, "primary")]
        values = {k: float(part[k]) for k in TEACHER_INDICATORS} | res[u]
        std = {k: inp.std("primary", k) for k in INDICATORS}
        shorts = {k: max(0.0, std[k] * p - values[k]) for k in INDICATORS}
        total += w.full_standard * sum(shorts[k] / std[k] for k in INDICATORS)
        best_rule = math.inf
        for missed in [None, *INDICATORS]:
            r = 0.0
            for k in INDICATORS:
                need = std[k] * p * (inp.rule_floor if k == missed else 1.0)
                r += max(0.0, need - values[k]) / std[k]
            best_rule = min(best_rule, r)
        total += w.school_rule * best_rule
        total += w.failing_school * (best_rule > 1e-9)  # the inspectors count the school, one whatever its size
        total += w.limits * max(0.0, p - 45 * rooms[u])
        total += w.limits * max(0.0, p - 2000)
        classes = p / 45
        total += w.guarantee * (max(0.0, classes / 12 - music[u]) + max(0.0, classes / 12 - art[u]))
    return total


def _brute_force(inp: ModelInputs, sc: Scenario) -> float:
    choices = {s: list(g["unit_id"]) for s, g in inp.arcs.groupby("settlement_id")}
    if not sc.levers.catchments:
        choices = {d.settlement_id: [d.current_unit] for d in inp.demand.itertuples()}
    sites = {"S1": [None, "P6", "P12"], "S2": [None, "P6"]} if sc.levers.new_schools else {"S1": [None], "S2": [None]}
    expands = [False, True] if sc.levers.expansions else [False]
    names = sorted(choices)
    best = math.inf
    for combo in itertools.product(*(choices[n] for n in names)):
        assign = dict(zip(names, combo, strict=True))
        for b1, b2, ex in itertools.product(sites["S1"], sites["S2"], expands):
            v = _objective(inp, sc, assign, {"S1": b1, "S2": b2}, ex)
            if v is not None:
                best = min(best, v)
    return best


@pytest.mark.parametrize(
    ("budget", "levers"),
    [
        (30e6, {}),
        (12e6, {}),  # can afford one small school or the expansion, not both
        (4e6, {}),  # can afford nothing: only re-zoning helps
        (30e6, {"catchments": False}),
        (30e6, {"new_schools": False}),
    ],
    ids=["ample", "tight", "nothing", "no-rezoning", "no-new-schools"],
)
def test_optimum_equals_enumeration(budget: float, levers: dict[str, bool]) -> None:
    inp = tiny_primary(capital_budget_yuan=budget)
    sc = _scenario(**levers)
    sol = optimise(inp, sc)
    assert sol.result.status == "optimal"
    expected = _brute_force(inp, sc)
    assert sol.result.objective == pytest.approx(expected, rel=1e-6, abs=1e-4)
