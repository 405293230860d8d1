"""The self-assessment workbook (自评表) of one county, with CSV copies.

:func:`write_self_assessment` writes ``self_assessment.xlsx`` laid out like the tables
county bureaus hand in, Chinese headers with English beside:

1. ``汇总 Summary`` — one line per stage: does the county pass resource allocation, and
   if not why; below it, a count of the government-guarantee items not met.
2. ``学校指标 Indicators`` — one row per assessed school part: for each of the 7
   indicators its standard, value, met mark (✓/✗), shortfall in the standard's physical
   unit (and in whole teachers or rooms); then the school rule's result and reason.
3. ``差异系数 CV`` — per stage and indicator: county mean X̄, S, CV against its threshold.
4. ``保障指标 Guarantee`` — school size, class size, music and art rooms, staffing,
   catchment enrolment share, rotation (when a plan is given).
5. ``不参评 Excluded`` — school parts outside the assessment, and why.
6. ``标准 Standards`` — every threshold used (national or provincial override).

Values are written at full precision; only the display is rounded (number formats).
The CSV copies are the :class:`~planner.assess.Assessment` tables themselves (English
column codes, UTF-8 with BOM so Excel opens Chinese text correctly), for scripts.
Atomic writing of the output folder is the caller's job (the CLI).
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from planner.assess import EXCLUSIONS, Assessment
from planner.report.cell_text import keep_text
from planner.schema import SCHOOL_KINDS, STAGE_ZH
from planner.standards import INDICATORS

log = logging.getLogger(__name__)

WORKBOOK_NAME = "self_assessment.xlsx"
#: Sheet titles in order.
SHEETS: tuple[str, ...] = (
    "汇总 Summary",
    "学校指标 Indicators",
    "差异系数 CV",
    "保障指标 Guarantee",
    "不参评 Excluded",
    "标准 Standards",
)
#: Row of the header in the summary sheet (title and notes above it).
SUMMARY_HEADER_ROW = 4

OK, NO = "✓", "✗"
_OWNERSHIP = {"public": "公办", "private": "民办"}
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_FAIL_FONT = Font(color="C00000")

#: number formats
F_INT = "#,##0"
F_2 = "#,##0.00"
F_1 = "#,##0.0"
F_PCT = "0.0%"
F_CV = "0.000"


def _shortfall_format(resource_unit_en: str) -> str:
    return {"yuan": F_INT, "m²": F_1}.get(resource_unit_en, F_2)


def indicator_headers(key: str) -> dict[str, str]:
    """Headers of the indicator-sheet columns of indicator ``key``."""
    ind = next(i for i in INDICATORS if i.key == key)
    head = f"{ind.number}. {ind.zh}"
    out = {
        "standard": f"{head} 标准 (standard, {ind.unit_zh})",
        "value": f"{head} 实际值 (value)",
        "met": f"{head} 达标 (met)",
        "shortfall": f"{head} 差额 (shortfall, {ind.resource_unit_zh})",
    }
    if ind.discrete:
        out["shortfall_whole"] = f"{head} 需补 (whole {ind.resource_unit_en})"
    return out


def _mark(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return OK if bool(v) else NO


def _cell(v: Any) -> Any:
    """Python value for openpyxl: NaN/NA -> empty, numpy scalars -> Python."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    return v


def _width(text: Any) -> int:
    s = "" if text is None else str(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _write_table(
    ws: Worksheet,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: Sequence[str | None],
    *,
    start_row: int = 1,
    freeze: str | None = "A2",
    max_width: int = 28,
) -> None:
    """Header row (bold, wrapped, filled), data rows, number formats, widths, filter, freeze."""
    for j, h in enumerate(header, start=1):
        c = ws.cell(row=start_row, column=j, value=h)
        c.font, c.fill = _HEADER_FONT, _HEADER_FILL
        c.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for i, row in enumerate(rows, start=start_row + 1):
        for j, (v, fmt) in enumerate(zip(row, formats, strict=True), start=1):
            c = ws.cell(row=i, column=j, value=_cell(v))
            if fmt:
                c.number_format = fmt
            if isinstance(v, str) and v == NO:
                c.font = _FAIL_FONT
    widths = []
    for j, h in enumerate(header):
        body = max((_width(_display(r[j], formats[j])) for r in rows), default=0)
        head = max((_width(w) for w in str(h).split(" (")), default=0)
        widths.append(min(max_width, max(8, body + 2, min(head, max_width) + 2)))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    lines = max((math.ceil(_width(h) / max(widths[j] - 1, 1)) for j, h in enumerate(header)), default=1)
    ws.row_dimensions[start_row].height = 15 * max(1, min(lines, 6))
    if rows:
        ws.auto_filter.ref = f"A{start_row}:{get_column_letter(len(header))}{start_row + len(rows)}"
    if freeze:
        ws.freeze_panes = freeze


def _display(v: Any, fmt: str | None) -> str:
    v = _cell(v)
    if v is None:
        return ""
    if isinstance(v, float) and fmt in (F_2, F_1, F_INT, F_CV):
        return f"{v:,.{ {F_2: 2, F_1: 1, F_INT: 0, F_CV: 3}[fmt] }f}"
    if isinstance(v, float) and fmt == F_PCT:
        return f"{v:.1%}"
    return str(v)


# --------------------------------------------------------------------------- sheets


def _summary_sheet(ws: Worksheet, a: Assessment) -> None:
    title = f"{a.county_name_zh or '本县'} 义务教育优质均衡发展 资源配置自评表 (self-assessment: resource allocation)"
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    note = f"评估标准 Standard: {a.standards.source}"
    if a.synthetic:
        note += "；⚠ 合成数据，仅供演示 (synthetic data, for demonstration only)"
    ws.cell(row=2, column=1, value=note)
    s = a.summary
    header = [
        "学段 (Stage)",
        "参评学校数 (Schools assessed)",
        "达标学校数 (Schools passing)",
        "未达标学校数 (Schools failing)",
        "差异系数超标项数 (CVs over threshold)",
        "是否通过 (Passes)",
        "结论 (Verdict)",
        "Verdict (English)",
    ]
    rows = [
        [r.stage_zh, r.schools_assessed, r.schools_passing, r.schools_failing, r.cv_over, _mark(r.passes),
         r.verdict_zh, r.verdict_en]
        for r in s.itertuples()
    ]  # fmt: skip
    fmts = [None, F_INT, F_INT, F_INT, F_INT, None, None, None]
    _write_table(ws, header, rows, fmts, start_row=SUMMARY_HEADER_ROW, freeze=f"A{SUMMARY_HEADER_ROW + 1}")
    ws.auto_filter.ref = None
    for col, w in (("G", 90), ("H", 90)):
        ws.column_dimensions[col].width = w
    for i in range(len(rows)):
        for col in ("G", "H"):
            ws[f"{col}{SUMMARY_HEADER_ROW + 1 + i}"].alignment = Alignment(wrap_text=True, vertical="top")

    g = a.guarantee
    r0 = SUMMARY_HEADER_ROW + len(rows) + 3
    ws.cell(
        row=r0 - 1, column=1, value="政府保障程度（数据可见部分）Government guarantee items the data can show"
    ).font = _HEADER_FONT
    head2 = ["项目 (Item)", "范围 (Scope)", "检查数 (Checked)", "未达标数 (Not met)", "涉及学生 (Pupils affected)"]
    agg = []
    for (item, item_zh, scope), grp in g.groupby(["item", "item_zh", "scope"], sort=False):
        agg.append([f"{item_zh} ({item})", scope, len(grp), int((~grp["met"]).sum()),
                    int(grp.loc[~grp["met"], "pupils_affected"].fillna(0).sum())])  # fmt: skip
    for j, h in enumerate(head2, start=1):
        c = ws.cell(row=r0, column=j, value=h)
        c.font, c.fill = _HEADER_FONT, _HEADER_FILL
        c.alignment = Alignment(wrap_text=True, horizontal="center")
    for i, row in enumerate(agg, start=r0 + 1):
        for j, v in enumerate(row, start=1):
            c = ws.cell(row=i, column=j, value=v)
            if j >= 3:
                c.number_format = F_INT
    ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width or 0, 30)


def _indicator_sheet(ws: Worksheet, a: Assessment) -> None:
    ind = a.indicators
    sch = a.schools.set_index(["school_id", "stage"])
    header = ["学校代码 (School ID)", "学校名称 (School)", "学段 (Stage)", "学校类型 (Kind)", "办学性质 (Ownership)",
              "在校生数 (Pupils)"]  # fmt: skip
    fmts: list[str | None] = [None, None, None, None, None, F_INT]
    for i in INDICATORS:
        h = indicator_headers(i.key)
        header += list(h.values())
        fmts += [F_2, F_2, None, _shortfall_format(i.resource_unit_en)]
        if i.discrete:
            fmts.append(F_INT)
    header += ["达标项数 (Indicators met)", "结论 (Result)", "原因 (Reason)"]
    fmts += [F_INT, None, None]
    rows = []
    for (stage, sid), grp in ind.groupby(["stage", "school_id"], sort=False):
        g = grp.set_index("indicator")
        first = grp.iloc[0]
        row: list[Any] = [sid, first["name_zh"], STAGE_ZH[stage], SCHOOL_KINDS.get(first["kind"], first["kind"]),
                          _OWNERSHIP.get(first["ownership"], first["ownership"]), int(first["pupils"])]  # fmt: skip
        for i in INDICATORS:
            r = g.loc[i.key]
            row += [r["standard"], r["value"], _mark(r["met"]), r["shortfall"]]
            if i.discrete:
                row.append(r["shortfall_whole"])
        s = sch.loc[(sid, stage)]
        row += [s["n_met"], "达标 ✓" if bool(s["passes"]) else "未达标 ✗", s["reason_zh"]]
        rows.append(row)
    _write_table(ws, header, rows, fmts, freeze="C2", max_width=16)
    ws.column_dimensions["B"].width = 24
    ws.column_dimensions[get_column_letter(len(header))].width = 80


def _cv_sheet(ws: Worksheet, a: Assessment) -> None:
    header = ["学段 (Stage)", "序号 (No.)", "指标 (Indicator)", "单位 (Unit)", "参评学校数 (Schools)",
              "在校生数 (Pupils)", "资源总量 (Resource total)", "县均值 X̄ (County mean)", "标准差 S (Weighted SD)",
              "差异系数 CV", "上限 (Threshold)", "达标 (Met)", "学校标准 (School standard)",
              "县均值/标准 (Mean / standard)"]  # fmt: skip
    fmts = [None, None, None, None, F_INT, F_INT, F_2, F_2, F_2, F_CV, "0.00", None, F_2, F_PCT]
    rows = [
        [r.stage_zh, r.number, r.indicator_zh, r.unit, r.n_schools, r.pupils, r.resource_total, r.mean, r.std, r.cv,
         r.threshold, _mark(r.met), r.standard, r.mean_ratio]
        for r in a.balance.itertuples()
    ]  # fmt: skip
    _write_table(ws, header, rows, fmts, freeze="A2", max_width=36)


def _guarantee_sheet(ws: Worksheet, a: Assessment) -> None:
    header = ["项目 (Item)", "代码 (Code)", "范围 (Scope)", "学校代码 (School ID)", "学校名称 (School)",
              "学校类型 (Kind)", "学段 (Stage)", "实际值 (Value)", "要求 (Requirement)", "达标 (Met)", "差额 (Gap)",
              "差额取整 (Whole units)", "单位 (Unit)", "涉及学生 (Pupils affected)", "标记 (Flag)",
              "说明 (Detail)"]  # fmt: skip
    fmts = [None, None, None, None, None, None, None, F_2, F_2, None, F_2, F_INT, None, F_INT, None, None]
    flag_zh = {"large_class": "大班额", "very_large_class": "超大班额", "": None}
    rows = [
        [r.item_zh, r.item, r.scope, r.school_id or None, r.name_zh or None,
         SCHOOL_KINDS.get(r.kind) if r.kind else None, STAGE_ZH.get(r.stage) if r.stage else None, r.value,
         r.limit, _mark(r.met), r.gap, r.gap_whole, r.unit, r.pupils_affected, flag_zh.get(r.flag, r.flag),
         r.detail_zh or None]
        for r in a.guarantee.itertuples()
    ]  # fmt: skip
    _write_table(ws, header, rows, fmts, freeze="A2", max_width=24)
    ws.column_dimensions[get_column_letter(len(header))].width = 60


def _excluded_sheet(ws: Worksheet, a: Assessment) -> None:
    s = a.schools
    s = s[~s["assessed"]]
    header = ["学校代码 (School ID)", "学校名称 (School)", "学校类型 (Kind)", "办学性质 (Ownership)", "学段 (Stage)",
              "在校生数 (Pupils)", "原因 (Reason)", "Reason (English)"]  # fmt: skip
    fmts = [None, None, None, None, None, F_INT, None, None]
    rows = [
        [r.school_id, r.name_zh, SCHOOL_KINDS.get(r.kind, r.kind), _OWNERSHIP.get(r.ownership, r.ownership),
         r.stage_zh, r.pupils, EXCLUSIONS[r.exclusion][0], EXCLUSIONS[r.exclusion][1]]
        for r in s.itertuples()
    ]  # fmt: skip
    _write_table(ws, header, rows, fmts, freeze="A2", max_width=40)


def _standards_sheet(ws: Worksheet, a: Assessment) -> None:
    header = ["代码 (Key)", "项目 (Item)", "单位 (Unit)", "值 (Value)"]
    rows = [list(r) for r in a.standards.table()]
    _write_table(ws, header, rows, [None, None, None, None], freeze="A2", max_width=60)


def build_workbook(assessment: Assessment) -> Workbook:
    """The self-assessment workbook in memory (sheets :data:`SHEETS`)."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, fill in zip(
        SHEETS,
        (_summary_sheet, _indicator_sheet, _cv_sheet, _guarantee_sheet, _excluded_sheet, _standards_sheet),
        strict=True,
    ):
        fill(wb.create_sheet(title), assessment)
    wb.properties.title = f"{assessment.county_name_zh} 自评表 self-assessment"
    wb.properties.creator = "planner"
    return wb


def write_self_assessment(assessment: Assessment, out_dir: Path) -> list[Path]:
    """Write the self-assessment workbook and CSV copies into ``out_dir``.

    Parameters
    ----------
    assessment : Assessment
        Result of :func:`planner.assess.assess`.
    out_dir : Path
        Folder, created if missing; files of the same names are overwritten.

    Returns
    -------
    list of Path
        ``self_assessment.xlsx``, then ``summary.csv``, ``indicators.csv``,
        ``schools.csv``, ``balance.csv``, ``guarantee.csv`` and ``parts.csv`` (the
        Assessment's tables, UTF-8 with BOM).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx = out_dir / WORKBOOK_NAME
    keep_text(build_workbook(assessment)).save(xlsx)
    paths = [xlsx]
    tables = assessment.tables()
    tables["parts"] = assessment.parts
    for name, df in tables.items():
        path = out_dir / f"{name}.csv"
        df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
        paths.append(path)
    log.info("self-assessment written to %s (%d files)", out_dir, len(paths))
    return paths


__all__ = [
    "SHEETS",
    "SUMMARY_HEADER_ROW",
    "WORKBOOK_NAME",
    "build_workbook",
    "indicator_headers",
    "write_self_assessment",
]
