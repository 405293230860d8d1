"""Print-quality static maps of a plan (PNG at 200 dpi and PDF), drawn from :func:`planner.report.layers.plan_layers`.

Maps written by :func:`write_maps` into ``out_dir``:

- ``catchments_primary.png/.pdf``, ``catchments_junior.png/.pdf``: catchments before | after
  side by side; schools of the stage coloured by compliance in that state (达标 pass green,
  未达标 fail red, 不参评 not assessed grey); new schools as stars, expanded schools as
  squares, closed schools as crosses (after panel); re-zoned settlements ringed.
- ``teacher_flows.png/.pdf``: teacher moves aggregated township → township, one arrow per pair
  of townships, width by number of teachers, colour by direction (城区 → 乡镇 the policy's
  direction); moves within a township as a ring with its count.

Pages: the catchment maps are A3 landscape (two panels), the teacher-flow map A4 landscape
(:data:`PAGE_SIZES_IN`). Every map has township boundaries and names placed so no two labels
overlap (:func:`place_labels`, a greedy placement), a legend of only what is drawn, a scale
bar, a north arrow, a title with the scenario's Chinese name, and a Chinese footer: data
source, the synthetic-data note for generated data, CRS. The bundled CJK font
(:mod:`planner.report.fonts`) renders the Chinese text on any machine.
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
from matplotlib.text import Annotation

from planner.report.fonts import cjk_rc_params

log = logging.getLogger(__name__)

DPI = 200
STAGE_ZH = {"primary": "小学", "junior": "初中"}
COMPLIANCE_COLORS = {"pass": "#1a9641", "fail": "#d7191c", "not_assessed": "#9e9e9e"}
COMPLIANCE_LABELS = {"pass": "达标学校", "fail": "未达标学校", "not_assessed": "不参评学校（教学点等）"}
CATEGORY_COLORS = {"backbone": "#d7191c", "pe_art": "#1a9641", "above_required": "#2b83ba", "other": "#7f7f7f"}
CATEGORY_LABELS = {
    "backbone": "骨干教师 backbone",
    "pe_art": "体育艺术 PE/art",
    "above_required": "高学历 above-required",
    "other": "其他 other",
}
STATUS_MARKERS = {"existing": "o", "expanded": "s", "new": "*", "closed": "X"}
SYNTHETIC_NOTE = "合成数据：程序生成，县界为真实边界，学校、村庄、教师均非真实"
#: page sizes (inches, landscape): A3 for the two-panel catchment maps, A4 for the teacher-flow map
PAGE_SIZES_IN: dict[str, tuple[float, float]] = {"A3": (16.54, 11.69), "A4": (11.69, 8.27)}
#: direction of a township-to-township teacher flow, by the townships' kinds (subdistrict = 城区)
DIRECTION_COLORS = {"urban_rural": "#d7191c", "rural_rural": "#fdae61", "rural_urban": "#2b83ba",
                    "urban_urban": "#7f7f7f"}  # fmt: skip
DIRECTION_LABELS = {"urban_rural": "城区→乡镇", "rural_rural": "乡镇之间", "rural_urban": "乡镇→城区",
                    "urban_urban": "城区街道之间"}  # fmt: skip


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
        Title prefix with the scenario's Chinese name, e.g. "确山县 统筹方案".
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
            fig = catchment_figure(layers, stage, f"{title_zh} {STAGE_ZH[stage]}学区划片调整前后", foot)
            files += _save(fig, out_dir / f"catchments_{stage}")
        fig = flow_figure(layers, f"{title_zh} 教师交流轮岗（按乡镇汇总）", foot)
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
        drawn: set[str] = set()
        for ax, (label, layers) in zip(axes.flat, runs.items(), strict=False):
            drawn |= _draw_catchments(ax, layers, stage, "after", small=True)
            ax.set_title(str(label), fontsize=10)
        for ax in list(axes.flat)[n:]:
            ax.set_axis_off()
        fig.suptitle(f"{STAGE_ZH[stage]}学区划片（调整后）{stage} catchments after the plan, by run", fontsize=12)
        handles = _compliance_handles(drawn)
        fig.legend(handles=handles, loc="lower center", ncol=max(1, len(handles)), fontsize=7, frameon=False)
        fig.tight_layout(rect=(0, 0.05, 1, 0.96))
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
    return path


# --- figures ---------------------------------------------------------------------------------------------------


def catchment_figure(layers: dict[str, gpd.GeoDataFrame], stage: str, title: str, foot: str) -> Figure:
    """Catchments of ``stage`` before | after on an A3 landscape page; the legend lists only what is drawn."""
    fig, axes = plt.subplots(1, 2, figsize=PAGE_SIZES_IN["A3"])
    drawn: set[str] = set()
    for ax, when, label in zip(axes, ("before", "after"), ("调整前", "调整后"), strict=True):
        drawn |= _draw_catchments(ax, layers, stage, when)
        cat = layers.get(f"catchments_{when}_{stage}")
        n = 0 if cat is None else len(cat)
        ax.set_title(f"{label}（{n}个学区）", fontsize=13)
        scale_bar(ax)
        north_arrow(ax)
    settle = layers.get("settlements")
    n_changed = int(settle[f"changed_{stage}"].sum()) if settle is not None and len(settle) else 0
    handles = _compliance_handles(drawn)
    if n_changed:
        handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec="#6a3d9a", ms=8,
                              label=f"调整学区的居民点（{n_changed}个）"))  # fmt: skip
    if settle is not None and len(settle):
        handles.append(Line2D([], [], marker=".", ls="", color="#555555", ms=4, label="居民点"))
    towns = layers.get("townships")
    if towns is not None and len(towns):
        handles.append(Line2D([], [], color="#333333", lw=1.2, ls="--", label="乡镇界"))
    handles.append(Patch(facecolor="#bebada", edgecolor="white", label="学区（颜色区分学校）"))
    low = _put_footer(fig, foot)
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=10, frameon=False,
               bbox_to_anchor=(0.5, low))  # fmt: skip
    fig.suptitle(title, fontsize=17)
    fig.tight_layout(rect=(0, low + 0.75 / fig.get_figheight(), 1, 0.95))
    for ax in axes:
        _label_townships(ax, layers)
    return fig


def _direction(from_kind: str, to_kind: str) -> str:
    urban_from, urban_to = from_kind == "subdistrict", to_kind == "subdistrict"
    if urban_from and not urban_to:
        return "urban_rural"
    if urban_from and urban_to:
        return "urban_urban"
    return "rural_urban" if urban_to else "rural_rural"


URBAN_NODE = "urban"
URBAN_NODE_ZH = "城区"


def township_flows(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Teacher moves summed between townships, the county seat's subdistricts (街道) taken as one node 城区.

    Net per pair of nodes: a rotation and its return leg cancel, so what is left is the direction
    teachers move on balance (the policy's is 城区 → 乡镇). Columns: from_node, to_node,
    from_name_zh, to_name_zh, direction (:data:`DIRECTION_LABELS`), count (net, > 0), gross (moves
    both ways); rows with from = to are moves within a node (count = gross).
    """
    cols = ["from_node", "to_node", "from_name_zh", "to_name_zh", "direction", "count", "gross"]
    flows, schools, towns = layers.get("teacher_flows"), layers.get("schools"), layers.get("townships")
    if flows is None or not len(flows) or schools is None or towns is None:
        return pd.DataFrame(columns=cols)
    kind = dict(zip(towns["township_id"].astype(str), towns["kind"].astype(str), strict=True))
    node = {t: (URBAN_NODE if k == "subdistrict" else t) for t, k in kind.items()}
    name = {node[t]: (URBAN_NODE_ZH if node[t] == URBAN_NODE else str(n))
            for t, n in zip(towns["township_id"].astype(str), towns["name_zh"], strict=True)}  # fmt: skip
    tid = dict(zip(schools["school_id"].astype(str), schools["township_id"].astype(str), strict=True))
    f = pd.DataFrame({"a": flows["from_school_id"].astype(str).map(tid).map(node),
                      "b": flows["to_school_id"].astype(str).map(tid).map(node),
                      "count": flows["count"].astype(int)}).dropna()  # fmt: skip
    rows = []
    within = f[f["a"] == f["b"]].groupby("a")["count"].sum()
    for n, c in within.items():
        rows.append({"from_node": n, "to_node": n, "count": int(c), "gross": int(c)})
    cross = f[f["a"] != f["b"]]
    lo = cross[["a", "b"]].min(axis=1)
    hi = cross[["a", "b"]].max(axis=1)
    signed = cross["count"].where(cross["a"] == lo, -cross["count"])
    for (x, y), grp in signed.groupby([lo, hi], sort=True):
        net, gross = int(grp.sum()), int(grp.abs().sum())
        if net:
            rows.append({"from_node": x if net > 0 else y, "to_node": y if net > 0 else x, "count": abs(net),
                         "gross": gross})  # fmt: skip
    g = pd.DataFrame(rows, columns=["from_node", "to_node", "count", "gross"])
    g["from_name_zh"] = g["from_node"].map(name)
    g["to_name_zh"] = g["to_node"].map(name)
    urban = {URBAN_NODE}
    g["direction"] = [_direction("subdistrict" if a in urban else "town", "subdistrict" if b in urban else "town")
                      for a, b in zip(g["from_node"], g["to_node"], strict=True)]  # fmt: skip
    return g.sort_values(["count", "from_node", "to_node"], ascending=[False, True, True])[cols].reset_index(drop=True)


def _node_points(towns: gpd.GeoDataFrame) -> dict[str, object]:
    """A point per flow node: each township's representative point; 城区 the subdistricts' union's."""
    pts: dict[str, object] = {}
    urban = towns[towns["kind"].astype(str) == "subdistrict"]
    for t in towns.itertuples(index=False):
        if str(t.kind) != "subdistrict":
            pts[str(t.township_id)] = t.geometry.representative_point()
    if len(urban):
        pts[URBAN_NODE] = urban.geometry.union_all().representative_point()
    return pts


#: arrows labelled with their count: the largest this many
LABELLED_FLOWS = 12


def flow_figure(layers: dict[str, gpd.GeoDataFrame], title: str, foot: str) -> Figure:
    """Net teacher moves between townships (:func:`township_flows`) on an A4 landscape page."""
    fig, ax = plt.subplots(figsize=PAGE_SIZES_IN["A4"])
    _draw_base(ax, layers, labels=False)
    towns = layers.get("townships")
    flows = layers.get("teacher_flows")
    total = int(flows["count"].sum()) if flows is not None and len(flows) else 0
    g = township_flows(layers)
    drawn: set[str] = set()
    labels: list[tuple[float, float, str, dict]] = []
    if len(g) and towns is not None:
        pts = _node_points(towns)
        big = max(1, int(g["count"].max()))
        between = g[g["from_node"] != g["to_node"]]
        top = set(between.index[:LABELLED_FLOWS])
        for i, r in between.sort_values("count").iterrows():
            a, b = pts[r.from_node], pts[r.to_node]
            w = _flow_width(int(r["count"]), big)
            color = DIRECTION_COLORS[r.direction]
            ax.add_patch(FancyArrowPatch((a.x, a.y), (b.x, b.y), arrowstyle="-|>", mutation_scale=10 + 3 * w, lw=w,
                                         color=color, alpha=0.85, connectionstyle="arc3,rad=0.12", zorder=5,
                                         shrinkA=12, shrinkB=12))  # fmt: skip
            drawn.add(r.direction)
            if i in top:
                labels.append(((a.x + b.x) / 2, (a.y + b.y) / 2, f"{int(r['count'])}", {"fontsize": 8, "color": color}))
        within = g[g["from_node"] == g["to_node"]]
        for r in within.itertuples(index=False):
            p = pts[r.from_node]
            ax.scatter([p.x], [p.y], s=60 + 500 * math.sqrt(int(r.count) / big), facecolors="none",
                       edgecolors="#6a3d9a", linewidths=1.6, zorder=6)  # fmt: skip
            drawn.add("within")
        n_within = int(within["count"].sum())
        urban_out = int(between.loc[between["direction"] == "urban_rural", "count"].sum())
        ax.set_title(f"交流教师{total}人次；城区净流向乡镇{urban_out}人，乡镇内{n_within}人", fontsize=12)
        node_labels = []
        for n, p in pts.items():
            inside = within.loc[within["from_node"] == n, "count"]
            name = URBAN_NODE_ZH if n == URBAN_NODE else str(towns.set_index("township_id").loc[n, "name_zh"])
            text = f"{name}（内{int(inside.iloc[0])}）" if len(inside) else name
            node_labels.append((p.x, p.y, text, {"fontsize": 10}))
        labels = node_labels + labels
    else:
        ax.text(0.5, 0.5, "本方案无教师交流", transform=ax.transAxes, ha="center", fontsize=13, color="#555555",
                zorder=7)  # fmt: skip
        ax.set_title("交流教师0人", fontsize=12)
    scale_bar(ax)
    north_arrow(ax)
    handles: list = [Line2D([], [], color=c, lw=3, label=DIRECTION_LABELS[k])
                     for k, c in DIRECTION_COLORS.items() if k in drawn]  # fmt: skip
    if len(g):
        big = max(1, int(g["count"].max()))
        for n in sorted({1, big}):
            handles.append(Line2D([], [], color="#444444", lw=_flow_width(n, big), label=f"净{n}人"))
    if "within" in drawn:
        handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec="#6a3d9a", ms=10, label="乡镇内交流"))
    if towns is not None and len(towns):
        handles.append(Line2D([], [], color="#333333", lw=1.2, ls="--", label="乡镇界"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False,
              title="净流向（往返相抵）", title_fontsize=9)  # fmt: skip
    fig.suptitle(title, fontsize=15)
    low = _put_footer(fig, foot)
    fig.tight_layout(rect=(0, low, 1, 0.95))
    if len(g) and towns is not None:
        place_labels(ax, labels)
    else:
        _label_townships(ax, layers)
    return fig


def _flow_width(n: int, big: int) -> float:
    return 1.0 + 6.0 * math.sqrt(n / big)


# --- drawing helpers -------------------------------------------------------------------------------------------


def _draw_base(ax: Axes, layers: dict[str, gpd.GeoDataFrame], *, labels: bool = True, small: bool = False) -> None:
    towns = layers.get("townships")
    if towns is not None and len(towns):
        towns.boundary.plot(ax=ax, color="#333333", lw=0.6 if small else 1.0, ls="--", zorder=3)
    ax.set_aspect("equal")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_color("#999999")


#: offsets (points) tried in turn for a label, nearest first
_OFFSETS: tuple[tuple[float, float], ...] = tuple(
    (dx * r, dy * r)
    for r in (0, 9, 18, 27, 36, 48)
    for dx, dy in ((0, 0), (0, 1), (0, -1), (1.6, 0), (-1.6, 0), (1.2, 1), (-1.2, 1), (1.2, -1), (-1.2, -1))
    if r or (dx, dy) == (0, 0)
)


def place_labels(ax: Axes, items: list[tuple[float, float, str, dict]], pad_px: float = 2.0) -> list[Annotation]:
    """Place text labels so that no two overlap: each label (x, y, text, text kwargs), in order, takes the
    first offset of :data:`_OFFSETS` whose box is clear of the labels placed before it (greedy); a label
    with no clear offset keeps the last one tried and is logged. Call after the figure's layout is final.

    Returns
    -------
    list of Annotation
        The labels, in the order given.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    placed: list = []
    out: list[Annotation] = []
    box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7}
    for x, y, text, kw in items:
        ann = None
        for dx, dy in _OFFSETS:
            if ann is not None:
                ann.remove()
            style = {"fontsize": 9, "color": "#222222", **kw}
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha="center", va="center",
                              zorder=8, bbox=box, annotation_clip=False, **style)  # fmt: skip
            bb = ann.get_window_extent(renderer).expanded(1.0, 1.0).padded(pad_px)
            if not any(bb.overlaps(o) for o in placed):
                break
        else:
            log.debug("label %s overlaps another at every offset tried", text)
        assert ann is not None
        placed.append(ann.get_window_extent(renderer).padded(pad_px))
        out.append(ann)
    return out


def _label_townships(
    ax: Axes, layers: dict[str, gpd.GeoDataFrame], extra: list[tuple[float, float, str, dict]] | None = None
) -> list[Annotation]:
    """Township names (and ``extra`` labels after them) placed without overlap (:func:`place_labels`)."""
    towns = layers.get("townships")
    items: list[tuple[float, float, str, dict]] = []
    if towns is not None and len(towns):
        for t in towns.itertuples(index=False):
            p = t.geometry.representative_point()
            items.append((p.x, p.y, str(t.name_zh), {}))
    return place_labels(ax, items + list(extra or []))


def _draw_catchments(
    ax: Axes, layers: dict[str, gpd.GeoDataFrame], stage: str, when: str, *, small: bool = False
) -> set[str]:
    """Draw one panel; returns the legend keys drawn (compliance classes and school statuses)."""
    drawn: set[str] = set()
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
        return drawn
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
        drawn.add({"o": "existing", "s": "expanded", "*": "new", "X": "closed"}[m])
        if m == "X":  # closed: no compliance after
            ax.scatter(part.geometry.x, part.geometry.y, s=base * scale, marker=m, c="#222222", linewidths=0, zorder=6)
            continue
        drawn |= set(comp[part.index])
        colors = [COMPLIANCE_COLORS[c] for c in comp[part.index]]
        ax.scatter(part.geometry.x, part.geometry.y, s=base * scale, marker=m, c=colors, edgecolors="black",
                   linewidths=0.5, zorder=6)  # fmt: skip
    return drawn


def _stage_compliance(schools: gpd.GeoDataFrame, stage: str, when: str) -> pd.Series:
    """pass / fail / not_assessed of each school's ``stage`` part in state ``when``."""
    col = f"passes_{stage}_{when}"
    if col not in schools.columns:
        return pd.Series("not_assessed", index=schools.index, dtype=object)
    v = pd.to_numeric(schools[col].astype("Float64"), errors="coerce")
    return pd.Series(np.where(v.isna(), "not_assessed", np.where(v.fillna(0) > 0, "pass", "fail")), index=schools.index)


def _compliance_handles(drawn: set[str]) -> list:
    """Legend entries for the compliance classes and school statuses in ``drawn`` (only those)."""
    handles: list = [
        Line2D([], [], marker="o", ls="", mfc=c, mec="black", mew=0.5, ms=7, label=COMPLIANCE_LABELS[k])
        for k, c in COMPLIANCE_COLORS.items()
        if k in drawn
    ]
    status = {
        "new": Line2D([], [], marker="*", ls="", mfc="white", mec="black", ms=12, label="新建学校"),
        "expanded": Line2D([], [], marker="s", ls="", mfc="white", mec="black", ms=7, label="改扩建学校"),
        "closed": Line2D([], [], marker="X", ls="", mfc="#222222", mec="#222222", ms=8, label="撤并学校"),
    }
    handles += [h for k, h in status.items() if k in drawn]
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
    """Chinese foot note: data source (the synthetic-data note for generated data), CRS, how catchments are drawn."""
    crs = next((g.crs for g in layers.values() if g is not None and g.crs is not None), None)
    epsg = crs.to_epsg() if crs is not None else None
    crs_txt = f"EPSG:{epsg}" if epsg else (crs.name if crs is not None else "未知")
    lines = [f"数据来源：{SYNTHETIC_NOTE}" if synthetic else textwrap.fill(f"数据来源：{data_source}", width=110)]
    lines.append(f"坐标系：{crs_txt}；学区范围为居民点泰森多边形按学校合并。")
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
