"""The map layers of a plan: one dict of GeoDataFrames for the GeoPackage, the static maps and the HTML map.

Every layer is in ``county.crs`` (metres). Layers, in order:

``townships``
    township_id, name_zh, kind.
``settlements``
    settlement_id, name_zh, township_id, area_type, pupils_primary, pupils_junior,
    primary_before, primary_after, junior_before, junior_after (catchment school ids; after
    is empty where the settlement has no pupils of the stage), changed_primary,
    changed_junior, changed, time_min_primary, time_min_junior (to the school after).
``schools``
    Every school before or after the plan: school_id, name_zh, kind, ownership,
    township_id, status (existing / new / expanded / closed) and status_zh, pupils before
    and after per stage, passes_<stage>_before / passes_<stage>_after (True / False; empty
    where the part is not assessed or does not exist), n_met_<stage>_before/after,
    compliance_before / compliance_after (``pass``: every assessed part passes; ``fail``;
    ``not_assessed``) with compliance_after_zh, teachers_in, teachers_out, hires, projects_zh.
``new_sites``
    Candidate sites: site_id, name_zh, township_id, stage, land_area_m2, max_classes,
    land_cost_yuan, built, option, cost_yuan (NaN if not built).
``catchments_before_primary``, ``catchments_after_primary``, ``catchments_before_junior``, ``catchments_after_junior``
    :func:`planner.report.geometry.catchment_polygons` plus ``color`` (hex; one colour per
    school and stage, the same before and after, neighbouring catchments differ).
``teacher_flows``
    One line per from-school, to-school, stage, category and kind: from_school_id,
    from_name_zh, to_school_id, to_name_zh, stage, category, category_zh, kind (rotation or
    redeployment), kind_zh, count, time_min, within_cap.
``projects``
    One point per priced capital project at its school or site
    (:func:`planner.report.projects.project_lines`): kind, kind_zh, school_id, name_zh,
    township_zh, item, item_zh, quantity, unit_zh, content_zh, serves_zh, effect_zh,
    pupils_served, cost_yuan.
``unmet``
    One point per standard still unmet after the plan (``plan/unmet.csv``), at its school (or its
    settlement for a trip beyond the cap): source, item, item_zh, school_id, name_zh, stage,
    settlement_id, shortfall, unit, pupils_affected, binds, binds_zh, detail_zh, and the cost to meet
    it (:func:`planner.report.marginal.cost_to_meet`): cost_kind, cost_yuan (NaN when not priced).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.adjacency import settlement_cells
from planner.assess import ROTATION_CATEGORIES
from planner.county import County
from planner.plan import Plan
from planner.report.geometry import STAGES, catchment_polygons, current_assignments

log = logging.getLogger(__name__)

#: layer names in the order they are written
LAYER_NAMES = (
    "townships",
    "settlements",
    "schools",
    "new_sites",
    "catchments_before_primary",
    "catchments_after_primary",
    "catchments_before_junior",
    "catchments_after_junior",
    "teacher_flows",
    "projects",
    "unmet",
)

STATUS_ZH = {"existing": "现有", "new": "新建", "expanded": "改扩建", "closed": "撤并"}
COMPLIANCE_ZH = {"pass": "达标", "fail": "未达标", "not_assessed": "不参评"}
KIND_ZH = {"rotation": "交流轮岗", "redeployment": "调配（新校）"}

#: light fill colours for catchments (ColorBrewer Set3/Pastel2 without the reds and strong greens that mark compliance)
CATCHMENT_PALETTE = (
    "#8dd3c7", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#fccde5",
    "#d9d9d9", "#bc80bd", "#ffed6f", "#c6dbef", "#e5d8bd", "#b3e2cd",
)  # fmt: skip


def plan_layers(plan: Plan, county: County) -> dict[str, gpd.GeoDataFrame]:
    """All map layers of a plan.

    Parameters
    ----------
    plan : Plan
        The plan (its assignments, projects, flows, before/after assessments, after_county).
    county : County
        The county before the plan (the one the plan was made for).

    Returns
    -------
    dict of str to GeoDataFrame
        Keyed by :data:`LAYER_NAMES`, in that order, each in ``county.crs``.
    """
    after_county = plan.after_county
    cells = settlement_cells(county)
    before_assign = current_assignments(county)
    layers: dict[str, gpd.GeoDataFrame] = {
        "townships": _townships(county),
        "settlements": _settlements(county, plan),
        "schools": _schools(county, plan),
        "new_sites": _new_sites(county, plan),
    }
    catch: dict[str, gpd.GeoDataFrame] = {}
    for stage in STAGES:
        before = catchment_polygons(county, before_assign, stage, cells=cells)
        after = catchment_polygons(after_county, plan.assignments, stage, cells=cells)
        colors = catchment_colors([before, after])
        for when, gdf in (("before", before), ("after", after)):
            gdf["color"] = gdf["school_id"].map(colors).fillna(CATCHMENT_PALETTE[0])
            catch[f"{when}_{stage}"] = gdf
    for stage in STAGES:
        for when in ("before", "after"):
            layers[f"catchments_{when}_{stage}"] = catch[f"{when}_{stage}"]
    layers["teacher_flows"] = _teacher_flows(county, plan)
    points = _points(county, plan)
    layers["projects"] = _projects(county, plan, points)
    layers["unmet"] = _unmet(county, plan, points)
    return {k: layers[k] for k in LAYER_NAMES}


def _points(county: County, plan: Plan) -> dict[str, object]:
    """Point of every school, opened site and settlement, by id (schools before sites before settlements)."""
    pts: dict[str, object] = {}
    for frame in (county.settlements, county.candidate_sites, county.schools, plan.after_county.schools):
        if len(frame):
            pts.update(zip(frame.index.astype(str), frame.geometry, strict=True))
    return pts


def _projects(county: County, plan: Plan, points: dict[str, object]) -> gpd.GeoDataFrame:
    from planner.report.projects import LINE_COLUMNS, project_lines

    lines = project_lines(plan, county)
    geoms = [points.get(str(s)) for s in lines["school_id"]]
    out = lines[list(LINE_COLUMNS)].copy()
    out["pupils_served"] = out["pupils_served"].astype(int)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, crs=county.crs), crs=county.crs)


UNMET_COLUMNS = ["source", "item", "item_zh", "school_id", "name_zh", "stage", "settlement_id", "shortfall", "unit",
                 "pupils_affected", "binds", "binds_zh", "detail_zh", "cost_kind", "cost_yuan"]  # fmt: skip


def _unmet(county: County, plan: Plan, points: dict[str, object]) -> gpd.GeoDataFrame:
    from planner.report.marginal import cost_to_meet

    u = plan.extra_tables.get("unmet")
    if u is None or not len(u):
        return gpd.GeoDataFrame(pd.DataFrame(columns=UNMET_COLUMNS), geometry=gpd.GeoSeries([], crs=county.crs))
    u = u.copy()
    for col in ("school_id", "stage", "settlement_id"):
        u[col] = u[col].fillna("").astype(str) if col in u.columns else ""
    costs = cost_to_meet(plan, county)
    key = ["item", "school_id", "stage"]
    if len(costs):
        c = costs.assign(school_id=costs["school_id"].fillna("").astype(str),
                         stage=costs["stage"].fillna("").astype(str))  # fmt: skip
        c = c.drop_duplicates(key)[[*key, "cost_kind", "cost_yuan"]]
        u = u.merge(c, on=key, how="left")
    else:
        u["cost_kind"], u["cost_yuan"] = pd.NA, np.nan
    u["cost_kind"] = u["cost_kind"].where(u["source"] != "distance", "not_priced").fillna("not_priced")
    u["cost_yuan"] = u["cost_yuan"].astype(float)
    where = [sett if sett else sid for sid, sett in zip(u["school_id"], u["settlement_id"], strict=True)]
    geoms = [points.get(w) for w in where]
    return gpd.GeoDataFrame(u[UNMET_COLUMNS], geometry=gpd.GeoSeries(geoms, crs=county.crs), crs=county.crs)


def catchment_colors(layers: list[gpd.GeoDataFrame]) -> dict[str, str]:
    """A colour per school such that catchments that touch (in any of ``layers``) differ.

    Greedy colouring of the adjacency graph (most neighbours first, then school_id) with
    :data:`CATCHMENT_PALETTE`; deterministic, so a school keeps its colour before and after the
    plan, in the GeoPackage and in the HTML map. Catchments within half a metre (5e-6 degree in a
    geographic CRS) count as touching; layers without ``school_id`` or rows are skipped.
    """
    neighbours: dict[str, set[str]] = {}
    for gdf in layers:
        if "school_id" not in gdf.columns or gdf.empty:
            continue
        ids = gdf["school_id"].astype(str).to_numpy()
        for sid in ids:
            neighbours.setdefault(sid, set())
        geoms = gdf.geometry.to_numpy()
        geoms = np.where(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)), geoms, None)
        tol = 5e-6 if gdf.crs is not None and gdf.crs.is_geographic else 0.5
        left, right = shapely.STRtree(geoms).query(shapely.buffer(geoms, tol), predicate="intersects")
        for i, j in zip(left, right, strict=True):
            if ids[i] != ids[j]:
                neighbours[ids[i]].add(ids[j])
                neighbours[ids[j]].add(ids[i])
    order = sorted(neighbours, key=lambda s: (-len(neighbours[s]), s))
    colors: dict[str, str] = {}
    for sid in order:
        used = [colors[m] for m in neighbours[sid] if m in colors]
        free = [c for c in CATCHMENT_PALETTE if c not in used]
        if free:
            colors[sid] = free[0]
        else:  # more than 12 neighbours: least-used colour among them
            colors[sid] = min(CATCHMENT_PALETTE, key=lambda c: (used.count(c), CATCHMENT_PALETTE.index(c)))
    return colors


def _townships(county: County) -> gpd.GeoDataFrame:
    t = county.townships
    return gpd.GeoDataFrame(
        {
            "township_id": t["township_id"].astype(str).to_numpy(),
            "name_zh": t["name_zh"].astype(str).to_numpy(),
            "kind": t["kind"].astype(str).to_numpy(),
        },
        geometry=t.geometry.to_numpy(),
        crs=county.crs,
    )


def _school_or_na(col: pd.Series) -> pd.Series:
    s = col.astype("string").str.strip()
    return s.where(s.notna() & s.ne(""), pd.NA)


def _settlements(county: County, plan: Plan) -> gpd.GeoDataFrame:
    s = county.settlements
    ids = s.index.astype(str)
    out = pd.DataFrame(
        {
            "settlement_id": ids,
            "name_zh": s["name_zh"].astype(str).to_numpy(),
            "township_id": s["township_id"].astype(str).to_numpy(),
            "area_type": s["area_type"].astype(str).to_numpy(),
            "pupils_primary": s["pupils_primary"].astype(int).to_numpy(),
            "pupils_junior": s["pupils_junior"].astype(int).to_numpy(),
        }
    )
    changed_any = np.zeros(len(out), dtype=bool)
    for stage in STAGES:
        before = _school_or_na(pd.Series(s[f"school_{stage}_id"].to_numpy(), index=ids))
        a = plan.assignments[plan.assignments["stage"] == stage].set_index("settlement_id")
        after = a["school_id"].astype("string").reindex(ids)
        time_min = a["time_min"].astype(float).reindex(ids) if "time_min" in a.columns else pd.Series(np.nan, ids)
        changed = (after.notna() & (after != before).fillna(True)).to_numpy(dtype=bool)
        out[f"{stage}_before"] = before.to_numpy()
        out[f"{stage}_after"] = after.to_numpy()
        out[f"changed_{stage}"] = changed
        out[f"time_min_{stage}"] = time_min.to_numpy()
        changed_any |= changed
    out["changed"] = changed_any
    cols = ["settlement_id", "name_zh", "township_id", "area_type", "pupils_primary", "pupils_junior",
            "primary_before", "primary_after", "junior_before", "junior_after", "changed_primary", "changed_junior",
            "changed", "time_min_primary", "time_min_junior"]  # fmt: skip
    return gpd.GeoDataFrame(out[cols], geometry=s.geometry.to_numpy(), crs=county.crs)


def _passes(assessment: object) -> pd.DataFrame:
    """(school_id, stage) -> passes (True/False/NA) and n_met, from an Assessment's schools table."""
    t = assessment.schools  # type: ignore[attr-defined]
    t = t.assign(school_id=t["school_id"].astype(str)).set_index(["school_id", "stage"])
    passes = t["passes"].astype("boolean")
    if "assessed" in t.columns:
        passes = passes.where(t["assessed"].astype("boolean").fillna(False), pd.NA)
    return pd.DataFrame({"passes": passes, "n_met": t["n_met"].astype("Int64")})


def _compliance(passes: pd.DataFrame) -> str:
    """pass / fail / not_assessed from the pass flags of one school's stages."""
    vals = [v for v in passes if v is not pd.NA and not pd.isna(v)]
    if not vals:
        return "not_assessed"
    return "pass" if all(bool(v) for v in vals) else "fail"


def _schools(county: County, plan: Plan) -> gpd.GeoDataFrame:
    before, after = county.schools, plan.after_county.schools
    before_ids = [str(i) for i in before.index]
    ids = before_ids + [str(i) for i in after.index if str(i) not in set(before_ids)]
    proj = plan.projects
    kinds = proj.groupby("kind")["school_id"].apply(lambda s: set(s.astype(str))) if len(proj) else pd.Series()
    closed = kinds.get("closure", set()) | (set(before_ids) - {str(i) for i in after.index})
    expanded = kinds.get("expansion", set())
    rows = []
    pb, pa = _passes(plan.before), _passes(plan.after)
    ex = plan.exchange_list
    t_in = ex.groupby(ex["to_school_id"].astype(str)).size() if len(ex) else pd.Series(dtype=int)
    t_out = ex.groupby(ex["from_school_id"].astype(str)).size() if len(ex) else pd.Series(dtype=int)
    hires = plan.hires.groupby(plan.hires["school_id"].astype(str))["count"].sum() if len(plan.hires) else pd.Series()
    details = (
        proj.groupby(proj["school_id"].astype(str))["detail_zh"].apply(lambda d: "；".join(map(str, d)))
        if len(proj) and "detail_zh" in proj.columns
        else pd.Series(dtype=str)
    )
    geoms = []
    for sid in ids:
        row_after = after.loc[sid] if sid in after.index else None
        row = row_after if row_after is not None else before.loc[sid]
        status = (
            "new" if sid not in before.index else "closed" if sid in closed else "expanded" if sid in expanded
            else "existing"
        )  # fmt: skip
        rec: dict[str, object] = {
            "school_id": sid,
            "name_zh": str(row["name_zh"]),
            "kind": str(row["kind"]),
            "ownership": str(row["ownership"]),
            "township_id": str(row["township_id"]),
            "status": status,
            "status_zh": STATUS_ZH[status],
        }
        for stage in STAGES:
            rec[f"pupils_{stage}_before"] = int(before.loc[sid, f"pupils_{stage}"]) if sid in before.index else 0
            rec[f"pupils_{stage}_after"] = int(row_after[f"pupils_{stage}"]) if row_after is not None else 0
        for when, table in (("before", pb), ("after", pa)):
            flags = []
            for stage in STAGES:
                key = (sid, stage)
                p = table["passes"].get(key, pd.NA) if key in table.index else pd.NA
                rec[f"passes_{stage}_{when}"] = p
                rec[f"n_met_{stage}_{when}"] = table["n_met"].get(key, pd.NA) if key in table.index else pd.NA
                flags.append(p)
            rec[f"compliance_{when}"] = _compliance(pd.Series(flags, dtype="boolean"))
        rec["compliance_after_zh"] = COMPLIANCE_ZH[str(rec["compliance_after"])]
        rec["teachers_in"] = int(t_in.get(sid, 0))
        rec["teachers_out"] = int(t_out.get(sid, 0))
        rec["hires"] = int(hires.get(sid, 0))
        rec["projects_zh"] = str(details.get(sid, ""))
        rows.append(rec)
        geoms.append(row.geometry)
    out = pd.DataFrame(rows)
    for col in out.columns:
        if col.startswith("passes_"):
            out[col] = out[col].astype("boolean")
        elif col.startswith("n_met_"):
            out[col] = out[col].astype("Int64")
    return gpd.GeoDataFrame(out, geometry=geoms, crs=county.crs)


def _new_sites(county: County, plan: Plan) -> gpd.GeoDataFrame:
    sites = county.candidate_sites
    proj = plan.projects
    built = proj[proj["kind"] == "new_school"] if len(proj) else proj
    built = built.set_index(built["school_id"].astype(str)) if len(built) else built
    ids = sites.index.astype(str)
    out = pd.DataFrame(
        {
            "site_id": ids,
            "name_zh": sites["name_zh"].astype(str).to_numpy() if len(sites) else [],
            "township_id": sites["township_id"].astype(str).to_numpy() if len(sites) else [],
            "stage": sites["stage"].astype(str).to_numpy() if len(sites) else [],
            "land_area_m2": sites["land_area_m2"].astype(float).to_numpy() if len(sites) else [],
            "max_classes": sites["max_classes"].astype(int).to_numpy() if len(sites) else [],
            "land_cost_yuan": sites["land_cost_yuan"].astype(float).to_numpy() if len(sites) else [],
        }
    )
    out["built"] = [sid in built.index for sid in ids]
    out["option"] = pd.array([str(built.loc[sid, "item"]) if sid in built.index else pd.NA for sid in ids],
                             dtype="string")  # fmt: skip
    out["cost_yuan"] = [float(built.loc[sid, "cost_yuan"]) if sid in built.index else np.nan for sid in ids]
    return gpd.GeoDataFrame(out, geometry=sites.geometry.to_numpy() if len(sites) else [], crs=county.crs)


FLOW_COLUMNS = ["from_school_id", "from_name_zh", "to_school_id", "to_name_zh", "stage", "category", "category_zh",
                "kind", "kind_zh", "count", "time_min", "within_cap"]  # fmt: skip


def _teacher_flows(county: County, plan: Plan) -> gpd.GeoDataFrame:
    f = plan.flows
    if not len(f):
        return gpd.GeoDataFrame(pd.DataFrame(columns=FLOW_COLUMNS), geometry=gpd.GeoSeries([], crs=county.crs))
    schools = pd.concat([county.schools[["name_zh", "geometry"]], plan.after_county.schools[["name_zh", "geometry"]]])
    schools = schools[~schools.index.duplicated(keep="first")]
    schools.index = schools.index.astype(str)
    f = f.assign(
        from_school_id=f["from_school_id"].astype(str),
        to_school_id=f["to_school_id"].astype(str),
        kind=np.where(f["eligible"].astype(bool), "rotation", "redeployment"),
    )
    g = (
        f.groupby(["from_school_id", "to_school_id", "stage", "category", "kind"], sort=True)
        .agg(count=("count", "sum"), time_min=("time_min", "first"), within_cap=("within_cap", "all"))
        .reset_index()
    )
    g["from_name_zh"] = g["from_school_id"].map(schools["name_zh"]).astype(str)
    g["to_name_zh"] = g["to_school_id"].map(schools["name_zh"]).astype(str)
    g["category_zh"] = g["category"].map(ROTATION_CATEGORIES).fillna(g["category"])
    g["kind_zh"] = g["kind"].map(KIND_ZH)
    g["count"] = g["count"].astype(int)
    lines = [
        shapely.LineString([schools.geometry[a], schools.geometry[b]])
        for a, b in zip(g["from_school_id"], g["to_school_id"], strict=True)
    ]
    return gpd.GeoDataFrame(g[FLOW_COLUMNS], geometry=lines, crs=county.crs)
