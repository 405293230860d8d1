"""Side-by-side comparison of run directories (``planner compare RUN...``).

Every number is read back from the runs' own files (manifest, plan tables and the
after-assessment written by the engine), so the comparison cannot disagree with them.
Writes ``comparison.xlsx``, ``comparison.csv``, ``comparison.png`` (bar charts),
``catchments_grid_<stage>.png`` (the runs' after-plan catchments side by side) and
``comparison.html`` (offline: the chart is embedded, no CDN).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from planner.errors import PlannerError
from planner.report.cell_text import keep_text
from planner.report.fonts import use_cjk_font
from planner.report.geopackage import read_layers
from planner.report.maps import map_grid

#: columns of the comparison, with their bilingual headers
COLUMNS: dict[str, str] = {
    "run": "方案结果目录 run",
    "scenario": "方案 scenario",
    "status": "求解状态 solver status",
    "capital_yuan": "资本性支出 capital (yuan)",
    "recurrent_yuan_per_year": "经常性支出 recurrent (yuan/yr)",
    "primary_passing": "小学达标学校 primary schools passing",
    "junior_passing": "初中达标学校 junior schools passing",
    "unmet_standards": "未达标指标项 unmet school-indicators",
    "pupils_rezoned": "调整学区学生 pupils re-zoned",
    "teachers_moved": "交流教师 teachers moved",
    "mean_travel_min": "平均上学时间 mean travel (min)",
    "worst_travel_min": "最长上学时间 worst travel (min)",
}


class CompareError(PlannerError):
    """A folder given to ``planner compare`` is not a complete run directory."""

    exit_code = 2


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        rel = path.relative_to(path.parent.parent)
        raise CompareError(f"{path.parent.parent.name}: {rel} is missing (not a complete run directory)")
    return pd.read_csv(path, encoding="utf-8-sig")


def run_summary(run_dir: Path) -> dict[str, Any]:
    """The comparison row of one run directory."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.exists():
        raise CompareError(f"{run_dir}: no manifest.json (not a run directory written by planner run)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    projects = _read_csv(run_dir / "plan" / "projects.csv")
    assign = _read_csv(run_dir / "plan" / "assignments.csv")
    exchange = _read_csv(run_dir / "plan" / "exchange_list.csv")
    summary = _read_csv(run_dir / "after" / "summary.csv").set_index("stage")
    indicators = _read_csv(run_dir / "after" / "indicators.csv")
    balance = _read_csv(run_dir / "after" / "balance.csv")
    costs = manifest.get("costs", {})
    pupils = assign["pupils"].astype(float)
    row: dict[str, Any] = {
        "run": run_dir.name,
        "scenario": manifest.get("scenario", {}).get("name", run_dir.name),
        "status": manifest.get("status", ""),
        "capital_yuan": float(projects["cost_yuan"].sum()),
        "recurrent_yuan_per_year": float(costs.get("recurrent_yuan_per_year", np.nan)),
        "primary_passing": _passing(summary, "primary"),
        "junior_passing": _passing(summary, "junior"),
        "unmet_standards": int((~indicators["met"].astype(bool)).sum()),
        "pupils_rezoned": int(pupils[assign["changed"].astype(bool)].sum()),
        "teachers_moved": len(exchange),
        "mean_travel_min": float((assign["time_min"] * pupils).sum() / pupils.sum()) if pupils.sum() else np.nan,
        "worst_travel_min": float(assign["time_min"].max()) if len(assign) else np.nan,
    }
    for r in balance.itertuples(index=False):
        row[f"cv_{r.stage}_{r.indicator}"] = float(r.cv)
    return row


def _passing(summary: pd.DataFrame, stage: str) -> str:
    if stage not in summary.index:
        return "-"
    return f"{int(summary.loc[stage, 'schools_passing'])}/{int(summary.loc[stage, 'schools_assessed'])}"


def comparison_table(run_dirs: list[Path]) -> pd.DataFrame:
    """One row per run, in the order given."""
    if not run_dirs:
        raise CompareError("give at least one run directory")
    return pd.DataFrame([run_summary(Path(d)) for d in run_dirs])


def _chart(table: pd.DataFrame, path: Path) -> None:
    use_cjk_font()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), dpi=150)
    labels = table["scenario"].tolist()
    y = np.arange(len(labels))
    for ax, col, title in (
        (axes[0], "capital_yuan", "资本性支出（万元） Capital cost (10k yuan)"),
        (axes[1], "unmet_standards", "规划后未达标项 Unmet school-indicators"),
        (axes[2], "pupils_rezoned", "调整学区学生数 Pupils re-zoned"),
    ):
        values = table[col].astype(float) / (1e4 if col == "capital_yuan" else 1)
        ax.barh(y, values, color="#4472c4")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("方案比较 Scenario comparison", fontsize=12)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _map_grids(run_dirs: list[Path], labels: list[str], out_dir: Path) -> list[Path]:
    """After-plan catchment maps of every run side by side (one PNG per stage), from the runs' GeoPackages."""
    runs = {}
    for label, d in zip(labels, run_dirs, strict=True):
        gpkg = Path(d) / "gis" / "plan.gpkg"
        if gpkg.exists():
            runs[label] = read_layers(gpkg)
    if not runs:
        return []
    paths = []
    for stage in ("primary", "junior"):
        if any(f"catchments_after_{stage}" in layers for layers in runs.values()):
            paths.append(map_grid(runs, out_dir / f"catchments_grid_{stage}.png", stage=stage))
    return paths


def write_comparison(table: pd.DataFrame, out_dir: Path, run_dirs: list[Path] | None = None) -> list[Path]:
    """Write the comparison as Excel, CSV, PNG (bar charts and, given the runs, a map grid) and an offline page.

    Parameters
    ----------
    table : DataFrame
        :func:`comparison_table` of the runs.
    out_dir : Path
        Folder to write into.
    run_dirs : list of Path, optional
        The runs, in the table's order; their GeoPackages give the grid of catchment maps.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = table.rename(columns=COLUMNS)
    xlsx = out_dir / "comparison.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as xw:
        shown.to_excel(xw, sheet_name="方案比较 comparison", index=False)
        keep_text(xw.book)
    csv = out_dir / "comparison.csv"
    shown.to_csv(csv, index=False, encoding="utf-8-sig", lineterminator="\n")
    png = out_dir / "comparison.png"
    _chart(table, png)
    names = table["scenario"].astype(str).tolist()
    dirs = run_dirs or names
    labels = [n if names.count(n) == 1 else f"{n} ({Path(d).name})" for n, d in zip(names, dirs, strict=True)]
    grids = _map_grids(run_dirs, labels, out_dir) if run_dirs else []
    imgs = "".join(
        f"<p><img alt='{html.escape(p.stem)}' style='max-width:100%' "
        f"src='data:image/png;base64,{base64.b64encode(p.read_bytes()).decode('ascii')}'></p>"
        for p in [png, *grids]
    )
    page = out_dir / "comparison.html"
    page.write_text(
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>方案比较 Scenario comparison</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px 8px;text-align:right}th{background:#ddebf7}</style></head><body>"
        "<h1>方案比较 Scenario comparison</h1>"
        + shown.to_html(index=False, float_format=lambda v: f"{v:,.3f}", escape=True)
        + imgs
        + "</body></html>",
        encoding="utf-8",
    )
    return [xlsx, csv, png, *grids, page]
