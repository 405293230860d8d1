"""Access report (就学通行可达性): pupils by travel time to school, and settlements beyond the caps.

For each stage, every settlement's pupils are counted in a travel-time band (≤10, 10–20,
20–30, 30–45, 45–60, >60 min, or "no school within the cutoff") twice: to the NEAREST
public school of the stage and to the CURRENT catchment school (``school_primary_id`` /
``school_junior_id``, or the catchments of a plan). Travel is in the stage's mode
(walking for primary pupils, cycling for junior pupils by default; see
:class:`planner.network.TravelModes`).

A settlement is within the service cap of a school when the road distance is at most the
distance cap of its area type, or the travel time at most the time cap (where one is
set). Default caps (DOMAIN.md §2, :class:`AccessCaps`):

=========  ===================  ===================
area       primary              junior
=========  ===================  ===================
urban      500 m                1000 m
town       2500 m or 30 min     5000 m or 60 min
rural      2500 m or 30 min     5000 m or 60 min
=========  ===================  ===================

Urban radii are GB 50180-2018's walking service radii; rural caps are the commonly used
provincial norm (primary 2.5 km or 30 min; junior 5 km or 45–60 min, the upper end taken).
DOMAIN.md gives no figure for town seats (镇区); the rural caps are used.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from planner.network import MODE_ZH, TravelModes, TravelTimes

STAGE_ZH = {"primary": "小学", "junior": "初中"}
AREA_ZH = {"urban": "城区", "town": "镇区", "rural": "乡村"}
#: School kinds that teach each stage.
STAGE_KINDS: dict[str, frozenset[str]] = {
    "primary": frozenset({"primary", "teaching_point", "nine_year"}),
    "junior": frozenset({"junior", "nine_year"}),
}
#: Upper edges (minutes) of the travel-time bands; a last band takes everything above.
BAND_EDGES_MIN: tuple[float, ...] = (10, 20, 30, 45, 60)
NO_SCHOOL = "none"


class AccessCaps(BaseModel):
    """Service caps by stage and area type: road distance (m) and, optionally, travel time (min).

    A settlement is within the cap when ``distance ≤ distance_m`` or ``time ≤ time_min``
    (a ``None`` time cap means distance only).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    distance_m: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "primary": {"urban": 500.0, "town": 2500.0, "rural": 2500.0},
            "junior": {"urban": 1000.0, "town": 5000.0, "rural": 5000.0},
        }
    )
    time_min: dict[str, dict[str, float | None]] = Field(
        default_factory=lambda: {
            "primary": {"urban": None, "town": 30.0, "rural": 30.0},
            "junior": {"urban": None, "town": 60.0, "rural": 60.0},
        }
    )

    def describe(self, stage: str) -> str:
        """One line, e.g. ``城区 urban 500 m; 乡村 rural 2.5 km 或 or 30 min``."""
        parts = []
        for area in ("urban", "town", "rural"):
            d = self.distance_m[stage][area]
            t = self.time_min[stage].get(area)
            dist = f"{d:.0f} m" if d < 1000 else f"{d / 1000:g} km"
            parts.append(f"{AREA_ZH[area]} {area} {dist}" + (f" 或 or {t:g} min" if t is not None else ""))
        return "; ".join(parts)


def band_labels(edges: tuple[float, ...] = BAND_EDGES_MIN) -> list[tuple[str, str]]:
    """Band codes and Chinese labels: ``("0-10", "≤10分钟")`` ... ``(">60", ">60分钟")``, ``("none", ...)``."""
    out = [(f"0-{edges[0]:g}", f"≤{edges[0]:g}分钟")]
    out += [(f"{a:g}-{b:g}", f"{a:g}–{b:g}分钟") for a, b in pairwise(edges)]
    out.append((f">{edges[-1]:g}", f">{edges[-1]:g}分钟"))
    out.append((NO_SCHOOL, "计算范围内无学校"))
    return out


def _band(time_min: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    codes = [c for c, _ in band_labels(edges)]
    idx = np.searchsorted(np.asarray(edges, dtype=float), time_min, side="left")
    out = np.array(codes, dtype=object)[np.minimum(idx, len(edges))]
    out[~np.isfinite(time_min)] = NO_SCHOOL
    return out


#: Chinese headers of the report tables (``to_zh`` writes ``中文 (code)``).
COLUMNS_ZH: dict[str, str] = {
    "stage": "学段",
    "stage_zh": "学段名称",
    "mode": "出行方式",
    "method": "计算方法",
    "band": "通行时间段",
    "band_zh": "通行时间",
    "pupils_nearest": "按最近学校计学生数",
    "share_nearest": "按最近学校计占比",
    "settlements_nearest": "按最近学校计居民点数",
    "pupils_current": "按现划片学校计学生数",
    "share_current": "按现划片学校计占比",
    "settlements_current": "按现划片学校计居民点数",
    "settlement_id": "居民点代码",
    "name_zh": "居民点名称",
    "township_id": "所属乡镇代码",
    "area_type": "城乡类型",
    "pupils": "学生数",
    "settlements": "居民点数",
    "nearest_school_id": "最近学校代码",
    "nearest_school_name": "最近学校名称",
    "nearest_time_min": "到最近学校时间(分钟)",
    "nearest_distance_m": "到最近学校距离(米)",
    "min_distance_m": "到最近学校最短距离(米)",
    "nearest_band": "到最近学校时间段",
    "current_school_id": "现划片学校代码",
    "current_school_name": "现划片学校名称",
    "current_time_min": "到现划片学校时间(分钟)",
    "current_distance_m": "到现划片学校距离(米)",
    "current_band": "到现划片学校时间段",
    "cap_distance_m": "服务半径(米)",
    "cap_time_min": "时间上限(分钟)",
    "within_cap": "服务半径内有学校",
    "current_within_cap": "现划片学校在服务半径内",
    "mean_time_nearest_min": "平均时间_最近学校(分钟)",
    "mean_time_current_min": "平均时间_现划片学校(分钟)",
    "pupils_beyond_cap": "服务半径外学生数",
    "settlements_beyond_cap": "服务半径外居民点数",
    "pupils_current_beyond_cap": "现划片超服务半径学生数",
    "pupils_no_school": "计算范围内无学校学生数",
}


def to_zh(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with headers ``中文 (code)`` where a Chinese name is known."""
    return df.rename(columns={c: f"{COLUMNS_ZH[c]} ({c})" for c in df.columns if c in COLUMNS_ZH})


@dataclass(frozen=True)
class AccessReport:
    """Access tables (English column codes; :meth:`tables` gives Chinese headers).

    Attributes
    ----------
    summary : DataFrame
        One row per stage: mode, pupils, settlements with pupils, pupil-weighted mean time to
        the nearest and to the current school, pupils and settlements beyond the cap.
    bands : DataFrame
        Stage × band: pupils and settlements to the nearest and to the current school, shares.
    settlements : DataFrame
        Settlement × stage: nearest school, current school, times, distances, bands, caps.
    beyond_cap : DataFrame
        Rows of :attr:`settlements` with pupils and no school of the stage within the cap.
    method : str
        ``network`` or ``straight_line`` (from the travel times).
    caps : AccessCaps
    band_edges_min : tuple of float
    cutoff_min : float
        Travel times above this were not computed (band ``none``).
    stage_modes : dict
        Stage → travel mode.
    modes : TravelModes
        Travel settings of the times used.
    """

    summary: pd.DataFrame
    bands: pd.DataFrame
    settlements: pd.DataFrame
    beyond_cap: pd.DataFrame
    method: str
    caps: AccessCaps = field(default_factory=AccessCaps)
    band_edges_min: tuple[float, ...] = BAND_EDGES_MIN
    cutoff_min: float = 120.0
    stage_modes: dict[str, str] = field(default_factory=dict)
    modes: TravelModes | None = None

    def tables(self, zh: bool = True) -> dict[str, pd.DataFrame]:
        """The four tables by name, with ``中文 (code)`` headers when ``zh``."""
        out = {"summary": self.summary, "bands": self.bands, "settlements": self.settlements,
               "beyond_cap": self.beyond_cap}  # fmt: skip
        return {k: to_zh(v) if zh else v.copy() for k, v in out.items()}


def access_summary(
    county: Any,
    travel_times: TravelTimes,
    *,
    caps: AccessCaps | None = None,
    band_edges_min: tuple[float, ...] = BAND_EDGES_MIN,
    catchments: pd.DataFrame | None = None,
    include_private: bool = False,
) -> AccessReport:
    """Pupils by travel-time band to the nearest and to the catchment school, per stage.

    Parameters
    ----------
    county : County
        Uses ``settlements`` (``pupils_primary``, ``pupils_junior``, ``area_type``,
        ``school_primary_id``, ``school_junior_id``) and ``schools`` (``kind``,
        ``ownership``).
    travel_times : TravelTimes
        From :func:`planner.network.county_travel_times`; each stage uses its mode.
    caps : AccessCaps
        Service caps (defaults: DOMAIN.md §2).
    band_edges_min : tuple of float
        Upper band edges in minutes.
    catchments : DataFrame, optional
        ``settlement_id``, ``stage``, ``school_id`` replacing the current catchments (e.g. a
        plan's assignment); the "current" columns then describe these.
    include_private : bool
        Count private schools as "nearest" (default: public schools only, which take
        pupils by catchment).

    Returns
    -------
    AccessReport
    """
    caps = caps or AccessCaps()
    st = county.settlements
    sch = county.schools
    ids = st["settlement_id"].astype(str) if "settlement_id" in st.columns else pd.Series(st.index.astype(str))
    ids = pd.Index(ids.to_numpy(), name="settlement_id")
    name_of_school = sch["name_zh"] if "name_zh" in sch.columns else pd.Series("", index=sch.index)
    name_of_school = pd.Series(name_of_school.to_numpy(), index=sch.index.astype(str))
    rows, band_rows, summary_rows = [], [], []
    labels = band_labels(band_edges_min)
    for stage in ("primary", "junior"):
        mode = travel_times.stage_mode(stage)
        serving = sch["kind"].isin(STAGE_KINDS[stage])
        if not include_private and "ownership" in sch.columns:
            serving &= sch["ownership"] == "public"
        serving_ids = set(sch.index[serving].astype(str))
        p = travel_times.for_mode(mode)
        # nearest among the pairs within the cutoff (pairs kept beyond it, e.g. current schools, would bias it)
        p = p[p["site_id"].isin(serving_ids) & (p["time_min"] <= travel_times.cutoff_min)]
        best = p.sort_values(["settlement_id", "time_min", "site_id"]).drop_duplicates("settlement_id")
        best = best.set_index("settlement_id").reindex(ids)
        min_dist = p.groupby("settlement_id")["distance_m"].min().reindex(ids)
        if catchments is not None:
            c = catchments[catchments["stage"] == stage]
            current = pd.Series(c["school_id"].astype(str).to_numpy(), index=c["settlement_id"].astype(str))
            current = current[~current.index.duplicated()].reindex(ids).fillna("")
        else:
            col = f"school_{stage}_id"
            current = pd.Series(st[col].fillna("").astype(str).to_numpy() if col in st.columns else "", index=ids)
        allp = travel_times.for_mode(mode).set_index(["settlement_id", "site_id"])
        key = pd.MultiIndex.from_arrays([ids, current.to_numpy()])
        cur = allp.reindex(key)
        area = st["area_type"].astype(str).to_numpy()
        cap_m = np.array([caps.distance_m[stage][a] for a in area], dtype=float)
        cap_t = np.array([caps.time_min[stage].get(a) for a in area], dtype=object)
        cap_t = np.array([np.nan if v is None else float(v) for v in cap_t], dtype=float)
        pupils = st[f"pupils_{stage}"].to_numpy(dtype=float) if f"pupils_{stage}" in st.columns else np.zeros(len(st))
        n_time = best["time_min"].to_numpy(dtype=float)
        c_time = cur["time_min"].to_numpy(dtype=float)
        c_dist = cur["distance_m"].to_numpy(dtype=float)
        min_d = min_dist.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            within = (min_d <= cap_m) | (n_time <= cap_t)
            c_within = (c_dist <= cap_m) | (c_time <= cap_t)
        frame = pd.DataFrame(
            {
                "stage": stage,
                "settlement_id": ids.to_numpy(),
                "name_zh": st["name_zh"].to_numpy() if "name_zh" in st.columns else "",
                "township_id": st["township_id"].to_numpy() if "township_id" in st.columns else "",
                "area_type": area,
                "mode": mode,
                "pupils": pupils.astype(int),
                "nearest_school_id": best["site_id"].fillna("").to_numpy(),
                "nearest_school_name": best["site_id"].map(name_of_school).fillna("").to_numpy(),
                "nearest_time_min": n_time,
                "nearest_distance_m": best["distance_m"].to_numpy(dtype=float),
                "min_distance_m": min_d,
                "nearest_band": _band(n_time, band_edges_min),
                "current_school_id": current.to_numpy(),
                "current_school_name": current.map(name_of_school).fillna("").to_numpy(),
                "current_time_min": c_time,
                "current_distance_m": c_dist,
                "current_band": np.where(current.to_numpy() == "", "", _band(c_time, band_edges_min)),
                "cap_distance_m": cap_m,
                "cap_time_min": cap_t,
                "within_cap": within,
                "current_within_cap": c_within & (current.to_numpy() != ""),
                "method": travel_times.method,
            }
        )
        rows.append(frame)
        has = frame["pupils"] > 0
        total = float(frame.loc[has, "pupils"].sum())
        for code, label in labels:
            n_mask = has & (frame["nearest_band"] == code)
            c_mask = has & (frame["current_band"] == code)
            pn, pc = float(frame.loc[n_mask, "pupils"].sum()), float(frame.loc[c_mask, "pupils"].sum())
            band_rows.append(
                {
                    "stage": stage,
                    "band": code,
                    "band_zh": label,
                    "pupils_nearest": int(pn),
                    "share_nearest": pn / total if total else 0.0,
                    "settlements_nearest": int(n_mask.sum()),
                    "pupils_current": int(pc),
                    "share_current": pc / total if total else 0.0,
                    "settlements_current": int(c_mask.sum()),
                }
            )
        summary_rows.append(
            {
                "stage": stage,
                "stage_zh": STAGE_ZH[stage],
                "mode": mode,
                "pupils": int(total),
                "settlements": int(has.sum()),
                "mean_time_nearest_min": _weighted_mean(n_time[has], pupils[has]),
                "mean_time_current_min": _weighted_mean(c_time[has], pupils[has]),
                "pupils_beyond_cap": int(frame.loc[has & ~frame["within_cap"], "pupils"].sum()),
                "settlements_beyond_cap": int((has & ~frame["within_cap"]).sum()),
                "pupils_current_beyond_cap": int(frame.loc[has & ~frame["current_within_cap"], "pupils"].sum()),
                "pupils_no_school": int(frame.loc[has & (frame["nearest_band"] == NO_SCHOOL), "pupils"].sum()),
                "method": travel_times.method,
            }
        )
    settlements = pd.concat(rows, ignore_index=True)
    beyond = settlements[(settlements["pupils"] > 0) & ~settlements["within_cap"]]
    beyond = beyond.sort_values(["stage", "pupils", "settlement_id"], ascending=[False, False, True], kind="stable")
    return AccessReport(
        summary=pd.DataFrame(summary_rows),
        bands=pd.DataFrame(band_rows),
        settlements=settlements,
        beyond_cap=beyond.reset_index(drop=True),
        method=travel_times.method,
        caps=caps,
        band_edges_min=tuple(band_edges_min),
        cutoff_min=travel_times.cutoff_min,
        stage_modes={s: travel_times.stage_mode(s) for s in ("primary", "junior")},
        modes=travel_times.modes,
    )


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & (weights > 0)
    return float(np.average(values[ok], weights=weights[ok])) if ok.any() else float("nan")


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in s)


def _pad(s: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(s))
    return fill + s if right else s + fill


def _mode_text(mode: str, modes: TravelModes | None) -> str:
    text = f"{MODE_ZH[mode]} {mode}"
    if modes is not None and mode in ("walk", "bicycle"):
        text += f" {modes.class_speeds(mode)['village']:g} km/h"
    return text


def format_access_summary(report: AccessReport) -> str:
    """Short plain-text summary of an :class:`AccessReport` (what ``planner run`` prints)."""
    how = "道路网络 road network" if report.method == "network" else "直线距离估算 straight-line estimate, no roads"
    modes = ", ".join(f"{STAGE_ZH[s]} {_mode_text(m, report.modes)}" for s, m in report.stage_modes.items())
    lines = [f"就学通行时间 Travel time to school ({how}; {modes})"]
    head = ["学段 stage", "通行时间 time", "最近学校 nearest", "现划片 current"]
    widths = [12, 20, 16, 16]
    lines.append("  ".join(_pad(h, w) for h, w in zip(head, widths, strict=True)).rstrip())
    for row in report.bands.itertuples(index=False):
        if row.pupils_nearest == 0 and row.pupils_current == 0:
            continue
        label = row.band_zh if row.band != NO_SCHOOL else f">{report.cutoff_min:g}分钟 (未计算 not computed)"
        cells = [
            f"{STAGE_ZH[row.stage]} {row.stage}",
            label,
            f"{row.pupils_nearest:>7,d} {row.share_nearest:6.1%}",
            f"{row.pupils_current:>7,d} {row.share_current:6.1%}",
        ]
        lines.append("  ".join(_pad(c, w) for c, w in zip(cells, widths, strict=True)).rstrip())
    for row in report.summary.itertuples(index=False):
        lines.append(
            f"{row.stage_zh} {row.stage}: 学生平均 mean {row.mean_time_nearest_min:.1f} min 最近 nearest, "
            f"{row.mean_time_current_min:.1f} min 现划片 current; 服务半径外 beyond cap: "
            f"{row.settlements_beyond_cap} 个居民点 settlements, {row.pupils_beyond_cap:,d} 名学生 pupils"
        )
        lines.append(f"  服务半径 caps: {report.caps.describe(row.stage)}")
    return "\n".join(lines)
