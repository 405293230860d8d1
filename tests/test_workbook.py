"""Plan workbook on the tiny county: every sheet read back, totals equal the Plan's."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from tiny_county import tiny_plan

from planner.report.marginal import cost_to_meet
from planner.report.workbook import MARGINAL_SHEET, SHEETS, TOTAL_LABEL, write_plan_workbook

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("wb")
    county, plan = tiny_plan(tmp)
    path = write_plan_workbook(plan, county, tmp / "out")
    return county, plan, path


def _rows(ws) -> list[tuple]:
    return [tuple(c for c in r) for r in ws.iter_rows(values_only=True)]


def _header_index(ws, text: str, row: int = 1) -> int:
    """0-based column of the header cell containing ``text``."""
    for j, c in enumerate(ws[row]):
        if c.value and text in str(c.value):
            return j
    raise AssertionError(f"{text!r} not in header of {ws.title}")


def test_sheets_headers_and_frozen_rows(tiny) -> None:
    _, _, path = tiny
    assert path.name == "plan_workbook.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames == list(SHEETS)
    for title in SHEETS[1:]:
        ws = wb[title]
        assert ws.freeze_panes is not None, title
        header = [c.value for c in ws[1] if c.value]
        # Chinese first, English alongside
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header), title
        assert all(any("a" <= ch.lower() <= "z" for ch in h) for h in header), title
        assert ws.column_dimensions["A"].width >= 8


def test_projects_total_equals_plan(tiny) -> None:
    _, plan, path = tiny
    ws = load_workbook(path)["项目清单 Projects"]
    rows = _rows(ws)[1:]
    cost = _header_index(ws, "cost_yuan")
    body = [r for r in rows if r[0] != TOTAL_LABEL]
    total = [r for r in rows if r[0] == TOTAL_LABEL]
    assert len(body) == len(plan.projects) and len(total) == 1
    assert sum(r[cost] for r in body) == pytest.approx(plan.projects["cost_yuan"].sum())
    assert total[0][cost] == pytest.approx(plan.costs["capital_yuan"])
    assert ws.cell(row=2, column=cost + 1).number_format == "#,##0.00"
    # cost per pupil = cost / pupils served, pupils = the school's pupils after the plan
    pupils_after = plan.after.parts.groupby("school_id")["pupils"].sum()
    sid, served, per = (_header_index(ws, k) for k in ("school_id", "pupils served", "cost per pupil"))
    for r in body:
        assert r[served] == int(pupils_after[r[sid]])
        assert r[per] == pytest.approx(r[cost] / r[served])


def test_budget_summary_equals_plan_costs(tiny) -> None:
    county, plan, path = tiny
    b = pd.read_excel(path, sheet_name="预算汇总 Budget")
    amount = b.set_index(["代码 code", "类别 section"])["金额(元) amount_yuan"]
    cap = [k for k in amount.index if k[1].startswith("资本性")]
    rec = [k for k in amount.index if k[1].startswith("经常性")]
    cap_amt = {k[0]: amount[k] for k in cap}
    rec_amt = {k[0]: amount[k] for k in rec}
    assert cap_amt["total"] == pytest.approx(plan.costs["capital_yuan"])
    assert cap_amt["budget"] == pytest.approx(county.parameters.budget.capital_yuan)
    assert cap_amt["remaining"] == pytest.approx(cap_amt["budget"] - cap_amt["total"])
    kinds = plan.projects.groupby("kind")["cost_yuan"].sum()
    for kind, v in kinds.items():
        assert cap_amt[kind] == pytest.approx(v)
    assert sum(cap_amt[k] for k in kinds.index) == pytest.approx(cap_amt["total"])
    assert rec_amt["total"] == pytest.approx(plan.costs["recurrent_yuan_per_year"])
    assert rec_amt["hires"] + rec_amt["rotation_allowance"] == pytest.approx(rec_amt["total"])
    assert rec_amt["hires"] == pytest.approx(plan.hires["count"].sum() * 90000.0)
    assert rec_amt["budget"] == pytest.approx(county.parameters.budget.recurrent_yuan_per_year)


def test_catchments_and_exchange_list(tiny) -> None:
    _, plan, path = tiny
    wb = load_workbook(path)
    ws = wb["学区划分 Catchments"]
    rows = _rows(ws)[1:]
    assert len(rows) == len(plan.assignments)
    a = plan.assignments.set_index(["settlement_id", "stage"])
    stage_code = {"小学": "primary", "初中": "junior"}
    t, sch, ch, cap = (_header_index(ws, k) for k in ("time_min", "规划后学校代码", "changed", "within cap"))
    for r in rows:
        want = a.loc[(r[0], stage_code[r[3]])]
        assert r[sch] == want["school_id"]
        assert r[t] == pytest.approx(want["time_min"])
        assert r[ch].startswith("是") == bool(want["changed"])
        assert r[cap].startswith("是") == bool(want["within_cap"])
    assert sum(r[4] for r in rows) == plan.assignments["pupils"].sum()

    ws = wb["教师交流名单 Exchange"]
    rows = _rows(ws)
    count = _header_index(ws, "count")
    total = next(r for r in rows if r[0] == TOTAL_LABEL)
    assert total[count] == len(plan.exchange_list)
    # the rotation check: the national rows' value and requirement equal the after-assessment's, and the
    # scenario's own targets are checked too
    g = plan.after.guarantee.set_index("item")
    for item in ("rotation_share", "rotation_backbone_share"):
        row = next(r for r in rows if r[0] == "国家标准" and f"({item})" in str(r[1]))
        want = g.loc[item, "value"]
        assert row[2] is None if pd.isna(want) else row[2] == pytest.approx(want)
        assert row[3] == pytest.approx(g.loc[item, "limit"])
        assert any(str(r[0]).startswith("方案目标") and f"({item})" in str(r[1]) for r in rows)
    assert len(_rows(wb["交流教师明细 Teachers"])) - 1 == len(plan.exchange_list)


def test_self_assessment_and_unmet_sheets(tiny) -> None:
    county, plan, path = tiny
    wb = load_workbook(path)
    for title, a in (("自评表(规划前) Before", plan.before), ("自评表(规划后) After", plan.after)):
        rows = _rows(wb[title])[1:]
        assessed = a.schools[a.schools["assessed"].astype(bool)]
        assert len(rows) == len(assessed)
        assert sorted(r[0] for r in rows) == sorted(assessed["school_id"])
    summary = _rows(wb["自评汇总 Self-assessment"])
    after = plan.after.summary.set_index("stage_zh")
    for r in summary:
        if r[0] in after.index and isinstance(r[3], int):
            assert r[3] == after.loc[r[0], "schools_passing"]
    costs = cost_to_meet(plan, county)
    ws = wb["未达标项 Unmet"]
    rows = _rows(ws)[1 : 1 + len(costs)]
    c = _header_index(ws, "cost_yuan")
    assert len([r for r in rows if r[0]]) == len(costs)
    got = sum(r[c] for r in rows if r[c] is not None and not (isinstance(r[c], float) and math.isnan(r[c])))
    assert got == pytest.approx(costs["cost_yuan"].sum())
    n_unmet = int((~plan.after.indicators["met"]).sum()) + int((~plan.after.guarantee["met"]).sum())
    assert len(costs) == n_unmet
    # each row says what binds it, as the plan's unmet table does
    b = _header_index(ws, "what binds")
    u = plan.extra_tables["unmet"]
    u = u[u["source"] != "distance"]
    assert sorted(r[b] for r in rows) == sorted(f"{z} ({c})" for z, c in zip(u["binds_zh"], u["binds"], strict=True))


def test_marginal_sheet_only_when_given(tiny, tmp_path) -> None:
    county, plan, _ = tiny
    table = pd.DataFrame(
        [{"label": lab, "scale": s, "capital_budget_yuan": 5e7 * s, "recurrent_budget_yuan_per_year": 2e6 * s,
          "capital_yuan": 1.0, "recurrent_yuan_per_year": 2.0, "unmet_indicators": 3, "shortfall_index": 0.5,
          "schools_passing": 1, "schools_failing": 2, "cv_over": 0, "guarantee_unmet": 1, "passes": False,
          "status": "optimal", "gap": 0.0, "solver_description": "optimal", "time_limit_s": 10.0, "wall_s": 1.0}
         for lab, s in (("-10%", 0.9), ("0%", 1.0), ("+10%", 1.1))]
    )  # fmt: skip
    path = write_plan_workbook(plan, county, tmp_path / "m.xlsx", marginal=table)
    assert path == tmp_path / "m.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames[-1] == MARGINAL_SHEET
    rows = _rows(wb[MARGINAL_SHEET])[1:4]
    assert [r[0] for r in rows] == ["-10%", "0%", "+10%"]
    assert [r[2] for r in rows] == pytest.approx([4.5e7, 5e7, 5.5e7])
