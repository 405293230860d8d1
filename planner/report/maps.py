"""Print-quality static maps of a plan (PNG at 200 dpi and PDF), drawn from :func:`planner.report.layers.plan_layers`.

Maps written by :func:`write_maps` into ``out_dir``:

- ``catchments_primary.png/.pdf``, ``catchments_junior.png/.pdf``: catchments before | after
  side by side; schools of the stage coloured by compliance in that state (达标 pass green,
  未达标 fail red, 不参评 not assessed grey); new schools as stars, expanded schools as
  squares, closed schools as crosses (after panel); re-zoned settlements ringed.
- ``teacher_flows.png/.pdf``: arrows from sending to receiving school, width by number of
  teachers, colour by category.

Every map has township boundaries and names, a legend, a scale bar, a north arrow, a title,
the data source and, for generated data, the note "合成数据 synthetic data". The bundled CJK
font (:mod:`planner.report.fonts`) renders the Chinese text on any machine.
"""

from __future__ import annotations

import logging
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle

from planner.report.fonts import cjk_rc_params

log = logging.getLogger(__name__)

DPI = 200
STAGE_ZH = {"primary": "小学", "junior": "初中"}
COMPLIANCE_COLORS = {"pass": "#1a9641", "fail": "#d7191c", "not_assessed": "#9e9e9e"}
COMPLIANCE_LABELS = {"pass": "达标 passes", "fail": "未达标 fails", "not_assessed": "不参评 not assessed"}
CATEGORY_COLORS = {"backbone": "#d7191c", "pe_art": "#1a9641", "above_required": "#2b83ba", "other": "#7f7f7f"}
CATEGORY_LABELS = {
    "backbone": "骨干教师 backbone",
    "pe_art": "体育艺术 PE/art",
    "above_required": "高学历 above-required",
    "other": "其他 other",
}
STATUS_MARKERS = {"existing": "o", "expanded": "s", "new": "*", "closed": "X"}
SYNTHETIC_NOTE = "合成数据 synthetic data — 非真实学校与村庄 not real schools or villages"


def write_maps(
    layers: dict[str, gpd.GeoDataFrame],
    out_dir: Path,
    *,
    title_zh: str,
    synthetic: bool,
    data_source: str,
) -> list[Path]:
    """Write the catchment maps (one per stage) and the teacher-flow map as PNG and PDF.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        :func:`planner.report.layers.plan_layers` (or :func:`planner.report.geopackage.read_layers`).
    out_dir : Path
        Folder for the files (created).
    title_zh : str
        Title prefix, e.g. "确山县 combined 方案".
    synthetic : bool
        Print the "合成数据 synthetic data" note.
    data_source : str
        Printed at the foot of every map.

    Returns
    -------
    list of Path
        The PNG and PDF files, in the order catchments_primary, catchments_junior, teacher_flows.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    foot = _footer(synthetic, data_source, layers)
    files: list[Path] = []
    with matplotlib.rc_context(cjk_rc_params()):
        for stage in ("primary", "junior"):
            fig = _catchment_figure(layers, stage, f"{title_zh} {STAGE_ZH[stage]}学区划片 调整前后", foot)
            files += _save(fig, out_dir / f"catchments_{stage}")
        fig = _flow_figure(layers, f"{title_zh} 教师交流轮岗 teacher rotation", foot)
        files += _save(fig, out_dir / "teacher_flows")
    return files


def map_grid(runs: dict[str, dict[str, gpd.GeoDataFrame]], path: Path, stage: str = "primary") -> Path:
    """A grid of small after-plan catchment maps, one per run (for ``planner compare``).

    Parameters
    ----------
    runs : dict
        Run label -> its layers (:func:`planner.report.geopackage.read_layers`).
    path : Path
        Output file; the format follows the suffix (``.png`` at 200 dpi, ``.pdf``, ...).
    stage : {"primary", "junior"}

    Returns
    -------
    Path
        ``path``.
    """
    if not runs:
        raise ValueError("map_grid needs at least one run")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(runs)
    ncols = min(n, math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    with matplotlib.rc_context(cjk_rc_params()):
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 4.4 * nrows + 0.6), squeeze=False)
        for ax, (label, layers) in zip(axes.flat, runs.items(), strict=False):
            _draw_catchments(ax, layers, stage, "after", small=True)
            ax.set_title(str(label), fontsize=10)
        for ax in list(axes.flat)[n:]:
            ax.set_axis_off()
        fig.suptitle(f"{STAGE_ZH[stage]}学区划片（调整后）{stage} catchments after the plan, by run", fontsize=12)
        handles = _compliance_handles(with_status=True)
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
        fig.tight_layout(rect=(0, 0.05, 1, 0.96))
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
    return path


# --- figures ---------------------------------------------------------------------------------------------------


def _catchment_figure(layers: dict[str, gpd.GeoDataFrame], stage: str, title: str, foot: str) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(16, 9))
    for ax, when, label in zip(axes, ("before", "after"), ("调整前 before", "调整后 after the plan"), strict=True):
        _draw_catchments(ax, layers, stage, when)
        cat = layers.get(f"catchments_{when}_{stage}")
        n = 0 if cat is None else len(cat)
        ax.set_title(f"{label}（{n} 个学区 catchments）", fontsize=12)
        scale_bar(ax)
        north_arrow(ax)
    settle = layers.get("settlements")
    n_changed = int(settle[f"changed_{stage}"].sum()) if settle is not None and len(settle) else 0
    handles = [
        *_compliance_handles(with_status=True),
        Line2D([], [], marker="o", ls="", mfc="none", mec="#6a3d9a", ms=8,
               label=f"调整学区的居民点 re-zoned ({n_changed})"),
        Line2D([], [], marker=".", ls="", color="#555555", ms=4, label="居民点 settlement"),
        Line2D([], [], color="#333333", lw=1.2, ls="--", label="乡镇界 township boundary"),
        Patch(facecolor="#bebada", edgecolor="white", label="学区（颜色区分学校）catchment, one colour per school"),
    ]  # fmt: skip
    low = _put_footer(fig, foot)
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False, bbox_to_anchor=(0.5, low))
    fig.suptitle(title, fontsize=15)
    fig.tight_layout(rect=(0, low + 0.45 / fig.get_figheight(), 1, 0.95))
    return fig


def _flow_figure(layers: dict[str, gpd.GeoDataFrame], title: str, foot: str) -> Figure:
    fig, ax = plt.subplots(figsize=(13, 10))
    _draw_base(ax, layers)
    schools = layers.get("schools")
    flows = layers.get("teacher_flows")
    if schools is not None and len(schools):
        ax.scatter(schools.geometry.x, schools.geometry.y, s=10, c="#bbbbbb", edgecolors="#666666", linewidths=0.3,
                   zorder=4)  # fmt: skip
    total = 0
    if flows is not None and len(flows):
        total = int(flows["count"].sum())
        big = max(1, int(flows["count"].max()))
        for f in flows.sort_values("count").itertuples(index=False):
            (x0, y0), (x1, y1) = f.geometry.coords[0], f.geometry.coords[-1]
            w = 0.8 + 3.2 * math.sqrt(int(f.count) / big)
            ax.add_patch(
                FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=6 + 2.5 * w, lw=w,
                                color=CATEGORY_COLORS.get(f.category, "#7f7f7f"), alpha=0.85,
                                connectionstyle="arc3,rad=0.12", zorder=5, shrinkA=2, shrinkB=2)
            )  # fmt: skip
        movers = set(flows["from_school_id"]) | set(flows["to_school_id"])
        if schools is not None:
            m = schools[schools["school_id"].isin(movers)]
            ax.scatter(m.geometry.x, m.geometry.y, s=22, c="white", edgecolors="#222222", linewidths=0.8, zorder=6)
    else:
        ax.text(0.5, 0.5, "本方案无教师交流 no teacher moves in this plan", transform=ax.transAxes, ha="center",
                fontsize=13, color="#555555", zorder=7)  # fmt: skip
    ax.set_title(f"交流教师 {total} 人 teachers moved: {total}", fontsize=12)
    scale_bar(ax)
    north_arrow(ax)
    handles = [Line2D([], [], color=c, lw=2.5, label=CATEGORY_LABELS[k]) for k, c in CATEGORY_COLORS.items()]
    if flows is not None and len(flows):
        big = max(1, int(flows["count"].max()))
        for n in sorted({1, big}):
            handles.append(Line2D([], [], color="#444444", lw=0.8 + 3.2 * math.sqrt(n / big), label=f"{n} 人 teachers"))
    handles += [
        Line2D([], [], marker="o", ls="", mfc="white", mec="#222222", ms=6,
               label="参与交流的学校 school sending/receiving"),
        Line2D([], [], color="#333333", lw=1.2, ls="--", label="乡镇界 township boundary"),
    ]  # fmt: skip
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=15)
    low = _put_footer(fig, foot)
    fig.tight_layout(rect=(0, low, 1, 0.96))
    return fig


# --- drawing helpers -------------------------------------------------------------------------------------------


def _draw_base(ax: Axes, layers: dict[str, gpd.GeoDataFrame], *, labels: bool = True, small: bool = False) -> None:
    towns = layers.get("townships")
    if towns is not None and len(towns):
        towns.boundary.plot(ax=ax, color="#333333", lw=0.6 if small else 1.0, ls="--", zorder=3)
        if labels and not small:
            for t in towns.itertuples(index=False):
                p = t.geometry.representative_point()
                box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.6}
                ax.annotate(str(t.name_zh), (p.x, p.y), ha="center", va="center", fontsize=9, color="#222222",
                            zorder=8, bbox=box)  # fmt: skip
    ax.set_aspect("equal")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_color("#999999")


def _draw_catchments(
    ax: Axes, layers: dict[str, gpd.GeoDataFrame], stage: str, when: str, *, small: bool = False
) -> None:
    cat = layers.get(f"catchments_{when}_{stage}")
    if cat is not None and len(cat):
        colors = cat["color"] if "color" in cat.columns else "#bebada"
        cat.plot(ax=ax, color=colors, edgecolor="white", linewidth=0.4 if small else 0.8, alpha=0.9, zorder=1)
    _draw_base(ax, layers, small=small)
    settle = layers.get("settlements")
    if settle is not None and len(settle) and not small:
        ax.scatter(settle.geometry.x, settle.geometry.y, s=2.5, c="#555555", zorder=2, linewidths=0)
        if when == "after":
            ch = settle[settle[f"changed_{stage}"].astype(bool)]
            ax.scatter(ch.geometry.x, ch.geometry.y, s=30, facecolors="none", edgecolors="#6a3d9a", linewidths=0.9,
                       zorder=4)  # fmt: skip
    schools = layers.get("schools")
    if schools is None or not len(schools):
        return
    had = schools[f"pupils_{stage}_before"].fillna(0).astype(float) > 0
    has = schools[f"pupils_{stage}_after"].fillna(0).astype(float) > 0
    if when == "before":
        sch = schools[had & schools["status"].ne("new")]
        marker = pd.Series("o", index=sch.index)
    else:
        sch = schools[has | (had & schools["status"].eq("closed"))]
        marker = sch["status"].map(STATUS_MARKERS).fillna("o")
    comp = _stage_compliance(sch, stage, when)
    base = 10 if small else 26
    for m, scale in (("o", 1.0), ("s", 1.3), ("*", 3.2), ("X", 1.6)):
        part = sch[marker == m]
        if not len(part):
            continue
        if m == "X":  # closed: no compliance after
            ax.scatter(part.geometry.x, part.geometry.y, s=base * scale, marker=m, c="#222222", linewidths=0, zorder=6)
            continue
        colors = [COMPLIANCE_COLORS[c] for c in comp[part.index]]
        ax.scatter(part.geometry.x, part.geometry.y, s=base * scale, marker=m, c=colors, edgecolors="black",
                   linewidths=0.5, zorder=6)  # fmt: skip


def _stage_compliance(schools: gpd.GeoDataFrame, stage: str, when: str) -> pd.Series:
    """pass / fail / not_assessed of each school's ``stage`` part in state ``when``."""
    col = f"passes_{stage}_{when}"
    if col not in schools.columns:
        return pd.Series("not_assessed", index=schools.index, dtype=object)
    v = pd.to_numeric(schools[col].astype("Float64"), errors="coerce")
    return pd.Series(np.where(v.isna(), "not_assessed", np.where(v.fillna(0) > 0, "pass", "fail")), index=schools.index)


def _compliance_handles(*, with_status: bool) -> list:
    handles: list = [
        Line2D([], [], marker="o", ls="", mfc=c, mec="black", mew=0.5, ms=7, label=COMPLIANCE_LABELS[k])
        for k, c in COMPLIANCE_COLORS.items()
    ]
    if with_status:
        handles += [
            Line2D([], [], marker="*", ls="", mfc="white", mec="black", ms=12, label="新建学校 new school"),
            Line2D([], [], marker="s", ls="", mfc="white", mec="black", ms=7, label="改扩建学校 expanded school"),
            Line2D([], [], marker="X", ls="", mfc="#222222", mec="#222222", ms=8, label="撤并学校 closed school"),
        ]
    return handles


def _nice_length(span_m: float) -> float:
    """A round length (1, 2, 5 × 10^k m) near a fifth of ``span_m``."""
    target = max(span_m / 5, 1.0)
    k = 10 ** math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * k <= target:
            return m * k
    return k


def scale_bar(ax: Axes) -> None:
    """Scale bar in the lower right (the axes are in metres of a projected CRS)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    bx = x1 - (x1 - x0) * 0.04 - length
    by = y0 + (y1 - y0) * 0.04
    h = (y1 - y0) * 0.008
    half = length / 2
    ax.add_patch(Rectangle((bx, by), half, h, fc="black", ec="black", lw=0.6, zorder=9))
    ax.add_patch(Rectangle((bx + half, by), half, h, fc="white", ec="black", lw=0.6, zorder=9))
    label = f"{length / 1000:g} 千米 km" if length >= 1000 else f"{length:g} 米 m"
    ax.text(bx + length / 2, by + h * 1.8, label, ha="center", va="bottom", fontsize=8, zorder=9)
    ax.text(bx, by - h * 0.6, "0", ha="center", va="top", fontsize=7, zorder=9)


def north_arrow(ax: Axes) -> None:
    """North arrow in the upper right (grid north of the projected CRS)."""
    ax.annotate("", xy=(0.95, 0.965), xytext=(0.95, 0.885), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>,head_width=0.5,head_length=0.9", "color": "black", "lw": 1.6},
                zorder=9)  # fmt: skip
    ax.text(0.95, 0.87, "北 N", transform=ax.transAxes, ha="center", va="top", fontsize=11, zorder=9)


def _footer(synthetic: bool, data_source: str, layers: dict[str, gpd.GeoDataFrame]) -> str:
    """Foot note lines: synthetic-data note, data source (wrapped), CRS and how catchment areas are drawn."""
    crs = next((g.crs for g in layers.values() if g is not None and g.crs is not None), None)
    crs_txt = crs.to_string() if crs is not None else "unknown CRS"
    lines = [SYNTHETIC_NOTE] if synthetic else []
    lines += textwrap.wrap(f"数据来源 data source: {data_source}", width=200)
    lines.append(f"坐标系 CRS: {crs_txt}    学区范围 = 居民点泰森多边形按学校合并 "
                 "catchment areas are the Voronoi cells of settlements merged by school")  # fmt: skip
    return "\n".join(lines)


def _put_footer(fig: Figure, foot: str) -> float:
    """Write the foot note at the bottom of ``fig``; return the figure fraction it takes."""
    fig.text(0.5, 0.008, foot, ha="center", va="bottom", fontsize=7.5, color="#333333", linespacing=1.3)
    lines = foot.count("\n") + 1
    return (lines * 7.5 * 1.3 / 72 + 0.12) / fig.get_figheight()


def _save(fig: Figure, stem: Path) -> list[Path]:
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    fig.savefig(png, dpi=DPI)
    fig.savefig(pdf)
    plt.close(fig)
    log.debug("wrote %s and %s", png, pdf)
    return [png, pdf]
