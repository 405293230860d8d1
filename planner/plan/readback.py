"""Read a solved model back into plan tables: assignments, projects, flows, hires, new schools.

Pairs the per-type teacher moves into flows (from, to) with the least total travel time inside
the rotation cap (a transportation problem per teacher type, solved as a min-cost flow, integral
by construction) and names the teachers who move (:func:`exchange_list`); builds the feeder
table and the catchment-rule notes (:func:`add_catchment_outputs`).
"""

from __future__ import annotations

import math
from dataclasses import replace

import geopandas as gpd
import networkx as nx
import pandas as pd

from planner.assess import rotation_category, teacher_categories
from planner.county import County
from planner.model.context import ModelContext
from planner.model.inputs import INDICATORS
from planner.model.optimise import Solution
from planner.model.teachers import school_sides
from planner.scenario import Scenario
from planner.standards import Standards

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
    chosen = [key for key, lin in ctx.exprs["assign"].items() if lin.value() > 0.5]
    out = pd.DataFrame(chosen, columns=["settlement_id", "stage", "unit_id"])
    demand = inp.demand[["settlement_id", "stage", "current_unit", "pupils"]]
    times = inp.arcs[["settlement_id", "stage", "unit_id", "time_min", "distance_m"]]
    out = out.merge(demand, on=["settlement_id", "stage"], how="left", validate="many_to_one")
    out = out.merge(times, on=["settlement_id", "stage", "unit_id"], how="left", validate="one_to_one")
    out["pupils"] = out["pupils"].astype(int)
    out["time_min"] = out["time_min"].astype(float)
    out["distance_m"] = out["distance_m"].astype(float)
    out["changed"] = out["unit_id"] != out["current_unit"]
    cols = ["settlement_id", "stage", "unit_id", "current_unit", "pupils", "time_min", "distance_m", "changed"]
    return out[cols].sort_values(["stage", "settlement_id"]).reset_index(drop=True)


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


def new_schools(county: County, sol: Solution) -> pd.DataFrame:
    """Rows for the schools the plan builds, in the schools table's shape."""
    ctx = sol.built.ctx
    opts = {o.option_id: o for o in county.parameters.new_school_options}
    sites = county.candidate_sites
    rows = []
    for (site, option), z in sorted(ctx.vars["build"].items()):
        if (z.varValue or 0) < 0.5:
            continue
        o = opts[option]
        s = sites.loc[site]
        rows.append(
            {
                "school_id": site, "name_zh": f"{s['name_zh']}新建学校", "township_id": s["township_id"],
                "kind": o.stage, "lon": s["lon"], "lat": s["lat"], "geometry": s.geometry, "classrooms": o.classes,
                "floor_area_m2": o.floor_area_m2, "sports_area_m2": o.sports_area_m2,
                "equipment_value_yuan": o.equipment_value_yuan, "multimedia_rooms": o.multimedia_rooms,
                "music_rooms": o.music_rooms, "art_rooms": o.art_rooms,
            }
        )  # fmt: skip
    cols = ["school_id", "name_zh", "township_id", "kind", "lon", "lat", "geometry", "classrooms", "floor_area_m2",
            "sports_area_m2", "equipment_value_yuan", "multimedia_rooms", "music_rooms", "art_rooms"]  # fmt: skip
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=county.crs)


#: kinds of the exchange list (DOMAIN.md §1.2, §3)
EXCHANGE_KINDS = {"rotation": "轮岗", "return": "回流", "redeployment": "调配", "itinerant": "走教"}
#: kinds that count as 交流轮岗 for the 10% / 20% policy (both legs of a 双向交流)
ROTATION_KINDS = ("rotation", "return")
ITINERANT_SUBJECTS = ("pe", "music", "art", "it")


def _type_key(
    school: str, stage: str, above: float, backbone: float, pe_art: float, eligible: bool
) -> tuple[str, str, int, int, int, bool]:
    """A teacher type at a school as one key: the roster's pools and the plan's flows are matched by it."""
    return str(school), str(stage), int(above), int(backbone), int(pe_art), bool(eligible)


def exchange_list(county: County, flows: pd.DataFrame, standards: Standards, *, term_years: int = 3) -> pd.DataFrame:
    """Name the teachers who move: for each flow, the longest-serving teachers of its type.

    Deterministic: candidates of the flow's type (indicator flags, eligibility and subject)
    at the sending school sorted by years at the school (longest first), then teacher_id.
    Columns: teacher_id, subject, backbone_level, from_school_id, to_school_id, kind
    (``rotation`` 轮岗 / ``return`` 回流 / ``redeployment`` 调配), term_years, and stage,
    category, years_at_school, time_min, within_cap.
    """
    cats = teacher_categories(county.teachers, standards)
    cats["years_at_school"] = county.teachers["years_at_school"]
    cats["subject"] = county.teachers["subject"].astype(str)
    cats["backbone_level"] = county.teachers["backbone_level"].astype(str)
    # each type's teachers at each school, longest-serving first (then by teacher_id): a flow takes the first
    # ones not yet taken (of its subject, where the flow names one)
    key_cols = ["school_id", "stage", "above_required", "backbone", "pe_art", "eligible"]
    order = cats.assign(_tid=cats.index).sort_values(["years_at_school", "_tid"], ascending=[False, True])
    pools: dict[tuple[str, str, int, int, int, bool], list[str]] = {}
    for tid, *key in zip(order.index, *(order[c].to_numpy() for c in key_cols), strict=True):
        pools.setdefault(_type_key(*key), []).append(tid)
    subject_of = cats["subject"].to_dict()
    taken: set[str] = set()
    rows = []
    has_subject = "subject" in flows.columns
    for f in flows.sort_values(["from_unit", "to_unit", "type_id"]).itertuples(index=False):
        pool = pools.get(_type_key(f.from_unit, f.stage, f.above_required, f.backbone, f.pe_art, f.eligible), [])
        subject = f.subject if has_subject and f.subject else None
        chosen = [tid for tid in pool if str(tid) not in taken and (subject is None or subject_of[tid] == subject)]
        chosen = chosen[: int(f.count)]
        if len(chosen) < f.count:
            raise RuntimeError(f"not enough teachers of type {f.type_id} at {f.from_unit} for the plan")
        kind = str(getattr(f, "kind", "rotation" if f.eligible else "redeployment"))
        for tid in chosen:
            taken.add(str(tid))
            c = cats.loc[tid]
            rows.append(
                {"teacher_id": tid, "subject": c["subject"], "backbone_level": c["backbone_level"],
                 "from_school_id": f.from_unit, "to_school_id": f.to_unit, "kind": kind,
                 "term_years": term_years if kind in ROTATION_KINDS else None, "stage": f.stage,
                 "category": c["category"], "years_at_school": int(c["years_at_school"]), "time_min": f.time_min,
                 "within_cap": f.within_cap}
            )  # fmt: skip
    cols = ["teacher_id", "subject", "backbone_level", "from_school_id", "to_school_id", "kind", "term_years", "stage",
            "category", "years_at_school", "time_min", "within_cap"]  # fmt: skip
    out = pd.DataFrame(rows, columns=cols)
    out["term_years"] = out["term_years"].astype("Int64")
    return out


def itinerant_list(
    county: County, moved: pd.DataFrame, school_times: pd.DataFrame, max_travel_min: float, term_years: int
) -> pd.DataFrame:
    """走教: a PE, music, art or IT teacher serves a nearby school that has none (after the plan).

    For every public school part with pupils and no teacher of one of these subjects after
    the moves in ``moved``, the nearest other school within ``max_travel_min`` with a teacher
    of that subject and stage who is not moved by the plan and does not already 走教 lends one
    (longest-serving first). The teacher stays on the home school's staff: 走教 changes no
    indicator (the standard counts 专任教师 where they are employed), it only fills the
    subject's lessons. Rows as :func:`exchange_list`, kind ``itinerant``.
    """
    t = county.teachers.copy()
    t["subject"] = t["subject"].astype(str)
    moved_ids = set(moved["teacher_id"])
    dest = moved.set_index("teacher_id")["to_school_id"]
    t["school_after"] = [dest.get(i, s) for i, s in zip(t.index, t["school_id"], strict=True)]
    have = t.groupby(["school_after", "stage", "subject"]).size()
    s = county.schools
    public = s[(s["ownership"] == "public") & (s["kind"] != "special")]
    parts = [(sid, stage) for sid, r in public.iterrows() for stage in ("primary", "junior")
             if int(r[f"pupils_{stage}"]) > 0]  # fmt: skip
    times = school_times.sort_values(["to_unit", "time_min", "from_unit"])
    near = {str(b): list(zip(g["from_unit"], g["time_min"], strict=True)) for b, g in times.groupby("to_unit")}
    lent: set[str] = set()
    rows = []
    for b, stage in sorted(parts):
        for subject in ITINERANT_SUBJECTS:
            if have.get((b, stage, subject), 0) > 0:
                continue
            for a, minutes in near.get(b, []):
                if a == b or minutes > max_travel_min:
                    continue
                pool = t[(t["school_after"] == a) & (t["school_id"] == a) & (t["stage"] == stage)
                         & (t["subject"] == subject) & ~t.index.isin(list(moved_ids | lent))]  # fmt: skip
                if not len(pool):
                    continue
                pick = pool.assign(_tid=pool.index).sort_values(["years_at_school", "_tid"], ascending=[False, True])
                tid = str(pick.index[0])
                lent.add(tid)
                c = pick.iloc[0]
                rows.append(
                    {"teacher_id": tid, "subject": subject, "backbone_level": str(c["backbone_level"]),
                     "from_school_id": a, "to_school_id": b, "kind": "itinerant", "term_years": term_years,
                     "stage": stage, "category": "", "years_at_school": int(c["years_at_school"]),
                     "time_min": float(minutes), "within_cap": True}
                )  # fmt: skip
                break
    out = pd.DataFrame(rows, columns=list(moved.columns))
    out["term_years"] = out["term_years"].astype("Int64")
    return out


def rotation_policy(ex: pd.DataFrame, eligible_pool: int, scenario: Scenario, standards: Standards) -> pd.DataFrame:
    """The rotation shares of the plan against the national floor and the scenario's targets.

    Rotated teachers are both legs of a 双向交流 (kinds ``rotation`` and ``return``);
    backbone teachers are those of category ``backbone`` (county level or higher). Rows:
    check (national / scenario), item, value, requirement, met, count, of.
    """
    rot = ex[ex["kind"].isin(ROTATION_KINDS)] if len(ex) else ex
    moved = len(rot)
    backbone = int((rot["category"] == "backbone").sum()) if moved else 0
    share = moved / eligible_pool if eligible_pool else 0.0
    bshare = backbone / moved if moved else float("nan")
    ro, g = scenario.rotation, standards.guarantee
    rows = []
    for check, zh, s_min, b_min in (("national", "国家标准", g.rotation_min_share, g.rotation_backbone_min_share),
                                    ("scenario", f"方案目标 ({scenario.name})", ro.min_share_of_eligible,
                                     ro.min_backbone_share)):  # fmt: skip
        rows.append({"check": check, "check_zh": zh, "item": "rotation_share",
                     "item_zh": "交流轮岗教师占符合条件教师比例", "value": share, "requirement": s_min,
                     "met": share >= s_min - 1e-12, "count": moved,
                     "of": eligible_pool})  # fmt: skip
        rows.append({"check": check, "check_zh": zh, "item": "rotation_backbone_share",
                     "item_zh": "骨干教师占交流轮岗教师比例", "value": bshare, "requirement": b_min,
                     "met": moved > 0 and bshare >= b_min - 1e-12, "count": backbone, "of": moved})  # fmt: skip
    return pd.DataFrame(rows)


def rotation_table(ex: pd.DataFrame) -> pd.DataFrame:
    rot = ex[ex["kind"].isin(ROTATION_KINDS)]
    if not len(rot):
        return pd.DataFrame(columns=["from_school_id", "to_school_id", "category", "count"])
    return rot.groupby(["from_school_id", "to_school_id", "category"]).size().rename("count").reset_index()


def drop_closed(county: County, closed: list[str]) -> tuple[County, pd.DataFrame]:
    stranded = county.teachers[county.teachers["school_id"].isin(closed)]
    return (
        replace(
            county,
            schools=county.schools.drop(index=closed),
            teachers=county.teachers.drop(index=stranded.index),
        ),
        stranded,
    )


def feeder_table(
    assignments: pd.DataFrame,
    names: pd.Series | None = None,
    splits_allowed: tuple[str, ...] | list[str] = (),
) -> pd.DataFrame:
    """Primary school → junior school its catchment goes on to, from a plan's assignments.

    Parameters
    ----------
    assignments : DataFrame
        A plan's ``assignments`` (``settlement_id``, ``stage``, ``school_id``, ``pupils``).
    names : Series, optional
        school_id -> Chinese name (schools and new schools).
    splits_allowed : sequence of str
        Primary schools whose split the scenario allows.

    Returns
    -------
    DataFrame
        One row per (primary school, junior school): ``primary_school_id``,
        ``primary_name_zh``, ``junior_school_id`` (empty when the settlements have no junior
        pupils), ``junior_name_zh``, ``settlements``, ``pupils_primary`` (primary pupils of
        those settlements), ``share`` (of the primary school's catchment pupils),
        ``junior_schools`` (how many junior schools the primary school feeds), ``split``
        (feeds more than one), ``split_allowed`` (named in the scenario).
    """
    cols = ["primary_school_id", "primary_name_zh", "junior_school_id", "junior_name_zh", "settlements",
            "pupils_primary", "share", "junior_schools", "split", "split_allowed"]  # fmt: skip
    a = assignments
    p = a[a["stage"] == "primary"][["settlement_id", "school_id", "pupils"]]
    j = a[a["stage"] == "junior"][["settlement_id", "school_id"]].rename(columns={"school_id": "junior_school_id"})
    m = p.merge(j, on="settlement_id", how="left").rename(columns={"school_id": "primary_school_id"})
    m["junior_school_id"] = m["junior_school_id"].fillna("")
    if not len(m):
        return pd.DataFrame(columns=cols)
    g = (
        m.groupby(["primary_school_id", "junior_school_id"], sort=True)
        .agg(settlements=("settlement_id", "size"), pupils_primary=("pupils", "sum"))
        .reset_index()
    )
    total = g.groupby("primary_school_id")["pupils_primary"].transform("sum")
    g["share"] = (g["pupils_primary"] / total.where(total > 0, 1)).round(4)
    real = g[g["junior_school_id"] != ""]
    n = real.groupby("primary_school_id")["junior_school_id"].nunique()
    g["junior_schools"] = g["primary_school_id"].map(n).fillna(0).astype(int)
    g["split"] = g["junior_schools"] > 1
    g["split_allowed"] = g["primary_school_id"].isin(list(splits_allowed))
    nm = names if names is not None else pd.Series(dtype=str)
    g["primary_name_zh"] = g["primary_school_id"].map(nm).fillna("")
    g["junior_name_zh"] = g["junior_school_id"].map(nm).fillna("")
    return g[cols].reset_index(drop=True)


def add_catchment_outputs(
    tables: dict[str, pd.DataFrame],
    notes: list[str],
    ctx: ModelContext,
    assign: pd.DataFrame,
    after: object,
    scenario: object,
) -> None:
    """Add the feeder table and the catchment-rule notes of a solved plan to ``tables`` / ``notes``.

    ``tables["feeder"]`` is always written; notes say how many contiguity exceptions (unavoidable, or
    kept from today's catchments at a penalty) and feeder exceptions the plan keeps.
    """
    rules = getattr(scenario, "catchment_rules", None)
    splits = rules.feeder_splits_allowed if rules is not None else ()
    tables["feeder"] = feeder_table(assign, after.schools["name_zh"], splits)
    totals = ctx.exprs.get("totals", {})
    if "contiguity_exceptions" in totals:
        n_arcs: dict[tuple[str, str], int] = {}
        for s, k, _u in ctx.exprs["assign"]:
            n_arcs[(s, k)] = n_arcs.get((s, k), 0) + 1
        rows = [
            {"settlement_id": s, "stage": k, "school_id": u, "allowed_schools": n_arcs[(s, k)],
             "only_school": n_arcs[(s, k)] == 1}
            for (s, k, u), v in sorted(ctx.vars["contig_slack"].items())
            if (v.varValue or 0.0) > 0.5 and ctx.exprs["assign"][(s, k, u)].value() > 0.5
        ]  # fmt: skip
        exc = pd.DataFrame(rows, columns=["settlement_id", "stage", "school_id", "allowed_schools", "only_school"])
        tables["contiguity_exceptions"] = exc
        forbidden = round(totals["contiguity_forbidden_arcs"].const)
        unavoidable = round(totals["contiguity_unavoidable"].const) if "contiguity_unavoidable" in totals else 0
        unavoidable = min(unavoidable, len(exc))
        notes.append(
            f"连片划分 contiguity on: {len(exc)} settlement assignments break it, {unavoidable} of them unavoidable "
            f"(their one allowed school cannot be reached through its catchment; listed, not penalised) and "
            f"{len(exc) - unavoidable} kept from today's catchments at a penalty (listed in contiguity_exceptions, "
            f"see docs/catchments.md); {forbidden} allowed arcs were ruled out by it"
        )
    if "feeder_extra_links" in totals:
        kept = round(totals["feeder_extra_links"].value())
        notes.append(f"小学对口初中 feeder rule on: {kept} extra primary→junior links kept from today's catchments")


__all__ = [
    "INDICATORS",
    "add_catchment_outputs",
    "assignments",
    "category_of",
    "closed_units",
    "drop_closed",
    "exchange_list",
    "feeder_table",
    "hires",
    "new_schools",
    "pair_flows",
    "projects",
    "rotation_table",
    "type_moves",
    "unmet",
]
