"""What the standards still unmet after a plan would cost (:func:`cost_to_meet`).

Prices each standard still unmet after the plan with the county's unit costs
(issue #6, budget justification); :func:`cost_totals` sums the table. The ±δ budget
re-solves (the marginal value of money) are made in :mod:`planner.plan.variants`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from planner.county import County
from planner.plan import Plan
from planner.schema import STAGE_ZH
from planner.standards import INDICATORS_BY_KEY

log = logging.getLogger(__name__)

#: Columns of the cost-to-meet table, in order.
COST_COLUMNS: tuple[str, ...] = (
    "source", "item", "item_zh", "school_id", "name_zh", "stage", "public", "shortfall", "unit", "share",
    "quantity", "quantity_unit", "unit_cost_yuan", "cost_yuan", "cost_kind", "rule_zh",
)  # fmt: skip

#: Resources of a nine-year school that the engine splits between its parts by pupils.
_SPLIT = {"floor_area", "sports_area", "equipment", "multimedia"}


def classroom_unit_cost(county: County) -> tuple[float, str]:
    """Cost of one added classroom and where it comes from.

    The median of ``cost_yuan / added_classrooms`` over the county's expansion options that
    add classrooms (their floor area included); else the cheapest new-school design's
    cost per class; NaN when the county has neither.
    """
    e = county.expansion_options
    if len(e) and (e["added_classrooms"] > 0).any():
        e = e[e["added_classrooms"] > 0]
        return float((e["cost_yuan"] / e["added_classrooms"]).median()), "改扩建方案每间教室造价中位数"
    opts = county.parameters.new_school_options
    if opts:
        return float(min(o.cost_yuan / o.classes for o in opts)), "新建学校方案每班造价最低值"
    return math.nan, "无改扩建或新建方案，无法估算"


def cost_to_meet(plan: Plan, county: County) -> pd.DataFrame:
    """A transparent estimate of what each standard still unmet after the plan would cost.

    Rules (unit costs from ``county.parameters.unit_costs``):

    - teachers (indicators 1–3, staffing norm): the whole teachers short × the annual cost
      of one hire (recurrent, per year). One recruit can count towards several teacher
      items (a bachelor-level PE teacher counts for indicators 1 and 3 and staffing), so
      the teacher rows of one school part overlap: their sum is an upper bound and the
      largest of them a lower bound. Backbone teachers come from training or rotation
      rather than recruitment; the hire cost is the stand-in.
    - floor area: m² short × building cost per m²; sports area: m² short × sports-ground
      cost per m² (land not included);
    - equipment: yuan short × cost per yuan of equipment; multimedia rooms: rooms short ×
      cost of one set;
    - music and art rooms: rooms short × cost of one room;
    - class size: the extra classes the standard needs, of which the classrooms the school
      lacks × :func:`classroom_unit_cost`;
    - rotation share: teachers short × the annual rotation allowance (recurrent); backbone
      share: backbone teachers replace other movers, so no extra cost;
    - school size and catchment share: not priced (they need a layout or zoning decision).

    A nine-year school's floor area, sports area, equipment and multimedia rooms are split
    between its parts by pupils, so raising a part by S needs S / share at the school (and
    raises the other part too): the school-level quantity is priced once, on the part that
    needs most; the other part's row is costed 0 and says so.

    Parameters
    ----------
    plan : Plan
    county : County
        The county before the plan (its unit costs and expansion options).

    Returns
    -------
    DataFrame
        One row per unmet item (columns :data:`COST_COLUMNS`), with ``public`` false for
        private schools (not funded by the county budget), ``cost_kind`` ``capital`` or
        ``recurrent`` (yuan per year), and the rule applied in Chinese.
    """
    uc = county.parameters.unit_costs
    a = plan.after
    parts = a.parts.set_index(["school_id", "stage"])
    owner = a.parts.groupby("school_id")["ownership"].first()
    rows: list[dict[str, Any]] = []

    def base(src: str, item: str, item_zh: str, sid: str, name: str, stage: str) -> dict[str, Any]:
        return {"source": src, "item": item, "item_zh": item_zh, "school_id": sid, "name_zh": name, "stage": stage,
                "public": owner.get(sid, "public") == "public"}  # fmt: skip

    ind = a.indicators
    for r in ind[~ind["met"].astype(bool)].itertuples(index=False):
        i = INDICATORS_BY_KEY[r.indicator]
        rec = base("indicator", r.indicator, i.zh, r.school_id, r.name_zh, r.stage)
        share = float(parts.loc[(r.school_id, r.stage), "share"]) if r.indicator in _SPLIT else 1.0
        short = float(r.shortfall)
        rec.update(shortfall=short, unit=i.resource_unit_zh, share=share)
        if i.resource in ("teachers_above_required", "backbone_teachers", "pe_art_teachers"):
            q = int(r.shortfall_whole)
            rec.update(quantity=q, quantity_unit="人", unit_cost_yuan=uc.teacher_hire_yuan_per_year,
                       cost_kind="recurrent",
                       rule_zh=f"缺{short:.2f}人，取整{q}人 × 每人每年"
                       f"{uc.teacher_hire_yuan_per_year:,.0f}元")  # fmt: skip
        else:
            need = short / share if share > 0 else short
            unit_cost, qunit, what = {
                "floor_area": (uc.building_yuan_per_m2, "m²", "校舍每㎡造价"),
                "sports_area": (uc.sports_ground_yuan_per_m2, "m²", "运动场馆每㎡造价"),
                "equipment": (uc.equipment_yuan_per_yuan, "元", "每元设备采购成本"),
                "multimedia": (uc.multimedia_room_yuan, "间", "每间多媒体设备"),
            }[r.indicator]
            q: float = math.ceil(need - 1e-9) if i.discrete else need
            split = (
                f"（九年一贯制学校按学生数分摊，本学段占{share:.1%}，学校需补{short:.2f}/{share:.3f}）"
                if share < 1
                else ""
            )
            rec.update(quantity=q, quantity_unit=qunit, unit_cost_yuan=unit_cost, cost_kind="capital",
                       rule_zh=f"差额{short:,.2f}{i.resource_unit_zh}{split}，按{q:,.2f}{qunit} × {what}"
                       f"{unit_cost:,.2f}元")  # fmt: skip
        rec["cost_yuan"] = float(rec["quantity"]) * float(rec["unit_cost_yuan"])
        rows.append(rec)

    g = a.guarantee
    room_cost, room_src = classroom_unit_cost(county)
    schools_after = plan.after_county.schools
    for r in g[~g["met"].astype(bool)].itertuples(index=False):
        rec = base("guarantee", r.item, r.item_zh, r.school_id or "", r.name_zh or "", r.stage or "")
        gap_whole = int(r.gap_whole) if not pd.isna(r.gap_whole) else 0
        rec.update(shortfall=float(r.gap), unit=r.unit, share=1.0)
        if r.item in ("music_rooms", "art_rooms"):
            unit_cost = uc.music_room_yuan if r.item == "music_rooms" else uc.art_room_yuan
            rec.update(quantity=gap_whole, quantity_unit="间", unit_cost_yuan=unit_cost, cost_kind="capital",
                       rule_zh=f"缺{gap_whole}间 × 每间{unit_cost:,.0f}元")  # fmt: skip
        elif r.item == "staffing":
            rec.update(quantity=gap_whole, quantity_unit="人", unit_cost_yuan=uc.teacher_hire_yuan_per_year,
                       cost_kind="recurrent",
                       rule_zh=f"缺{float(r.gap):.2f}人，取整{gap_whole}人 × 每人每年"
                       f"{uc.teacher_hire_yuan_per_year:,.0f}元")  # fmt: skip
        elif r.item == "rotation_share":
            rec.update(unit="人", quantity=gap_whole, quantity_unit="人",
                       unit_cost_yuan=uc.rotation_allowance_yuan_per_year, cost_kind="recurrent",
                       rule_zh=f"还需交流{gap_whole}人 × 每人每年交流补贴"
                       f"{uc.rotation_allowance_yuan_per_year:,.0f}元")  # fmt: skip
        elif r.item == "rotation_backbone_share":
            rec.update(unit="人", quantity=gap_whole, quantity_unit="人", unit_cost_yuan=0.0, cost_kind="recurrent",
                       rule_zh=(f"交流人员中还需{gap_whole}名骨干教师：以骨干教师替换交流人员中的其他教师"
                                if gap_whole else "方案中无交流教师：按交流比例项安排交流时，骨干教师须达规定比例")
                       + "，人数与补贴不变，不另计费")  # fmt: skip
        elif r.item == "class_size" and r.school_id in schools_after.index:
            s = schools_after.loc[r.school_id]
            classes = int(s["classes_primary"]) + int(s["classes_junior"])
            rooms = max(0, classes + gap_whole - int(s["classrooms"]))
            rule = (f"需增{gap_whole}个班；现有教室{int(s['classrooms'])}间、班级{classes}个，缺教室{rooms}间 × "
                    f"每间{room_cost:,.0f}元（{room_src}）")  # fmt: skip
            if rooms == 0:
                rule += "；教室够用，增班所需教师见教师编制项"
            rec.update(quantity=rooms, quantity_unit="间教室", unit_cost_yuan=room_cost, cost_kind="capital",
                       rule_zh=rule)  # fmt: skip
        else:
            rec.update(quantity=np.nan, quantity_unit="", unit_cost_yuan=np.nan, cost_kind="not_priced",
                       rule_zh="需调整学校布局或学区划片，不单独估价")  # fmt: skip
        q, u = rec["quantity"], rec["unit_cost_yuan"]
        rec["cost_yuan"] = float(q) * float(u) if not (pd.isna(q) or pd.isna(u)) else np.nan
        rows.append(rec)

    df = pd.DataFrame(rows, columns=list(COST_COLUMNS))
    # a nine-year school's shared resource: price the school-level quantity once (largest part need)
    split_rows = df[(df["source"] == "indicator") & df["item"].isin(list(_SPLIT))]
    for _key, grp in split_rows.groupby(["school_id", "item"]):
        if len(grp) < 2:
            continue
        keep = grp["quantity"].astype(float).idxmax()
        for idx in grp.index.drop(keep):
            df.loc[idx, "cost_yuan"] = 0.0
            df.loc[idx, "rule_zh"] = (
                f"{df.loc[idx, 'rule_zh']}；已含于{STAGE_ZH.get(df.loc[keep, 'stage'], '')}部同项"
                "（同一学校共用），不重复计费"
            )
    for c in ("shortfall", "share", "unit_cost_yuan", "cost_yuan"):
        df[c] = df[c].astype(float)
    return df


def cost_totals(costs: pd.DataFrame) -> dict[str, float]:
    """Totals of a :func:`cost_to_meet` table for public schools.

    Returns
    -------
    dict
        ``capital_yuan``; ``recurrent_yuan_per_year_upper`` (every teacher row summed) and
        ``recurrent_yuan_per_year_lower`` (per school part, only its largest teacher need,
        plus rotation allowances); ``private_capital_yuan`` and
        ``private_recurrent_yuan_per_year`` (private schools, not county money);
        ``not_priced`` (items without a cost).
    """
    pub = costs[costs["public"].astype(bool)]
    priv = costs[~costs["public"].astype(bool)]
    rec = pub[pub["cost_kind"] == "recurrent"]
    teachers = rec[rec["quantity_unit"] == "人"]
    rotation = teachers[teachers["item"].str.startswith("rotation")]
    per_part = teachers.drop(index=rotation.index)
    lower = (
        float(per_part.groupby(["school_id", "stage"])["cost_yuan"].max().sum()) if len(per_part) else 0.0
    ) + float(rotation["cost_yuan"].sum())
    return {
        "capital_yuan": float(pub.loc[pub["cost_kind"] == "capital", "cost_yuan"].sum()),
        "recurrent_yuan_per_year_upper": float(rec["cost_yuan"].sum()),
        "recurrent_yuan_per_year_lower": lower,
        "private_capital_yuan": float(priv.loc[priv["cost_kind"] == "capital", "cost_yuan"].sum()),
        "private_recurrent_yuan_per_year": float(priv.loc[priv["cost_kind"] == "recurrent", "cost_yuan"].sum()),
        "not_priced": int((costs["cost_kind"] == "not_priced").sum()),
    }


__all__ = ["COST_COLUMNS", "classroom_unit_cost", "cost_to_meet", "cost_totals"]
