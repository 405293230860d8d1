"""Plan workbook on the tiny county: every sheet read back, totals equal the Plan's, the formulas a reader checks
recomputed (by the ``formulas`` package, an Excel calculation engine) from the cells, print settings."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from tiny_county import tiny_plan

from planner.report.marginal import cost_to_meet, cost_totals
from planner.report.workbook import (
    A3_FROM_COLUMNS,
    MARGINAL_SHEET,
    PAPER_A3,
    PAPER_A4,
    SHEETS,
    TOTAL_LABEL,
    write_plan_workbook,
)
from planner.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("wb")
    county, plan = tiny_plan(tmp)
    path = write_plan_workbook(plan, county, tmp / "out", scenario=load_scenario(ROOT / "scenarios" / "combined.yaml"))
    return county, plan, path


def _computed(path: Path, sheets: list[str], tmp: Path) -> dict[tuple[str, str], object]:
    """Every cell of ``sheets`` as Excel computes it: (sheet title, "A1") -> value, formulas evaluated."""
    import formulas

    wb = load_workbook(path)
    for ws in list(wb.worksheets):
        if ws.title not in sheets:
            wb.remove(ws)
    small = tmp / "formulas.xlsx"
    wb.save(small)
    solution = formulas.ExcelModel().loads(str(small)).finish().calculate()
    titles = {t.upper(): t for t in sheets}
    out: dict[tuple[str, str], object] = {}
    for key, v in solution.items():
        if "!" not in key or ":" in key.split("!")[1]:
            continue
        book_sheet, cell = key.rsplit("!", 1)
        sheet = book_sheet.strip("'").split("]", 1)[1]
        value = v.value[0, 0] if hasattr(v, "value") else v
        out[(titles.get(sheet, sheet), cell)] = value.item() if hasattr(value, "item") else value
    return out


@pytest.fixture(scope="module")
def computed(tiny, tmp_path_factory: pytest.TempPathFactory):
    return _computed(tiny[2], [SHEETS[4], SHEETS[6], SHEETS[7], SHEETS[8]], tmp_path_factory.mktemp("calc"))


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


def test_projects_total_equals_plan(tiny, computed) -> None:
    _, plan, path = tiny
    ws = load_workbook(path)["项目清单 Projects"]
    rows = _rows(ws)[1:]
    cost = _header_index(ws, "金额")
    body = [r for r in rows if r[0] != TOTAL_LABEL]
    total_row = next(i for i, r in enumerate(rows, start=2) if r[0] == TOTAL_LABEL)
    assert len(body) == len(plan.projects)
    assert [r[cost] for r in body] == pytest.approx(list(plan.projects["cost_yuan"]))
    # the total is a formula, and Excel's value of it is the plan's capital spending
    col = "ABCDEFGHIJKLMN"[cost]
    assert ws[f"{col}{total_row}"].value == f"=SUM({col}2:{col}{total_row - 1})"
    assert computed[("项目清单 Projects", f"{col}{total_row}")] == pytest.approx(plan.costs["capital_yuan"])
    assert ws.cell(row=2, column=cost + 1).number_format == "#,##0.00"
    # cost per pupil = cost / pupils served (a formula), pupils = the school's pupils after the plan
    pupils_after = plan.after.parts.groupby("school_id")["pupils"].sum()
    sid, served, per = (_header_index(ws, k) for k in ("school_id", "pupils served", "cost per pupil"))
    for i, r in enumerate(body, start=2):
        assert r[served] == int(pupils_after[r[sid]])
        assert str(r[per]).startswith("=IF(")
        assert computed[("项目清单 Projects", f"{'ABCDEFGHIJKLMN'[per]}{i}")] == pytest.approx(r[cost] / r[served])


def test_project_sheet_speaks_chinese(tiny) -> None:
    _, plan, path = tiny
    ws = load_workbook(path)["项目清单 Projects"]
    rows = [r for r in _rows(ws)[1:] if r[0] != TOTAL_LABEL]
    kind, unit, design = (_header_index(ws, k) for k in ("项目类型", "单位", "方案"))
    codes = set(plan.projects["kind"]) | set(plan.projects["unit"]) | {"yuan", "classes", "rooms", "classrooms"}
    for r in rows:
        assert r[kind] not in codes and r[unit] not in codes, r
        assert r[unit] in {"班", "间", "元", "所", "项"}
    expansion = next(r for r in rows if r[kind] == "改扩建")
    assert expansion[design] == "扩建方案E1"
    assert all("✗" not in str(v) and "✓" not in str(v) for r in _rows(load_workbook(path)["学区划分 Catchments"])
               for v in r)  # fmt: skip


def test_budget_summary_formulas_equal_plan_costs(tiny, computed) -> None:
    county, plan, path = tiny
    ws = load_workbook(path)["预算汇总 Budget"]
    rows = {(r[0][:3], r[1]): i for i, r in enumerate(_rows(ws), start=1) if r[0] and r[1]}

    def amount(section: str, item: str) -> float:
        return float(computed[("预算汇总 Budget", f"D{rows[(section, item)]}")])

    cap_b = county.parameters.budget.capital_yuan
    for item in ("资本性支出合计", "结余"):
        assert str(ws[f"D{rows[('资本性', item)]}"].value).startswith("="), item
    assert amount("资本性", "资本性支出合计") == pytest.approx(plan.costs["capital_yuan"])
    assert amount("资本性", "资本性预算") == pytest.approx(cap_b)
    assert amount("资本性", "结余") == pytest.approx(cap_b - plan.costs["capital_yuan"])
    share = computed[("预算汇总 Budget", f"E{rows[('资本性', '资本性支出合计')]}")]
    assert share == pytest.approx(plan.costs["capital_yuan"] / cap_b)
    zh = {"expansion": "改扩建", "equipment": "教学仪器设备", "multimedia": "网络多媒体教室",
          "music_room": "音乐专用教室", "art_room": "美术专用教室", "new_school": "新建学校"}  # fmt: skip
    for kind, v in plan.projects.groupby("kind")["cost_yuan"].sum().items():
        assert str(ws[f"D{rows[('资本性', zh[kind])]}"].value).startswith("=SUMIF(")
        assert amount("资本性", zh[kind]) == pytest.approx(v)  # SUMIF over the project sheet
        assert computed[("预算汇总 Budget", f"C{rows[('资本性', zh[kind])]}")] == (plan.projects["kind"] == kind).sum()
    rec = amount("经常性", "经常性支出合计（每年）")
    assert rec == pytest.approx(plan.costs["recurrent_yuan_per_year"])
    assert amount("经常性", "结余（每年）") == pytest.approx(county.parameters.budget.recurrent_yuan_per_year - rec)
    assert amount("经常性", "新招聘教师（每年）") == pytest.approx(plan.hires["count"].sum() * 90000.0)


def test_unmet_totals_are_formulas_equal_to_cost_totals(tiny, computed) -> None:
    county, plan, path = tiny
    t = cost_totals(cost_to_meet(plan, county))
    ws = load_workbook(path)["未达标项 Unmet"]
    labels = {str(r[0]): i for i, r in enumerate(_rows(ws), start=1) if r[0]}
    for label, key in (("公办学校资本性(元) public capital", "capital_yuan"),
                       ("公办学校经常性上限(元/年) recurrent upper bound", "recurrent_yuan_per_year_upper"),
                       ("民办学校资本性(元) private capital", "private_capital_yuan"),
                       ("民办学校经常性(元/年) private recurrent", "private_recurrent_yuan_per_year"),
                       ("未估价项数 items not priced", "not_priced")):  # fmt: skip
        i = labels[label]
        assert str(ws[f"B{i}"].value).startswith("="), label
        assert float(computed[("未达标项 Unmet", f"B{i}")]) == pytest.approx(t[key]), label


def test_every_sheet_prints_landscape_fitted_to_width_with_repeated_headers(tiny) -> None:
    _, _, path = tiny
    wb = load_workbook(path)
    for ws in wb.worksheets:
        ps = ws.page_setup
        assert ps.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (ps.fitToWidth, ps.fitToHeight) == (1, 0), ws.title
        want = PAPER_A3 if ws.max_column > A3_FROM_COLUMNS else PAPER_A4
        assert int(ps.paperSize) == want, ws.title
        header = 4 if ws.title == SHEETS[0] else 1
        assert ws.print_title_rows == f"${header}:${header}", ws.title
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
        assert "统筹方案" in ws.oddHeader.center.text  # the scenario's Chinese name


def test_catchments_and_exchange_list(tiny, computed) -> None:
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
    total = next(i for i, r in enumerate(rows, start=1) if r[0] == TOTAL_LABEL)
    col = "ABCDEFGHIJ"[count]
    assert ws[f"{col}{total}"].value in (f"=SUM({col}2:{col}{total - 1})", "=0")
    # the rotation check: the national rows' value and requirement equal the after-assessment's, and the
    # scenario's own targets are checked too
    g = plan.after.guarantee.set_index("item")
    for item in ("rotation_share", "rotation_backbone_share"):
        row = next(r for r in rows if r[0] == "国家标准" and f"({item})" in str(r[1]))
        want = g.loc[item, "value"]
        assert row[2] is None if pd.isna(want) else row[2] == pytest.approx(want)
        assert row[3] == pytest.approx(g.loc[item, "limit"])
        assert any(str(r[0]).startswith("方案目标") and f"({item})" in str(r[1]) for r in rows)
    assert computed[("教师交流名单 Exchange", f"{col}{total}")] == len(plan.exchange_list)
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
    assert all(r[0] in ("资源配置指标", "政府保障") and r[5] in ("是", "否") for r in rows)
    got = sum(r[c] for r in rows if r[c] is not None and not (isinstance(r[c], float) and math.isnan(r[c])))
    assert got == pytest.approx(costs["cost_yuan"].sum())
    n_unmet = int((~plan.after.indicators["met"]).sum()) + int((~plan.after.guarantee["met"]).sum())
    assert len(costs) == n_unmet
    # each row says what binds it, as the plan's unmet table does
    b = _header_index(ws, "what binds")
    u = plan.extra_tables["unmet"]
    u = u[u["source"] != "distance"]
    assert sorted(r[b] for r in rows) == sorted(f"{z}：{d}" if d else z
                                               for z, d in zip(u["binds_zh"], u["detail_zh"], strict=True))  # fmt: skip


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
