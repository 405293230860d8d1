"""Excel templates for county staff: one workbook per table, Chinese headers with codes.

``planner template DIR`` writes a blank workbook per table (headers only) and a second
sheet, 字段说明 (field guide), listing every field's meaning, unit and rule. With
``--from DATA_DIR`` the workbooks are filled with that county's tables, so a county can
start from the bundled example. The loader reads these workbooks back unchanged: headers
written as ``中文 (code)`` are mapped to their codes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from planner.county import County
from planner.report.cell_text import keep_text
from planner.schema import TABLES, FieldSpec, TableSpec

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def header(f: FieldSpec) -> str:
    """Template header of a field: ``中文 (code)``."""
    return f"{f.zh} ({f.name})"


def _rule(f: FieldSpec) -> str:
    parts = []
    if f.kind == "int":
        parts.append("整数 whole number")
    elif f.kind == "float":
        parts.append("数值 number")
    elif f.kind == "bool":
        parts.append("是/否 true/false")
    elif f.kind == "category":
        parts.append("取值 one of: " + "; ".join(f"{code} / {zh}" for code, zh in f.choices.items()))
    else:
        parts.append("文本 text")
    if f.minimum is not None:
        parts.append(f"≥ {f.minimum:g}")
    if f.unique:
        parts.append("唯一 unique")
    if f.references:
        parts.append(f"须存在于 must exist in {f.references}")
    parts.append("必填 required" if f.required and not f.nullable else "可空 optional")
    return "; ".join(parts)


def template_tables() -> list[TableSpec]:
    """Tables a planner edits by hand (the GeoPackage-only layers are drawn in GIS)."""
    return [t for t in TABLES if not t.gpkg_only]


def table_for_template(spec: TableSpec, county: County | None) -> pd.DataFrame:
    """The rows to write: empty, or the county's table in schema column order."""
    if county is None:
        return pd.DataFrame(columns=[f.name for f in spec.fields])
    frame = getattr(county, spec.name)
    out = pd.DataFrame({f.name: frame[f.name].to_numpy() for f in spec.fields})
    for f in spec.fields:
        if f.kind == "bool":
            out[f.name] = out[f.name].map({True: "true", False: "false"})
        if f.name in ("lon", "lat"):
            out[f.name] = out[f.name].round(7)
    return out


def write_template(spec: TableSpec, path: Path, county: County | None = None) -> None:
    """Write one table's workbook: data sheet plus a field guide sheet."""
    data = table_for_template(spec, county)
    wb = Workbook()
    ws = wb.active
    ws.title = spec.zh
    ws.append([header(f) for f in spec.fields])
    for row in data.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and pd.isna(v)) else v for v in row])
    for j, f in enumerate(spec.fields, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(j)].width = max(12, min(40, len(header(f)) * 1.6))
    ws.freeze_panes = "A2"
    guide = wb.create_sheet("字段说明 fields")
    guide.append(["字段 (code)", "中文名", "单位 unit", "说明 description", "规则 rule"])
    for f in spec.fields:
        guide.append([f.name, f.zh, f.unit, f.description, _rule(f)])
    for j, width in enumerate((22, 22, 10, 70, 60), start=1):
        guide.column_dimensions[get_column_letter(j)].width = width
    guide.append([])
    guide.append([f"{spec.zh} ({spec.name}): {spec.description}"])
    keep_text(wb).save(path)


def write_templates(out_dir: Path, county: County | None = None) -> list[Path]:
    """Write every editable table's workbook into ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in template_tables():
        path = out_dir / f"{spec.name}.xlsx"
        write_template(spec, path, county)
        paths.append(path)
    return paths
