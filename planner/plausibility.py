"""Plausibility of a county's data: ranges of derived quantities, and the coordinate datum.

The ranges are :data:`planner.schema.PLAUSIBILITY` (documented in ``docs/data.md``). Each
rule's quantity is computed here from the validated tables, in pure functions; the loader
turns the first error into a :class:`~planner.errors.DataError` and keeps the warnings for
the summary. The datum check (:func:`datum_findings`) compares how close the points lie to
the roads as declared and as each other datum would place them: points typed in GCJ-02
(AMap, Tencent) but declared WGS-84 sit a few hundred metres off the roads, in the one
direction the GCJ-02 shift points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.datum import from_wgs84, to_wgs84
from planner.parameters import Parameters
from planner.schema import PLAUSIBILITY, PlausibilityRule

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One value outside a plausible range.

    Attributes
    ----------
    level : {"error", "warning"}
        Error (outside the error bounds) or borderline (outside the warning bounds only).
    table : str
        Table name (``schools``, ``settlements``) or ``parameters``.
    position : int or None
        0-based row position in the table; None for a parameter.
    ident : str or None
        Identifier of the record, e.g. ``"school_id P001"``.
    field : str
        Field at fault.
    rule : str
        The rule broken, one line.
    """

    level: Level
    table: str
    position: int | None
    ident: str | None
    field: str
    rule: str


@dataclass(frozen=True)
class Quantity:
    """Values of a rule's quantity for the rows it applies to."""

    positions: np.ndarray  # 0-based row positions
    values: np.ndarray  # float, may be inf
    detail: list[str]  # how each value was computed, for the message


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "∞"
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 0.01):
        return f"{x:.3g}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _ratio(num: pd.Series, den: pd.Series, mask: pd.Series, num_name: str, den_name: str) -> Quantity:
    m = mask.to_numpy(dtype=bool)
    n = num.to_numpy(dtype=float)[m]
    d = den.to_numpy(dtype=float)[m]
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(d > 0, n / np.where(d > 0, d, 1), np.inf)
    detail = [f"{num_name} {_fmt(a)} / {den_name} {_fmt(b)}" for a, b in zip(n, d, strict=True)]
    return Quantity(np.flatnonzero(m), v, detail)


def _pupils(s: pd.DataFrame) -> pd.Series:
    return s["pupils_primary"].astype(float) + s["pupils_junior"].astype(float)


def _schools_quantities(
    schools: pd.DataFrame, teachers: pd.DataFrame, settlements: gpd.GeoDataFrame, townships: gpd.GeoDataFrame
) -> dict[str, Quantity]:
    s = schools.reset_index(drop=True)
    q: dict[str, Quantity] = {}
    compulsory = s["kind"] != "special"
    for stage in ("primary", "junior"):
        classes = s[f"classes_{stage}"].astype(float)
        q[f"pupils_per_class_{stage}"] = _ratio(
            s[f"pupils_{stage}"], classes, compulsory & (classes > 0), f"pupils_{stage}", f"classes_{stage}"
        )
    classes = s["classes_primary"].astype(float) + s["classes_junior"].astype(float)
    q["classes_per_classroom"] = _ratio(classes, s["classrooms"], classes > 0, "classes", "classrooms")
    pupils = _pupils(s)
    n_teachers = s["school_id"].map(teachers.groupby("school_id").size()).fillna(0).astype(float)
    q["pupils_per_staff"] = _ratio(pupils, s["staff_total"], compulsory & (pupils > 0), "pupils", "staff_total")
    q["pupils_per_teacher"] = _ratio(pupils, n_teachers, compulsory & (pupils > 0), "pupils", "listed teachers")
    q["floor_area_per_pupil"] = _ratio(s["floor_area_m2"], pupils, pupils > 0, "floor_area_m2", "pupils")
    q["sports_area_per_pupil"] = _ratio(
        s["sports_area_m2"], pupils, (pupils > 0) & (s["sports_area_m2"] > 0), "sports_area_m2", "pupils"
    )
    q["equipment_per_pupil"] = _ratio(
        s["equipment_value_yuan"],
        pupils,
        (pupils > 0) & (s["equipment_value_yuan"] > 0),
        "equipment_value_yuan",
        "pupils",
    )
    for kind in ("music", "art"):
        rooms = s[f"{kind}_rooms"].astype(float)
        q[f"{kind}_room_area"] = _ratio(
            s[f"{kind}_rooms_area_m2"], rooms, rooms > 0, f"{kind}_rooms_area_m2", f"{kind}_rooms"
        )
    # distances: to the school's own settlement point, and to its township polygon
    home = settlements.geometry.reindex(s["settlement_id"].to_numpy())
    dist_km = s.geometry.distance(gpd.GeoSeries(home.to_numpy(), crs=s.crs, index=s.index)).to_numpy() / 1000
    q["school_settlement_km"] = Quantity(np.arange(len(s)), dist_km, [f"settlement {v}" for v in s["settlement_id"]])
    q["school_township_km"] = _township_distance(s, townships)
    return q


def _township_distance(points: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> Quantity:
    polys = townships.geometry.reindex(points["township_id"].to_numpy())
    d = points.geometry.distance(gpd.GeoSeries(polys.to_numpy(), crs=points.crs, index=points.index))
    inside = townships.reset_index(drop=True)
    holder = inside.sindex.query(points.geometry.to_numpy(), predicate="within")
    where: dict[int, str] = {}
    for p, t in zip(*holder, strict=True):
        where.setdefault(int(p), str(inside["township_id"].iloc[int(t)]))
    detail = [
        f"township {tid}" + (f"; the point lies in township {where[i]}" if i in where and where[i] != tid else "")
        for i, tid in enumerate(points["township_id"])
    ]
    return Quantity(np.arange(len(points)), d.to_numpy() / 1000, detail)


def _settlement_quantities(settlements: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> dict[str, Quantity]:
    v = settlements.reset_index(drop=True)
    children = v[[f"age_{a}" for a in range(15)]].astype(float).sum(axis=1)
    return {
        "children_per_resident": _ratio(children, v["population"], children > 0, "children aged 0-14", "population"),
        "settlement_township_km": _township_distance(v, townships),
    }


def _parameter_values(params: Parameters) -> dict[str, list[tuple[str, float, str]]]:
    """Per rule key: (field, value, detail) of the parameters it checks (zeros of budgets skipped)."""
    b, u = params.budget, params.unit_costs
    out: dict[str, list[tuple[str, float, str]]] = {
        "capital_budget": [("budget.capital_yuan", b.capital_yuan, "")] if b.capital_yuan else [],
        "recurrent_budget": (
            [("budget.recurrent_yuan_per_year", b.recurrent_yuan_per_year, "")] if b.recurrent_yuan_per_year else []
        ),
        "building_cost": [("unit_costs.building_yuan_per_m2", u.building_yuan_per_m2, "")],
        "sports_ground_cost": [("unit_costs.sports_ground_yuan_per_m2", u.sports_ground_yuan_per_m2, "")],
        "room_fitting_cost": [
            (f"unit_costs.{k}", getattr(u, k), "") for k in ("multimedia_room_yuan", "music_room_yuan", "art_room_yuan")
        ],
        "teacher_cost": [("unit_costs.teacher_hire_yuan_per_year", u.teacher_hire_yuan_per_year, "")],
        "rotation_allowance": [("unit_costs.rotation_allowance_yuan_per_year", u.rotation_allowance_yuan_per_year, "")],
        "new_school_cost_per_class": [
            (
                f"new_school_options[{i}].cost_yuan",
                o.cost_yuan / o.classes,
                f"option {o.option_id}: cost_yuan {_fmt(o.cost_yuan)} / classes {o.classes}",
            )
            for i, o in enumerate(params.new_school_options)
        ],
    }
    return out


def classify(rule: PlausibilityRule, value: float) -> Level | None:
    """``"error"``, ``"warning"`` or None (plausible) for one value of ``rule``'s quantity."""
    if np.isnan(value):
        return None
    if (rule.error_low is not None and value < rule.error_low) or (
        rule.error_high is not None and value > rule.error_high
    ):
        return "error"
    if (rule.warn_low is not None and value < rule.warn_low) or (rule.warn_high is not None and value > rule.warn_high):
        return "warning"
    return None


def _range_text(rule: PlausibilityRule, level: Level) -> str:
    lo, hi = (rule.error_low, rule.error_high) if level == "error" else (rule.warn_low, rule.warn_high)
    if lo is not None and hi is not None:
        span = f"{_fmt(lo)}-{_fmt(hi)}"
    elif hi is not None:
        span = f"at most {_fmt(hi)}"
    else:
        span = f"at least {_fmt(lo or 0)}"
    kind = "plausible range" if level == "error" else "usual range"
    return f"{kind} {span} {rule.unit}"


def _message(rule: PlausibilityRule, level: Level, value: float, detail: str) -> str:
    how = f" ({detail})" if detail else ""
    head = "implausible" if level == "error" else "borderline (a warning; --strict makes it an error)"
    return f"{head}: {rule.what} is {_fmt(value)} {rule.unit}{how}, outside the {_range_text(rule, level)} (docs/data.md, rule {rule.key})"  # noqa: E501


def range_findings(
    params: Parameters,
    settlements: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    teachers: pd.DataFrame,
    townships: gpd.GeoDataFrame,
    *,
    rules: tuple[PlausibilityRule, ...] = PLAUSIBILITY,
) -> list[Finding]:
    """Every value outside a rule's range, errors first, then in rule and row order.

    Parameters
    ----------
    params : Parameters
    settlements, schools : GeoDataFrame
        Validated tables in a metric CRS (indexed by id).
    teachers : DataFrame
    townships : GeoDataFrame
        Indexed by ``township_id``.
    rules : tuple of PlausibilityRule
        The rules to apply (default: all of :data:`planner.schema.PLAUSIBILITY`).

    Returns
    -------
    list of Finding
    """
    tw = townships.set_index("township_id", drop=False) if townships.index.name != "township_id" else townships
    quantities: dict[str, Quantity] = {
        **_schools_quantities(schools, teachers, settlements, tw),
        **_settlement_quantities(settlements, tw),
    }
    param_values = _parameter_values(params)
    frames = {"schools": schools.reset_index(drop=True), "settlements": settlements.reset_index(drop=True)}
    id_fields = {"schools": "school_id", "settlements": "settlement_id"}
    found: list[Finding] = []
    for rule in rules:
        if rule.table == "parameters":
            for field, value, detail in param_values.get(rule.key, []):
                level = classify(rule, float(value))
                if level:
                    found.append(
                        Finding(level, "parameters", None, None, field, _message(rule, level, float(value), detail))
                    )
            continue
        q = quantities[rule.key]
        frame = frames[rule.table]
        for pos, value, detail in zip(q.positions, q.values, q.detail, strict=True):
            level = classify(rule, float(value))
            if level:
                ident = f"{id_fields[rule.table]} {frame[id_fields[rule.table]].iloc[int(pos)]}"
                found.append(
                    Finding(level, rule.table, int(pos), ident, rule.field, _message(rule, level, float(value), detail))
                )
    return sorted(found, key=lambda f: f.level != "error")


#: fewest points for the datum check to judge (fewer give no reliable median)
DATUM_MIN_POINTS = 10
#: the declared datum is wrong when another places the points this much closer to the roads (median, m) …
DATUM_ERROR_GAIN_M = 50.0
#: … and at most this share of the declared median distance
DATUM_ERROR_RATIO = 0.5
#: borderline: a smaller gain or ratio
DATUM_WARN_GAIN_M = 25.0
DATUM_WARN_RATIO = 0.8

DATUM_NAMES = {
    "wgs84": "WGS-84/CGCS2000 (GPS, 天地图)",
    "gcj02": "GCJ-02 (高德 AMap, 腾讯 Tencent)",
    "bd09": "BD-09 (百度 Baidu)",
}


@dataclass(frozen=True)
class DatumFinding:
    """Outcome of the datum check."""

    level: Level
    declared: str
    likely: str
    declared_median_m: float
    likely_median_m: float
    rule: str


def datum_findings(
    lon_wgs: np.ndarray, lat_wgs: np.ndarray, declared: str, roads: gpd.GeoDataFrame, crs: str
) -> DatumFinding | None:
    """Whether the points' offset from the roads matches a datum shift (GCJ-02 or BD-09 read as WGS-84, …).

    The points are re-read from their typed coordinates in each datum; the median distance
    to the nearest road is compared. Points surveyed where people live lie on or near the
    roads in the right datum; read in a wrong one they all move a few hundred metres the
    same way, off the roads.

    Parameters
    ----------
    lon_wgs, lat_wgs : ndarray
        Settlement and school points as loaded (converted to WGS-84 from ``declared``).
    declared : str
        The datum of ``parameters.yaml``.
    roads : GeoDataFrame
        Road lines in ``crs``.
    crs : str
        Metric CRS.

    Returns
    -------
    DatumFinding or None
        None when the declared datum fits as well as any other (or too few points or roads).
    """
    if len(lon_wgs) < DATUM_MIN_POINTS or len(roads) == 0:
        return None
    declared = "wgs84" if declared == "cgcs2000" else declared
    typed_lon, typed_lat = from_wgs84(lon_wgs, lat_wgs, declared)
    tree = roads.sindex
    medians: dict[str, float] = {}
    for datum in ("wgs84", "gcj02", "bd09"):
        lon, lat = to_wgs84(typed_lon, typed_lat, datum)
        pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(crs)
        _, dist = tree.nearest(pts.to_numpy(), return_all=False, return_distance=True)
        medians[datum] = float(np.median(dist))
    likely = min(medians, key=lambda d: medians[d])
    d0, d1 = medians[declared], medians[likely]
    if likely == declared:
        return None
    gain = d0 - d1
    if gain >= DATUM_ERROR_GAIN_M and d1 <= DATUM_ERROR_RATIO * d0:
        level: Level = "error"
    elif gain >= DATUM_WARN_GAIN_M and d1 <= DATUM_WARN_RATIO * d0:
        level = "warning"
    else:
        return None
    rule = (
        f"the points look like {DATUM_NAMES[likely]} coordinates, not the declared {DATUM_NAMES[declared]}: "
        f"their median distance to the nearest road is {d0:,.0f} m as declared but {d1:,.0f} m read as {likely} "
        f"(the shift between the two datums); set `datum: {likely}` in parameters.yaml if the coordinates were "
        f"taken from that map"
    )
    return DatumFinding(level, declared, likely, d0, d1, rule)


__all__ = ["DatumFinding", "Finding", "classify", "datum_findings", "range_findings"]
