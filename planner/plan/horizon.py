"""Horizon plans: the county in a projected year and the tables a horizon plan reports.

Pure functions over the county's tables and the enrolment projection
(:func:`planner.projection.project_enrolment`); :func:`planner.plan.pipeline.plan_county`
calls them when the scenario has a ``horizon``.

- :func:`county_in_year` — the county with a projected year's public pupils (settlements,
  and public schools' pupils under today's catchments).
- :func:`school_projection` — enrolment per school catchment, stage and year.
- :func:`enrolment_flags` — schools that fall under 50 pupils or rise over the school-size
  limit (2000; nine-year schools 2500) in the horizon.
- :func:`township_places` — pupils, places and places short per township, stage and year.
- :func:`peak_investments` — expansions and new schools, with whether they serve only a
  passing peak.
- :func:`horizon_tables` — all of these for a solved horizon plan, with its notes.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from planner.county import County
from planner.plan.instance import limits_of
from planner.projection import STAGE_AGES, settlement_pupils
from planner.standards import Standards

STAGES: tuple[str, ...] = tuple(STAGE_AGES)
#: the standard's small-school line: teaching points under 50 pupils are not assessed
SMALL_SCHOOL_PUPILS = 50


def county_in_year(county: County, projection: pd.DataFrame, year: int) -> County:
    """The county with ``year``'s projected pupils.

    Settlements get the year's whole public pupils; public schools (not special) get the
    pupils of their current catchments; private schools keep theirs. Classes and
    everything else are unchanged.
    """
    pupils = settlement_pupils(projection, year)
    st = county.settlements.copy()
    schools = county.schools.copy()
    for stage in STAGES:
        col = f"pupils_{stage}"
        st[col] = pupils[col].reindex(st.index).fillna(0).astype(np.int64).to_numpy()
        by_school = st.groupby(f"school_{stage}_id")[col].sum()
        catch = schools["ownership"].eq("public") & schools["kind"].ne("special")
        schools.loc[catch, col] = schools.index[catch].map(by_school).fillna(0).astype(np.int64).to_numpy()
        schools[col] = schools[col].astype(np.int64)
    return replace(county, settlements=st, schools=schools)


def school_projection(
    settlements: pd.DataFrame, schools: pd.DataFrame, projection: pd.DataFrame, years: list[int]
) -> pd.DataFrame:
    """Projected pupils per school catchment, stage and year.

    Parameters
    ----------
    settlements : DataFrame
        Index settlement_id; ``school_primary_id``, ``school_junior_id`` (the catchments,
        e.g. after the plan).
    schools : DataFrame
        Index school_id; ``name_zh``, ``township_id``, ``kind``, ``ownership``,
        ``pupils_primary``, ``pupils_junior``. Private schools keep their pupils every year.
    projection : DataFrame
        :func:`planner.projection.project_enrolment` output.
    years : list of int

    Returns
    -------
    DataFrame
        school_id, name_zh, township_id, kind, stage, year, pupils (whole pupils: the sum of
        the settlements' rounded projected pupils), school_pupils (both stages).
    """
    rows = []
    private = schools[schools["ownership"] == "private"]
    public_ids = set(schools.index[schools["ownership"].eq("public") & schools["kind"].ne("special")])
    for y in years:
        p = settlement_pupils(projection, y)
        for stage in STAGES:
            col = f"school_{stage}_id"
            s = settlements[[col]].join(p[f"pupils_{stage}"].rename("pupils"), how="left").fillna({"pupils": 0})
            s = s[s[col].isin(public_ids)]
            sums = s.groupby(col)["pupils"].sum()
            for sid, v in sums.items():
                rows.append({"school_id": sid, "stage": stage, "year": y, "pupils": int(v)})
            for sid, v in private[f"pupils_{stage}"].items():
                if v > 0:
                    rows.append({"school_id": sid, "stage": stage, "year": y, "pupils": int(v)})
    out = pd.DataFrame(rows, columns=["school_id", "stage", "year", "pupils"])
    info = schools[["name_zh", "township_id", "kind"]]
    out = out.join(info, on="school_id")
    out["school_pupils"] = out.groupby(["school_id", "year"])["pupils"].transform("sum")
    cols = ["school_id", "name_zh", "township_id", "kind", "stage", "year", "pupils", "school_pupils"]
    return out[cols].sort_values(["school_id", "stage", "year"], kind="stable").reset_index(drop=True)


def enrolment_flags(proj: pd.DataFrame, size_limit: dict[str, float], first_year: int) -> pd.DataFrame:
    """Schools that fall under 50 pupils (per stage) or are over the school-size limit in the horizon.

    ``under_50``: a school part with at least 50 pupils in the base year (the first year of
    ``proj``) and fewer than 50 in some year from ``first_year`` on (teaching points already
    under 50 today are not repeated every plan). ``over_size``: a school whose pupils exceed
    its size limit in some year from ``first_year`` on.

    Parameters
    ----------
    proj : DataFrame
        :func:`school_projection` output, base year included.
    size_limit : dict
        ``single`` and ``nine_year`` pupils per school (2000, 2500).
    first_year : int
        First year of the horizon.

    Returns
    -------
    DataFrame
        school_id, name_zh, township_id, stage ("all" for the school size), flag
        (``under_50`` / ``over_size``), limit, first_year, years (count), pupils_min,
        pupils_max, note_zh.
    """
    rows = []
    base_year = int(proj["year"].min()) if len(proj) else first_year
    for (sid, stage), g0 in proj.groupby(["school_id", "stage"], sort=True):
        base = g0.loc[g0["year"] == base_year, "pupils"]
        g = g0[g0["year"] >= first_year]
        under = g[g["pupils"] < SMALL_SCHOOL_PUPILS]
        first = g0.iloc[0]
        if len(under) and len(base) and int(base.iloc[0]) >= SMALL_SCHOOL_PUPILS:
            rows.append(
                {"school_id": sid, "name_zh": first["name_zh"], "township_id": first["township_id"], "stage": stage,
                 "flag": "under_50", "limit": SMALL_SCHOOL_PUPILS, "first_year": int(under["year"].min()),
                 "years": len(under), "pupils_min": int(g["pupils"].min()), "pupils_max": int(g["pupils"].max()),
                 "note_zh": f"{int(under['year'].min())}年起在校生不足{SMALL_SCHOOL_PUPILS}人"}
            )  # fmt: skip
    per_school = proj[proj["year"] >= first_year].drop_duplicates(["school_id", "year"])
    for sid, g in per_school.groupby("school_id", sort=True):
        first = g.iloc[0]
        limit = size_limit["nine_year" if first["kind"] == "nine_year" else "single"]
        over = g[g["school_pupils"] > limit]
        if len(over):
            rows.append(
                {"school_id": sid, "name_zh": first["name_zh"], "township_id": first["township_id"], "stage": "all",
                 "flag": "over_size", "limit": limit, "first_year": int(over["year"].min()), "years": len(over),
                 "pupils_min": int(g["school_pupils"].min()), "pupils_max": int(g["school_pupils"].max()),
                 "note_zh": f"{int(over['year'].min())}年起规模超过{int(limit)}人"}
            )  # fmt: skip
    cols = ["school_id", "name_zh", "township_id", "stage", "flag", "limit", "first_year", "years", "pupils_min",
            "pupils_max", "note_zh"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def _stage_places(pupils: dict[str, float], classrooms: float, class_limit: dict[str, float]) -> dict[str, float]:
    """Places per stage at one school: classrooms × class limit, a nine-year school's rooms
    shared in proportion to the classes each stage needs that year."""
    need = {s: math.ceil(p / class_limit[s] - 1e-9) if p > 0 else 0 for s, p in pupils.items()}
    total = sum(need.values())
    if len(pupils) == 1 or total == 0:
        share = {s: 1.0 / len(pupils) for s in pupils}
    else:
        share = {s: need[s] / total for s in pupils}
    return {s: classrooms * share[s] * class_limit[s] for s in pupils}


def township_places(proj: pd.DataFrame, schools: pd.DataFrame, class_limit: dict[str, float]) -> pd.DataFrame:
    """Pupils, places and places needed per township, stage and year (public schools).

    ``places`` = classrooms × class-size limit (45 primary, 50 junior; a nine-year school's
    classrooms shared by the classes each stage needs); ``places_short`` = Σ over the
    township's schools of max(0, pupils − places): the school places to add (a surplus at
    one school does not seat the pupils of another catchment).
    """
    pub = proj[proj["school_id"].map(schools["ownership"]).eq("public")]
    rows = []
    for (sid, year), g in pub.groupby(["school_id", "year"], sort=True):
        pupils = dict(zip(g["stage"], g["pupils"].astype(float), strict=True))
        places = _stage_places(pupils, float(schools.loc[sid, "classrooms"]), class_limit)
        for s, p in pupils.items():
            rows.append({"township_id": schools.loc[sid, "township_id"], "stage": s, "year": int(year), "pupils": p,
                         "places": places[s], "places_short": max(0.0, p - places[s])})  # fmt: skip
    df = pd.DataFrame(rows, columns=["township_id", "stage", "year", "pupils", "places", "places_short"])
    out = df.groupby(["township_id", "stage", "year"], as_index=False).sum()
    out["places"] = np.floor(out["places"] + 1e-9).astype(np.int64)
    out["places_short"] = np.ceil(out["places_short"] - 1e-9).astype(np.int64)
    out["pupils"] = out["pupils"].astype(np.int64)
    return out


def peak_investments(
    projects: pd.DataFrame,
    proj: pd.DataFrame,
    schools_after: pd.DataFrame,
    class_limit: dict[str, float],
    target_year: int,
) -> pd.DataFrame:
    """Expansions and new schools of a plan, and whether they serve only a passing peak.

    Load is counted in primary-class equivalents (pupils × 45 / class limit of the stage),
    as in the model's capacity rule. An expansion serves only a passing peak when the
    school's load in its peak year exceeds the capacity it had before the expansion but its
    target-year load does not. A new school does when its target-year pupils are less than
    half of its peak-year pupils. The judgement is about places only: an expansion also
    adds floor and sports area (``serves`` says what the model bought it for).

    Returns
    -------
    DataFrame
        kind, school_id, name_zh, item, cost_yuan, serves, peak_year, peak_pupils, target_year,
        target_pupils, places_before, places_after, peak_only, note_zh.
    """
    base = class_limit["primary"]
    cols = ["kind", "school_id", "name_zh", "item", "cost_yuan", "serves", "peak_year", "peak_pupils",
            "target_year", "target_pupils", "places_before", "places_after", "peak_only", "note_zh"]  # fmt: skip
    inv = projects[projects["kind"].isin(["expansion", "new_school"])] if len(projects) else projects
    rows = []
    for p in inv.itertuples(index=False):
        sid = p.school_id
        g = proj[proj["school_id"] == sid]
        load = (g["pupils"] * g["stage"].map(lambda s: base / class_limit[s])).groupby(g["year"]).sum()
        pupils = g.groupby("year")["pupils"].sum()
        rooms_after = float(schools_after.loc[sid, "classrooms"]) if sid in schools_after.index else 0.0
        added = float(getattr(p, "added_classrooms", 0) or 0) if p.kind == "expansion" else rooms_after
        added = 0.0 if added != added else added  # NaN
        cap_before, cap_after = (rooms_after - added) * base, rooms_after * base
        peak_year = int(load.idxmax()) if len(load) else target_year
        peak_load = float(load.max()) if len(load) else 0.0
        target_load = float(load.get(target_year, 0.0))
        t_pupils = int(pupils.get(target_year, 0))
        pk_pupils = int(pupils.get(peak_year, 0))
        if p.kind == "expansion":
            peak_only = peak_load > cap_before + 1e-9 and target_load <= cap_before + 1e-9
        else:
            peak_only = t_pupils < 0.5 * pk_pupils
        note = (
            f"仅服务{peak_year}年前后的入学高峰：{target_year}年不再需要 serves only a passing peak"
            if peak_only
            else f"{target_year}年仍需要 still needed in the target year"
        )
        rows.append(
            {"kind": p.kind, "school_id": sid, "name_zh": schools_after["name_zh"].get(sid, ""), "item": p.item,
             "cost_yuan": float(p.cost_yuan), "serves": getattr(p, "serves", ""), "peak_year": peak_year,
             "peak_pupils": pk_pupils,
             "target_year": target_year, "target_pupils": t_pupils, "places_before": round(cap_before),
             "places_after": round(cap_after), "peak_only": bool(peak_only), "note_zh": note}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def horizon_tables(
    base: County, after: County, projection: pd.DataFrame, proj: pd.DataFrame, std: Standards, h: Any
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Projection tables and notes of a horizon plan."""
    lim = limits_of(std)
    years = list(range(h.base_year, h.last_year + 1))
    sp = school_projection(after.settlements, after.schools, projection, years)
    flags = enrolment_flags(sp, lim["size_limit"], h.first_year)
    places = township_places(sp, after.schools, lim["class_limit"])
    peaks = peak_investments(proj, sp, after.schools, lim["class_limit"], h.target_year)
    tot = projection.groupby(["year", "stage"])["pupils"].sum()
    notes = [
        f"规划期 {h.first_year}-{h.last_year}，目标年 {h.target_year}: the after-assessment uses the projected "
        f"{h.target_year} pupils; the before-assessment is the base year {h.base_year} (today's pupils). "
        f"Capacity and school size are required in every year of the horizon.",
        f"Projected public pupils {h.base_year} → {h.target_year}: primary {tot[(h.base_year, 'primary')]:,.0f} → "
        f"{tot[(h.target_year, 'primary')]:,.0f}, junior {tot[(h.base_year, 'junior')]:,.0f} → "
        f"{tot[(h.target_year, 'junior')]:,.0f} (births {h.projection.births_trend_per_year:+.1%}/yr, rural "
        f"migration {h.projection.migration_rural_per_year:.1%}/yr).",
    ]
    n_peak = int(peaks["peak_only"].sum()) if len(peaks) else 0
    if n_peak:
        notes.append(f"{n_peak} investments serve only a passing enrolment peak (仅服务入学高峰), see peak_investments")
    return {"projection": sp, "projection_flags": flags, "township_places": places, "peak_investments": peaks}, notes


__all__ = [
    "county_in_year",
    "enrolment_flags",
    "peak_investments",
    "school_projection",
    "township_places",
]
