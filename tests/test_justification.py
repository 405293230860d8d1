"""Budget justification, marginal value of money and cost to meet, on the tiny county.

The marginal rows are re-solves of the real model; each row's numbers are checked against
a direct assessment of that re-solve's county, and cost_to_meet against hand arithmetic.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from docx import Document
from tiny_county import straight_line_travel, write_tiny_county

from planner.assess import assess
from planner.loader import load_county
from planner.plan.pipeline import plan_county
from planner.plan.variants import (
    KEPT_NOTE,
    better_of,
    marginal_budget,
    plan_rank,
    solve_variants,
    unmet_summary,
    with_budget,
    with_time_limit,
)
from planner.report.justification import PROJECT_HEADER, TOTAL_ZH, write_budget_justification, yuan
from planner.report.marginal import cost_to_meet, cost_totals
from planner.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("just")
    county = load_county(write_tiny_county(tmp / "c"), check_network=False)
    travel, school_times = straight_line_travel(county)
    scenario = load_scenario(ROOT / "scenarios" / "combined.yaml")
    plan, marginal = marginal_budget(county, scenario, travel, school_times, distance_method="straight_line",
                                     time_limit_s=30)  # fmt: skip
    costs = cost_to_meet(plan, county)
    paths = write_budget_justification(plan, county, tmp / "out", marginal=marginal, cost_to_meet=costs)
    return county, scenario, travel, school_times, plan, marginal, costs, paths


def _chain_plans(county, scenario, travel, school_times) -> dict:
    """The -10% and +10% plans of the budget chain, solved again the way marginal_budget solves them."""
    resolve = with_time_limit(scenario, 30)
    chain = [with_budget(resolve, scale=0.9), scenario, with_budget(resolve, scale=1.1)]
    plans = solve_variants(county, chain, travel, school_times, distance_method="straight_line", chain=True)
    return {"-10%": (0.9, *plans[0]), "+10%": (1.1, *plans[2])}


def test_more_money_never_ranks_worse(tiny) -> None:
    *_, marginal, _, _ = tiny
    t = marginal.sort_values("scale")
    # the inspectors' order: more schools passing, fewer failing, fewer CVs over, fewer indicators unmet
    ranks = list(zip(-t["schools_passing"], t["schools_failing"], t["cv_over"], t["unmet_indicators"], strict=True))
    assert ranks == sorted(ranks, reverse=True)
    assert list(t["schools_passing"]) == sorted(t["schools_passing"])


def test_a_worse_plan_at_a_larger_budget_gives_way_to_the_smaller_budgets_plan(tiny) -> None:
    county, scenario, travel, school_times, plan, *_ = tiny
    # the do-nothing plan (no lever) at 1.2 x the budget ranks below the chain's plan at 1 x
    idle = scenario.model_copy(update={"levers": scenario.levers.model_copy(update=dict.fromkeys(
        ("catchments", "new_schools", "expansions", "resources", "rotation", "hires"), False))})  # fmt: skip
    worse = plan_county(county, with_budget(idle, scale=1.2), travel, school_times, distance_method="straight_line")
    assert plan_rank(worse) > plan_rank(plan)
    kept = better_of(worse, plan)
    assert kept.projects.equals(plan.projects) and kept.assignments.equals(plan.assignments)
    assert kept.costs["capital_budget_yuan"] == pytest.approx(1.2 * county.parameters.budget.capital_yuan)
    assert kept.costs["capital_yuan"] == pytest.approx(plan.costs["capital_yuan"])
    assert any(n.startswith(KEPT_NOTE) for n in kept.notes)
    assert better_of(plan, worse) is plan  # the better plan stands where it was solved


def _amount(s: str) -> float:
    return float(s.replace(",", ""))


def test_docx_project_table_and_total_equal_the_plan(tiny) -> None:
    county, *_, plan, _, _, paths = tiny
    docx_path, md_path = paths
    assert docx_path.suffix == ".docx" and md_path.suffix == ".md"
    doc = Document(str(docx_path))
    table = doc.tables[0]
    header = [c.text for c in table.rows[0].cells]
    assert header == list(PROJECT_HEADER)
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    body, total = rows[:-1], rows[-1]
    assert total[0] == TOTAL_ZH
    assert len(body) == len(plan.projects)
    money = header.index("金额(元)")
    got = [_amount(r[money]) for r in body]
    assert got == pytest.approx([round(v, 2) for v in plan.projects["cost_yuan"]])
    assert _amount(total[money]) == pytest.approx(plan.projects["cost_yuan"].sum())
    # cost per pupil = cost / pupils served
    pupils, per = header.index("受益学生(人)"), header.index("生均(元)")
    for r in body:
        assert _amount(r[per]) == pytest.approx(_amount(r[money]) / _amount(r[pupils]), abs=0.01)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "合成数据" in text  # tiny county is synthetic
    assert "预算编制说明" in text
    # every project's school is named with its id
    names = county.schools["name_zh"].to_dict()
    for r, p in zip(body, plan.projects.itertuples(index=False), strict=True):
        assert r[1] == f"{names[p.school_id]}（{p.school_id}）"


def test_markdown_has_the_same_total_and_sections(tiny) -> None:
    *_, plan, marginal, costs, paths = tiny
    md = paths[1].read_text(encoding="utf-8")
    total = yuan(plan.projects["cost_yuan"].sum())
    assert f"| {TOTAL_ZH} |  |  |  |  |  | {total} |  |" in md
    assert yuan(plan.costs["recurrent_yuan_per_year"]) in md
    for h in ("二、资本性项目明细", "五、仍未达标事项及达标所需资金", "六、资金边际效益"):
        assert f"## {h}" in md
    t = cost_totals(costs)
    assert yuan(t["capital_yuan"]) in md
    # marginal rows: the re-solves' status is printed next to the numbers
    for r in marginal.itertuples(index=False):
        assert f"| {r.label} | {yuan(r.capital_budget_yuan)} |" in md
        assert r.solver_description in md


def test_marginal_budgets_and_rows_equal_direct_assessment(tiny) -> None:
    county, scenario, travel, school_times, plan, marginal, _, _ = tiny
    assert list(marginal["label"]) == ["-10%", "0%", "+10%"]
    cap, rec = county.parameters.budget.capital_yuan, county.parameters.budget.recurrent_yuan_per_year
    assert list(marginal["capital_budget_yuan"]) == pytest.approx([0.9 * cap, cap, 1.1 * cap])
    assert list(marginal["recurrent_budget_yuan_per_year"]) == pytest.approx([0.9 * rec, rec, 1.1 * rec])
    assert (marginal["capital_yuan"] <= marginal["capital_budget_yuan"] + 1e-6).all()
    assert (marginal["recurrent_yuan_per_year"] <= marginal["recurrent_budget_yuan_per_year"] + 1e-6).all()
    assert marginal.iloc[1]["unmet_indicators"] == unmet_summary(plan.after)["unmet_indicators"]

    _plan_again, again = marginal_budget(county, scenario, travel, school_times, distance_method="straight_line",
                                        time_limit_s=30)  # fmt: skip
    cols = ["capital_budget_yuan", "capital_yuan", "recurrent_yuan_per_year", "unmet_indicators", "schools_passing"]
    pd.testing.assert_frame_equal(again[cols], marginal[cols])  # deterministic re-solves
    variants = _chain_plans(county, scenario, travel, school_times)
    for label, (_scale, p, _wall) in variants.items():
        row = marginal.set_index("label").loc[label]
        direct = assess(p.after_county)  # the engine on the re-solve's county, independently of the plan
        ind = direct.indicators
        miss = ind[~ind["met"]]
        assert row["unmet_indicators"] == len(miss)
        assert row["shortfall_index"] == pytest.approx(sum(1 - v / s for v, s in zip(miss["value"], miss["standard"],
                                                                                      strict=True)))  # fmt: skip
        sch = direct.schools[direct.schools["assessed"]]
        assert row["schools_passing"] == int(sch["passes"].astype(bool).sum())
        assert row["cv_over"] == int((~direct.balance["met"]).sum())
        assert row["capital_yuan"] == pytest.approx(p.projects["cost_yuan"].sum())
        assert row["status"] == p.solver.status
        assert row["gap"] == pytest.approx(p.solver.gap) or (math.isnan(row["gap"]) and p.solver.gap is None)
    assert isinstance(marginal.attrs["notes"], list)


def test_cost_to_meet_by_hand(tiny) -> None:
    county, *_, plan, _, costs, _ = tiny
    uc = county.parameters.unit_costs
    after = plan.after_county
    std = plan.after.standards
    # 城关小学 P1 has no option that adds sports area: the m² short x the sports-ground cost per m²
    row = costs[(costs["school_id"] == "P1") & (costs["item"] == "sports_area")]
    assert len(row) == 1
    s = after.schools.loc["P1"]
    need_m2 = std.threshold("primary", "sports_area") * int(s["pupils_primary"]) - float(s["sports_area_m2"])
    assert need_m2 > 0
    assert row["cost_yuan"].iloc[0] == pytest.approx(need_m2 * uc.sports_ground_yuan_per_m2)
    # J1 junior: above-required teachers short, whole teachers × annual hire cost
    row = costs[(costs["school_id"] == "J1") & (costs["item"] == "above_required")]
    assert len(row) == 1
    t = after.teachers[(after.teachers["school_id"] == "J1") & (after.teachers["stage"] == "junior")]
    above = int(t["education"].isin(["bachelor", "master"]).sum())
    short = std.threshold("junior", "above_required") * int(after.schools.loc["J1", "pupils_junior"]) / 100 - above
    assert row["cost_yuan"].iloc[0] == pytest.approx(math.ceil(short) * uc.teacher_hire_yuan_per_year)
    assert row["cost_kind"].iloc[0] == "recurrent"
    # private school items are marked, and excluded from the public totals
    assert not costs.loc[costs["school_id"] == "R1", "public"].any()
    t = cost_totals(costs)
    pub = costs[costs["public"]]
    assert t["capital_yuan"] == pytest.approx(pub.loc[pub["cost_kind"] == "capital", "cost_yuan"].sum())
    assert t["recurrent_yuan_per_year_lower"] <= t["recurrent_yuan_per_year_upper"]


def test_marginal_notes_flag_a_non_monotone_result() -> None:
    from planner.plan.variants import marginal_notes

    base = {"capital_budget_yuan": 1.0, "recurrent_budget_yuan_per_year": 1.0, "capital_yuan": 1.0,
            "recurrent_yuan_per_year": 0.5, "gap": 0.0, "schools_passing": 3, "cv_over": 1}  # fmt: skip
    rows = [
        {**base, "label": "-10%", "scale": 0.9, "unmet_indicators": 5, "shortfall_index": 2.0, "status": "optimal"},
        {**base, "label": "0%", "scale": 1.0, "unmet_indicators": 4, "shortfall_index": 1.5, "status": "optimal"},
        {**base, "label": "+10%", "scale": 1.1, "unmet_indicators": 6, "shortfall_index": 1.0, "status": "feasible"},
    ]
    notes = marginal_notes(pd.DataFrame(rows))
    assert len(notes) == 1
    assert "+10%" in notes[0] and "non-monotone" in notes[0] and "not proven optimal" in notes[0]
    # more unmet indicators with more money where more schools pass: said so, the inspectors' order
    passing = [{**r, "schools_passing": 3 + i} for i, r in enumerate(rows)]
    (note,) = [n for n in marginal_notes(pd.DataFrame(passing)) if n.startswith("非单调")]
    assert "5 schools pass against 4" in note and "inspectors' order" in note
    rows[2]["unmet_indicators"] = 3
    assert marginal_notes(pd.DataFrame(rows)) == [
        "Solves not proven optimal (+10%): the differences are those of the plans found, within the gaps shown."
    ]
    # a budget no plan uses up: said so, next to the solver note
    for r in rows:
        r["capital_yuan"], r["recurrent_yuan_per_year"] = 0.2, 0.3
    notes = marginal_notes(pd.DataFrame(rows))
    assert len(notes) == 2 and notes[0].startswith("预算未构成约束") and "not proven optimal" in notes[1]


def test_marginal_rejects_bad_delta_in_one_line(tiny) -> None:
    from planner.errors import ScenarioError

    county, scenario, travel, school_times, *_ = tiny
    with pytest.raises(ScenarioError, match="delta must be between 0 and 1"):
        marginal_budget(county, scenario, travel, school_times, delta=1.5)


def test_cost_to_meet_prices_a_nine_year_school_once(tmp_path: Path) -> None:
    """With no capital money, 李庄九年一贯制学校 N1's junior part lacks equipment; equipment is shared by the
    school's pupils, so meeting the junior standard means raising the whole school's equipment per pupil."""
    from tiny_county import write_tiny_county

    from planner.loader import load_county
    from planner.plan.pipeline import plan_county
    from planner.scenario import scenario_from_dict

    county = load_county(write_tiny_county(tmp_path / "c"), check_network=False)
    travel, school_times = straight_line_travel(county)
    raw = load_scenario(ROOT / "scenarios" / "combined.yaml").model_dump()
    raw["budget"] = {"capital_yuan": 0}
    plan = plan_county(county, scenario_from_dict(raw), travel, school_times, distance_method="straight_line")
    costs = cost_to_meet(plan, county)
    row = costs[(costs["school_id"] == "N1") & (costs["item"] == "equipment") & (costs["stage"] == "junior")]
    assert len(row) == 1
    s = plan.after_county.schools.loc["N1"]
    pupils = int(s["pupils_primary"]) + int(s["pupils_junior"])
    need = plan.after.standards.threshold("junior", "equipment") * pupils - float(s["equipment_value_yuan"])
    assert need > 0
    assert row["cost_yuan"].iloc[0] == pytest.approx(need * county.parameters.unit_costs.equipment_yuan_per_yuan)
