"""The plan workbook (规划方案工作簿): everything a county planner hands in, in one Excel file.

:func:`write_plan_workbook` writes one sheet per table, Chinese headers with English
beside (``学校代码 school_id``), frozen header rows, widths fitted to the text and number
formats (values at full precision, only the display rounded):

1. ``自评汇总 Self-assessment`` — per stage, before and after the plan: schools assessed
   and passing, CVs over threshold, verdict; then per stage × indicator the CV before and
   after against its threshold.
2. ``自评表(规划前) Before`` and ``自评表(规划后) After`` — the indicator sheet of the
   self-assessment workbook (:mod:`planner.report.selfassessment`) for each state.
3. ``学区划分 Catchments`` — settlement → school per stage, travel time, changed or not,
   within the travel-time cap.
4. ``教师交流名单 Exchange`` — moves by (from, to, stage, category, kind) with counts, and
   below it the rotation check (≥ 10% of eligible teachers, ≥ 20% backbone among them)
   with the numbers; ``交流教师明细 Teachers`` lists every teacher moved.
5. ``项目清单 Projects`` — every capital project with its cost, pupils served and cost
   per pupil; a total row.
6. ``预算汇总 Budget`` — capital by project kind and recurrent by item, against the
   budgets.
7. ``未达标项 Unmet`` — every standard still unmet after the plan with the estimated
   cost to meet it (:func:`planner.report.marginal.cost_to_meet`).
8. ``就近入学 Re-zoning`` — per stage: pupils re-zoned, their mean trip before and after, mean
   and largest change, how many got a longer trip, and how many +15 minutes or more while
   today's school is within the cap (:mod:`planner.plan.rezoning`).
9. ``边际效益 Marginal`` — only when a marginal table is given.

Totals equal the Plan's (``plan.costs``, ``plan.projects.cost_yuan.sum()``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from planner.county import County
from planner.plan import Plan
from planner.plan.rezoning import COLUMNS as REZONING_COLUMNS
from planner.plan.rezoning import HEADERS_ZH, rezoning_summary
from planner.report.cell_text import keep_text
from planner.report.marginal import cost_to_meet, cost_totals
from planner.report.projects import PROJECT_KIND_ZH, project_lines
from planner.report.projects import school_names as school_names
from planner.report.selfassessment import F_1, F_2, F_CV, F_INT, F_PCT, _indicator_sheet, _mark, _write_table
from planner.scenario import Scenario
from planner.schema import STAGE_ZH, TEACHERS

log = logging.getLogger(__name__)

WORKBOOK_NAME = "plan_workbook.xlsx"

SHEETS: tuple[str, ...] = (
    "自评汇总 Self-assessment",
    "自评表(规划前) Before",
    "自评表(规划后) After",
    "学区划分 Catchments",
    "教师交流名单 Exchange",
    "交流教师明细 Teachers",
    "项目清单 Projects",
    "预算汇总 Budget",
    "未达标项 Unmet",
    "就近入学 Re-zoning",
)
MARGINAL_SHEET = "边际效益 Marginal"
TOTAL_LABEL = "合计 Total"

CATEGORY_ZH: dict[str, str] = {
    "backbone": "县级及以上骨干教师",
    "pe_art": "体育、艺术教师",
    "above_required": "高于规定学历教师",
    "other": "其他教师",
}
#: subject and backbone-level labels (planner.schema.TEACHERS)
SUBJECT_ZH = dict(next(f for f in TEACHERS.fields if f.name == "subject").choices or {})
BACKBONE_ZH = dict(next(f for f in TEACHERS.fields if f.name == "backbone_level").choices or {})
MOVE_KIND_ZH = {
    "rotation": "交流轮岗",
    "return": "回流（双向交流）",
    "redeployment": "调配（新校）",
    "itinerant": "走教",
}
F_YUAN = "#,##0.00"
#: cost kinds of the unmet sheet (its SUMIFS formulas read them)
UNMET_KIND_ZH = {"capital": "资本性", "recurrent": "经常性(每年)", "not_priced": "未估价"}
F_TIME = "0.0"

_TITLE_FONT = Font(bold=True, size=12)


def _yes(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    return "是" if bool(v) else "否"


#: paper sizes of openpyxl's page setup
PAPER_A4, PAPER_A3 = 9, 8
#: sheets wider than this many columns print on A3
A3_FROM_COLUMNS = 12


def print_setup(ws: Worksheet, header_row: int = 1, title: str = "") -> None:
    """Landscape, fitted to one page wide (as many pages tall as needed), the header row repeated on every
    page, A3 for sheets wider than :data:`A3_FROM_COLUMNS` columns (else A4), page numbers in the footer."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A3 if ws.max_column > A3_FROM_COLUMNS else PAPER_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    if title:
        ws.oddHeader.center.text = title


#: the cells of each sheet holding a formula the planner wrote (:func:`_formula`), so that the text guard
#: (:func:`planner.report.cell_text.keep_text`) leaves them formulas while data that looks like one is text
_OWN_FORMULAS: WeakKeyDictionary[Worksheet, set[str]] = WeakKeyDictionary()


def own_formula(ws: Worksheet, cell: Cell) -> bool:
    """Whether ``cell`` of ``ws`` holds a formula written by :func:`_formula`."""
    return cell.coordinate in _OWN_FORMULAS.get(ws, set())


def _formula(ws: Worksheet, row: int, col: int, text: str, fmt: str | None = F_YUAN, bold: bool = False) -> None:
    """Write an Excel formula (``=SUM(...)``) into a cell: a computed figure the reader can check."""
    c = ws.cell(row=row, column=col, value=text)
    _OWN_FORMULAS.setdefault(ws, set()).add(c.coordinate)
    if fmt:
        c.number_format = fmt
    if bold:
        c.font = Font(bold=True)


def _ref(sheet: str, col: str) -> str:
    """A whole-column reference on another sheet: ``'项目清单 Projects'!M:M``."""
    return f"'{sheet}'!{col}:{col}"


def budget_table(plan: Plan, county: County) -> pd.DataFrame:
    """Capital by project kind and recurrent by item, with totals and budgets.

    Columns: section (capital / recurrent), item, item_zh, count, amount_yuan. The
    ``total`` rows equal ``plan.costs``.
    """
    uc = county.parameters.unit_costs
    rows = []
    proj = plan.projects
    for kind, grp in proj.groupby("kind", sort=False):
        rows.append({"section": "capital", "item": kind, "item_zh": PROJECT_KIND_ZH.get(kind, kind),
                     "count": len(grp), "amount_yuan": float(grp["cost_yuan"].sum())})  # fmt: skip
    cap, cap_b = float(plan.costs["capital_yuan"]), float(plan.costs["capital_budget_yuan"])
    rows += [
        {"section": "capital", "item": "total", "item_zh": "资本性支出合计", "count": len(proj), "amount_yuan": cap},
        {"section": "capital", "item": "budget", "item_zh": "资本性预算", "count": None, "amount_yuan": cap_b},
        {"section": "capital", "item": "remaining", "item_zh": "结余", "count": None, "amount_yuan": cap_b - cap},
    ]
    h = plan.hires
    hired = int(h["count"].sum()) if len(h) else 0
    rows.append({"section": "recurrent", "item": "hires", "item_zh": "新招聘教师（每年）", "count": hired,
                 "amount_yuan": float(h["cost_yuan_per_year"].sum()) if len(h) else 0.0})  # fmt: skip
    rot = int((plan.exchange_list["kind"] == "rotation").sum()) if len(plan.exchange_list) else 0
    rows.append({"section": "recurrent", "item": "rotation_allowance", "item_zh": "交流轮岗补贴（每年）", "count": rot,
                 "amount_yuan": rot * uc.rotation_allowance_yuan_per_year})  # fmt: skip
    rec, rec_b = float(plan.costs["recurrent_yuan_per_year"]), float(plan.costs["recurrent_budget_yuan_per_year"])
    rows += [
        {
            "section": "recurrent",
            "item": "total",
            "item_zh": "经常性支出合计（每年）",
            "count": None,
            "amount_yuan": rec,
        },
        {
            "section": "recurrent",
            "item": "budget",
            "item_zh": "经常性预算（每年）",
            "count": None,
            "amount_yuan": rec_b,
        },
        {
            "section": "recurrent",
            "item": "remaining",
            "item_zh": "结余（每年）",
            "count": None,
            "amount_yuan": rec_b - rec,
        },
    ]
    df = pd.DataFrame(rows)
    df["share_of_budget"] = [
        r.amount_yuan / (cap_b if r.section == "capital" else rec_b) if (cap_b if r.section == "capital" else rec_b)
        else float("nan")
        for r in df.itertuples()
    ]  # fmt: skip
    return df


def exchange_groups(plan: Plan) -> pd.DataFrame:
    """Teacher moves grouped by from, to, stage, category and kind, with counts."""
    ex = plan.exchange_list
    cols = ["from_school_id", "to_school_id", "stage", "category", "kind"]
    if not len(ex):
        return pd.DataFrame(columns=[*cols, "count", "time_min", "within_cap"])
    g = ex.groupby(cols, sort=True).agg(
        count=("teacher_id", "size"), time_min=("time_min", "first"), within_cap=("within_cap", "first")
    )
    return g.reset_index()


# --------------------------------------------------------------------------- sheets


def _assessment_summary_sheet(ws: Worksheet, plan: Plan) -> None:
    b, a = plan.before, plan.after
    title = f"{a.county_name_zh or '本县'} 规划前后自评对比 (self-assessment before and after the plan)"
    ws.cell(row=1, column=1, value=title).font = _TITLE_FONT
    note = f"方案 Scenario: {plan.scenario_name}；求解 Solver: {plan.solver.description}"  # code: the CSVs' key
    if a.synthetic:
        note += "；⚠ 合成数据，仅供演示 (synthetic data, for demonstration only)"
    ws.cell(row=2, column=1, value=note)
    header = ["学段 stage", "参评学校数 schools assessed", "规划前达标 passing before", "规划后达标 passing after",
              "规划前差异系数超标 CVs over before", "规划后差异系数超标 CVs over after", "规划前通过 passes before",
              "规划后通过 passes after", "规划后结论 verdict after"]  # fmt: skip
    sb, sa = b.summary.set_index("stage"), a.summary.set_index("stage")
    rows = [
        [STAGE_ZH[s], int(sa.loc[s, "schools_assessed"]), int(sb.loc[s, "schools_passing"]),
         int(sa.loc[s, "schools_passing"]), int(sb.loc[s, "cv_over"]), int(sa.loc[s, "cv_over"]),
         _mark(sb.loc[s, "passes"]), _mark(sa.loc[s, "passes"]), sa.loc[s, "verdict_zh"]]
        for s in sa.index
    ]  # fmt: skip
    _write_table(ws, header, rows, [None, F_INT, F_INT, F_INT, F_INT, F_INT, None, None, None], start_row=4,
                 freeze="A5", max_width=18)  # fmt: skip
    ws.auto_filter.ref = None
    ws.column_dimensions["I"].width = 80
    r0 = 4 + len(rows) + 3
    ws.cell(row=r0 - 1, column=1, value="差异系数 CV (before → after)").font = _TITLE_FONT
    bb = b.balance.set_index(["stage", "indicator"])
    head2 = ["学段 stage", "指标 indicator", "规划前 CV before", "规划后 CV after", "上限 threshold",
             "规划前达标 met before", "规划后达标 met after"]  # fmt: skip
    rows2 = []
    for r in a.balance.itertuples(index=False):
        before = bb.loc[(r.stage, r.indicator)]
        rows2.append([r.stage_zh, f"{r.number}. {r.indicator_zh}", before["cv"], r.cv, r.threshold,
                      _mark(before["met"]), _mark(r.met)])  # fmt: skip
    _write_table(ws, head2, rows2, [None, None, F_CV, F_CV, "0.00", None, None], start_row=r0, freeze=None,
                 max_width=18)  # fmt: skip
    ws.auto_filter.ref = None
    ws.column_dimensions["B"].width = 36


def _catchment_sheet(ws: Worksheet, plan: Plan, county: County) -> None:
    names = school_names(plan, county)
    st = county.settlements
    a = plan.assignments
    method = "路网 network" if plan.distance_method == "network" else "直线 straight line"
    header = ["村/社区代码 settlement_id", "村/社区 settlement", "乡镇 township", "学段 stage", "学生数 pupils",
              "规划前学校代码 school before", "规划前学校 name before", "规划后学校代码 school_id",
              "规划后学校 school", f"通学时间(分钟) time_min ({method})", "距离(米) distance_m",
              "是否调整 changed", "在时限内 within cap"]  # fmt: skip
    fmts = [None, None, None, None, F_INT, None, None, None, None, F_TIME, F_INT, None, None]
    twn = county.townships["name_zh"] if "name_zh" in county.townships.columns else pd.Series(dtype=str)
    rows = []
    order = a.assign(_o=a["stage"].map({"primary": 0, "junior": 1})).sort_values(["_o", "settlement_id"])
    for r in order.itertuples(index=False):
        sname = st.loc[r.settlement_id, "name_zh"] if r.settlement_id in st.index else ""
        tid = st.loc[r.settlement_id, "township_id"] if r.settlement_id in st.index else ""
        rows.append([r.settlement_id, sname, twn.get(tid, tid), STAGE_ZH[r.stage], r.pupils, r.current_school_id,
                     names.get(r.current_school_id, ""), r.school_id, names.get(r.school_id, ""), r.time_min,
                     r.distance_m, _yes(r.changed), _yes(r.within_cap)])  # fmt: skip
    _write_table(ws, header, rows, fmts, freeze="C2", max_width=20)


def _exchange_sheet(ws: Worksheet, plan: Plan, county: County) -> None:
    names = school_names(plan, county)
    g = exchange_groups(plan)
    header = ["派出学校代码 from_school_id", "派出学校 from", "接收学校代码 to_school_id", "接收学校 to", "学段 stage",
              "类别 category", "性质 kind", "人数 count", "校际时间(分钟) time_min", "在时限内 within cap"]  # fmt: skip
    rows = [
        [r.from_school_id, names.get(r.from_school_id, ""), r.to_school_id, names.get(r.to_school_id, ""),
         STAGE_ZH.get(r.stage, r.stage), CATEGORY_ZH.get(r.category, r.category), MOVE_KIND_ZH.get(r.kind, r.kind),
         r.count, r.time_min, _yes(r.within_cap)]
        for r in g.itertuples(index=False)
    ]  # fmt: skip
    rows.append([TOTAL_LABEL, None, None, None, None, None, None, None, None, None])
    fmts = [None, None, None, None, None, None, None, F_INT, F_TIME, None]
    _write_table(ws, header, rows, fmts, freeze="A2", max_width=22)
    ws.auto_filter.ref = None
    _formula(ws, len(rows) + 1, 8, f"=SUM(H2:H{len(rows)})" if len(rows) > 1 else "=0", F_INT, bold=True)
    r0 = len(rows) + 4
    ws.cell(row=r0 - 1, column=1, value="交流轮岗比例核查 rotation policy check").font = _TITLE_FONT
    policy = plan.extra_tables.get("rotation_policy")
    if policy is not None and len(policy):
        # both legs of a 双向交流 count; the national floor (10% / 20%) and the scenario's own targets
        head2 = ["核查 check", "项目 item", "实际比例 value", "要求 requirement", "达标 met", "人数 count", "基数 of"]
        rows2 = [[r.check_zh, f"{r.item_zh} ({r.item})", r.value, r.requirement, _mark(r.met), r.count, r.of]
                 for r in policy.itertuples(index=False)]  # fmt: skip
        fmts2 = [None, None, F_PCT, F_PCT, None, F_INT, F_INT]
    else:
        gr = plan.after.guarantee
        gr = gr[gr["item"].isin(["rotation_share", "rotation_backbone_share"])]
        head2 = ["项目 item", "实际比例 value", "要求 requirement", "达标 met", "差额(人) short (teachers)",
                 "说明 detail"]  # fmt: skip
        rows2 = [[f"{r.item_zh} ({r.item})", r.value, r.limit, _mark(r.met), r.gap_whole, r.detail_zh]
                 for r in gr.itertuples(index=False)]  # fmt: skip
        fmts2 = [None, F_PCT, F_PCT, None, F_INT, None]
    _write_table(ws, head2, rows2, fmts2, start_row=r0, freeze=None, max_width=60)
    ws.auto_filter.ref = None


def _teachers_sheet(ws: Worksheet, plan: Plan, county: County) -> None:
    names = school_names(plan, county)
    header = ["教师代码 teacher_id", "任教学科 subject", "骨干级别 backbone level", "派出学校代码 from_school_id",
              "派出学校 from", "接收学校代码 to_school_id", "接收学校 to", "性质 kind", "期限(年) term_years",
              "学段 stage", "类别 category", "本校任教年限 years at school", "校际时间(分钟) time_min"]  # fmt: skip
    ex = plan.exchange_list
    rows = [
        [r.teacher_id, SUBJECT_ZH.get(getattr(r, "subject", ""), getattr(r, "subject", "")),
         BACKBONE_ZH.get(getattr(r, "backbone_level", ""), getattr(r, "backbone_level", "")), r.from_school_id,
         names.get(r.from_school_id, ""), r.to_school_id, names.get(r.to_school_id, ""),
         MOVE_KIND_ZH.get(r.kind, r.kind), None if pd.isna(getattr(r, "term_years", None)) else int(r.term_years),
         STAGE_ZH.get(r.stage, r.stage), CATEGORY_ZH.get(r.category, r.category), r.years_at_school, r.time_min]
        for r in ex.itertuples(index=False)
    ]  # fmt: skip
    fmts = [None, None, None, None, None, None, None, None, F_INT, None, None, F_INT, F_TIME]
    _write_table(ws, header, rows, fmts, freeze="B2", max_width=22)


#: columns of the project sheet (the budget sheet's SUMIF formulas read 项目类型 and 金额)
PROJECT_SHEET_HEADER: tuple[str, ...] = (
    "序号 no.", "乡镇 township", "学校代码 school_id", "学校 school", "项目类型 kind", "方案 design", "数量 quantity",
    "单位 unit", "建设或采购内容 content", "所补标准 standard served", "规划前→规划后 before → after",
    "受益学生(人) pupils served", "金额(元) cost", "生均(元) cost per pupil",
)  # fmt: skip
PROJECT_KIND_COL, PROJECT_COST_COL = "E", "M"


def _projects_sheet(ws: Worksheet, plan: Plan, county: County) -> None:
    p = project_lines(plan, county)
    rows: list[list[Any]] = [
        [i, r.township_zh, r.school_id, r.name_zh, r.kind_zh, r.item_zh, r.quantity, r.unit_zh, r.content_zh,
         r.serves_zh, r.effect_zh, r.pupils_served, r.cost_yuan, None]
        for i, r in enumerate(p.itertuples(index=False), start=1)
    ]  # fmt: skip
    rows.append([TOTAL_LABEL, *[None] * 13])
    fmts = [None, None, None, None, None, None, "#,##0.##", None, None, None, None, F_INT, F_YUAN, F_YUAN]
    _write_table(ws, list(PROJECT_SHEET_HEADER), rows, fmts, freeze="E2", max_width=30)
    n = len(p)
    ws.auto_filter.ref = f"A1:N{n + 1}"
    for i in range(2, n + 2):  # cost per pupil = cost / pupils served
        _formula(ws, i, 14, f'=IF(L{i}>0,M{i}/L{i},"")')
    last = n + 2
    _formula(ws, last, 12, f"=SUM(L2:L{n + 1})" if n else "=0", F_INT, bold=True)
    _formula(ws, last, 13, f"=SUM(M2:M{n + 1})" if n else "=0", bold=True)
    for c in ws[last]:
        c.font = Font(bold=True)
    for col in ("I", "K"):
        ws.column_dimensions[col].width = 48
        for cell in ws[col][1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _budget_sheet(ws: Worksheet, plan: Plan, county: County) -> None:
    """Capital by project kind (SUMIF over the project sheet), recurrent by item, totals, remainders and shares
    as formulas; budgets as values."""
    b = budget_table(plan, county)
    uc = county.parameters.unit_costs
    header = ["类别 section", "项目 item", "数量 count", "金额(元) amount", "占预算 share of budget"]
    sec = {"capital": "资本性 capital", "recurrent": "经常性(每年) recurrent per year"}
    rows = [[sec[r.section], r.item_zh, None if pd.isna(r.count) else int(r.count), r.amount_yuan, None]
            for r in b.itertuples(index=False)]  # fmt: skip
    _write_table(ws, header, rows, [None, None, F_INT, F_YUAN, F_PCT], freeze="A2", max_width=30)
    ws.auto_filter.ref = None
    where = {(r.section, r.item): i for i, r in enumerate(b.itertuples(index=False), start=2)}
    proj = SHEETS[6]
    for section in ("capital", "recurrent"):
        items = [i for (s_, it), i in where.items() if s_ == section and it not in ("total", "budget", "remaining")]
        tot, bud, rem = where[(section, "total")], where[(section, "budget")], where[(section, "remaining")]
        for i in items:
            item = b.iloc[i - 2]["item"]
            if section == "capital":
                kind_zh = PROJECT_KIND_ZH.get(item, item)
                _formula(ws, i, 4, f'=SUMIF({_ref(proj, PROJECT_KIND_COL)},"{kind_zh}",{_ref(proj, PROJECT_COST_COL)})')
                _formula(ws, i, 3, f'=COUNTIF({_ref(proj, PROJECT_KIND_COL)},"{kind_zh}")', F_INT)
            elif item == "rotation_allowance":
                _formula(ws, i, 4, f"=C{i}*{uc.rotation_allowance_yuan_per_year!r}")
        if items:
            _formula(ws, tot, 4, "=" + "+".join(f"D{i}" for i in items), bold=True)
            if section == "capital":
                _formula(ws, tot, 3, "=" + "+".join(f"C{i}" for i in items), F_INT, bold=True)
        else:
            _formula(ws, tot, 4, "=0", bold=True)
        _formula(ws, rem, 4, f"=D{bud}-D{tot}")
        for i in [*items, tot, rem]:
            _formula(ws, i, 5, f'=IF(D{bud}>0,D{i}/D{bud},"")', F_PCT)
        for c in ws[bud]:
            c.font = Font(bold=True)
    r0 = len(rows) + 3
    ws.cell(row=r0, column=1, value="金额、合计、结余和占预算均为公式：资本性各类金额按“项目清单”表的项目类型求和，"
            "交流轮岗补贴 = 人数 × 每人每年补贴。").font = Font(italic=True)  # fmt: skip


def _unmet_sheet(ws: Worksheet, plan: Plan, county: County, costs: pd.DataFrame) -> None:
    header = ["来源 source", "项目 item", "学校代码 school_id", "学校 school", "学段 stage", "公办 public",
              "差额 shortfall", "单位 unit", "需补数量 quantity", "数量单位 quantity unit", "单价(元) unit cost",
              "估算金额(元) cost_yuan", "性质 cost kind", "估算规则 rule", "制约因素 what binds"]  # fmt: skip
    src = {"indicator": "资源配置指标", "guarantee": "政府保障"}
    unmet = plan.extra_tables.get("unmet")
    binds: dict[tuple[str, str, str], str] = {}
    if unmet is not None and len(unmet):
        u = unmet[unmet["source"] != "distance"]
        binds = {(r.item, r.school_id or "", r.stage or ""): f"{r.binds_zh}：{r.detail_zh}" if r.detail_zh else
                 str(r.binds_zh) for r in u.itertuples(index=False)}  # fmt: skip
    rows = [
        [src.get(r.source, r.source), r.item_zh, r.school_id or None, r.name_zh or None,
         STAGE_ZH.get(r.stage) if r.stage else None, _yes(r.public), r.shortfall, r.unit, r.quantity,
         r.quantity_unit, r.unit_cost_yuan, r.cost_yuan, UNMET_KIND_ZH.get(r.cost_kind, r.cost_kind), r.rule_zh,
         binds.get((r.item, r.school_id or "", r.stage or ""))]
        for r in costs.itertuples(index=False)
    ]  # fmt: skip
    fmts = [None, None, None, None, None, None, F_2, None, F_2, None, F_YUAN, F_YUAN, None, None, None]
    _write_table(ws, header, rows, fmts, freeze="C2", max_width=26)
    ws.column_dimensions["N"].width = 60
    ws.column_dimensions["O"].width = 60
    t = cost_totals(costs)
    r0 = len(rows) + 4
    last = len(rows) + 1
    ws.cell(row=r0 - 1, column=1, value="达标所需资金估算 cost to meet").font = _TITLE_FONT

    def sumifs(kind: str, public: str) -> str:
        return f'=SUMIFS(L2:L{last},M2:M{last},"{UNMET_KIND_ZH[kind]}",F2:F{last},"{public}")' if rows else "=0"

    lines: list[tuple[str, str | float, str]] = [
        ("公办学校资本性(元) public capital", sumifs("capital", "是"), F_YUAN),
        ("公办学校经常性上限(元/年) recurrent upper bound", sumifs("recurrent", "是"), F_YUAN),
        ("公办学校经常性下限(元/年) recurrent lower bound", t["recurrent_yuan_per_year_lower"], F_YUAN),
        ("民办学校资本性(元) private capital", sumifs("capital", "否"), F_YUAN),
        ("民办学校经常性(元/年) private recurrent", sumifs("recurrent", "否"), F_YUAN),
        ("未估价项数 items not priced", f'=COUNTIF(M2:M{last},"{UNMET_KIND_ZH["not_priced"]}")' if rows else "=0",
         F_INT),
    ]  # fmt: skip
    for i, (label, v, fmt) in enumerate(lines, start=r0):
        ws.cell(row=i, column=1, value=label).font = Font(bold=True)
        if isinstance(v, str):
            _formula(ws, i, 2, v, fmt)
        else:
            ws.cell(row=i, column=2, value=float(v)).number_format = fmt
    ws.cell(row=r0 + len(lines), column=1,
            value="教师类各项可能重叠（一名本科体育教师同时计入指标1、3和编制），上限为各项相加（公式），"
            "下限为每校每学段取最大项（计算值）。")  # fmt: skip


def _marginal_sheet(ws: Worksheet, marginal: pd.DataFrame) -> None:
    header = ["预算变动 change", "系数 scale", "资本性预算(元) capital budget", "经常性预算(元/年) recurrent budget",
              "资本性支出(元) capital spent", "经常性支出(元/年) recurrent spent",
              "未达标校-指标数 unmet school-indicators", "缺口指数 shortfall index", "达标学校 schools passing",
              "未达标学校 schools failing", "差异系数超标 CVs over", "保障项未达标 guarantee unmet",
              "全县通过 passes", "求解状态 status", "间隙 gap", "求解说明 solver", "时限(秒) time limit s",
              "用时(秒) wall s"]  # fmt: skip
    rows = [
        [r.label, r.scale, r.capital_budget_yuan, r.recurrent_budget_yuan_per_year, r.capital_yuan,
         r.recurrent_yuan_per_year, r.unmet_indicators, r.shortfall_index, r.schools_passing, r.schools_failing,
         r.cv_over, r.guarantee_unmet, _mark(r.passes), r.status, r.gap, r.solver_description, r.time_limit_s,
         r.wall_s]
        for r in marginal.itertuples(index=False)
    ]  # fmt: skip
    fmts = [None, "0.00", F_YUAN, F_YUAN, F_YUAN, F_YUAN, F_INT, "0.000", F_INT, F_INT, F_INT, F_INT, None, None,
            "0.00%", None, F_1, F_1]  # fmt: skip
    _write_table(ws, header, rows, fmts, freeze="B2", max_width=18)
    ws.auto_filter.ref = None
    notes = list(marginal.attrs.get("notes", []))
    r0 = len(rows) + 3
    text = ("未达标校-指标数：规划后评估中低于标准的学校×指标数；缺口指数：其Σ(1−实际值/标准)，每项在0到1之间。"
            "unmet school-indicators: parts × indicators below the standard after the plan; shortfall index: "
            "their Σ(1 − value/standard).")  # fmt: skip
    ws.cell(row=r0, column=1, value=text).font = Font(italic=True)
    for i, n in enumerate(notes, start=r0 + 1):
        ws.cell(row=i, column=1, value=n)


def _rezoning_sheet(ws: Worksheet, plan: Plan) -> None:
    """Pupils re-zoned per stage and how their trips change (:func:`planner.plan.rezoning.rezoning_summary`)."""
    table = plan.extra_tables.get("rezoning")
    if table is None:
        table = rezoning_summary(plan.assignments) if "current_time_min" in plan.assignments else None
    if table is None:
        ws.cell(row=1, column=1, value="本方案没有调整学区数据 (no re-zoning read-out)")
        return
    header = [HEADERS_ZH[c] for c in REZONING_COLUMNS]
    labels = {**STAGE_ZH, "all": "合计 all"}
    rows = [[labels.get(r["stage"], r["stage"]), *[r[c] for c in REZONING_COLUMNS[1:]]]
            for r in table.to_dict(orient="records")]  # fmt: skip
    fmts = [None, F_INT, F_INT, F_INT, F_PCT, F_TIME, F_TIME, "+0.0;-0.0;0.0", "+0.0;-0.0;0.0", F_INT, F_INT, F_INT,
            F_INT, F_TIME]  # fmt: skip
    _write_table(ws, header, rows, fmts, freeze="B2", max_width=22)
    ws.auto_filter.ref = None
    r0 = len(rows) + 3
    for i, line in enumerate(
        [
            "就近入学：居民点只调整到服务半径内、不远于“现学校与服务半径内最近学校中较远者 + 容差”的学校（容差见末列，"
            "空白为未设）；寄宿制学校仅在服务半径内没有走读学校时接收更远的居民点。",
            "Nearby enrolment: a settlement is re-zoned only to a school within its cap and no farther than the larger "
            "of today's school and its nearest school within the cap plus the tolerance (last column). Means are "
            "pupil-weighted over re-zoned settlements; times by each stage's travel mode. Rows: plan/assignments.csv.",
        ],
        start=r0,
    ):
        ws.cell(row=i, column=1, value=line).font = Font(italic=True)


def build_plan_workbook(
    plan: Plan,
    county: County,
    *,
    marginal: pd.DataFrame | None = None,
    costs: pd.DataFrame | None = None,
    scenario: Scenario | None = None,
) -> Workbook:
    """The plan workbook in memory (sheets :data:`SHEETS`, plus :data:`MARGINAL_SHEET` when given), every sheet
    set up for print (:func:`print_setup`)."""
    from planner.report.justification import scenario_zh

    costs = cost_to_meet(plan, county) if costs is None else costs
    wb = Workbook()
    wb.remove(wb.active)
    _assessment_summary_sheet(wb.create_sheet(SHEETS[0]), plan)
    _indicator_sheet(wb.create_sheet(SHEETS[1]), plan.before)
    _indicator_sheet(wb.create_sheet(SHEETS[2]), plan.after)
    _catchment_sheet(wb.create_sheet(SHEETS[3]), plan, county)
    _exchange_sheet(wb.create_sheet(SHEETS[4]), plan, county)
    _teachers_sheet(wb.create_sheet(SHEETS[5]), plan, county)
    _projects_sheet(wb.create_sheet(SHEETS[6]), plan, county)
    _budget_sheet(wb.create_sheet(SHEETS[7]), plan, county)
    _unmet_sheet(wb.create_sheet(SHEETS[8]), plan, county, costs)
    _rezoning_sheet(wb.create_sheet(SHEETS[9]), plan)
    if marginal is not None:
        _marginal_sheet(wb.create_sheet(MARGINAL_SHEET), marginal)
    name_zh = scenario_zh(scenario, plan.scenario_name)
    for ws in wb.worksheets:
        print_setup(ws, header_row=4 if ws.title == SHEETS[0] else 1,
                    title=f"{county.name_zh}{name_zh} {ws.title.split(' ')[0]}")  # fmt: skip
    wb.properties.title = f"{county.name_zh}{name_zh}规划方案工作簿"
    wb.properties.creator = "planner"
    return wb


def write_plan_workbook(
    plan: Plan, county: County, path: Path, *, marginal: pd.DataFrame | None = None, scenario: Scenario | None = None
) -> Path:
    """Write the plan workbook.

    Parameters
    ----------
    plan : Plan
    county : County
        The county before the plan (names, townships, unit costs).
    path : Path
        ``.xlsx`` file, or a folder (then :data:`WORKBOOK_NAME` inside it); parent folders
        are created, an existing file is overwritten.
    marginal : DataFrame, optional
        :func:`planner.plan.variants.marginal_budget` table; adds the marginal sheet.
    scenario : Scenario, optional
        The plan's scenario (its Chinese name in the titles and page headers).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        path = path / WORKBOOK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    keep_text(build_plan_workbook(plan, county, marginal=marginal, scenario=scenario), exempt=own_formula).save(path)
    log.info("plan workbook written to %s", path)
    return path


__all__ = [
    "MARGINAL_SHEET",
    "SHEETS",
    "TOTAL_LABEL",
    "WORKBOOK_NAME",
    "budget_table",
    "build_plan_workbook",
    "exchange_groups",
    "school_names",
    "write_plan_workbook",
]
