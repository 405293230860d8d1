"""Public notice of catchments (划片范围公示): one page per school and stage, and a county overview.

Each page, in the form county bureaus publish: the title (县 + 学校 + 学段 + 招生划片范围), a map
of the catchment (its settlements' cells, the school, every village and neighbourhood named,
neighbouring catchments in grey, north arrow and scale bar) and the list of every settlement
in it (序号, 乡镇/街道, 村/社区, 类型, 适龄学生数). Written as PNG and PDF, Chinese first with
the bundled CJK font (:mod:`planner.report.fonts`). Data generated for the bundled county is
labelled synthetic on every page.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import pandas as pd
import shapely

from planner.adjacency import settlement_cells
from planner.report.fairness import catchment_polygons_from_cells
from planner.report.fonts import use_cjk_font
from planner.report.maps import north_arrow, scale_bar
from planner.rundir import write_csv

log = logging.getLogger(__name__)

STAGE_ZH = {"primary": "小学", "junior": "初中"}
KIND_ZH = {"village": "行政村", "neighbourhood": "社区"}
_PAGE_IN = (8.27, 11.69)  # A4 portrait


def notice_table(plan: object, county: object, school_id: str, stage: str) -> pd.DataFrame:
    """The settlement list of one catchment, in the published form (Chinese headers)."""
    a = plan.assignments
    part = a[(a["stage"] == stage) & (a["school_id"] == school_id)]
    st = county.settlements.loc[part["settlement_id"]]
    towns = county.townships["name_zh"]
    df = pd.DataFrame(
        {
            "乡镇/街道": st["township_id"].map(towns).fillna("").to_numpy(),
            "村/社区": st["name_zh"].to_numpy(),
            "类型": st["kind"].map(KIND_ZH).fillna("").to_numpy(),
            "学生数": part["pupils"].astype(int).to_numpy(),
            "_id": part["settlement_id"].to_numpy(),
        }
    ).sort_values(["乡镇/街道", "村/社区", "_id"])
    df.insert(0, "序号", range(1, len(df) + 1))
    return df.drop(columns="_id").reset_index(drop=True)


def _draw_table(fig: plt.Figure, table: pd.DataFrame, box: tuple[float, float, float, float]) -> None:
    n = len(table)
    ncols = 1 if n <= 28 else 2 if n <= 56 else 3
    per = math.ceil(n / ncols) if n else 1
    left, bottom, width, height = box
    fs = 8 if n <= 28 else 6.5 if n <= 56 else 5
    for c in range(ncols):
        chunk = table.iloc[c * per : (c + 1) * per]
        ax = fig.add_axes((left + c * width / ncols, bottom, width / ncols - 0.01, height))
        ax.axis("off")
        if not len(chunk):
            continue
        tb = ax.table(cellText=chunk.astype(str).to_numpy(), colLabels=list(chunk.columns), loc="upper center",
                      cellLoc="center")  # fmt: skip
        tb.auto_set_font_size(False)
        tb.set_fontsize(fs)
        tb.scale(1, min(1.3, 0.9 * 28 / max(per, 1) + 0.4))


def notice_page(
    plan: object,
    county: object,
    school_id: str,
    stage: str,
    cells: gpd.GeoDataFrame,
    polygons: gpd.GeoDataFrame,
) -> plt.Figure:
    """The figure of one school's notice page (caller saves and closes it)."""
    after = getattr(plan, "after_county", None) or county
    school = after.schools.loc[school_id]
    table = notice_table(plan, county, school_id, stage)
    use_cjk_font()  # each page sets its own font (idempotent), however it is called
    fig = plt.figure(figsize=_PAGE_IN)
    name = str(school["name_zh"])
    prefix = "" if name.startswith(county.name_zh) else county.name_zh
    part = "" if name.endswith(STAGE_ZH[stage]) else f"（{STAGE_ZH[stage]}部）"
    title = f"{prefix}{name}{part}招生划片范围公示"
    fig.text(0.5, 0.965, title, ha="center", fontsize=15)
    sub = f"Catchment of {school_id} ({stage}) · 共 {len(table)} 个村（社区）, {int(table['学生数'].sum())} 名适龄学生"
    if county.synthetic:
        sub += " · 模拟数据 synthetic data"
    fig.text(0.5, 0.94, sub, ha="center", fontsize=9)
    ax = fig.add_axes((0.06, 0.5, 0.88, 0.42))
    ax.set_axis_off()
    geom = polygons.loc[school_id, "geometry"]
    minx, miny, maxx, maxy = geom.bounds
    pad = max(maxx - minx, maxy - miny) * 0.25 + 500
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    county.boundary.boundary.plot(ax=ax, color="black", lw=0.8)
    others = polygons.drop(index=school_id)
    others = others[others.intersects(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad))]
    if len(others):
        others.plot(ax=ax, facecolor="#eeeeee", edgecolor="#bbbbbb", lw=0.4)
    gpd.GeoSeries([geom], crs=polygons.crs).plot(ax=ax, facecolor="#ffe08a", edgecolor="#c0392b", lw=1.5)
    members = plan.assignments
    members = members[(members["stage"] == stage) & (members["school_id"] == school_id)]["settlement_id"]
    pts = county.settlements.loc[members]
    ax.scatter(pts.geometry.x, pts.geometry.y, s=6, color="#333333", zorder=3)
    for name, p in zip(pts["name_zh"], pts.geometry, strict=True):
        ax.annotate(name, (p.x, p.y), fontsize=6 if len(pts) > 25 else 7, xytext=(2, 2), textcoords="offset points")
    ax.scatter([school.geometry.x], [school.geometry.y], marker="*", s=160, color="#c0392b", zorder=4)
    ax.annotate(school["name_zh"], (school.geometry.x, school.geometry.y), fontsize=9,
                xytext=(4, -10), textcoords="offset points", color="#c0392b")  # fmt: skip
    north_arrow(ax)
    scale_bar(ax)
    _draw_table(fig, table, (0.06, 0.04, 0.88, 0.43))
    detached = _detached_note(plan, county, school_id, stage)
    if detached:
        fig.text(0.06, 0.015, detached, fontsize=8, wrap=True)
    return fig


def _detached_note(plan: object, county: object, school_id: str, stage: str) -> str:
    """A footnote naming the settlements of this catchment the contiguity rule lists as exceptions."""
    exc = getattr(plan, "extra_tables", {}).get("contiguity_exceptions")
    if exc is None or not len(exc):
        return ""
    mine = exc[(exc["school_id"] == school_id) & (exc["stage"] == stage)]
    if not len(mine):
        return ""
    names = "、".join(str(county.settlements.at[s, "name_zh"]) for s in mine["settlement_id"])
    return (f"注：{names}与本校划片范围不相连（服务半径内没有学校，只能就读本校），暂划入本校，"
            "待新建或调整学校布局后再行划片。")  # fmt: skip


def overview_page(plan: object, county: object, stage: str, polygons: gpd.GeoDataFrame) -> plt.Figure:
    """County-wide map of every catchment of ``stage`` with the school names."""
    after = getattr(plan, "after_county", None) or county
    use_cjk_font()
    fig = plt.figure(figsize=_PAGE_IN)
    fig.text(0.5, 0.965, f"{county.name_zh}义务教育{STAGE_ZH[stage]}招生划片总图", ha="center", fontsize=15)
    sub = f"{len(polygons)} catchments ({stage})" + (" · 模拟数据 synthetic data" if county.synthetic else "")
    fig.text(0.5, 0.94, sub, ha="center", fontsize=9)
    ax = fig.add_axes((0.04, 0.04, 0.92, 0.88))
    ax.set_axis_off()
    ax.set_aspect("equal")
    polygons.reset_index().plot(ax=ax, column="school_id", cmap="tab20", edgecolor="white", lw=0.3, alpha=0.8)
    county.boundary.boundary.plot(ax=ax, color="black", lw=1)
    sch = after.schools.loc[[s for s in polygons.index if s in after.schools.index]]
    ax.scatter(sch.geometry.x, sch.geometry.y, s=6, color="black", zorder=3)
    if len(sch) <= 60:
        for name, p in zip(sch["name_zh"], sch.geometry, strict=True):
            ax.annotate(name, (p.x, p.y), fontsize=5, xytext=(2, 2), textcoords="offset points")
    north_arrow(ax)
    scale_bar(ax)
    return fig


def write_public_notice(plan: object, county: object, out_dir: Path) -> list[Path]:
    """Write every school's notice page and the county overviews (PNG and PDF) into ``out_dir``.

    Returns the files written: ``<school_id>_<stage>.png/.pdf`` and ``overview_<stage>.png/.pdf``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = settlement_cells(county)
    written: list[Path] = []
    for stage in ("primary", "junior"):
        polygons = catchment_polygons_from_cells(plan.assignments, cells, stage).set_index("school_id")
        polygons = polygons[~shapely.is_empty(polygons.geometry.to_numpy())]
        for school_id in polygons.index:
            fig = notice_page(plan, county, school_id, stage, cells, polygons)
            for ext in ("png", "pdf"):
                path = out_dir / f"{school_id}_{stage}.{ext}"
                fig.savefig(path, dpi=150 if ext == "png" else None)
                written.append(path)
            plt.close(fig)
        fig = overview_page(plan, county, stage, polygons)
        for ext in ("png", "pdf"):
            path = out_dir / f"overview_{stage}.{ext}"
            fig.savefig(path, dpi=150 if ext == "png" else None)
            written.append(path)
        plt.close(fig)
    log.info("public notice: %d files in %s", len(written), out_dir)
    return written


def write_catchment_outputs(
    plan: object, county: object, travel: pd.DataFrame, scenario: object, out_dir: Path
) -> list[Path]:
    """What ``planner run`` writes for the catchment rules (one call from the CLI).

    Always: ``catchments.csv`` (per-catchment read-out), ``not_nearest.csv`` (settlements not
    sent to one of their two nearest schools, with the reason) and ``not_nearest_summary.csv``
    in ``out_dir``; with ``catchment_rules.public_notice`` (and ``report.maps``, which
    ``planner run --no-maps`` turns off): the notice pages in ``out_dir/notice/``. CSVs are UTF-8 with BOM (Excel).
    """
    from planner.adjacency import adjacency_graph
    from planner.report.fairness import catchment_readout, not_nearest, reason_summary

    out_dir.mkdir(parents=True, exist_ok=True)
    cells = settlement_cells(county)
    rules = getattr(scenario, "catchment_rules", None)
    graph = adjacency_graph(county, cells=cells) if rules is not None and rules.contiguity else None
    far = not_nearest(plan, county, travel, scenario, graph=graph)
    tables = {
        "catchments": catchment_readout(plan, county, cells),
        "not_nearest": far,
        "not_nearest_summary": reason_summary(far),
    }
    written = []
    for name, df in tables.items():
        written.append(write_csv(df, out_dir / f"{name}.csv"))
    report = getattr(scenario, "report", None)
    if rules is not None and rules.public_notice and (report is None or report.maps):
        written += write_public_notice(plan, county, out_dir / "notice")
    return written


__all__ = ["notice_page", "notice_table", "overview_page", "write_catchment_outputs", "write_public_notice"]
