"""The plan's capital projects in the words of a finance bureau: what each builds or buys, the standard it
really serves (with the school's value before → after the plan), its township, and purchases bundled into
one procurement line per school.

Shared by the budget justification (:mod:`planner.report.justification`) and the plan workbook
(:mod:`planner.report.workbook`), so the two documents describe every project alike.

"The standard it really serves" is read from what the project adds, not from the model's label: an
expansion that adds only sports ground serves 生均体育运动场馆面积, one that adds classrooms serves 班额
(and floor area, sports area when it adds them); equipment serves 生均教学仪器设备值, multimedia sets
每百名学生拥有网络多媒体教室数, music and art rooms the 音乐、美术专用教室 guarantee item.
"""

from __future__ import annotations

import math

import pandas as pd

from planner.county import County
from planner.plan import Plan
from planner.schema import STAGE_ZH
from planner.standards import INDICATORS_BY_KEY

#: project kinds in Chinese
PROJECT_KIND_ZH: dict[str, str] = {
    "new_school": "新建学校",
    "expansion": "改扩建",
    "equipment": "教学仪器设备",
    "multimedia": "网络多媒体教室",
    "music_room": "音乐专用教室",
    "art_room": "美术专用教室",
    "closure": "撤并",
}
#: kinds bundled into one procurement line per school (教学装备采购)
PURCHASE_KINDS: tuple[str, ...] = ("equipment", "multimedia", "music_room", "art_room")
PURCHASE_ZH = "教学装备采购"
#: units of the projects table in Chinese
UNIT_ZH: dict[str, str] = {"classes": "班", "classrooms": "间", "rooms": "间", "yuan": "元", "school": "所"}
#: stages of a new-school design in Chinese (the kind of school it builds)
DESIGN_STAGE_ZH: dict[str, str] = {"primary": "小学", "junior": "初中", "nine_year": "九年一贯制学校"}

#: columns of :func:`project_lines`
LINE_COLUMNS: tuple[str, ...] = (
    "kind", "kind_zh", "school_id", "name_zh", "township_zh", "item", "item_zh", "quantity", "unit_zh",
    "content_zh", "serves_zh", "effect_zh", "pupils_served", "cost_yuan",
)  # fmt: skip


def school_names(plan: Plan, county: County) -> dict[str, str]:
    """Chinese name of every school and opened site the plan mentions."""
    names = dict(zip(county.schools["school_id"], county.schools["name_zh"], strict=True))
    after = plan.after_county.schools
    names.update(zip(after["school_id"], after["name_zh"], strict=True))
    sites = county.candidate_sites
    if len(sites) and "name_zh" in sites.columns:
        for sid, n in zip(sites.index, sites["name_zh"], strict=True):
            names.setdefault(str(sid), f"{n}（候选校址）")
    return names


def school_townships(plan: Plan, county: County) -> dict[str, str]:
    """Township name (乡镇) of every school and candidate site, by id."""
    tn = dict(zip(county.townships["township_id"].astype(str), county.townships["name_zh"].astype(str), strict=True))
    out: dict[str, str] = {}
    for frame in (county.schools, plan.after_county.schools):
        for sid, tid in zip(frame["school_id"].astype(str), frame["township_id"].astype(str), strict=True):
            out[sid] = tn.get(tid, tid)
    sites = county.candidate_sites
    if len(sites) and "township_id" in sites.columns:
        for sid, tid in zip(sites.index.astype(str), sites["township_id"].astype(str), strict=True):
            out.setdefault(sid, tn.get(tid, tid))
    return out


def option_zh(item: str, kind: str, county: County) -> str:
    """A project's code in words: ``P24`` → 新建24班小学（P24方案）, ``E001`` → 扩建方案E001."""
    if kind == "new_school":
        opt = next((o for o in county.parameters.new_school_options if o.option_id == item), None)
        if opt is not None:
            return f"新建{opt.classes}班{DESIGN_STAGE_ZH.get(opt.stage, '学校')}（{item}方案）"
        return f"新建学校（{item}方案）"
    if kind == "expansion":
        return f"扩建方案{item}"
    return PROJECT_KIND_ZH.get(kind, kind)


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.2f}"


def _indicator_effect(plan: Plan, sid: str, key: str) -> list[str]:
    ind = INDICATORS_BY_KEY[key]
    b, a = plan.before.indicators, plan.after.indicators
    out = []
    for r in a[(a["school_id"] == sid) & (a["indicator"] == key)].itertuples(index=False):
        prev = b[(b["school_id"] == sid) & (b["indicator"] == key) & (b["stage"] == r.stage)]
        before = f"{prev['value'].iloc[0]:,.2f}" if len(prev) else "（新建）"
        out.append(f"{ind.zh}（{STAGE_ZH[r.stage]}）{before}→{r.value:,.2f}{ind.unit_zh}，标准{r.standard:g}，"
                   f"{'达标' if r.met else '未达标'}")  # fmt: skip
    return out


def _guarantee_effect(plan: Plan, sid: str, item: str) -> list[str]:
    b, a = plan.before.guarantee, plan.after.guarantee
    out = []
    for r in a[(a["school_id"] == sid) & (a["item"] == item)].itertuples(index=False):
        prev = b[(b["school_id"] == sid) & (b["item"] == item) & (b["stage"] == r.stage)]
        ok = len(prev) and prev["value"].iloc[0] == prev["value"].iloc[0]
        before = f"{prev['value'].iloc[0]:,.1f}" if ok else "（新建）"
        stage = f"（{STAGE_ZH[r.stage]}）" if r.stage else ""
        out.append(f"{r.item_zh}{stage}{before}→{r.value:,.1f}{r.unit}，要求{r.limit:g}，"
                   f"{'达标' if r.met else '未达标'}")  # fmt: skip
    return out


#: resource column, its words and unit, for schools the assessment does not rate (teaching points)
_RAW = {
    "equipment": ("equipment_value_yuan", "教学仪器设备值", "元"),
    "multimedia": ("multimedia_rooms", "网络多媒体教室", "间"),
    "music_room": ("music_rooms", "音乐专用教室", "间"),
    "art_room": ("art_rooms", "美术专用教室", "间"),
    "classrooms": ("classrooms", "普通教室", "间"),
    "floor_area": ("floor_area_m2", "教学及辅助用房面积", "㎡"),
    "sports_area": ("sports_area_m2", "体育运动场馆面积", "㎡"),
}


def _raw_effect(plan: Plan, county: County, sid: str, what: str) -> str:
    col, zh, unit = _RAW[what]
    before = float(county.schools.loc[sid, col]) if sid in county.schools.index else 0.0
    after_s = plan.after_county.schools
    after = float(after_s.loc[sid, col]) if sid in after_s.index else before
    return f"{zh}{_num(before)}→{_num(after)}{unit}（该校不参评，按配置数量计）"


def _serves(kind: str, row: pd.Series) -> list[str]:
    """What a project adds, as the keys of the standards it serves."""
    if kind == "expansion":
        keys = []
        if float(row.get("added_classrooms", 0) or 0) > 0:
            keys.append("class_size")
        if float(row.get("added_floor_area_m2", 0) or 0) > 0:
            keys.append("floor_area")
        if float(row.get("added_sports_area_m2", 0) or 0) > 0:
            keys.append("sports_area")
        return keys
    return {"equipment": ["equipment"], "multimedia": ["multimedia"], "music_room": ["music_rooms"],
            "art_room": ["art_rooms"], "new_school": ["places"], "closure": ["layout"]}.get(kind, [])  # fmt: skip


SERVES_ZH: dict[str, str] = {
    "class_size": "班额（普通教室）",
    "floor_area": "生均教学及辅助用房面积",
    "sports_area": "生均体育运动场馆面积",
    "equipment": "生均教学仪器设备值",
    "multimedia": "每百名学生拥有网络多媒体教室数",
    "music_rooms": "音乐专用教室",
    "art_rooms": "美术专用教室",
    "places": "学位与班额（新增学位）",
    "layout": "学校布局调整",
}


def _effect(plan: Plan, county: County, kind: str, sid: str, keys: list[str], pupils_new: int) -> str:
    assessed = set(plan.after.indicators["school_id"].astype(str))
    lines: list[str] = []
    for k in keys:
        if k == "places":
            lines.append(f"新增学位，划入学生{pupils_new:,d}人")
        elif k == "layout":
            lines.append("撤并，学生划入邻近学校")
        elif k in ("class_size", "music_rooms", "art_rooms"):
            got = _guarantee_effect(plan, sid, k)
            raw = {"class_size": "classrooms", "music_rooms": "music_room", "art_rooms": "art_room"}[k]
            lines += got or [_raw_effect(plan, county, sid, raw)]
        else:
            got = _indicator_effect(plan, sid, k) if sid in assessed else []
            lines += got or [_raw_effect(plan, county, sid, k)]
    return "；".join(lines)


def _content(kind: str, row: pd.Series, item_zh: str) -> str:
    q = float(row["quantity"])
    if kind == "new_school":
        detail = str(row.get("detail_zh", "") or "")
        land = detail[detail.find("（") + 1 : detail.rfind("）")] if "（" in detail else ""
        return f"{item_zh}，{land}" if land else item_zh
    if kind == "expansion":
        parts = []
        if float(row.get("added_classrooms", 0) or 0) > 0:
            parts.append(f"新增普通教室{int(row['added_classrooms'])}间")
        if float(row.get("added_floor_area_m2", 0) or 0) > 0:
            parts.append(f"校舍{float(row['added_floor_area_m2']):,.0f}㎡")
        if float(row.get("added_sports_area_m2", 0) or 0) > 0:
            parts.append(f"运动场馆{float(row['added_sports_area_m2']):,.0f}㎡")
        return f"{item_zh}：" + "、".join(parts) if parts else item_zh
    if kind == "equipment":
        return f"购置教学仪器设备{q / 1e4:,.2f}万元"
    if kind in ("multimedia", "music_room", "art_room"):
        return f"配置{PROJECT_KIND_ZH[kind]}{round(q)}间"
    return str(row.get("detail_zh", "")) or PROJECT_KIND_ZH.get(kind, kind)


def project_lines(plan: Plan, county: County) -> pd.DataFrame:
    """One row per capital project, in Chinese (columns :data:`LINE_COLUMNS`), in the plan's order.

    pupils_served: for a new school the pupils of its new catchments; otherwise the school's pupils after
    the plan (both stages — rooms, equipment and buildings are shared).
    """
    p = plan.projects
    names, towns = school_names(plan, county), school_townships(plan, county)
    pupils_after = plan.after.parts.groupby("school_id")["pupils"].sum()
    assigned = plan.assignments.groupby("school_id")["pupils"].sum()
    rows = []
    for _, r in p.iterrows():
        kind, sid = str(r["kind"]), str(r["school_id"])
        item_zh = option_zh(str(r["item"]), kind, county)
        keys = _serves(kind, r)
        new = int(assigned.get(sid, 0))
        served = new if kind == "new_school" else int(pupils_after.get(sid, 0))
        quantity, unit_zh = float(r["quantity"]), UNIT_ZH.get(str(r["unit"]), str(r["unit"]))
        if kind == "expansion" and quantity <= 0:  # no classrooms added: one scheme of floor or sports area
            quantity, unit_zh = 1.0, "项"
        rows.append({
            "kind": kind, "kind_zh": PROJECT_KIND_ZH.get(kind, kind), "school_id": sid, "name_zh": names.get(sid, ""),
            "township_zh": towns.get(sid, ""), "item": str(r["item"]), "item_zh": item_zh,
            "quantity": quantity, "unit_zh": unit_zh,
            "content_zh": _content(kind, r, item_zh), "serves_zh": "、".join(SERVES_ZH[k] for k in keys),
            "effect_zh": _effect(plan, county, kind, sid, keys, new), "pupils_served": served,
            "cost_yuan": float(r["cost_yuan"]),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(LINE_COLUMNS))


def bundled_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """:func:`project_lines` with each school's purchases (equipment, multimedia sets, music and art rooms)
    bundled into one procurement line (教学装备采购), sorted by township, school, then works before
    purchases. Columns as :func:`project_lines`; a bundle's cost is the sum of its purchases and its
    content, standards and effects are theirs joined with "；"."""
    if not len(lines):
        return lines.copy()
    works = lines[~lines["kind"].isin(PURCHASE_KINDS)]
    buys = lines[lines["kind"].isin(PURCHASE_KINDS)]
    rows = [r._asdict() for r in works.itertuples(index=False)]
    for sid, g in buys.groupby("school_id", sort=False):
        first = g.iloc[0]
        rows.append({
            "kind": "purchase", "kind_zh": PURCHASE_ZH, "school_id": sid, "name_zh": first["name_zh"],
            "township_zh": first["township_zh"], "item": "purchase", "item_zh": PURCHASE_ZH, "quantity": float(len(g)),
            "unit_zh": "项", "content_zh": "；".join(g["content_zh"]), "serves_zh": "、".join(g["serves_zh"]),
            "effect_zh": "；".join(g["effect_zh"]), "pupils_served": int(first["pupils_served"]),
            "cost_yuan": float(g["cost_yuan"].sum()),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(LINE_COLUMNS))
    out["_p"] = out["kind"].eq("purchase").astype(int)
    return out.sort_values(["township_zh", "school_id", "_p"], kind="stable").drop(columns="_p").reset_index(drop=True)


def cost_per_pupil(cost_yuan: float, pupils: int) -> float:
    """Cost per pupil served (NaN when no pupil is served)."""
    return cost_yuan / pupils if pupils else math.nan


__all__ = [
    "DESIGN_STAGE_ZH",
    "LINE_COLUMNS",
    "PROJECT_KIND_ZH",
    "PURCHASE_KINDS",
    "PURCHASE_ZH",
    "SERVES_ZH",
    "UNIT_ZH",
    "bundled_lines",
    "cost_per_pupil",
    "option_zh",
    "project_lines",
    "school_names",
    "school_townships",
]
