"""What binds: why each standard a plan leaves unmet stays unmet (未达标原因).

Issue 5 asks that a plan which cannot reach the standard say which standards stay unmet, at
which schools, by how much, and what binds: the budget, the distance cap, land, staffing.
:func:`what_binds` reads the after-assessment (the assessment engine's, not the model's),
the plan's decisions and the instance, and gives each unmet item one or more reasons by
plain rules a planner can check:

``capital_budget`` (资金)
    What would meet it is bought with capital money (floor and sports area through an
    expansion option, equipment, multimedia sets, music and art rooms, classrooms), and the
    capital budget left after the plan is smaller than the cheapest such purchase.
``land`` (用地)
    Floor area, sports area or classrooms can only come from an expansion option of the
    school (or a new school), and the school has none left that adds it.
``distance_cap`` (服务半径)
    Pupils cannot go elsewhere: a settlement has no school or opened site within its
    travel-time cap (a beyond-cap assignment), or an over-full school's settlements have no
    other school within their cap.
``capacity`` (学位)
    A settlement left beyond its cap although a school within the cap exists: none of those
    schools has room for its pupils after the plan (classrooms x 45 / 50 and the size limit).
``staffing`` (招聘名额)
    Teachers would have to be recruited and the scenario's hires cap is used up.
``recurrent_budget`` (经常性经费)
    The recurrent budget left is smaller than one hire's annual cost (teacher items) or one
    rotation allowance (rotation share).
``rotation_pool`` (交流人员)
    The rotation policy is short: too few eligible teachers (or backbone teachers) within the
    school-to-school travel cap.
``private_school`` (民办学校)
    A private school's indicators: the county budget does not fund them.
``trade_off`` (统筹取舍)
    None of the above binds alone: the money or the pupils went where the objective gains
    more (other schools or indicators first, in the scenario's priority order), or the
    time-limited solve did not find the better plan (see the solver's gap).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from planner.standards import INDICATORS_BY_KEY

#: reason code -> Chinese label
REASONS_ZH: dict[str, str] = {
    "capital_budget": "资金不足",
    "land": "无扩建用地或方案",
    "distance_cap": "服务半径内无其他学校",
    "staffing": "招聘名额用尽",
    "recurrent_budget": "经常性经费不足",
    "rotation_pool": "符合条件的交流教师不足",
    "capacity": "服务半径内学校学位不足",
    "private_school": "民办学校，不由县财政投入",
    "trade_off": "统筹取舍（资金或学位用于更优先的学校和指标）",
}

#: columns of the table :func:`what_binds` returns
UNMET_COLUMNS: tuple[str, ...] = (
    "source", "item", "item_zh", "school_id", "name_zh", "stage", "settlement_id", "shortfall", "unit",
    "pupils_affected", "binds", "binds_zh", "detail_zh",
)  # fmt: skip

_TEACHER = {"teachers_above_required", "backbone_teachers", "pe_art_teachers"}


def _expansion_left(county: Any, projects: pd.DataFrame) -> pd.DataFrame:
    """The county's expansion options the plan did not take."""
    e = county.expansion_options
    taken = set(projects.loc[projects["kind"] == "expansion", "item"]) if len(projects) else set()
    return e[~e["option_id"].isin(taken)]


def _no_alternative(assignments: pd.DataFrame, arcs: pd.DataFrame, unavailable: set[str]) -> pd.DataFrame:
    """Per assignment row: whether the settlement has another school (or opened site) within its cap."""
    within = arcs[arcs["within_cap"].astype(bool) & ~arcs["unit_id"].isin(unavailable)]
    reach: dict[tuple[str, str], set[str]] = {}
    for s, k, u in within[["settlement_id", "stage", "unit_id"]].itertuples(index=False):
        reach.setdefault((s, k), set()).add(u)
    other = [
        sorted(reach.get((s, k), set()) - {u})
        for s, k, u in assignments[["settlement_id", "stage", "school_id"]].itertuples(index=False)
    ]
    return assignments.assign(others_within_cap=other, has_other_within_cap=[bool(o) for o in other])


def free_places(schools: pd.DataFrame, class_limit: dict[str, float], size_limit: dict[str, float]) -> pd.DataFrame:
    """Places left per school and stage after the plan: classroom room and size-limit room, the smaller.

    Parameters
    ----------
    schools : DataFrame
        The schools after the plan (index school_id; ``kind``, ``classrooms``, ``pupils_primary``,
        ``pupils_junior``).
    class_limit : dict
        Stage -> pupils per class (45 / 50).
    size_limit : dict
        ``single`` / ``nine_year`` -> most pupils in a school (2000 / 2500).

    Returns
    -------
    DataFrame
        Index school_id; columns ``primary`` and ``junior``: how many more pupils of that stage the
        school can take without breaking the class-size capacity (classrooms x 45, junior pupils
        counting 45/50) or its size limit.
    """
    base = class_limit["primary"]
    load = schools["pupils_primary"] + schools["pupils_junior"] * base / class_limit["junior"]
    room_eq = schools["classrooms"] * base - load  # in primary pupils
    size = schools["kind"].map(lambda k: size_limit["nine_year" if k == "nine_year" else "single"])
    size_room = size - schools["pupils_primary"] - schools["pupils_junior"]
    out = pd.DataFrame(index=schools.index)
    for stage in ("primary", "junior"):
        out[stage] = np.minimum(room_eq * class_limit[stage] / base, size_room).clip(lower=0)
    return out


def what_binds(
    after: Any,
    assignments: pd.DataFrame,
    arcs: pd.DataFrame,
    projects: pd.DataFrame,
    hires: pd.DataFrame,
    costs: dict[str, float],
    county: Any,
    max_hires: int,
    unavailable: set[str],
    places: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per standard left unmet after the plan, with what binds it.

    Parameters
    ----------
    after : Assessment
        The after-assessment (``indicators`` and ``guarantee`` tables).
    assignments : DataFrame
        The plan's assignments (``settlement_id``, ``stage``, ``school_id``, ``pupils``,
        ``time_min``, ``within_cap``).
    arcs : DataFrame
        The model's allowed arcs (``settlement_id``, ``stage``, ``unit_id``, ``time_min``,
        ``cap_min``, ``within_cap``): which schools each settlement could go to.
    projects, hires : DataFrame
        The plan's projects and hires.
    costs : dict
        ``capital_yuan``, ``capital_budget_yuan``, ``recurrent_yuan_per_year``,
        ``recurrent_budget_yuan_per_year``.
    county : County
        The county before the plan (expansion options, unit costs).
    max_hires : int
        The scenario's cap on recruits.
    unavailable : set of str
        Units no pupil can go to after the plan: candidate sites not built on, closed schools.
    places : DataFrame, optional
        :func:`free_places` after the plan: a settlement left beyond its cap whose schools within
        the cap have no room for its pupils is bound by ``capacity``.

    Returns
    -------
    DataFrame
        Columns :data:`UNMET_COLUMNS`; ``binds`` is one or more reason codes joined by
        ``;`` (see the module docstring), ``binds_zh`` their Chinese labels, ``detail_zh``
        the figures behind them.
    """
    uc = county.parameters.unit_costs
    capital_left = float(costs["capital_budget_yuan"]) - float(costs["capital_yuan"])
    recurrent_left = float(costs["recurrent_budget_yuan_per_year"]) - float(costs["recurrent_yuan_per_year"])
    hired = int(hires["count"].sum()) if len(hires) else 0
    left = _expansion_left(county, projects)
    reach = _no_alternative(assignments, arcs, unavailable)
    stuck = reach[~reach["has_other_within_cap"]]
    stuck_school = stuck.groupby("school_id")["pupils"].sum()
    stuck_part = stuck.groupby(["school_id", "stage"])["pupils"].sum()
    money = f"资本预算剩余{capital_left:,.0f}元"
    staff_detail = (
        f"已招聘{hired}人（上限{max_hires}人），经常性经费剩余{recurrent_left:,.0f}元/年"
        f"（每人{uc.teacher_hire_yuan_per_year:,.0f}元/年）"
    )

    def staffing() -> list[str]:
        why = ["staffing"] if hired >= max_hires else []
        return why + (["recurrent_budget"] if recurrent_left < uc.teacher_hire_yuan_per_year else [])

    def expansion(school: str, column: str) -> list[str]:
        opts = left[(left["school_id"] == school) & (left[column] > 0)]
        if opts.empty:
            return ["land"]
        return ["capital_budget"] if capital_left < float(opts["cost_yuan"].min()) else []

    def purchase(cost_yuan: float) -> list[str]:
        # the money left cannot pay for meeting it
        return ["capital_budget"] if capital_left < cost_yuan else []

    parts = after.parts.drop_duplicates("school_id").set_index("school_id")
    owner, names = parts["ownership"].to_dict(), parts["name_zh"].to_dict()
    rows: list[dict[str, Any]] = []

    def add(rec: dict[str, Any], reasons: list[str], detail: str) -> None:
        reasons = list(dict.fromkeys(reasons)) or ["trade_off"]
        rec.update(binds=";".join(reasons), binds_zh="；".join(REASONS_ZH[r] for r in reasons), detail_zh=detail)
        rows.append(rec)

    ind = after.indicators
    for r in ind[~ind["met"].astype(bool)].itertuples(index=False):
        i = INDICATORS_BY_KEY[r.indicator]
        rec = {"source": "indicator", "item": r.indicator, "item_zh": i.zh, "school_id": r.school_id,
               "name_zh": r.name_zh, "stage": r.stage, "settlement_id": "", "shortfall": float(r.shortfall),
               "unit": i.resource_unit_zh, "pupils_affected": int(getattr(r, "pupils", 0) or 0)}  # fmt: skip
        if getattr(r, "ownership", "public") != "public":
            add(rec, ["private_school"], "")
        elif i.resource in _TEACHER:
            add(rec, staffing(), staff_detail)
        elif r.indicator in ("floor_area", "sports_area"):
            column = "added_floor_area_m2" if r.indicator == "floor_area" else "added_sports_area_m2"
            why = expansion(r.school_id, column)
            add(rec, why, "该校无可选的扩建方案" if why == ["land"] else money)
        elif r.indicator == "equipment":
            add(rec, purchase(float(r.shortfall) * uc.equipment_yuan_per_yuan), money)
        else:  # multimedia sets
            add(rec, purchase(math.ceil(float(r.shortfall) - 1e-9) * uc.multimedia_room_yuan), money)

    g = after.guarantee
    for r in g[~g["met"].astype(bool)].itertuples(index=False):
        sid = r.school_id if isinstance(r.school_id, str) else ""
        text = {c: (getattr(r, c) if isinstance(getattr(r, c), str) else "") for c in ("name_zh", "stage")}
        rec = {"source": "guarantee", "item": r.item, "item_zh": r.item_zh, "school_id": sid, **text,
               "settlement_id": "", "shortfall": float(r.gap) if r.gap == r.gap else math.nan, "unit": r.unit,
               "pupils_affected": int(r.pupils_affected or 0)}  # fmt: skip
        if sid and owner.get(sid, "public") != "public":
            add(rec, ["private_school"], "")
        elif r.item in ("music_rooms", "art_rooms"):
            add(rec, purchase(uc.music_room_yuan if r.item == "music_rooms" else uc.art_room_yuan), money)
        elif r.item in ("school_size", "class_size"):
            # the distance cap binds when the pupils who have no other school within their cap alone
            # exceed what the school may hold (the size limit, or its classes x the class-size limit)
            if r.item == "school_size":
                n, room = float(stuck_school.get(sid, 0.0)), float(r.limit)
            else:
                # the part's classes x limit = its pupils - the pupils over the limit
                gap = float(r.gap) if r.gap == r.gap else float(r.pupils_affected)
                n, room = float(stuck_part.get((sid, r.stage), 0.0)), float(r.pupils_affected) - gap
            why = ["distance_cap"] if n > room else []
            detail = f"本校{n:,.0f}名学生的居民点在服务半径内无其他学校，可容纳{room:,.0f}人" if n > 0 else ""
            if r.item == "class_size":
                more = expansion(sid, "added_classrooms")
                why += more
                if more == ["land"]:
                    detail += ("；" if detail else "") + "该校无可增教室的扩建方案"
                elif more:
                    detail += ("；" if detail else "") + money
            add(rec, why, detail)
        elif r.item == "staffing":
            add(rec, staffing(), staff_detail)
        elif r.item in ("rotation_share", "rotation_backbone_share"):
            short_money = r.item == "rotation_share" and recurrent_left < uc.rotation_allowance_yuan_per_year
            detail = str(r.detail_zh) if isinstance(r.detail_zh, str) else ""
            add(rec, ["recurrent_budget"] if short_money else ["rotation_pool"], detail)
        else:
            add(rec, [], "")

    for r in reach[~reach["within_cap"].astype(bool)].itertuples(index=False):
        rec = {"source": "distance", "item": "travel_cap", "item_zh": "服务半径", "school_id": r.school_id,
               "name_zh": names.get(r.school_id, ""), "stage": r.stage, "settlement_id": r.settlement_id,
               "shortfall": float(r.time_min), "unit": "分钟", "pupils_affected": int(r.pupils)}  # fmt: skip
        if not r.has_other_within_cap:
            add(
                rec, ["distance_cap"], f"通行{r.time_min:.1f}分钟；服务半径内无学校或已建校址，需新建学校或调整服务半径"
            )
        else:
            room = {u: float(places.at[u, r.stage]) for u in r.others_within_cap if places is not None
                    and u in places.index}  # fmt: skip
            full = len(room) == len(r.others_within_cap) and all(v < r.pupils for v in room.values())
            text = "、".join(f"{u}余{v:,.0f}个学位" for u, v in room.items())
            add(rec, ["capacity"] if full else [], f"通行{r.time_min:.1f}分钟；服务半径内的学校：{text}")
    return pd.DataFrame(rows, columns=list(UNMET_COLUMNS))


def binds_by_item(unmet: pd.DataFrame | None, with_code: bool = False) -> dict[tuple[str, str, str], str]:
    """(item, school_id, stage) -> what binds it in Chinese (``"资金不足 (capital_budget)"`` with ``with_code``).

    Settlement rows (beyond the cap) are left out: they are keyed by settlement, not by school item.
    """
    if unmet is None or not len(unmet):
        return {}
    rows = unmet[unmet["source"] != "distance"]
    return {
        (r.item, r.school_id or "", r.stage or ""): f"{r.binds_zh} ({r.binds})" if with_code else r.binds_zh
        for r in rows.itertuples(index=False)
    }


def binds_summary(unmet: pd.DataFrame) -> pd.DataFrame:
    """Unmet items counted by item and reason: how many, and pupils affected."""
    if unmet.empty:
        return pd.DataFrame(columns=["item", "binds", "items", "pupils_affected"])
    return (
        unmet.groupby(["item", "binds"], sort=True)
        .agg(items=("item", "size"), pupils_affected=("pupils_affected", "sum"))
        .reset_index()
    )


__all__ = ["REASONS_ZH", "UNMET_COLUMNS", "binds_by_item", "binds_summary", "free_places", "what_binds"]
