"""Offline interactive HTML map of a plan: one self-contained file, no internet needed.

:func:`write_web_map` writes ONE HTML file with everything inline — the layers as
GeoJSON in WGS-84 (EPSG:4326, coordinates rounded to 5 decimals, about 1 m), a small
SVG renderer with pan, zoom and fit-to-county, a layer list with a checkbox per layer, a
legend, a scale bar, and a side panel: clicking a school shows each of its indicators
before and after the plan against the standard (from :func:`school_details_table`);
clicking any other feature shows its attributes. No CDN, no tile server, no web font,
no request leaves the page; there is no basemap.

Known layer names (any subset; others are drawn with a default style):
``townships``, ``catchments_before_primary``, ``catchments_after_primary``,
``catchments_before_junior``, ``catchments_after_junior``, ``settlements``,
``schools`` (``school_id``, ``name_zh``, ``kind``, ``status`` = existing/new/expanded/closed,
``passes_after`` or ``compliance_after`` = pass/fail/not_assessed), ``new_sites`` and
``teacher_flows`` (lines; ``category``, ``count``). A catchment's own ``color`` attribute
(``#rrggbb``), when present, is used as its fill; otherwise neighbouring catchments get
different colours from :data:`planner.report.layers.CATCHMENT_PALETTE` (:func:`planner.report.layers.catchment_colors`).

Indicator values in the panel are truncated (never rounded up) to the digits shown, so a
value below the standard never displays as reaching it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from planner.report.layers import catchment_colors
from planner.schema import SCHOOL_KINDS, STAGE_ZH, STAGES
from planner.standards import INDICATORS_BY_KEY

log = logging.getLogger(__name__)

#: Decimal places of the WGS-84 coordinates written (1e-5 degree is about 1.1 m).
COORD_DECIMALS = 5


@dataclass(frozen=True)
class LayerStyle:
    """How a known layer is listed and drawn.

    Attributes
    ----------
    zh, en : str
        Layer name in the layer list and legend.
    order : int
        Drawing order (lower is drawn first, i.e. underneath).
    visible : bool
        Whether the layer is switched on when the page opens.
    """

    zh: str
    en: str
    order: int
    visible: bool


#: Known layers: name -> style. Unknown layers are drawn in grey, on by default.
LAYER_STYLES: dict[str, LayerStyle] = {
    "catchments_before_primary": LayerStyle("现状小学学区", "primary catchments, before", 10, False),
    "catchments_after_primary": LayerStyle("规划小学学区", "primary catchments, after", 11, True),
    "catchments_before_junior": LayerStyle("现状初中学区", "junior catchments, before", 12, False),
    "catchments_after_junior": LayerStyle("规划初中学区", "junior catchments, after", 13, False),
    "townships": LayerStyle("乡镇界", "township boundaries", 20, True),
    "teacher_flows": LayerStyle("教师交流", "teacher flows", 40, False),
    "settlements": LayerStyle("居民点", "settlements", 50, True),
    "new_sites": LayerStyle("新建校址", "new school sites", 60, True),
    "schools": LayerStyle("学校", "schools", 70, True),
    "projects": LayerStyle("建设项目", "priced projects", 65, False),
    "unmet": LayerStyle("未达标事项", "unmet items", 66, False),
}

#: Default drawing order of unknown layers by geometry kind.
_UNKNOWN_ORDER = {"polygon": 15, "line": 35, "point": 55, "empty": 56}

#: Bilingual labels of attribute names shown in the side panel.
FIELD_LABELS: dict[str, str] = {
    "school_id": "学校代码 school ID",
    "name_zh": "名称 name",
    "kind": "类型 kind",
    "status": "规划状态 status",
    "passes_after": "规划后达标 passes after plan",
    "passes_before": "规划前达标 passes before plan",
    "pupils": "学生数 pupils",
    "stage": "学段 stage",
    "township_id": "乡镇代码 township ID",
    "settlement_id": "居民点代码 settlement ID",
    "site_id": "校址代码 site ID",
    "population": "人口 population",
    "pupils_primary": "小学生数 primary pupils",
    "pupils_junior": "初中生数 junior pupils",
    "from_school_id": "调出学校 from school",
    "to_school_id": "调入学校 to school",
    "from_name_zh": "调出学校 from school",
    "to_name_zh": "调入学校 to school",
    "category": "教师类别 teacher category",
    "count": "人数 teachers",
    "time_min": "时间（分钟） time (min)",
    "classes": "班数 classes",
    "cost_yuan": "费用（元） cost (yuan)",
    "ownership": "办学性质 ownership",
    "area_type": "城乡类型 area type",
    "status_zh": "规划状态 status",
    "compliance_before": "规划前达标 compliance before",
    "compliance_after": "规划后达标 compliance after",
    "compliance_after_zh": "规划后达标 compliance after",
    "teachers_in": "调入教师 teachers in",
    "teachers_out": "调出教师 teachers out",
    "hires": "新招聘教师 teachers hired",
    "projects_zh": "建设项目 projects",
    "category_zh": "教师类别 teacher category",
    "kind_zh": "交流方式 kind of move",
    "within_cap": "在时间上限内 within time cap",
    "built": "是否建设 built",
    "option": "建设方案 option",
    "land_area_m2": "用地面积（m²） land area (m²)",
    "max_classes": "最多班数 max classes",
    "land_cost_yuan": "土地费用（元） land cost (yuan)",
    "changed": "学区调整 re-zoned",
    "color": "填充色 fill colour",
    "n_settlements": "居民点数 settlements",
    "area_km2": "面积（km²） area (km²)",
    **{
        f"{field}_{stage}_{when}": f"{STAGE_ZH[stage]}{zh}{wzh} {stage} {en} {when}"
        for stage in STAGES
        for when, wzh in (("before", "（规划前）"), ("after", "（规划后）"))
        for field, zh, en in (
            ("pupils", "学生数", "pupils"),
            ("passes", "达标", "passes"),
            ("n_met", "达标项数", "indicators met"),
        )
    },
    **{
        f"{stage}_{when}": f"{STAGE_ZH[stage]}学校（{wzh}） {stage} school {when}"
        for stage in STAGES
        for when, wzh in (("before", "规划前"), ("after", "规划后"))
    },
    **{f"changed_{stage}": f"{STAGE_ZH[stage]}学区调整 {stage} re-zoned" for stage in STAGES},
    **{f"time_min_{stage}": f"{STAGE_ZH[stage]}上学时间（分钟） {stage} travel (min)" for stage in STAGES},
}

#: Bilingual labels of coded values shown in the side panel.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "kind": {
        **{k: f"{zh} {k.replace('_', ' ')}" for k, zh in SCHOOL_KINDS.items()},
        "rotation": "交流轮岗 rotation",
        "redeployment": "调配（新校） redeployment to a new school",
    },
    "status": {"existing": "现有 existing", "new": "新建 new", "expanded": "改扩建 expanded", "closed": "撤并 closed"},
    "stage": {k: f"{zh} {k}" for k, zh in STAGE_ZH.items()},
    "compliance_before": {"pass": "达标 pass", "fail": "未达标 fail", "not_assessed": "不参评 not assessed"},
    "compliance_after": {"pass": "达标 pass", "fail": "未达标 fail", "not_assessed": "不参评 not assessed"},
    "ownership": {"public": "公办 public", "private": "民办 private"},
    "area_type": {"urban": "城区 urban", "town": "镇区 town", "rural": "乡村 rural"},
    "category": {
        "backbone": "骨干教师 backbone",
        "pe_art": "体育艺术教师 PE and art",
        "above_required": "高于规定学历教师 above-required education",
        "other": "其他教师 other",
    },
}

#: Columns of :func:`school_details_table`, in order.
DETAIL_COLUMNS: tuple[str, ...] = (
    "school_id", "name_zh", "stage", "stage_zh", "indicator", "number", "indicator_zh", "indicator_en",
    "unit_zh", "unit_en", "value_before", "value_after", "threshold", "ratio_before", "ratio_after",
    "met_before", "met_after", "passes_before", "passes_after",
    "reason_before_zh", "reason_before_en", "reason_after_zh", "reason_after_en",
)  # fmt: skip

_DETAIL_REQUIRED = ("school_id", "stage", "value_before", "value_after", "threshold", "met_before", "met_after")


# --------------------------------------------------------------------------- school details


def school_details_table(before: Any, after: Any) -> pd.DataFrame:
    """Each school's indicators before and after the plan, one row per school × stage × indicator.

    Parameters
    ----------
    before, after : planner.assess.Assessment
        The assessments of the county before and after the plan (``plan.before``,
        ``plan.after``).

    Returns
    -------
    DataFrame
        Columns :data:`DETAIL_COLUMNS`: ``school_id``, ``name_zh``, ``stage``, ``stage_zh``,
        ``indicator`` (key), ``number`` (1-7), ``indicator_zh``, ``indicator_en``,
        ``unit_zh``, ``unit_en``, ``value_before``, ``value_after``, ``threshold`` (the
        standard; the after-assessment's where both exist), ``ratio_before``,
        ``ratio_after`` (value / standard), ``met_before``, ``met_after`` (nullable
        booleans), ``passes_before``, ``passes_after`` (the school part's compliance:
        6 of 7 met and the other ≥ 85%) and the part's verdict ``reason_*_zh/en``. A part
        assessed in only one state (a new school, a teaching point that crosses the
        minimum) has NaN / NA on the other side. Parts never assessed (special schools)
        have no rows. Sorted by stage (primary first), school, indicator number.
    """
    key = ["school_id", "stage", "indicator"]
    keep = [*key, "name_zh", "number", "value", "standard", "ratio", "met"]
    b = before.indicators[keep].rename(
        columns={"value": "value_before", "ratio": "ratio_before", "met": "met_before", "standard": "std_b"}
    )
    a = after.indicators[keep].rename(
        columns={"value": "value_after", "ratio": "ratio_after", "met": "met_after", "standard": "std_a"}
    )
    df = b.merge(a, on=key, how="outer", suffixes=("_b", "_a"))
    df["name_zh"] = df["name_zh_a"].fillna(df["name_zh_b"])
    df["number"] = df["number_a"].fillna(df["number_b"]).astype(int)
    df["threshold"] = df["std_a"].fillna(df["std_b"]).astype(float)
    for side in ("before", "after"):
        df[f"met_{side}"] = df[f"met_{side}"].astype("boolean")
    df["stage_zh"] = df["stage"].map(STAGE_ZH)
    df["indicator_zh"] = df["indicator"].map(lambda k: INDICATORS_BY_KEY[k].zh)
    df["indicator_en"] = df["indicator"].map(lambda k: INDICATORS_BY_KEY[k].en)
    df["unit_zh"] = df["indicator"].map(lambda k: INDICATORS_BY_KEY[k].unit_zh)
    df["unit_en"] = df["indicator"].map(lambda k: INDICATORS_BY_KEY[k].unit_en)
    for side, assessment in (("before", before), ("after", after)):
        s = assessment.schools[["school_id", "stage", "passes", "reason_zh", "reason_en"]].rename(
            columns={"passes": f"passes_{side}", "reason_zh": f"reason_{side}_zh", "reason_en": f"reason_{side}_en"}
        )
        df = df.merge(s, on=["school_id", "stage"], how="left")
        df[f"passes_{side}"] = df[f"passes_{side}"].astype("boolean")
        for lang in ("zh", "en"):
            df[f"reason_{side}_{lang}"] = df[f"reason_{side}_{lang}"].fillna("").astype(str)
    order = df["stage"].map({st: i for i, st in enumerate(STAGES)})
    df = df.assign(_o=order).sort_values(["_o", "school_id", "number"], kind="stable")
    return df[list(DETAIL_COLUMNS)].reset_index(drop=True)


def _floor_str(value: float, digits: int, scale: int = 1) -> str:
    """``value × scale`` truncated towards -inf to ``digits`` decimals, with thousands separators.

    Computed in decimal from the float's shortest repr, so 0.29 × 100 gives 29.0, not 28.9.
    """
    q = Decimal(1).scaleb(-digits)
    return f"{(Decimal(repr(float(value))) * scale).quantize(q, rounding=ROUND_FLOOR):,}"


def _fmt_indicator(value: Any, unit_en: str) -> str | None:
    if value is None or pd.isna(value):
        return None
    return _floor_str(float(value), 0 if "yuan" in unit_en else 2)


def _fmt_ratio(ratio: Any) -> str | None:
    if ratio is None or pd.isna(ratio):
        return None
    return _floor_str(float(ratio), 1, scale=100) + "%"


def _bool_or_none(v: Any) -> bool | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return bool(v)


def _details_payload(details: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """school_id -> list of parts (one per stage), each with its formatted indicator rows."""
    missing = [c for c in _DETAIL_REQUIRED if c not in details.columns]
    if missing:
        raise ValueError(f"school_details lacks columns: {', '.join(missing)}")
    d = details.copy()
    for col, default in (("stage_zh", None), ("indicator_zh", ""), ("indicator_en", ""), ("unit_zh", ""),
                         ("unit_en", ""), ("number", 0), ("ratio_before", np.nan), ("ratio_after", np.nan),
                         ("passes_before", pd.NA), ("passes_after", pd.NA), ("reason_before_zh", ""),
                         ("reason_before_en", ""), ("reason_after_zh", ""), ("reason_after_en", "")):  # fmt: skip
        if col not in d.columns:
            d[col] = d["stage"].map(STAGE_ZH) if col == "stage_zh" else default
    out: dict[str, list[dict[str, Any]]] = {}
    for (sid, stage), g in d.groupby([d["school_id"].astype(str), "stage"], sort=False):
        first = g.iloc[0]
        rows = []
        for r in g.itertuples(index=False):
            rows.append(
                {
                    "number": int(r.number) if not pd.isna(r.number) else 0,
                    "zh": str(r.indicator_zh), "en": str(r.indicator_en),
                    "unit_zh": str(r.unit_zh), "unit_en": str(r.unit_en),
                    "before": _fmt_indicator(r.value_before, str(r.unit_en)),
                    "after": _fmt_indicator(r.value_after, str(r.unit_en)),
                    "threshold": None if pd.isna(r.threshold) else f"{float(r.threshold):,g}",
                    "pct_before": _fmt_ratio(r.ratio_before), "pct_after": _fmt_ratio(r.ratio_after),
                    "met_before": _bool_or_none(r.met_before), "met_after": _bool_or_none(r.met_after),
                }
            )  # fmt: skip
        out.setdefault(sid, []).append(
            {
                "stage": str(stage),
                "stage_zh": str(first["stage_zh"] if not pd.isna(first["stage_zh"]) else stage),
                "passes_before": _bool_or_none(first["passes_before"]),
                "passes_after": _bool_or_none(first["passes_after"]),
                "reason_before_zh": str(first["reason_before_zh"]), "reason_before_en": str(first["reason_before_en"]),
                "reason_after_zh": str(first["reason_after_zh"]), "reason_after_en": str(first["reason_after_en"]),
                "rows": rows,
            }
        )  # fmt: skip
    return out


# --------------------------------------------------------------------------- layers


def _json_value(v: Any) -> Any:
    """A JSON-safe copy of one attribute value (NaN/NA -> null, numpy -> Python)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if not math.isfinite(f) else round(f, 6)
    if isinstance(v, str):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _geom_kind(types: pd.Series) -> str:
    """polygon, line, point or empty: the commonest geometry family of a layer."""
    fam = types.map(
        lambda t: "polygon" if "Polygon" in t else "line" if "LineString" in t else "point" if "Point" in t else "other"
    )
    fam = fam[fam != "other"]
    return fam.value_counts().idxmax() if len(fam) else "empty"


def _layer_features(name: str, gdf: gpd.GeoDataFrame) -> tuple[list[dict[str, Any]], str, list[float] | None]:
    """GeoJSON features (WGS-84, rounded), the layer's geometry kind and its lon/lat bounds."""
    if gdf.crs is None:
        raise ValueError(f"web map layer {name!r} has no CRS; give its geometry a coordinate reference system")
    g = gdf.to_crs("EPSG:4326")
    geoms = g.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if (~ok).any():
        log.warning("web map layer %s: %d feature(s) without geometry left out", name, int((~ok).sum()))
    rounded = shapely.transform(geoms[ok], lambda c: np.round(c, COORD_DECIMALS))
    props = pd.DataFrame(g.drop(columns=[g.geometry.name])).loc[ok]
    kind = _geom_kind(pd.Series(shapely.get_type_id(rounded)).map(_TYPE_NAMES)) if len(rounded) else "empty"
    label_pts: list[Any] = [None] * len(rounded)
    if kind == "polygon" and name == "townships" and len(rounded):
        label_pts = list(shapely.point_on_surface(rounded))
    features = []
    for geom, rec, lp in zip(rounded, props.to_dict(orient="records"), label_pts, strict=True):
        feat: dict[str, Any] = {
            "geometry": mapping(geom),
            "properties": {str(k): _json_value(v) for k, v in rec.items()},
        }
        if lp is not None:
            feat["label_at"] = [round(lp.x, COORD_DECIMALS), round(lp.y, COORD_DECIMALS)]
        features.append(feat)
    bounds = [float(x) for x in shapely.total_bounds(rounded)] if len(rounded) else None
    return features, kind, bounds


_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
               6: "MultiPolygon", 7: "GeometryCollection"}  # fmt: skip


# --------------------------------------------------------------------------- the page


def write_web_map(
    layers: dict[str, gpd.GeoDataFrame],
    path: Path,
    *,
    title: str,
    school_details: pd.DataFrame | None = None,
    note: str = "",
) -> Path:
    """Write the offline interactive map as one self-contained HTML file.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        Layers by name (see the module docstring for known names and their fields), in
        any CRS; each is reprojected to WGS-84. Unknown names get a default style.
    path : Path
        HTML file to write (its folder is created).
    title : str
        Page title, e.g. ``"确山县 方案 combined 学区与教师交流图 catchments and teacher flows"``.
    school_details : DataFrame, optional
        As from :func:`school_details_table`; clicking a school shows its rows. Without it
        a click shows the school's attributes only.
    note : str
        Line shown under the title (data source, "合成数据 synthetic data", distance method).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        When a layer is not a GeoDataFrame or has no CRS, or ``school_details`` lacks a
        required column.
    """
    path = Path(path)
    payload_layers = []
    all_bounds = []
    for name, gdf in layers.items():
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise ValueError(f"web map layer {name!r} is a {type(gdf).__name__}, not a GeoDataFrame")
        features, kind, bounds = _layer_features(str(name), gdf)
        style = LAYER_STYLES.get(str(name))
        if bounds is not None:
            all_bounds.append(bounds)
        payload_layers.append(
            {
                "name": str(name),
                "zh": style.zh if style else str(name),
                "en": style.en if style else "",
                "order": style.order if style else _UNKNOWN_ORDER.get(kind, 57),
                "visible": style.visible if style else True,
                "kind": kind,
                "features": features,
            }
        )
    payload_layers.sort(key=lambda lyr: lyr["order"])
    catchments = [lyr for lyr in payload_layers if lyr["name"].startswith("catchments") and lyr["features"]]
    if catchments and not any(lyr["visible"] for lyr in catchments):
        catchments[-1]["visible"] = True
    bounds = None
    if all_bounds:
        b = np.array(all_bounds)
        bounds = [float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())]
    payload = {
        "title": title,
        "note": note,
        "bounds": bounds,
        "layers": payload_layers,
        "catchment_colors": catchment_colors([g for n, g in layers.items() if n.startswith("catchments")]),
        "details": _details_payload(school_details) if school_details is not None else None,
        "field_labels": FIELD_LABELS,
        "value_labels": VALUE_LABELS,
    }
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    data = data.replace("<", "\\u003c")  # no "</script>" or "<!--" can end the data block
    page = (
        _PAGE.replace("%%TITLE%%", html.escape(title))
        .replace("%%NOTE%%", html.escape(note))
        .replace("%%STYLE%%", _CSS)
        .replace("%%SCRIPT%%", _JS)
        .replace("%%DATA%%", data)
    )
    page = page.replace("%%FONT%%", _font_face_css(page), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    n = sum(len(lyr["features"]) for lyr in payload_layers)
    log.info("web map: %d layers, %d features, %.0f kB -> %s", len(payload_layers), n, path.stat().st_size / 1e3, path)
    return path


#: CSS family name of the embedded font subset.
FONT_FAMILY_CSS = "PlannerCJK"


def _font_face_css(text: str) -> str:
    """An ``@font-face`` rule embedding the bundled CJK font, cut to the characters of ``text``.

    The package's font (:data:`planner.report.fonts.FONT_PATH`, WenQuanYi Micro Hei) is
    subset with fontTools to the characters the page uses and inlined as a WOFF data URI,
    so Chinese renders on a machine without any CJK font and the page stays offline. When
    the font or fontTools is missing, returns "" and the page falls back to system fonts.
    """
    try:
        from fontTools import subset

        from planner.report.fonts import FONT_PATH
    except ImportError as exc:
        log.warning("web map: no CJK font embedded (%s); Chinese relies on the viewer's system fonts", exc)
        return ""
    if not FONT_PATH.is_file():
        log.warning("web map: bundled CJK font %s missing; Chinese relies on the viewer's system fonts", FONT_PATH)
        return ""
    opts = subset.Options()
    opts.flavor = "woff"
    opts.hinting = False
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.drop_tables = [*opts.drop_tables, "FFTM"]  # FontForge timestamps: not needed, and fontTools warns on them
    ft_log = logging.getLogger("fontTools")
    level = ft_log.level
    ft_log.setLevel(logging.WARNING)  # fontTools logs every table and glyph at INFO
    try:
        font = subset.load_font(str(FONT_PATH), opts)
        subsetter = subset.Subsetter(opts)
        subsetter.populate(unicodes=sorted({ord(c) for c in text if c.isprintable()}))
        subsetter.subset(font)
        buf = io.BytesIO()
        subset.save_font(font, buf, opts)
    finally:
        ft_log.setLevel(level)
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f'@font-face {{ font-family: "{FONT_FAMILY_CSS}"; font-style: normal; font-weight: normal; '
        f'src: url(data:font/woff;base64,{b64}) format("woff"); }}\n'
    )


_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; font-src data:">
<title>%%TITLE%%</title>
<style>%%FONT%%%%STYLE%%</style>
</head>
<body>
<header>
<h1 id="title">%%TITLE%%</h1>
<div id="note">%%NOTE%%</div>
</header>
<div id="main">
<aside id="sidebar">
<section><h2>图层 Layers</h2><ul id="layer-list"></ul></section>
<section><h2>图例 Legend</h2><div id="legend"></div></section>
<p class="small">坐标 WGS-84（EPSG:4326），离线地图，无底图。滚轮缩放，拖动平移，点击学校查看指标。<br>
Coordinates WGS-84 (EPSG:4326); offline map, no basemap.
Wheel to zoom, drag to pan, click a school for its indicators.</p>
</aside>
<div id="map-wrap">
<svg id="map" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="map"><g id="viewport"></g></svg>
<div id="controls">
<button type="button" id="zoom-in" title="放大 zoom in">+</button>
<button type="button" id="zoom-out" title="缩小 zoom out">&minus;</button>
<button type="button" id="fit" title="全图 fit to county">全图 fit</button>
</div>
<div id="north" title="北 north">N<br>&#8593;</div>
<div id="scalebar"><div id="scalebar-bar"></div><span id="scalebar-label"></span></div>
<div id="empty" hidden>无图层数据 no map data</div>
</div>
<aside id="panel" hidden>
<button type="button" id="panel-close" title="关闭 close">&times;</button>
<div id="panel-body"></div>
</aside>
</div>
<script type="application/json" id="map-data">%%DATA%%</script>
<script>%%SCRIPT%%</script>
</body>
</html>
"""

_CSS = r"""
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { display: flex; flex-direction: column; color: #222; background: #fff;
  font: 13px/1.45 "PlannerCJK", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
  "WenQuanYi Micro Hei", "Heiti SC", "SimHei", sans-serif; }
header { padding: 6px 12px; border-bottom: 1px solid #ccc; }
h1 { font-size: 17px; margin: 0; }
h2 { font-size: 14px; margin: 8px 0 4px; }
h3 { font-size: 13px; margin: 10px 0 2px; }
#note { color: #555; font-size: 12px; }
#main { flex: 1; display: flex; min-height: 0; }
#sidebar { width: 250px; padding: 4px 10px; border-right: 1px solid #ccc; overflow-y: auto; }
#layer-list { list-style: none; padding: 0; margin: 0; }
#layer-list li { margin: 2px 0; }
#layer-list label { cursor: pointer; }
.count { color: #777; }
.small { font-size: 11px; color: #666; }
#legend .entry { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
#legend .group { margin-top: 6px; font-weight: bold; }
#legend svg { flex: none; }
#map-wrap { flex: 1; position: relative; min-width: 0; background: #f4f6f8; }
#map { width: 100%; height: 100%; display: block; cursor: grab; touch-action: none; user-select: none; }
#map.dragging { cursor: grabbing; }
#map path, #map circle, #map rect, #map polygon { vector-effect: non-scaling-stroke; }
#map .feature { cursor: pointer; }
#map .feature:hover { opacity: 0.8; }
#map .selected circle, #map .selected rect, #map .selected polygon, #map path.selected {
  stroke: #000 !important; stroke-width: 3px !important; }
#map text { font-size: 12px; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round;
  pointer-events: none; }
#map text.township-label { font-size: 14px; fill: #333; font-weight: bold; }
#map .school-label { display: none; }
#map.show-labels .school-label { display: inline; }
#controls { position: absolute; top: 10px; left: 10px; display: flex; flex-direction: column; gap: 4px; }
button { font-family: inherit; }
#controls button { min-width: 32px; height: 28px; font-size: 14px; background: #fff; border: 1px solid #999;
  border-radius: 3px; cursor: pointer; }
#north { position: absolute; top: 10px; right: 12px; text-align: center; font-weight: bold; line-height: 1.1;
  background: rgba(255,255,255,.8); padding: 2px 6px; border-radius: 3px; }
#scalebar { position: absolute; left: 12px; bottom: 12px; background: rgba(255,255,255,.85); padding: 2px 6px;
  border-radius: 3px; font-size: 11px; }
#scalebar-bar { height: 6px; border: 2px solid #333; border-top: none; }
#empty { position: absolute; top: 45%; width: 100%; text-align: center; color: #777; font-size: 16px; }
#panel { width: 420px; max-width: 45%; border-left: 1px solid #ccc; padding: 6px 12px; overflow-y: auto;
  position: relative; }
#panel-close { position: absolute; right: 6px; top: 4px; border: none; background: none; font-size: 20px;
  cursor: pointer; }
#panel table { border-collapse: collapse; width: 100%; margin: 4px 0; }
#panel th, #panel td { border: 1px solid #ddd; padding: 2px 4px; text-align: left; vertical-align: top; }
#panel th { background: #f0f0f0; font-weight: normal; }
#panel td.num { text-align: right; white-space: nowrap; }
.en { color: #666; font-size: 11px; }
.met { color: #2e7d32; }
.unmet { color: #c62828; }
.na { color: #999; }
.verdict { margin: 2px 0; }
"""

_JS = r"""
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("map-data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.getElementById("map");
  const vp = document.getElementById("viewport");
  const panel = document.getElementById("panel");
  const panelBody = document.getElementById("panel-body");

  const COMPLIANCE = { "true": "#2e7d32", "false": "#c62828", "null": "#9e9e9e" };
  const BUILT = "#6a1b9a", UNBUILT = "#8e8e8e", REZONED = "#6a3d9a";
  const FLOW_COLORS = { backbone: "#d62728", pe_art: "#2ca02c", above_required: "#1f77b4", other: "#7f7f7f" };
  const EXTRA_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e"];
  const STATUS = ["existing", "new", "expanded", "closed"];

  // ---------------------------------------------------------------- projection (local equirectangular, metres)
  const b = DATA.bounds || [0, 0, 0, 0];
  const lon0 = (b[0] + b[2]) / 2, lat0 = (b[1] + b[3]) / 2;
  const M_PER_DEG = 6371008.8 * Math.PI / 180;
  const kx = Math.cos(lat0 * Math.PI / 180) * M_PER_DEG, ky = M_PER_DEG;
  function proj(c) { return [(c[0] - lon0) * kx, -(c[1] - lat0) * ky]; }
  function r1(v) { return Math.round(v * 10) / 10; }

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, text, cls, parent) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }

  // ---------------------------------------------------------------- view state
  const view = { s: 1, tx: 0, ty: 0 };
  const scaled = [];  // {node, x, y, rot}: symbols drawn at a fixed pixel size
  function applyView() {
    vp.setAttribute("transform", "translate(" + view.tx + "," + view.ty + ") scale(" + view.s + ")");
    const inv = 1 / view.s;
    for (const p of scaled) {
      p.node.setAttribute("transform", "translate(" + p.x + "," + p.y + ") scale(" + inv + ")" +
        (p.rot ? " rotate(" + p.rot + ")" : ""));
    }
    const w = svg.clientWidth || 800;
    svg.classList.toggle("show-labels", w / view.s < 12000);
    updateScalebar();
  }
  function updateScalebar() {
    const target = 100 / view.s;  // metres in ~100 px
    const p = Math.pow(10, Math.floor(Math.log10(target)));
    let nice = p;
    for (const m of [1, 2, 5, 10]) if (m * p <= target) nice = m * p;
    document.getElementById("scalebar-bar").style.width = (nice * view.s) + "px";
    document.getElementById("scalebar-label").textContent =
      nice >= 1000 ? (nice / 1000) + " km" : nice + " m";
  }
  function fit() {
    const w = svg.clientWidth || 800, hgt = svg.clientHeight || 600;
    const p0 = proj([b[0], b[3]]), p1 = proj([b[2], b[1]]);
    const dx = Math.max(p1[0] - p0[0], 1), dy = Math.max(p1[1] - p0[1], 1);
    view.s = Math.min(w / dx, hgt / dy) * 0.92;
    view.tx = w / 2 - view.s * (p0[0] + p1[0]) / 2;
    view.ty = hgt / 2 - view.s * (p0[1] + p1[1]) / 2;
    applyView();
  }
  // wheel and drag: redraw at most once per frame
  let pending = false;
  function requestView() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; applyView(); });
  }
  function zoomAt(factor, sx, sy, deferred) {
    const s = Math.min(Math.max(view.s * factor, 1e-6), 50);
    const f = s / view.s;
    view.tx = sx - (sx - view.tx) * f;
    view.ty = sy - (sy - view.ty) * f;
    view.s = s;
    if (deferred) requestView(); else applyView();
  }

  // ---------------------------------------------------------------- geometry to SVG
  function ringPath(ring) {
    let d = "";
    for (let i = 0; i < ring.length; i++) {
      const p = proj(ring[i]);
      d += (i === 0 ? "M" : "L") + r1(p[0]) + "," + r1(p[1]);
    }
    return d;
  }
  function geomPath(g) {
    switch (g.type) {
      case "Polygon": return g.coordinates.map(r => ringPath(r) + "Z").join("");
      case "MultiPolygon": return g.coordinates.map(p => p.map(r => ringPath(r) + "Z").join("")).join("");
      case "LineString": return ringPath(g.coordinates);
      case "MultiLineString": return g.coordinates.map(ringPath).join("");
      default: return "";
    }
  }
  function pointsOf(g) {
    if (g.type === "Point") return [g.coordinates];
    if (g.type === "MultiPoint") return g.coordinates;
    if (g.type === "GeometryCollection") return g.geometries.flatMap(pointsOf);
    return [];
  }

  // symbol shapes in pixels, centred on 0,0
  function symbol(shape, size, fill, stroke, parent) {
    const g = el("g", null, parent);
    const r = size;
    if (shape === "square") el("rect", { x: -r, y: -r, width: 2 * r, height: 2 * r, fill: fill, stroke: stroke }, g);
    else if (shape === "triangle") el("polygon", { points: "0," + (-1.25 * r) + " " + (1.15 * r) + "," + (0.85 * r) +
      " " + (-1.15 * r) + "," + (0.85 * r), fill: fill, stroke: stroke }, g);
    else if (shape === "diamond") el("polygon", { points: "0," + (-1.3 * r) + " " + (1.3 * r) + ",0 0," + (1.3 * r) +
      " " + (-1.3 * r) + ",0", fill: fill, stroke: stroke }, g);
    else if (shape === "cross") {
      el("circle", { r: r, fill: "#fff", stroke: fill, "stroke-width": 2 }, g);
      el("path", { d: "M" + (-0.6 * r) + "," + (-0.6 * r) + "L" + (0.6 * r) + "," + (0.6 * r) + "M" + (0.6 * r) + "," +
        (-0.6 * r) + "L" + (-0.6 * r) + "," + (0.6 * r), stroke: "#000", "stroke-width": 1.5 }, g);
    } else el("circle", { r: r, fill: fill, stroke: stroke }, g);
    return g;
  }
  function statusShape(status) {
    return { "new": "square", "expanded": "triangle", "closed": "cross" }[status] || "circle";
  }
  function complianceColor(v) { return COMPLIANCE[String(v === undefined ? null : v)] || COMPLIANCE["null"]; }
  const extraColor = {};
  function flowColor(cat) {
    if (FLOW_COLORS[cat]) return FLOW_COLORS[cat];
    if (!extraColor[cat]) extraColor[cat] = EXTRA_COLORS[Object.keys(extraColor).length % EXTRA_COLORS.length];
    return extraColor[cat];
  }
  function flowWidth(n) { return 1.5 + 1.5 * Math.sqrt(Math.max(Number(n) || 1, 1)); }
  // a layer's own "color" attribute wins (so the page matches the GeoPackage and static maps)
  function catchColor(p) {
    if (typeof p.color === "string" && /^#[0-9a-fA-F]{6}$/.test(p.color)) return p.color;
    return (DATA.catchment_colors || {})[String(p.school_id)] || "#cccccc";
  }
  // compliance after the plan: passes_after (true/false/null) or compliance_after (pass/fail/not_assessed)
  function passesAfter(p) {
    if ("passes_after" in p) return p.passes_after;
    if (p.compliance_after === "pass") return true;
    if (p.compliance_after === "fail") return false;
    return null;
  }

  function tooltip(node, text) { const t = el("title", null, node); t.textContent = text; }
  function featureName(p) {
    const nm = p.name_zh || p.name || "";
    const id = p.school_id || p.settlement_id || p.site_id || p.township_id || "";
    return nm && id ? nm + " (" + id + ")" : String(nm || id || "");
  }

  // ---------------------------------------------------------------- layers
  const groups = {};
  function drawLayer(L, li) {
    const g = el("g", { "data-layer": L.name, "class": "layer" }, vp);
    groups[L.name] = g;
    const isCatch = L.name.startsWith("catchments");
    const before = L.name.indexOf("before") >= 0;
    L.features.forEach(function (f, i) {
      const p = f.properties, geom = f.geometry;
      const t = geom.type;
      const attrs = { "data-fid": i, "data-layer": L.name, "class": "feature" };
      if (t === "Polygon" || t === "MultiPolygon") {
        let style;
        if (L.name === "townships") {
          style = { fill: "none", stroke: "#333", "stroke-width": 1.5, "stroke-dasharray": "6 3" };
        } else if (isCatch) {
          style = { fill: catchColor(p), "fill-opacity": before ? 0.35 : 0.5,
            stroke: before ? "#555" : "#fff", "stroke-width": before ? 1 : 1.2,
            "stroke-dasharray": before ? "4 3" : "none" };
        } else {
          style = { fill: "#bbb", "fill-opacity": 0.3, stroke: "#666", "stroke-width": 1 };
        }
        const node = el("path", Object.assign({ d: geomPath(geom), "fill-rule": "evenodd" }, style, attrs), g);
        if (L.name === "townships") node.setAttribute("class", "feature township");
        tooltip(node, featureName(p) + (p.pupils != null ? " · " + p.pupils + " 人 pupils" : ""));
        if (f.label_at && p.name_zh) {
          const q = proj(f.label_at);
          const lg = el("g", null, g);
          const tx = el("text", { "text-anchor": "middle", "class": "township-label" }, lg);
          tx.textContent = p.name_zh;
          scaled.push({ node: lg, x: q[0], y: q[1] });
        }
      } else if (t === "LineString" || t === "MultiLineString") {
        const isFlow = L.name === "teacher_flows";
        const color = isFlow ? flowColor(p.category) : "#666";
        const width = isFlow ? flowWidth(p.count) : 1.5;
        const fg = el("g", attrs, g);
        let d = geomPath(geom), arrow = null;
        if (isFlow && t === "LineString" && geom.coordinates.length === 2) {
          // a gentle curve, to the right of the direction of travel, so A->B and B->A do not overlap
          const a = proj(geom.coordinates[0]), c = proj(geom.coordinates[1]);
          const dx = c[0] - a[0], dy = c[1] - a[1];
          const mx = (a[0] + c[0]) / 2 - dy * 0.15, my = (a[1] + c[1]) / 2 + dx * 0.15;
          d = "M" + r1(a[0]) + "," + r1(a[1]) + "Q" + r1(mx) + "," + r1(my) + " " + r1(c[0]) + "," + r1(c[1]);
          arrow = { x: 0.25 * a[0] + 0.5 * mx + 0.25 * c[0], y: 0.25 * a[1] + 0.5 * my + 0.25 * c[1],
                    rot: Math.atan2(dy, dx) * 180 / Math.PI };
        }
        el("path", { d: d, fill: "none", stroke: color, "stroke-width": width, "stroke-linecap": "round",
          "stroke-opacity": 0.85 }, fg);
        if (arrow) {
          const ag = el("g", null, fg);
          const k = 3 + width;
          el("path", { d: "M" + (-k) + "," + (-0.8 * k) + "L" + k + ",0L" + (-k) + "," + (0.8 * k) + "Z", fill: color,
            stroke: "#fff", "stroke-width": 0.8 }, ag);
          scaled.push({ node: ag, x: arrow.x, y: arrow.y, rot: arrow.rot });
        }
        const from = p.from_name_zh || p.from_school_id || p.from || "";
        const to = p.to_name_zh || p.to_school_id || p.to || "";
        const cat = (DATA.value_labels.category || {})[p.category] || p.category || "";
        tooltip(fg, isFlow ? from + " → " + to + " · " + cat + " · " + (p.count != null ? p.count : "") + " 人"
          : featureName(p));
      } else {
        const pts = pointsOf(geom);
        if (!pts.length) return;
        const fg = el("g", attrs, g);
        pts.forEach(function (c) {
          const q = proj(c);
          let sg;
          if (L.name === "schools") {
            sg = symbol(statusShape(p.status), 6, complianceColor(passesAfter(p)), "#fff", fg);
            sg.setAttribute("data-school-id", p.school_id);
            const lab = el("text", { x: 9, y: 4, "class": "school-label" }, sg);
            lab.textContent = p.name_zh || p.school_id || "";
          } else if (L.name === "settlements") {
            sg = symbol("circle", 2.5, "#555", "none", fg);
            if (p.changed === true) {  // re-zoned: a ring around the dot
              el("circle", { r: 6, fill: "none", stroke: REZONED, "stroke-width": 1.4, "class": "rezoned" }, sg);
            }
          } else if (L.name === "new_sites") {
            sg = p.built === true ? symbol("diamond", 7, BUILT, "#fff", fg) : symbol("diamond", 5, "#fff", UNBUILT, fg);
            sg.setAttribute("class", p.built === true ? "site built" : "site unbuilt");
          }
          else sg = symbol("circle", 4, "#666", "#fff", fg);
          scaled.push({ node: sg, x: q[0], y: q[1] });
        });
        tooltip(fg, featureName(p));
      }
    });
    g.style.display = L.visible ? "" : "none";

    const row = h("li", null, null, li);
    const id = "layer-" + L.name;
    const cb = document.createElement("input");
    cb.type = "checkbox"; cb.id = id; cb.checked = L.visible; cb.setAttribute("data-layer", L.name);
    cb.addEventListener("change", function () { g.style.display = cb.checked ? "" : "none"; renderLegend(); });
    row.appendChild(cb);
    const lab = document.createElement("label");
    lab.htmlFor = id;
    lab.appendChild(document.createTextNode(" " + L.zh + (L.en ? " " + L.en : "") + " "));
    h("span", "(" + L.features.length + ")", "count", lab);
    row.appendChild(lab);
  }

  // ---------------------------------------------------------------- legend
  function swatch(draw) {
    const s = document.createElementNS(NS, "svg");
    s.setAttribute("width", 28); s.setAttribute("height", 18);
    const g = el("g", { transform: "translate(14,9)" }, s);
    draw(g);
    return s;
  }
  function entry(parent, draw, text) {
    const d = h("div", null, "entry", parent);
    d.appendChild(swatch(draw));
    h("span", text, null, d);
  }
  function renderLegend() {
    const box = document.getElementById("legend");
    box.textContent = "";
    for (const L of DATA.layers.slice().reverse()) {
      const cb = document.getElementById("layer-" + L.name);
      if (!cb || !cb.checked || !L.features.length) continue;
      h("div", L.zh + (L.en ? " " + L.en : ""), "group", box);
      const props = L.features.map(f => f.properties);
      if (L.name === "schools") {
        entry(box, g => symbol("circle", 6, COMPLIANCE["true"], "#fff", g), "规划后达标 passes after plan");
        entry(box, g => symbol("circle", 6, COMPLIANCE["false"], "#fff", g), "规划后未达标 fails after plan");
        entry(box, g => symbol("circle", 6, COMPLIANCE["null"], "#fff", g), "不参评/无数据 not assessed");
        const present = STATUS.filter(s => props.some(p => p.status === s));
        for (const s of present) entry(box, g => symbol(statusShape(s), 6, "#777", "#fff", g),
          (DATA.value_labels.status || {})[s] || s);
      } else if (L.name === "teacher_flows") {
        const cats = [...new Set(props.map(p => p.category))];
        for (const c of cats) {
          entry(box, g => el("path", { d: "M-12,0L12,0", stroke: flowColor(c), "stroke-width": 4 }, g),
            (DATA.value_labels.category || {})[c] || String(c));
        }
        h("div", "线宽表示人数，箭头指向调入学校 width = teachers, arrow points to the receiving school", "small", box);
      } else if (L.name.startsWith("catchments")) {
        const before = L.name.indexOf("before") >= 0;
        entry(box, g => el("rect", { x: -12, y: -7, width: 24, height: 14, fill: "#80b1d3",
          "fill-opacity": before ? 0.35 : 0.5, stroke: before ? "#555" : "#fff",
          "stroke-dasharray": before ? "4 3" : "none" }, g),
          "每校一色（前后同色） one colour per school, same before and after");
      } else if (L.name === "townships") {
        entry(box, g => el("path", { d: "M-12,0L12,0", stroke: "#333", "stroke-width": 1.5,
          "stroke-dasharray": "6 3" }, g), "乡镇界 township boundary");
      } else if (L.name === "settlements") {
        entry(box, g => symbol("circle", 2.5, "#555", "none", g), "居民点 settlement");
        const n = props.filter(p => p.changed === true).length;
        if (n) entry(box, g => { symbol("circle", 2.5, "#555", "none", g);
          el("circle", { r: 6, fill: "none", stroke: REZONED, "stroke-width": 1.4 }, g); },
          "调整学区的居民点 re-zoned (" + n + ")");
      } else if (L.name === "new_sites") {
        const nb = props.filter(p => p.built === true).length;
        if (nb) entry(box, g => symbol("diamond", 7, BUILT, "#fff", g), "规划新建学校校址 site built (" + nb + ")");
        if (props.length - nb) entry(box, g => symbol("diamond", 5, "#fff", UNBUILT, g),
          "备选校址（未使用） candidate site not used (" + (props.length - nb) + ")");
      } else if (L.kind === "polygon") {
        entry(box, g => el("rect", { x: -12, y: -7, width: 24, height: 14, fill: "#bbb", "fill-opacity": 0.3,
          stroke: "#666" }, g), L.zh);
      } else if (L.kind === "line") {
        entry(box, g => el("path", { d: "M-12,0L12,0", stroke: "#666", "stroke-width": 1.5 }, g), L.zh);
      } else {
        entry(box, g => symbol("circle", 4, "#666", "#fff", g), L.zh);
      }
    }
  }

  // ---------------------------------------------------------------- side panel
  function fieldLabel(k) { return (DATA.field_labels || {})[k] || k; }
  function valueLabel(k, v) {
    if (v === null || v === undefined) return "—";
    if (v === true) return "是 yes";
    if (v === false) return "否 no";
    const m = (DATA.value_labels || {})[k];
    return m && m[v] ? m[v] : String(v);
  }
  // not listed: fill colours, and "<x>_zh" when "<x>" is shown with its bilingual label
  function hiddenField(p, k) {
    if (k === "color") return true;
    if (k.endsWith("_zh") && k !== "name_zh") {
      const base = k.slice(0, -3);
      return base in p && Boolean((DATA.value_labels || {})[base]);
    }
    return false;
  }
  function attrTable(p, parent) {
    const t = h("table", null, "attributes", parent);
    for (const k in p) {
      if (hiddenField(p, k)) continue;
      const tr = h("tr", null, null, t);
      h("th", fieldLabel(k), null, tr);
      h("td", valueLabel(k, p[k]), null, tr);
    }
  }
  function verdict(v) {
    if (v === true) return ["达标 passes", "met"];
    if (v === false) return ["未达标 fails", "unmet"];
    return ["不参评 not assessed", "na"];
  }
  function valueCell(tr, value, met, pct) {
    const td = h("td", null, "num", tr);
    if (value === null || value === undefined) { h("span", "—", "na", td); return; }
    h("span", value + " ", null, td);
    h("span", met === true ? "✓" : met === false ? "✘" : "", met === true ? "met" : met === false ? "unmet" : "na", td);
    if (pct) { h("br", null, null, td); h("span", pct, "en", td); }
  }
  function showSchool(p) {
    const id = String(p.school_id);
    h("h2", (p.name_zh || "") + " " + id, null, panelBody);
    const parts = DATA.details ? DATA.details[id] || [] : [];
    if (!DATA.details) h("p", "未提供指标数据 no indicator data supplied", "na", panelBody);
    else if (!parts.length) {
      h("p", "该校无评估指标（不参评或无在校生） no indicators: not assessed or no pupils", "na", panelBody);
    }
    for (const part of parts) {
      const sec = h("section", null, "school-part", panelBody);
      sec.setAttribute("data-stage", part.stage);
      h("h3", part.stage_zh + " " + part.stage, null, sec);
      const vb = verdict(part.passes_before), va = verdict(part.passes_after);
      const v = h("div", null, "verdict", sec);
      h("span", "规划前 before: ", null, v); h("span", vb[0], vb[1], v);
      h("span", " → 规划后 after: ", null, v); h("span", va[0], va[1], v);
      for (const [when, zh, en] of [["规划前 before", part.reason_before_zh, part.reason_before_en],
                                    ["规划后 after", part.reason_after_zh, part.reason_after_en]]) {
        if (!zh) continue;
        const r = h("div", null, "reason small", sec);
        h("b", when + "：", null, r);
        h("span", zh, null, r);
        h("div", en, "en", r);
      }
      const t = h("table", null, "indicators", sec);
      const hr = h("tr", null, null, t);
      for (const c of ["指标 indicator", "规划前 before", "规划后 after", "标准 standard"]) h("th", c, null, hr);
      for (const r of part.rows) {
        const tr = h("tr", null, null, t);
        tr.setAttribute("data-indicator-number", r.number);
        const td = h("td", null, null, tr);
        h("span", r.number + ". " + r.zh, null, td);
        h("br", null, null, td);
        h("span", r.en + " (" + r.unit_zh + ")", "en", td);
        valueCell(tr, r.before, r.met_before, r.pct_before);
        valueCell(tr, r.after, r.met_after, r.pct_after);
        h("td", r.threshold === null ? "—" : r.threshold, "num", tr);
      }
    }
    if (parts.length) {
      h("p", "✓ 达标 met, ✘ 未达标 not met; 百分比为达到标准的比例（截尾） % = share of the standard (truncated).",
        "small", panelBody);
    }
    h("h3", "属性 attributes", null, panelBody);
    attrTable(p, panelBody);
  }
  let selected = null;
  function showFeature(layerName, fid) {
    const L = DATA.layers.find(x => x.name === layerName);
    if (!L) return;
    const f = L.features[fid];
    panelBody.textContent = "";
    panel.setAttribute("data-layer", layerName);
    if (layerName === "schools" && f.properties.school_id != null) showSchool(f.properties);
    else {
      h("h2", L.zh + (L.en ? " " + L.en : ""), null, panelBody);
      attrTable(f.properties, panelBody);
    }
    panel.hidden = false;
  }

  // ---------------------------------------------------------------- interaction
  let drag = null, moved = false;
  svg.addEventListener("pointerdown", function (e) {
    drag = { x: e.clientX, y: e.clientY, tx: view.tx, ty: view.ty };
    moved = false;
  });
  svg.addEventListener("pointermove", function (e) {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!moved && Math.abs(dx) + Math.abs(dy) > 4) { moved = true; svg.classList.add("dragging"); }
    if (moved) { view.tx = drag.tx + dx; view.ty = drag.ty + dy; requestView(); }
  });
  function endDrag() { drag = null; svg.classList.remove("dragging"); }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointerleave", endDrag);
  svg.addEventListener("click", function (e) {
    if (moved) { moved = false; return; }
    const node = e.target.closest("[data-fid]");
    if (selected) selected.classList.remove("selected");
    if (!node) return;
    selected = node;
    node.classList.add("selected");
    showFeature(node.getAttribute("data-layer"), Number(node.getAttribute("data-fid")));
  });
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top, true);
  }, { passive: false });
  function centreZoom(f) { zoomAt(f, (svg.clientWidth || 800) / 2, (svg.clientHeight || 600) / 2); }
  document.getElementById("zoom-in").addEventListener("click", () => centreZoom(1.5));
  document.getElementById("zoom-out").addEventListener("click", () => centreZoom(1 / 1.5));
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("panel-close").addEventListener("click", function () {
    panel.hidden = true;
    if (selected) { selected.classList.remove("selected"); selected = null; }
  });

  // ---------------------------------------------------------------- go
  const list = document.getElementById("layer-list");
  const listed = DATA.layers.slice().reverse();  // top layer first in the list
  const rows = {};
  for (const L of DATA.layers) {
    const tmp = document.createElement("ul");
    drawLayer(L, tmp);
    rows[L.name] = tmp.firstChild;
  }
  for (const L of listed) list.appendChild(rows[L.name]);
  renderLegend();
  if (!DATA.bounds) document.getElementById("empty").hidden = false;
  fit();
  // keep the map centre where it was when the map area changes size (side panel opens, window resized)
  let size = [svg.clientWidth, svg.clientHeight];
  new ResizeObserver(function () {
    const w = svg.clientWidth, hh = svg.clientHeight;
    if (!w || !hh) return;
    view.tx += (w - size[0]) / 2;
    view.ty += (hh - size[1]) / 2;
    size = [w, hh];
    applyView();
  }).observe(svg);
  document.body.setAttribute("data-ready", "1");
})();
"""
