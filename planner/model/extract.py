"""Read a solved model back into plain tables: assignments, projects, flows, hires.

Also pairs the per-type teacher moves into an exchange list (from, to) with the least
total travel time inside the rotation cap: a transportation problem per teacher type,
solved as a min-cost flow (integral by construction).
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd

from planner.assess import rotation_category
from planner.model.context import ModelContext
from planner.model.inputs import INDICATORS, SCHOOL_INDICATORS, TEACHER_INDICATORS
from planner.model.teachers import school_sides

#: serve labels for projects
SERVES = {
    "floor_area": "生均教学及辅助用房面积 floor area per pupil",
    "sports_area": "生均体育运动场馆面积 sports area per pupil",
    "equipment": "生均教学仪器设备值 equipment value per pupil",
    "multimedia": "每百名学生网络多媒体教室数 multimedia rooms per 100 pupils",
    "capacity": "班额与学位 class size and places",
    "music_art": "音乐美术专用教室 music and art rooms",
}


def _val(v: object) -> float:
    x = getattr(v, "varValue", None)
    return float(x) if x is not None else 0.0


def _ival(v: object) -> int:
    return round(_val(v))


def assignments(ctx: ModelContext) -> pd.DataFrame:
    """Settlement → unit per stage, with travel time and whether it changed."""
    inp = ctx.inp
    times = inp.arcs.set_index(["settlement_id", "stage", "unit_id"])
    demand = inp.demand.set_index(["settlement_id", "stage"])
    rows = []
    for (sid, stage, unit), lin in ctx.exprs["assign"].items():
        if lin.value() > 0.5:
            d = demand.loc[(sid, stage)]
            t = times.loc[(sid, stage, unit)]
            rows.append(
                {
                    "settlement_id": sid,
                    "stage": stage,
                    "unit_id": unit,
                    "current_unit": d["current_unit"],
                    "pupils": int(d["pupils"]),
                    "time_min": float(t["time_min"]),
                    "distance_m": float(t["distance_m"]),
                    "changed": unit != d["current_unit"],
                }
            )
    cols = ["settlement_id", "stage", "unit_id", "current_unit", "pupils", "time_min", "distance_m", "changed"]
    return pd.DataFrame(rows, columns=cols).sort_values(["stage", "settlement_id"]).reset_index(drop=True)


def part_state(ctx: ModelContext) -> pd.DataFrame:
    """Pupils and indicator resources per part at the solution (model-side values)."""
    rows = []
    for (unit, stage), row in ctx.inp.parts.iterrows():
        rec = {"unit_id": unit, "stage": stage, "included": bool(row["included"])}
        rec["pupils"] = ctx.pupils[(unit, stage)].value()
        for k in TEACHER_INDICATORS:
            rec[k] = ctx.resource[(unit, stage, k)].value()
        for k in SCHOOL_INDICATORS:
            rec[f"school_{k}"] = ctx.resource[(unit, "", k)].value()
        rows.append(rec)
    return split_by_pupils(pd.DataFrame(rows))


def split_by_pupils(df: pd.DataFrame) -> pd.DataFrame:
    """Each part's share of its school's pupils and of the ``school_<indicator>`` totals.

    The model's form of :func:`planner.assess.split_school_resources` (same rule: a school
    total is split between its parts in proportion to their pupils).
    """
    school_pupils = df.groupby("unit_id")["pupils"].transform("sum")
    df["share"] = np.where(school_pupils > 0, df["pupils"] / school_pupils.where(school_pupils > 0, 1), 0.0)
    for k in SCHOOL_INDICATORS:
        df[k] = df[f"school_{k}"] * df["share"]
    return df


def projects(ctx: ModelContext) -> pd.DataFrame:
    """Every funded project with its cost and the standard it serves."""
    inp = ctx.inp
    cost = inp.unit_costs
    rows: list[dict[str, object]] = []
    sites = inp.units[inp.units["is_new"]]
    opts = inp.site_options.set_index("option_id")
    for (site, option), z in sorted(ctx.vars["build"].items()):
        if _val(z) > 0.5:
            o = opts.loc[option]
            land = float(sites.loc[site, "land_cost_yuan"])
            rows.append(
                {
                    "kind": "new_school", "unit_id": site, "item": option, "quantity": int(o["classes"]),
                    "unit": "classes", "cost_yuan": float(o["cost_yuan"]) + land,
                    "serves": SERVES["capacity"],
                    "detail_zh": f"新建{int(o['classes'])}班学校（含土地费用 {land / 1e4:,.0f} 万元）",
                }
            )  # fmt: skip
    for unit, c in sorted(ctx.vars["close"].items()):
        if _val(c) > 0.5:
            rows.append(
                {"kind": "closure", "unit_id": unit, "item": "closure", "quantity": 1, "unit": "school",
                 "cost_yuan": 0.0, "serves": "布局调整 school network", "detail_zh": "撤并：学生划入邻近学校"}
            )  # fmt: skip
    exp = inp.expansions.set_index("option_id") if len(inp.expansions) else None
    for option, y in sorted(ctx.vars["expand"].items()):
        if _val(y) > 0.5 and exp is not None:
            e = exp.loc[option]
            rows.append(
                {
                    "kind": "expansion", "unit_id": e["unit_id"], "item": option,
                    "quantity": int(e["added_classrooms"]), "unit": "classrooms", "cost_yuan": float(e["cost_yuan"]),
                    "serves": SERVES["capacity"] if e["added_classrooms"] else SERVES["floor_area"],
                    "detail_zh": f"改扩建：新增教室{int(e['added_classrooms'])}间、校舍{e['floor_area']:,.0f}㎡、"
                    f"运动场馆{e['sports_area']:,.0f}㎡",
                    "added_classrooms": int(e["added_classrooms"]), "added_floor_area_m2": float(e["floor_area"]),
                    "added_sports_area_m2": float(e["sports_area"]),
                }
            )  # fmt: skip
    for unit, v in sorted(ctx.vars["equipment"].items()):
        amount = _val(v)
        if amount > 0.5:
            rows.append(
                {"kind": "equipment", "unit_id": unit, "item": "equipment", "quantity": round(amount, 2),
                 "unit": "yuan", "cost_yuan": amount * cost["equipment_yuan_per_yuan"], "serves": SERVES["equipment"],
                 "detail_zh": f"购置教学仪器设备 {amount / 1e4:,.2f} 万元"}
            )  # fmt: skip
    for group, unit_cost, serves, zh in (
        ("multimedia", cost["multimedia_room_yuan"], SERVES["multimedia"], "网络多媒体教室"),
        ("music_room", cost["music_room_yuan"], SERVES["music_art"], "音乐专用教室"),
        ("art_room", cost["art_room_yuan"], SERVES["music_art"], "美术专用教室"),
    ):
        for unit, v in sorted(ctx.vars[group].items()):
            n = _ival(v)
            if n > 0:
                rows.append(
                    {"kind": group, "unit_id": unit, "item": group, "quantity": n, "unit": "rooms",
                     "cost_yuan": n * unit_cost, "serves": serves, "detail_zh": f"配置{zh} {n} 间"}
                )  # fmt: skip
    cols = ["kind", "unit_id", "item", "quantity", "unit", "cost_yuan", "serves", "detail_zh", "added_classrooms",
            "added_floor_area_m2", "added_sports_area_m2"]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols)
    for c in cols[-3:]:
        df[c] = df[c].fillna(0)
    return df


def closed_units(ctx: ModelContext) -> list[str]:
    """Schools the plan closes."""
    return sorted(u for u, c in ctx.vars["close"].items() if _val(c) > 0.5)


def type_moves(ctx: ModelContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-type teachers leaving and joining each unit (before pairing)."""
    out = [{"unit_id": u, "type_id": t, "count": _ival(v)} for (u, t), v in sorted(ctx.vars["out"].items()) if _ival(v)]
    inn = [{"unit_id": u, "type_id": t, "count": _ival(v)} for (u, t), v in sorted(ctx.vars["in"].items()) if _ival(v)]
    cols = ["unit_id", "type_id", "count"]
    return pd.DataFrame(out, columns=cols), pd.DataFrame(inn, columns=cols)


def category_of(flags: pd.Series) -> str:
    """Reporting category of a teacher type (the assessment engine's rule)."""
    return rotation_category(bool(flags["backbone"]), bool(flags["pe_art"]), bool(flags["above_required"]))


#: travel-cost bonus (tenths of a minute) for a teacher of a subject the receiving school is short
#: of: above any travel difference inside the cap, below the penalty of a pair beyond it
NEED_BONUS = 100_000
BEYOND_CAP = 1_000_000


def _pair(
    senders: dict[tuple[str, str], int],
    receivers: dict[str, int],
    tmap: dict[tuple[str, str], float],
    max_travel_min: float,
    need: dict[tuple[str, str], int],
) -> list[tuple[str, str, str, int]]:
    """Least-travel pairing of (school, subject) senders with receiving schools.

    A min-cost flow (integral): pairs inside the cap first, and a receiver short of a
    subject (``need``: (school, subject) -> teachers) gets that subject first.
    Returns (from, subject, to, count).
    """
    g = nx.DiGraph()
    for (a, subject), n in senders.items():
        g.add_node(("s", a, subject), demand=-n)
    for b, n in receivers.items():
        g.add_node(("r", b), demand=n)
    for a, subject in senders:
        for b in receivers:
            if a == b:
                continue
            t = tmap.get((a, b), math.inf)
            cost = round(t * 10) if t <= max_travel_min else int(BEYOND_CAP + (t * 10 if math.isfinite(t) else 1e6))
            g.add_edge(("s", a, subject), ("r", b), weight=cost)
            if need.get((b, subject), 0) > 0:
                g.add_edge(("s", a, subject), ("n", b, subject), weight=cost - NEED_BONUS)
                g.add_edge(("n", b, subject), ("r", b), weight=0, capacity=need[(b, subject)])
    flow = nx.min_cost_flow(g)
    out: dict[tuple[str, str, str], int] = {}
    for node, targets in flow.items():
        if node[0] != "s":
            continue
        _, a, subject = node
        for target, n in targets.items():
            if n:
                b = target[1]
                out[(a, subject, b)] = out.get((a, subject, b), 0) + int(n)
    return [(a, subject, b, n) for (a, subject, b), n in sorted(out.items())]


def pair_flows(ctx: ModelContext, max_travel_min: float) -> pd.DataFrame:
    """Pair senders and receivers of each teacher group and leg with least travel time.

    Legs: ``rotation`` (giver → taker school), ``return`` (the return leg of a 双向交流,
    taker → giver) and ``redeployment`` (giver → new school). Senders are (school, subject)
    as the model decided them. Pairs inside ``max_travel_min`` are preferred; where the cap
    makes pairing impossible, the remaining moves use the shortest pairs beyond it and are
    flagged ``within_cap = False`` (the plan reports them). A receiver short of a subject
    (:func:`planner.model.teachers.subject_needs`) gets that subject first.
    """
    inp = ctx.inp
    types = inp.teacher_types
    if "group_id" not in types.columns:
        types = types.assign(group_id=types["type_id"], subject="")
    flags_of = types.drop_duplicates("group_id").set_index("group_id")
    subject_of = dict(zip(types["type_id"], types["subject"], strict=True))
    group_of = dict(zip(types["type_id"], types["group_id"], strict=True))
    times = inp.school_times[["from_unit", "to_unit", "time_min"]]
    tmap = {(a, b): float(t) for a, b, t in times.itertuples(index=False)}
    side = school_sides(inp).to_dict()
    ins: dict[str, dict[str, int]] = {}
    for (u, g), v in ctx.vars["in"].items():
        if _ival(v):
            ins.setdefault(g, {})[u] = _ival(v)
    # (school, subject) senders per group and leg
    sent: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
    for var_group in ("out", "redeploy"):
        for (u, t), v in sorted(ctx.vars[var_group].items()):
            if not _ival(v):
                continue
            leg = "redeployment" if var_group == "redeploy" else ("return" if side.get(u) == "taker" else "rotation")
            sent.setdefault((group_of[t], leg), {})[(u, subject_of[t])] = _ival(v)
    need = {k: int(n) for k, n in ctx.exprs.get("teacher_needs", {}).items()}
    receiving_side = {"rotation": "taker", "return": "giver", "redeployment": "new"}
    rows = []
    for g in sorted(ins):
        flags = flags_of.loc[g]
        stage = str(flags["stage"])
        for kind in ("rotation", "return", "redeployment"):
            senders = sent.get((g, kind), {})
            receivers = {u: n for u, n in ins[g].items() if side.get(u) == receiving_side[kind]}
            if not senders and not receivers:
                continue
            stage_need = {(b, s): n for (b, st, s), n in need.items() if st == stage and n > 0}
            for a, subject, b, n in _pair(senders, receivers, tmap, max_travel_min, stage_need):
                if (b, stage, subject) in need:
                    need[(b, stage, subject)] -= n
                t = tmap.get((a, b), math.nan)
                rows.append(
                    {"from_unit": a, "to_unit": b, "stage": stage, "type_id": f"{g}:{subject}" if subject else g,
                     "group_id": g, "subject": subject, "category": category_of(flags),
                     "above_required": int(flags["above_required"]), "backbone": int(flags["backbone"]),
                     "pe_art": int(flags["pe_art"]), "eligible": bool(flags["eligible"]), "kind": kind,
                     "count": int(n), "time_min": t, "within_cap": bool(t <= max_travel_min)}
                )  # fmt: skip
    cols = ["from_unit", "to_unit", "stage", "type_id", "group_id", "subject", "category", "above_required",
            "backbone", "pe_art", "eligible", "kind", "count", "time_min", "within_cap"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def hires(ctx: ModelContext) -> pd.DataFrame:
    """Teachers recruited per unit, stage and kind, with the annual cost."""
    salary = ctx.inp.unit_costs["teacher_hire_yuan_per_year"]
    ht = ctx.inp.hire_types.set_index("type_id")
    rows = []
    for (unit, stage, type_id), v in sorted(ctx.vars["hire"].items()):
        n = _ival(v)
        if n:
            rows.append({"unit_id": unit, "stage": stage, "type_id": type_id, "pe_art": int(ht.loc[type_id, "pe_art"]),
                         "count": n, "cost_yuan_per_year": n * salary})  # fmt: skip
    return pd.DataFrame(rows, columns=["unit_id", "stage", "type_id", "pe_art", "count", "cost_yuan_per_year"])


def unmet(ctx: ModelContext) -> pd.DataFrame:
    """Model-side shortfalls at the solution (the engine's after-assessment is the truth)."""
    rows = []
    for (unit, stage, k), lin in sorted(ctx.exprs["short"].items()):
        v = lin.value()
        if v > 1e-6:
            rows.append({"unit_id": unit, "stage": stage, "indicator": k, "shortfall": v,
                         "rule_shortfall": ctx.exprs["rule"][(unit, stage, k)].value()})  # fmt: skip
    return pd.DataFrame(rows, columns=["unit_id", "stage", "indicator", "shortfall", "rule_shortfall"])


__all__ = [
    "INDICATORS",
    "assignments",
    "category_of",
    "hires",
    "pair_flows",
    "part_state",
    "projects",
    "type_moves",
    "unmet",
]
