"""The cheapest passing plan's read-outs: what no money can fix, and the notes (无论投入多少资金都无法解决的问题).

The solve is :func:`planner.model.cheapest.min_cost_to_pass`; :func:`planner.plan.pipeline.plan_county` calls
it for a scenario with ``objective: min_cost_to_pass``. What is reported as failing comes from the
after-**assessment** (the engine's, not the model's), and what binds from :func:`planner.binding.what_binds`
run with the lifted budgets, so money is never the reason given.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from planner.assess import Assessment
from planner.binding import REASONS_ZH
from planner.model.cheapest import SKIPPED, CheapestRecord
from planner.standards import INDICATORS_BY_KEY

#: columns of :func:`no_money_fix`
NO_MONEY_COLUMNS: tuple[str, ...] = (
    "source", "school_id", "name_zh", "stage", "item", "item_zh", "missed_zh", "binds", "binds_zh", "detail_zh",
)  # fmt: skip

#: what the table says where :func:`planner.binding.what_binds` finds no single cause
_RULES_ZH = "资金不限时仍未达标：受班额、规模、服务半径、差异系数不恶化等底线规则约束，或求解时限内未找到更好方案"
_BACKBONE_ZH = "骨干教师不能招聘，只能交流轮岗：可交流的骨干教师不足、不在交流距离内或调出学校不能再少"


_AREA_COLUMNS = {"floor_area": ("floor_area_m2", "added_floor_area_m2"),
                 "sports_area": ("sports_area_m2", "added_sports_area_m2")}  # fmt: skip


def area_binds(
    after_schools: pd.DataFrame,
    expansion_options: pd.DataFrame,
    projects: pd.DataFrame,
    stuck_pupils: dict[str, float],
    school_id: str,
    indicator: str,
    standard: float,
    floor_share: float,
) -> tuple[list[str], str]:
    """Why floor or sports area per pupil stays below ``floor_share`` of ``standard`` whatever the money.

    ``land`` when the school's area after the plan plus every expansion option the plan did not take stays
    under ``floor_share × standard`` per pupil at its pupils after the plan; ``distance_cap`` as well when even
    its pupils with no other school or opened site within their travel cap (``stuck_pupils``) alone are too
    many for that area. Empty when neither holds (the area could reach the school rule's floor).
    """
    if school_id not in after_schools.index or indicator not in _AREA_COLUMNS:
        return [], ""
    have_col, add_col = _AREA_COLUMNS[indicator]
    row = after_schools.loc[school_id]
    pupils = float(row["pupils_primary"]) + float(row["pupils_junior"])
    taken = set(projects.loc[projects["kind"] == "expansion", "item"]) if len(projects) else set()
    opts = expansion_options[(expansion_options["school_id"] == school_id)
                             & ~expansion_options["option_id"].isin(taken)]  # fmt: skip
    most = float(row[have_col]) + float(opts[add_col].sum())
    need = floor_share * standard
    if pupils <= 0 or most / pupils >= need:
        return [], ""
    why = ["land"]
    detail = (f"现有及全部可选扩建方案合计{most:,.0f}㎡，按{pupils:,.0f}名学生仅达标准的{most / pupils / standard:.0%}"
              f"（须{floor_share:.0%}）")  # fmt: skip
    stuck = float(stuck_pupils.get(school_id, 0.0))
    if stuck > 0 and most / stuck < need:
        why.append("distance_cap")
        detail += f"；其中{stuck:,.0f}名学生的居民点在服务半径内无其他学校，仅这些学生也超出可达面积"
    return why, detail


def stuck_pupils(assignments: pd.DataFrame, arcs: pd.DataFrame, unavailable: set[str]) -> dict[str, float]:
    """Pupils per school after the plan whose settlement has no other school or opened site within its cap."""
    within = arcs[arcs["within_cap"].astype(bool) & ~arcs["unit_id"].isin(unavailable)]
    reach = within.groupby(["settlement_id", "stage"])["unit_id"].agg(set)
    out: dict[str, float] = {}
    for s, k, u, n in assignments[["settlement_id", "stage", "school_id", "pupils"]].itertuples(index=False):
        others = reach.get((s, k), set()) - {u}
        if not others:
            out[u] = out.get(u, 0.0) + float(n)
    return out


def _indicator_binds(k: str, why: pd.DataFrame | None, key: tuple[str, str, str]) -> tuple[str, str]:
    """(reason codes, detail) of one unmet indicator: what_binds's, backbone teachers read as the rotation pool."""
    binds, detail = "trade_off", ""
    if why is not None and key in why.index:
        w = why.loc[key]
        w = w.iloc[0] if isinstance(w, pd.DataFrame) else w
        binds, detail = str(w["binds"]), str(w["detail_zh"] or "")
    if k == "backbone" and binds in ("trade_off", "staffing"):
        binds, detail = "rotation_pool", _BACKBONE_ZH  # no recruit is a backbone teacher
    return binds, detail


def no_money_fix(
    after: Assessment,
    unmet: pd.DataFrame,
    named: set[tuple[str, str]] | None = None,
    area: Callable[[str, str, float], tuple[list[str], str]] | None = None,
) -> pd.DataFrame:
    """What the cheapest passing plan leaves failing, with what binds: one row per failing part and per CV over.

    Parameters
    ----------
    after : Assessment
        The assessment of the county after the cheapest passing plan.
    unmet : DataFrame
        :func:`planner.binding.what_binds` of that plan, run with the lifted budgets.
    named : set of (school_id, stage), optional
        The parts ``cheapest.parts`` asked to pass: only those are listed (a named part the plan could not
        pass), and no CV (none was pursued).
    area : callable, optional
        ``(school_id, indicator, standard) -> (reasons, detail)`` for floor and sports area below the school
        rule's floor where what_binds finds no single cause (:func:`area_binds`).

    Returns
    -------
    DataFrame
        Columns :data:`NO_MONEY_COLUMNS`. ``source`` ``school`` (a failing school part: ``missed_zh`` its
        indicators below standard with their share of it; ``binds`` the reasons of
        :data:`planner.binding.REASONS_ZH`, joined by ``;``, of those indicators that money cannot meet —
        land, the travel cap, the hires cap, the rotation pool, a private school — or ``trade_off`` when
        none of them binds alone) or ``cv`` (a CV over its threshold).
    """
    schools = after.schools
    failing = schools[schools["assessed"].astype(bool) & ~schools["passes"].fillna(False).astype(bool)]
    if named is not None:
        failing = failing[[(s, g) in named for s, g in zip(failing["school_id"], failing["stage"], strict=True)]]
    ind = after.indicators.set_index(["school_id", "stage", "indicator"])
    why = unmet[unmet["source"] == "indicator"].set_index(["school_id", "stage", "item"]) if len(unmet) else None
    rows = []
    for r in failing.itertuples(index=False):
        missed = [k for k in str(r.missed).split(";") if k]
        codes: list[str] = []
        details: list[str] = []
        shares: list[str] = []
        for k in missed:
            key = (r.school_id, r.stage, k)
            ratio = float(ind.loc[key, "ratio"]) if key in ind.index else float("nan")
            shares.append(f"{INDICATORS_BY_KEY[k].zh} {ratio:.1%}")
            binds, detail = _indicator_binds(k, why, key)
            if binds == "trade_off" and area is not None and key in ind.index:
                found, text = area(r.school_id, k, float(ind.loc[key, "standard"]))
                if found:
                    binds, detail = ";".join(found), text
            if binds != "trade_off":
                codes += [c for c in binds.split(";") if c not in codes]
                text = detail or "；".join(REASONS_ZH[c] for c in binds.split(";"))
                details.append(f"{INDICATORS_BY_KEY[k].zh}：{text}")
        if not codes:
            codes, details = ["trade_off"], [_RULES_ZH]
        rows.append({"source": "school", "school_id": r.school_id, "name_zh": r.name_zh, "stage": r.stage,
                     "item": ";".join(missed), "item_zh": "学校达标 school rule", "missed_zh": "；".join(shares),
                     "binds": ";".join(codes), "binds_zh": "；".join(REASONS_ZH[c] for c in codes),
                     "detail_zh": "。".join(details)})  # fmt: skip
    bal = after.balance
    for r in bal[~bal["met"].astype(bool) & (named is None)].itertuples(index=False):
        backbone = r.indicator == "backbone"
        rows.append({"source": "cv", "school_id": "", "name_zh": "", "stage": r.stage, "item": r.indicator,
                     "item_zh": f"差异系数：{INDICATORS_BY_KEY[r.indicator].zh}",
                     "missed_zh": f"差异系数{float(r.cv):.3f}，标准{float(r.threshold):.2f}",
                     "binds": "rotation_pool" if backbone else "trade_off",
                     "binds_zh": REASONS_ZH["rotation_pool" if backbone else "trade_off"],
                     "detail_zh": _BACKBONE_ZH if backbone else _RULES_ZH})  # fmt: skip
    return pd.DataFrame(rows, columns=list(NO_MONEY_COLUMNS))


def stages_table(
    record: CheapestRecord, stage2_description: str, capital_yuan: float, recurrent_yuan: float
) -> pd.DataFrame:
    """The two solves of the cheapest passing plan, one row each (``plan/cheapest_stages.csv``).

    ``model_parts_failing``: the parts the model's stage 1 left failing (``;``-joined ``id:stage``), to set
    against the after-assessment's (table ``no_money_fix``).
    """
    failing = ";".join(f"{u}:{s}" for u, s in record.failing_parts)
    return pd.DataFrame([
        {"阶段 stage": "1 资金不限 budgets lifted", "status": record.stage1_status,
         "description": record.stage1_description, "capital_yuan": record.stage1_capital_yuan,
         "recurrent_yuan_per_year": record.stage1_recurrent_yuan, "model_parts_failing": failing,
         "bottom_lines": record.bottom_lines},
        {"阶段 stage": "2 最低投入 cheapest", "status": "", "description": stage2_description,
         "capital_yuan": capital_yuan, "recurrent_yuan_per_year": recurrent_yuan, "model_parts_failing": failing,
         "bottom_lines": record.bottom_lines_held},
    ])  # fmt: skip


def cvs_made_worse(before: Assessment, after: Assessment) -> list[str]:
    """CVs the plan leaves above the larger of their threshold and their value before it (the no-worse rule).

    The model keeps the rule through cutting planes at fixed pupils; this reads the assessment engine's CVs, so
    the notes never claim what the plan does not do.
    """
    b = before.balance.set_index(["stage", "indicator"])["cv"]
    out = []
    for r in after.balance.itertuples(index=False):
        was = float(b.get((r.stage, r.indicator), float("nan")))
        ceiling = max(float(r.threshold), was) if was == was else float(r.threshold)
        if float(r.cv) > ceiling + 1e-3:
            out.append(f"{r.stage}:{r.indicator} {was:.3f}→{float(r.cv):.3f}")
    return out


def cheapest_notes(
    record: CheapestRecord, costs: dict[str, float], table: pd.DataFrame, description: str, worse: list[str]
) -> list[str]:
    """The plan's notes, what no money can fix first, then the cost (Chinese first, English alongside).

    ``worse``: :func:`cvs_made_worse` of the plan.
    """
    cv_text = ("差异系数不恶化 no CV made worse" if not worse else
               f"差异系数变差 CVs made worse: {', '.join(worse)}（模型以割平面近似，学区调整改变学生数时可能低估"
               " the model's cuts hold pupils at their point and can miss this when pupils move）")  # fmt: skip
    parts = table.loc[table["source"] == "school", ["school_id", "stage"]].drop_duplicates()
    cvs = table[table["source"] == "cv"]
    if record.stage1_status == SKIPPED:  # cheapest.parts named the parts to pass
        asked = len(record.failing_parts)
        return [
            "只测算指定的学校学段 only the school parts named (cheapest.parts) are asked to pass; "
            f"其中仍未达标 of them still failing: {len(parts)}（见 no_money_fix 表 see table no_money_fix）；"
            f"其余 {asked} 个学校学段不作要求 the {asked} others are not asked to pass; {cv_text}.",
            "指定学校学段达标的最低投入 cheapest plan passing the parts named: "
            f"资本性 capital {costs['capital_yuan'] / 1e4:,.1f} 万元，"
            f"经常性 recurrent {costs['recurrent_yuan_per_year'] / 1e4:,.1f} 万元/年（{description}）。",
        ]
    names = "、".join(f"{s}（{'小学' if st == 'primary' else '初中'}）" for s, st in parts.itertuples(index=False))
    first = (
        f"无论投入多少资金都无法达标 no money can fix: {len(parts)} 个学校学段 school parts"
        + (f"（{names}）" if names else "")
        + f"，{len(cvs)} 项差异系数 CVs over their threshold；原因见 no_money_fix 表 (what binds: table no_money_fix)。"
    )
    if record.stage1_status != "optimal":
        first += (
            f" 第一阶段（资金不限）求解未证明最优（{record.stage1_description}），部分学校或许仍可达标"
            " stage 1 (budgets lifted) was not proven optimal: some may still be fixable."
        )
    if record.bottom_lines_held is not None:
        level = ("不劣于现状（现行学区、轮岗政策）" if record.bottom_lines_today is not None
                 else "不劣于资金不限时的方案")  # fmt: skip
        held = ("no worse than today (today's catchments, the policy's rotations)" if record.bottom_lines_today
                is not None else "no worse than the plan with the budgets lifted")  # fmt: skip
        first += f" 班额、规模、服务半径和轮岗政策等底线逐项{level} bottom lines and policy rules item by item {held}."
    first += f" {cv_text}."
    second = (
        "其余全部达标的最低投入 cheapest plan passing the rest: "
        f"资本性 capital {costs['capital_yuan'] / 1e4:,.1f} 万元，"
        f"经常性 recurrent {costs['recurrent_yuan_per_year'] / 1e4:,.1f} 万元/年（{description}）。"
    )
    return [first, second]


__all__ = [
    "NO_MONEY_COLUMNS",
    "area_binds",
    "cheapest_notes",
    "cvs_made_worse",
    "no_money_fix",
    "stages_table",
    "stuck_pupils",
]
