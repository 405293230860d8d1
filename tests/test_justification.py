"""Budget justification, marginal value of money and cost to meet, on the tiny county.

The marginal rows are re-solves of the real model; each row's numbers are checked against
a direct assessment of that re-solve's county, and cost_to_meet against hand arithmetic. The
.docx is opened and read as a finance bureau reads it: sections in order, summary tables that
add up to the plan, projects grouped by school with each school's purchases in one line, page
numbers, the 落款 from parameters.yaml, Chinese only; and the model keeps to the minimum lot.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from docx import Document
from tiny_county import straight_line_travel, write_tiny_county

from planner.assess import Assessment, assess
from planner.loader import load_county
from planner.plan.pipeline import plan_county
from planner.plan.variants import (
    KEPT_NOTE,
    better_of,
    marginal_budget,
    plan_rank,
    pushed_over,
    unmet_summary,
    with_budget,
)
from planner.report.justification import (
    ANNEX_PROJECT_HEADER,
    ANNEXES,
    PROJECT_HEADER,
    SECTIONS,
    TOTAL_ZH,
    scenario_zh,
    write_budget_justification,
    yuan,
)
from planner.report.marginal import cost_to_meet, cost_totals
from planner.report.projects import PURCHASE_KINDS
from planner.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "测试县教育体育局"
FUNDING = (("中央财政", 0.5), ("省级财政", 0.2), ("县级财政", 0.3))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("just")
    folder = write_tiny_county(tmp / "c")
    params = yaml.safe_load((folder / "parameters.yaml").read_text("utf-8"))
    params["issuer"] = {"unit_zh": ISSUER, "date": "2026-03-31"}
    params["funding"] = [{"source_zh": k, "share": v} for k, v in FUNDING]
    (folder / "parameters.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")
    county = load_county(folder, check_network=False)
    travel, school_times = straight_line_travel(county)
    scenario = load_scenario(ROOT / "scenarios" / "combined.yaml")
    chain = marginal_budget(county, scenario, travel, school_times, distance_method="straight_line", time_limit_s=30)
    plan, marginal = chain.plan, chain.table
    costs = cost_to_meet(plan, county)
    paths = write_budget_justification(plan, county, tmp / "out", marginal=marginal, cost_to_meet=costs,
                                       scenario=scenario)  # fmt: skip
    return county, scenario, travel, school_times, plan, marginal, costs, paths


def test_more_money_never_ranks_worse(tiny) -> None:
    *_, marginal, _, _ = tiny
    t = marginal.sort_values("scale")
    # the inspectors' order: more schools passing, fewer failing, fewer CVs over, fewer indicators unmet
    ranks = list(zip(-t["schools_passing"], t["schools_failing"], t["cv_over"], t["unmet_indicators"], strict=True))
    assert ranks == sorted(ranks, reverse=True)
    assert list(t["schools_passing"]) == sorted(t["schools_passing"])


def _with_tables(a: Assessment, **tables: pd.DataFrame) -> Assessment:
    names = ("parts", "indicators", "schools", "balance", "guarantee", "summary")
    current = {n: getattr(a, n) for n in names}
    return Assessment(standards=a.standards, tables={**current, **tables}, county_name_zh=a.county_name_zh,
                      synthetic=a.synthetic)  # fmt: skip


def test_a_plan_pushing_a_balance_over_ranks_below_one_passing_fewer_schools(tiny) -> None:
    *_, plan, _, _, _ = tiny
    # the same plan, read as if it passed every school but pushed one CV within its threshold before over it
    before, after = plan.before.balance, plan.after.balance
    within = before["met"].astype(bool).to_numpy() & after["met"].astype(bool).to_numpy()
    assert within.any()
    i = int(within.nonzero()[0][0])
    key = (str(after["stage"].iloc[i]), str(after["indicator"].iloc[i]))
    crossed_balance = after.copy()
    crossed_balance.loc[crossed_balance.index[i], "met"] = False
    schools = plan.after.schools.copy()
    schools["passes"] = True
    crossed = replace(plan, after=_with_tables(plan.after, balance=crossed_balance, schools=schools))
    assert pushed_over(plan) == []
    assert pushed_over(crossed) == [key]
    assert unmet_summary(crossed.after)["schools_passing"] > unmet_summary(plan.after)["schools_passing"]
    assert plan_rank(crossed) > plan_rank(plan)
    # a budget chain keeps the smaller budget's plan over a larger one's that crosses a line
    assert better_of(crossed, plan).after is plan.after


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


def _table(doc, caption: str) -> list[list[str]]:
    """The rows (header first) of the table right after the caption paragraph ``caption``."""
    body = doc.element.body
    seen = False
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[1]
        if tag == "p" and "".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")) == caption:
            seen = True
        elif tag == "tbl" and seen:
            t = next(t for t in doc.tables if t._tbl is child)
            return [[c.text for c in r.cells] for r in t.rows]
    raise AssertionError(f"no table after {caption!r}")


def _docx_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for r in t.rows:
            parts += [c.text for c in r.cells]
    return "\n".join(parts)


def test_docx_sections_in_order_with_page_numbers_and_sign_off(tiny) -> None:
    *_, paths = tiny
    doc = Document(str(paths[0]))
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert heads[0] == "测试县统筹方案义务教育优质均衡发展项目预算编制说明"
    assert heads[1:] == [*SECTIONS, *ANNEXES]
    # summary first: the tables by type, township, year and funding come before the project table
    texts = [p.text for p in doc.paragraphs]
    order = [next(i for i, t in enumerate(texts) if t.startswith(c)) for c in ("表1", "表2", "表3", "表4", "表5")]
    assert order == sorted(order) and order[-1] > texts.index(SECTIONS[1])
    # page numbers: PAGE and NUMPAGES fields in the footer
    footer = doc.sections[0].footer._element.xml
    assert re.search(r"<w:instrText[^>]*> PAGE </w:instrText>", footer)
    assert re.search(r"<w:instrText[^>]*> NUMPAGES </w:instrText>", footer)
    assert "第 " in doc.sections[0].footer.paragraphs[0].text
    # 落款: issuing unit and date from parameters.yaml, right-aligned, after 六、说明 and before the annexes
    right = [(i, p.text) for i, p in enumerate(doc.paragraphs) if p.alignment is not None and p.alignment == 2]
    assert [t for _, t in right] == [ISSUER, "2026年3月31日"]
    assert texts.index(SECTIONS[-1]) < right[0][0] < texts.index(ANNEXES[0])


def test_docx_is_chinese_only(tiny) -> None:
    *_, paths = tiny
    text = _docx_text(Document(str(paths[0])))
    # Latin words: letters not part of a code (P1, TP1, E1, J36) and not the single-letter unit m²
    words = {w for w in re.findall(r"[A-Za-z]+(?![A-Za-z0-9])", text) if len(w) > 1}
    assert words == set(), words


def test_summary_tables_add_up_to_the_plan(tiny) -> None:
    *_, plan, _, _, paths = tiny
    doc = Document(str(paths[0]))
    cap, rec = plan.costs["capital_yuan"], plan.costs["recurrent_yuan_per_year"]
    t1 = _table(doc, "表1 资金安排汇总（按项目类型）")
    sub = [r for r in t1[1:] if r[1] == "小计"]
    assert _amount(sub[0][3]) == pytest.approx(cap, abs=0.01) and _amount(sub[1][3]) == pytest.approx(rec, abs=0.01)
    kinds = [r for r in t1[1:] if r[0] == "资本性" and r[1] not in ("小计", "预算", "结余")]
    assert sum(_amount(r[3]) for r in kinds) == pytest.approx(cap, abs=0.05)
    bought = plan.projects[plan.projects["kind"].isin(PURCHASE_KINDS)]
    purchase = next(r for r in kinds if r[1] == "教学装备采购")
    assert int(purchase[2]) == bought["school_id"].nunique()  # one procurement line per school
    assert _amount(purchase[3]) == pytest.approx(bought["cost_yuan"].sum(), abs=0.01)
    t2 = _table(doc, "表2 资金安排汇总（按乡镇）")
    assert sum(_amount(r[3]) for r in t2[1:-1]) == pytest.approx(cap, abs=0.05)
    assert t2[-1][0] == TOTAL_ZH and _amount(t2[-1][3]) == pytest.approx(cap, abs=0.01)
    t3 = _table(doc, "表3 分年度资金安排")
    assert [r[0] for r in t3[1:-1]] == ["2027年", "2028年", "2029年"]  # three years after the issue year
    assert sum(_amount(r[4]) for r in t3[1:-1]) == pytest.approx(cap, abs=0.05)
    assert all(_amount(r[5]) == pytest.approx(rec, abs=0.01) for r in t3[1:-1])
    t4 = _table(doc, "表4 资金来源")
    assert [r[0] for r in t4[1:-1]] == [k for k, _ in FUNDING]
    for r, (_, share) in zip(t4[1:-1], FUNDING, strict=True):
        assert r[1] == f"{share:.1%}"
        assert _amount(r[2]) == pytest.approx(cap * share, abs=0.01)
        assert _amount(r[3]) == pytest.approx(rec * share, abs=0.01)


def test_projects_grouped_by_school_with_purchases_bundled(tiny) -> None:
    county, *_, plan, _, _, paths = tiny
    doc = Document(str(paths[0]))
    rows = _table(doc, "表5 资本性项目安排（按乡镇、学校）")
    assert rows[0] == list(PROJECT_HEADER)
    body, total = rows[1:-1], rows[-1]
    assert total[0] == TOTAL_ZH and _amount(total[-1]) == pytest.approx(plan.projects["cost_yuan"].sum(), abs=0.01)
    names = county.schools["name_zh"].to_dict()
    p = plan.projects
    for sid, g in p.groupby("school_id"):
        mine = [r for r in body if r[2] == f"{names[sid]}（{sid}）"]
        buys = g[g["kind"].isin(PURCHASE_KINDS)]
        lines = [r for r in mine if r[3] == "教学装备采购"]
        assert len(lines) == (1 if len(buys) else 0), sid
        if len(buys):
            assert _amount(lines[0][-1]) == pytest.approx(buys["cost_yuan"].sum(), abs=0.01)
        assert len(mine) == len(g) - len(buys) + len(lines)
    # grouped: a school's lines are next to each other
    schools = [r[2] for r in body]
    assert all(schools.index(s) + schools.count(s) - 1 == len(schools) - 1 - schools[::-1].index(s) for s in schools)
    # before -> after with the standard each serves
    assert all("→" in r[5] for r in body)
    # 附件1: every project, one by one, with cost per pupil
    annex = next(t for t in doc.tables if [c.text for c in t.rows[0].cells] == list(ANNEX_PROJECT_HEADER))
    arows = [[c.text for c in r.cells] for r in annex.rows[1:-1]]
    assert [_amount(r[6]) for r in arows] == pytest.approx([round(v, 2) for v in p["cost_yuan"]])
    for r in arows:
        assert _amount(r[7]) == pytest.approx(_amount(r[6]) / _amount(r[5]), abs=0.01)


def test_caps_that_bind_are_stated(tiny) -> None:
    _, sc, _, _, plan, _, _, paths = tiny
    text = _docx_text(Document(str(paths[0])))
    unmet = plan.extra_tables["unmet"]
    codes = set(";".join(unmet["binds"].astype(str)).split(";"))
    if "land" in codes:
        assert "用地：" in text
    if codes & {"distance_cap", "capacity"}:
        p = sc.distance.primary_max_min
        assert f"小学城区{p.urban:g}、镇区{p.town:g}、农村{p.rural:g}分钟" in text
    if "recurrent_budget" in codes:
        assert "经常性预算：每年" in text
    assert codes & {"land", "distance_cap", "recurrent_budget"}  # the tiny plan has caps that bind


def test_recruit_cap_is_stated_where_it_binds(tmp_path: Path) -> None:
    """A recruit cap of 2 leaves teacher items unmet for staffing; the justification says so, with the cap."""
    from planner.plan.pipeline import plan_county
    from planner.scenario import scenario_from_dict

    county = load_county(write_tiny_county(tmp_path / "c"), check_network=False)
    travel, school_times = straight_line_travel(county)
    raw = load_scenario(ROOT / "scenarios" / "combined.yaml").model_dump()
    raw["hires"] = {"max_total": 2}
    sc = scenario_from_dict(raw)
    plan = plan_county(county, sc, travel, school_times, distance_method="straight_line")
    assert int(plan.hires["count"].sum()) == 2
    assert (plan.extra_tables["unmet"]["binds"].astype(str).str.contains("staffing")).any()
    paths = write_budget_justification(plan, county, tmp_path / "out", marginal=None,
                                       cost_to_meet=cost_to_meet(plan, county), scenario=sc)  # fmt: skip
    text = _docx_text(Document(str(paths[0])))
    assert "招聘名额：本方案新招聘教师上限2人，已招聘2人" in text


def test_equipment_purchases_keep_to_the_minimum_lot(tmp_path: Path) -> None:
    """The scenario's minimum lot: no school gets an equipment purchase smaller than it. At the default 10,000 yuan
    the tiny plan's smallest equipment purchase is some amount q; with a lot of q + 10,000 yuan every purchase is 0
    or at least that lot (so the larger lot changes the plan, and the check can fail)."""
    from planner.plan.pipeline import plan_county
    from planner.scenario import scenario_from_dict

    county = load_county(write_tiny_county(tmp_path / "c"), check_network=False)
    travel, school_times = straight_line_travel(county)
    raw = load_scenario(ROOT / "scenarios" / "combined.yaml").model_dump()
    assert raw["purchases"]["min_lot_yuan"] == 10_000
    lots = [10_000.0]
    plans = {}
    while len(lots) <= 2:
        lot = lots[-1]
        raw["purchases"] = {"min_lot_yuan": lot}
        plan = plan_county(county, scenario_from_dict(raw), travel, school_times, distance_method="straight_line")
        eq = plan.projects[plan.projects["kind"] == "equipment"]
        assert len(eq) and (eq["quantity"] >= lot - 1e-6).all(), (lot, eq[["school_id", "quantity"]])
        plans[lot] = eq.set_index("school_id")["quantity"]
        lots.append(float(eq["quantity"].min()) + 10_000.0)
    assert (plans[lots[0]] < lots[1]).any()  # by construction: the second lot is above a purchase of the first


def test_scenario_name_and_funding_rules() -> None:
    from planner.parameters import Parameters

    sc = load_scenario(ROOT / "scenarios" / "combined.yaml")
    assert scenario_zh(sc, "combined") == "统筹方案"
    assert scenario_zh(None, "combined") == "combined"
    raw = yaml.safe_load((ROOT / "geodata" / "queshan" / "parameters.yaml").read_text("utf-8"))
    p = Parameters.model_validate(raw)
    assert abs(sum(f.share for f in p.funding) - 1) < 1e-9 and p.issuing_unit_zh == "确山县教育体育局"
    raw["funding"][0]["share"] = 0.9
    with pytest.raises(ValueError, match="shares must sum to 1"):
        Parameters.model_validate(raw)
    raw["funding"] = [{"source_zh": "县级财政", "share": 0.5}, {"source_zh": "县级财政", "share": 0.5}]
    with pytest.raises(ValueError, match="listed more than once"):
        Parameters.model_validate(raw)


def test_markdown_has_the_same_total_and_sections(tiny) -> None:
    *_, plan, marginal, costs, paths = tiny
    md = paths[1].read_text(encoding="utf-8")
    total = yuan(plan.projects["cost_yuan"].sum())
    assert f"| {TOTAL_ZH} |  |  |  |  |  |  | {total} |" in md
    assert yuan(plan.costs["recurrent_yuan_per_year"]) in md
    for h in (*SECTIONS, *ANNEXES):
        assert f"## {h}" in md
    t = cost_totals(costs)
    assert f"{t['capital_yuan'] / 1e4:,.2f}万元" in md
    # marginal rows: the re-solves' budgets are printed with their labels
    for r in marginal.itertuples(index=False):
        assert f"| {r.label} | {yuan(r.capital_budget_yuan)} |" in md


def test_marginal_budgets_and_rows_equal_direct_assessment(tiny) -> None:
    county, scenario, travel, school_times, plan, marginal, _, _ = tiny
    assert list(marginal["label"]) == ["-10%", "0%", "+10%"]
    cap, rec = county.parameters.budget.capital_yuan, county.parameters.budget.recurrent_yuan_per_year
    assert list(marginal["capital_budget_yuan"]) == pytest.approx([0.9 * cap, cap, 1.1 * cap])
    assert list(marginal["recurrent_budget_yuan_per_year"]) == pytest.approx([0.9 * rec, rec, 1.1 * rec])
    assert (marginal["capital_yuan"] <= marginal["capital_budget_yuan"] + 1e-6).all()
    assert (marginal["recurrent_yuan_per_year"] <= marginal["recurrent_budget_yuan_per_year"] + 1e-6).all()
    assert marginal.iloc[1]["unmet_indicators"] == unmet_summary(plan.after)["unmet_indicators"]

    again = marginal_budget(county, scenario, travel, school_times, distance_method="straight_line", time_limit_s=30)
    cols = ["capital_budget_yuan", "capital_yuan", "recurrent_yuan_per_year", "unmet_indicators", "schools_passing"]
    pd.testing.assert_frame_equal(again.table[cols], marginal[cols])  # deterministic re-solves
    for label, (_scale, p, _wall) in again.variants.items():
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


def test_passing_and_unmet_moving_apart_are_explained(tiny, tmp_path: Path) -> None:
    # 确山's −10% re-solve on a slower machine: 157 schools passing against the plan's 160, and 153 unmet
    # school-indicators against 168. The table is the tiny county's chain with its −10% row set to that trade
    # (fewer passing, fewer unmet); the justification must say why the two counts move apart, with the counts
    county, *_, plan, marginal, costs, _ = tiny
    t = marginal.copy()
    base = t[t["label"] == "0%"].iloc[0]
    minus = t["label"] == "-10%"
    t.loc[minus, "schools_passing"] = int(base["schools_passing"]) - 3
    t.loc[minus, "unmet_indicators"] = int(base["unmet_indicators"]) - 15
    plus = t["label"] == "+10%"
    t.loc[plus, "schools_passing"] = int(base["schools_passing"])  # the +10% row: no trade, no note
    t.loc[plus, "unmet_indicators"] = max(int(base["unmet_indicators"]) - 1, 0)
    paths = write_budget_justification(plan, county, tmp_path / "out", marginal=t, cost_to_meet=costs)
    md = paths[1].read_text(encoding="utf-8")
    assert "注：此处达标学校少3所，未达标校-指标数却少15个，两者方向相反" in md
    assert "先计达标学校数（按校计）" in md and "基准方案以多3所学校整校达标为先" in md
    assert md.count("两者方向相反") == 1
