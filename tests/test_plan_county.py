"""The combined plan on the bundled county (确山县), checked on the plan's own tables.

One solve (HiGHS, 60 s limit, the start heuristic's plan: `full_mip` off) is shared by the tests of this module. It is
time-limited, so its status is "feasible, gap X%" — the tests check what must hold for any
plan the optimiser returns, not a particular optimum.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plan_costs import expected_costs

from planner.loader import load_county
from planner.plan.pipeline import plan_county
from planner.scenario import load_scenario
from planner.standards import INDICATORS_BY_KEY
from planner.travel import plan_travel_times

#: one worker runs the module (its fixture is one long solve or run set, not repeated per worker)
pytestmark = pytest.mark.xdist_group("plan_county")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bundled():
    county = load_county(ROOT / "geodata" / "queshan")
    sc = load_scenario(ROOT / "scenarios" / "combined.yaml")
    # the start heuristic's plan (full_mip off): HiGHS's full MIP can overrun its limit by minutes in its root
    # node on this model (docs/performance.md), which the suite cannot afford
    solver = sc.solver.model_copy(update={"time_limit_s": 60, "start_share": 0.9, "full_mip": False})
    sc = sc.model_copy(update={"solver": solver})
    travel = plan_travel_times(county, sc)
    plan = plan_county(county, sc, travel.long, travel.school_times, distance_method=travel.method)
    return county, sc, travel, plan


def test_solver_status_is_honest(bundled) -> None:
    *_, plan = bundled
    s = plan.solver
    assert s.status in ("optimal", "feasible")
    if s.status == "feasible":
        assert "not proven" in s.description and s.gap is not None
    assert s.objective >= s.bound - 1e-6 * abs(s.objective)


def test_costs_match_the_county_unit_costs_within_budget(bundled, tmp_path: Path) -> None:
    county, sc, _, plan = bundled
    plan.save(tmp_path)
    # recomputed from projects.csv / hires.csv / exchange_list.csv and the county folder's own files
    projects, recurrent = expected_costs(tmp_path, ROOT / "geodata" / "queshan")
    assert len(projects)
    np.testing.assert_allclose(projects["cost_yuan"], projects["expected_yuan"], rtol=1e-9)
    assert plan.costs["capital_yuan"] == pytest.approx(projects["expected_yuan"].sum(), rel=1e-9)
    assert plan.costs["capital_yuan"] <= county.parameters.budget.capital_yuan * sc.budget.scale + 1e-6
    assert recurrent > 0
    assert plan.costs["recurrent_yuan_per_year"] == pytest.approx(recurrent, rel=1e-9)
    assert recurrent <= county.parameters.budget.recurrent_yuan_per_year * sc.budget.scale + 1e-6


@pytest.fixture(scope="module")
def reachable(bundled):
    """By hand, on the travel times: the public schools of the stage (or sites the plan builds) a settlement may go
    to within its cap under the 就近入学 rule, other than ``exclude``.

    Within the cap: the day cap of its area type; a boarding school's 90-minute allowance only where no public day
    school of the stage is within the day cap (today's boarding school: within its allowance). Nearby: no farther
    than max(today's school, the nearest school or site within the cap) + the tolerance (10 minutes).
    """
    county, sc, travel, plan = bundled
    schools = county.schools[county.schools["ownership"] == "public"]
    teaches = {"primary": {"primary", "teaching_point", "nine_year"}, "junior": {"junior", "nine_year"}}
    sites = set(county.candidate_sites.index)
    built = set(plan.projects.loc[plan.projects["kind"] == "new_school", "school_id"])
    area = county.settlements["area_type"]
    boarding = set(schools.index[schools["is_boarding"].astype(bool)])
    tol = sc.distance.rezoning_tolerance_min
    t = travel.long.set_index(["settlement_id", "stage"]).sort_index()

    def within(settlement: str, stage: str, exclude: str = "") -> list[str]:
        cap = getattr(getattr(sc.distance, f"{stage}_max_min"), area[settlement])
        today = county.settlements.at[settlement, f"school_{stage}_id"]
        ours = set(schools.index[schools["kind"].isin(teaches[stage])])
        near = t.loc[(settlement, stage)]
        near = near[near["unit_id"].isin(ours | sites)]
        times = dict(zip(near["unit_id"], near["time_min"], strict=True))
        day_school_near = any(u not in boarding and u in ours and m <= cap for u, m in times.items())
        allowance = cap if day_school_near else max(cap, sc.distance.boarding_max_min)
        eligible = {u: m for u, m in times.items() if m <= (allowance if u in boarding else cap)}
        limit = max(times.get(today, 0.0), min(eligible.values(), default=0.0)) + tol
        out = {u for u, m in eligible.items() if m <= limit}
        if today in times and times[today] <= (max(cap, sc.distance.boarding_max_min) if today in boarding else cap):
            out.add(today)
        return sorted((out & (ours | built)) - {exclude})

    return within


def test_every_assignment_is_within_its_cap_unless_no_school_is(bundled, reachable) -> None:
    *_, plan = bundled
    a = plan.assignments
    # nobody is moved to a school beyond the cap
    assert a.loc[a["changed"], "within_cap"].all()
    # a settlement stays beyond its cap only when no public school of its stage (or site the plan builds) is
    # within the cap, or none of those has room for its pupils after the plan (classrooms x 45, junior pupils
    # counting 45/50, and the size limit), each checked by hand
    s = plan.after_county.schools
    rooms_left = s["classrooms"] * 45 - s["pupils_primary"] - s["pupils_junior"] * 45 / 50
    size_left = s["kind"].map({"nine_year": 2500}).fillna(2000) - s["pupils_primary"] - s["pupils_junior"]
    beyond = a[~a["within_cap"]]
    why = plan.extra_tables["unmet"].set_index(["settlement_id", "stage"])["binds"]
    assert len(beyond), "the bundled county has settlements beyond their cap: the checks below must run"
    for r in beyond.itertuples(index=False):
        others = reachable(r.settlement_id, r.stage)
        for other in others:
            room = rooms_left[other] * (1 if r.stage == "primary" else 50 / 45)
            assert min(room, size_left[other]) < r.pupils, (r, other)
        assert why[(r.settlement_id, r.stage)] == ("capacity" if others else "distance_cap")
    # and the plan's unmet table lists each of them, with the distance cap as what binds
    far = plan.extra_tables["unmet"].query("source == 'distance'")
    assert sorted(far["settlement_id"] + far["stage"]) == sorted(beyond["settlement_id"] + beyond["stage"])


def test_rezoning_is_nearby_by_hand(bundled, reachable) -> None:
    """就近入学 on the plan table: every re-zoned settlement goes to a school the rule allows (worked out from the
    travel times by hand), and none whose school today is within its cap gets a trip longer by more than the
    tolerance (10 minutes; issue #16 asks for at most 15). The read-out (plan/rezoning.csv) states the same."""
    county, sc, travel, plan = bundled
    a = plan.assignments
    t = travel.long.set_index(["settlement_id", "stage", "unit_id"])["time_min"]
    schools = county.schools
    boarding = set(schools.index[schools["is_boarding"].astype(bool)])
    area = county.settlements["area_type"]
    tol = sc.distance.rezoning_tolerance_min
    moved = a[a["school_id"] != a["current_school_id"]]
    assert len(moved)
    growth = []
    for r in moved.itertuples(index=False):
        assert r.school_id in reachable(r.settlement_id, r.stage), r
        cap = getattr(getattr(sc.distance, f"{r.stage}_max_min"), area[r.settlement_id])
        if r.current_school_id in boarding:
            cap = max(cap, sc.distance.boarding_max_min)
        before = float(t[(r.settlement_id, r.stage, r.current_school_id)])
        after = float(t[(r.settlement_id, r.stage, r.school_id)])
        if before <= cap:
            assert after - before <= tol + 1e-9, r
            growth.append(after - before)
    table = plan.extra_tables["rezoning"].set_index("stage")
    for stage in ("primary", "junior"):
        m = moved[moved["stage"] == stage]
        assert table.loc[stage, "pupils_rezoned"] == int(m["pupils"].sum())
        assert table.loc[stage, "pupils_longer_15_within_cap"] == 0
    assert max(growth) <= 15


def test_after_assessment_improves_on_the_baseline(bundled) -> None:
    *_, plan = bundled
    b = plan.before.summary.set_index("stage")
    af = plan.after.summary.set_index("stage")
    # any plan the solver returns is at least as good as today's (its starting plan): no stage has
    # more failing schools, and the total shortfall falls
    for stage in ("primary", "junior"):
        assert af.loc[stage, "schools_failing"] <= b.loc[stage, "schools_failing"]
    assert af["schools_failing"].sum() < b["schools_failing"].sum()

    def pupil_equivalents(ind) -> float:
        per = ind["indicator"].map(lambda k: INDICATORS_BY_KEY[k].per_pupils)
        return float((ind["shortfall"] / (ind["standard"] / per)).sum())

    assert pupil_equivalents(plan.after.indicators) < pupil_equivalents(plan.before.indicators)


def test_rotation_meets_the_policy(bundled) -> None:
    county, sc, _, plan = bundled
    # both legs of a 双向交流 are rotated teachers
    rot = plan.exchange_list[plan.exchange_list["kind"].isin(["rotation", "return"])]
    parts = plan.before.parts
    eligible = int(
        parts.loc[(parts["ownership"] == "public") & (parts["kind"] != "special"), "teachers_eligible"].sum()
    )
    assert len(rot) >= 0.10 * eligible
    assert int((rot["category"] == "backbone").sum()) >= 0.20 * len(rot)
    g = plan.after.guarantee.set_index("item")
    assert bool(g.loc["rotation_share", "met"]) and bool(g.loc["rotation_backbone_share", "met"])
    # only eligible teachers rotate, each at most once, and never to their own school
    years = county.teachers.loc[rot["teacher_id"], "years_at_school"]
    assert (years >= sc.rotation.eligible_years).all()
    assert not plan.exchange_list["teacher_id"].duplicated().any()
    assert (plan.exchange_list["from_school_id"] != plan.exchange_list["to_school_id"]).all()


def test_size_and_class_limits_hold_where_anything_can_be_done(bundled, reachable) -> None:
    """Every public school within the size and class limits, unless the plan's unmet table names a binding cause.

    The causes are checked by hand: a school over a limit whose every pupil has no other school within the cap
    (distance cap), or that has no expansion option left to add classrooms (land), or the capital budget spent
    down below the cheapest option that would add them (budget).
    """
    county, _, _, plan = bundled
    g = plan.after.guarantee
    owner = plan.after.parts.drop_duplicates("school_id").set_index("school_id")["ownership"]
    over = g[g["item"].isin(["school_size", "class_size"]) & ~g["met"].astype(bool)]
    over = over[over["school_id"].map(owner) == "public"]
    u = plan.extra_tables["unmet"].set_index(["item", "school_id", "stage"])
    left = plan.costs["capital_budget_yuan"] - plan.costs["capital_yuan"]
    taken = set(plan.projects["item"])
    options = county.expansion_options[~county.expansion_options["option_id"].isin(taken)]
    before = g.iloc[:0]
    assert len(over), "the bundled county has public schools over a size or class limit: the checks below must run"
    for r in over.itertuples(index=False):
        why = u.loc[(r.item, r.school_id, r.stage if isinstance(r.stage, str) else ""), "binds"].split(";")
        assert "trade_off" not in why, r
        rooms = options[(options["school_id"] == r.school_id) & (options["added_classrooms"] > 0)]
        if "land" in why:
            assert rooms.empty
        if "capital_budget" in why:
            assert left < rooms["cost_yuan"].min()
        if "distance_cap" in why:
            # the pupils with no other school within their cap alone exceed what the school may hold
            mine = plan.assignments[plan.assignments["school_id"] == r.school_id]
            if r.item == "class_size":
                mine = mine[mine["stage"] == r.stage]
            stuck = sum(p for s, k, p in zip(mine["settlement_id"], mine["stage"], mine["pupils"], strict=True)
                        if not reachable(s, k, exclude=r.school_id))  # fmt: skip
            room = r.limit if r.item == "school_size" else r.pupils_affected - r.gap
            assert stuck > room, r
    # and the plan never makes them worse than today
    for item in ("school_size", "class_size"):
        b = plan.before.guarantee
        before = b[(b["item"] == item) & ~b["met"].astype(bool) & (b["school_id"].map(owner) == "public")]
        after = over[over["item"] == item]
        assert int(after["pupils_affected"].sum()) <= int(before["pupils_affected"].sum())


def _cheapest_pass_yuan(ind: pd.DataFrame, share: float, classrooms: float, room_yuan: float) -> float:
    """By hand: the least equipment and multimedia money that passes one failing part, inf if none does.

    ``ind``: the part's seven rows of the after-assessment (value, standard, pupils). Buying ``y`` yuan
    of equipment or ``n`` rooms for the school raises the part's resource by ``share × y`` (``share ×
    n``): a nine-year school's resources are split between its parts by pupils (DOMAIN.md §1.1). The
    school rule: six indicators met, the seventh at 85% or more.
    """
    rows = ind.set_index("indicator")
    best = float("inf")
    for missed in [None, *rows.index]:
        cost = 0.0
        for k, r in rows.iterrows():
            need = r["standard"] * (0.85 if k == missed else 1.0) * r["pupils"] / INDICATORS_BY_KEY[k].per_pupils
            have = r["resource"]
            if have >= need - 1e-9:
                continue
            if k == "equipment":
                cost += (need - have) / share
            elif k == "multimedia":
                rooms = math.ceil((need - have) / share - 1e-9)
                if have / share + rooms > classrooms:  # a set goes into a classroom
                    cost = float("inf")
                cost += rooms * room_yuan
            else:
                cost = float("inf")
        best = min(best, cost)
    return best


def test_no_failing_school_is_left_that_a_cheap_purchase_would_pass(bundled) -> None:
    # the inspectors count schools: a school failing for want of 100,000 yuan or less of equipment and
    # multimedia rooms is a school the plan should have passed (issue #16), whatever the budget's other uses
    county, _, _, plan = bundled
    after = plan.after
    failing = after.schools[after.schools["assessed"] & ~after.schools["passes"]]
    assert len(failing) > 0  # the budget does not pass every school: the check has something to look at
    parts = after.parts.set_index(["school_id", "stage"])
    ind = after.indicators
    rooms = county.parameters.unit_costs.multimedia_room_yuan
    classrooms = plan.after_county.schools["classrooms"]
    cheap = {}
    for r in failing.itertuples(index=False):
        rows = ind[(ind["school_id"] == r.school_id) & (ind["stage"] == r.stage)]
        share = float(parts.loc[(r.school_id, r.stage), "share"])
        cost = _cheapest_pass_yuan(rows, share, float(classrooms.get(r.school_id, 0)), rooms)
        if cost <= 100_000:
            cheap[(r.school_id, r.stage)] = round(cost)
    assert not cheap, f"failing schools a purchase of 100,000 yuan or less would pass: {cheap}"


def test_teacher_exchange_follows_the_policy(bundled) -> None:
    # issue #16 item 2, counted from teachers.csv and the settlements' area types, not from the model
    county, _, _, plan = bundled
    ex = plan.exchange_list
    moved = ex[ex["kind"] != "itinerant"]
    area = county.schools["settlement_id"].map(county.settlements["area_type"])
    rural = set(area.index[area == "rural"])
    into_rural = int((moved["to_school_id"].isin(rural) & ~moved["from_school_id"].isin(rural)).sum())
    out_of_rural = int((moved["from_school_id"].isin(rural) & ~moved["to_school_id"].isin(rural)).sum())
    assert into_rural >= out_of_rural
    # no school-subject emptied
    t = county.teachers
    before = t.groupby(["school_id", "stage", "subject"]).size()
    where = t["school_id"].copy()
    where.loc[moved["teacher_id"].to_numpy()] = moved["to_school_id"].to_numpy()
    after = t.assign(school_id=where).groupby(["school_id", "stage", "subject"]).size()
    assert (after.reindex(before.index, fill_value=0) > 0).all()
    # new schools get redeployed teachers from urban and town schools only
    new = moved[moved["kind"] == "redeployment"]
    assert not new["from_school_id"].isin(rural).any()
    assert set(moved["kind"]) <= {"rotation", "return", "redeployment"}
    assert (moved.loc[moved["kind"] != "redeployment", "term_years"] == 3).all()
