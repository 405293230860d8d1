"""The combined plan on the bundled county (确山县), checked on the plan's own tables.

One solve (HiGHS, 60 s limit, the start heuristic's plan: `full_mip` off) is shared by the tests of this module. It is
time-limited, so its status is "feasible, gap X%" — the tests check what must hold for any
plan the optimiser returns, not a particular optimum.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.loader import load_county
from planner.pipeline import plan_county
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
    assert s["status"] in ("optimal", "feasible")
    if s["status"] == "feasible":
        assert "not proven" in s["description"] and s["gap"] is not None
    assert s["objective"] >= s["bound"] - 1e-6 * abs(s["objective"])


def test_costs_add_up_to_the_project_list_within_budget(bundled) -> None:
    county, sc, _, plan = bundled
    assert plan.costs["capital_yuan"] == pytest.approx(float(plan.projects["cost_yuan"].sum()), rel=1e-12)
    assert plan.costs["capital_yuan"] <= county.parameters.budget.capital_yuan * sc.budget.scale + 1e-6
    rot = int((plan.exchange_list["kind"] == "rotation").sum())
    recurrent = (
        float(plan.hires["cost_yuan_per_year"].sum())
        + rot * county.parameters.unit_costs.rotation_allowance_yuan_per_year
    )
    assert plan.costs["recurrent_yuan_per_year"] == pytest.approx(recurrent)
    assert recurrent <= county.parameters.budget.recurrent_yuan_per_year * sc.budget.scale + 1e-6
    # every project's cost is its unit cost times its quantity, or its option's cost
    uc = county.parameters.unit_costs
    mm = plan.projects[plan.projects["kind"] == "multimedia"]
    assert (mm["cost_yuan"] == mm["quantity"] * uc.multimedia_room_yuan).all()
    ex = plan.projects[plan.projects["kind"] == "expansion"].set_index("item")
    options = county.expansion_options.set_index("option_id")
    for opt, row in ex.iterrows():
        assert row["cost_yuan"] == pytest.approx(options.loc[opt, "cost_yuan"])


def test_assignments_respect_the_travel_caps(bundled) -> None:
    _, _, _travel, plan = bundled
    a = plan.assignments
    # nobody is moved to a school beyond the cap; beyond-cap assignments are today's school, kept and reported
    assert a.loc[a["changed"], "within_cap"].all()
    beyond = a[~a["within_cap"]]
    assert (beyond["school_id"] == beyond["current_school_id"]).all()
    # pupils beyond the cap do not increase
    assert int(beyond["pupils"].sum()) <= int(a.loc[~a["within_cap"] | a["changed"], "pupils"].sum())


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
    rot = plan.exchange_list[plan.exchange_list["kind"] == "rotation"]
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


def test_size_and_class_limits_do_not_get_worse(bundled) -> None:
    *_, plan = bundled

    def over(assessment, item: str) -> int:
        g = assessment.guarantee
        g = g[(g["item"] == item) & (g["ownership"] == "public")] if "ownership" in g.columns else g[g["item"] == item]
        return int(g.loc[~g["met"].astype(bool), "pupils_affected"].fillna(0).sum())

    for item in ("school_size", "class_size"):
        assert over(plan.after, item) <= over(plan.before, item)
