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


def pair_flows(ctx: ModelContext, max_travel_min: float) -> pd.DataFrame:
    """Pair senders and receivers of each teacher type with least travel time.

    Pairs inside ``max_travel_min`` are preferred; where the cap makes pairing
    impossible, the remaining moves use the shortest pairs beyond it and are flagged
    ``within_cap = False`` (the plan reports them).
    """
    senders, receivers = type_moves(ctx)
    types = ctx.inp.teacher_types.drop_duplicates("type_id").set_index("type_id")
    times = ctx.inp.school_times
    tmap = {(a, b): float(t) for a, b, t in times[["from_unit", "to_unit", "time_min"]].itertuples(index=False)}
    rows = []
    penalty = 1e6
    for type_id in sorted(set(senders["type_id"])):
        s = senders[senders["type_id"] == type_id]
        r = receivers[receivers["type_id"] == type_id]
        g = nx.DiGraph()
        for row in s.itertuples(index=False):
            g.add_node(("s", row.unit_id), demand=-int(row.count))
        for row in r.itertuples(index=False):
            g.add_node(("r", row.unit_id), demand=int(row.count))
        for a in s["unit_id"]:
            for b in r["unit_id"]:
                if a == b:
                    continue
                t = tmap.get((a, b), math.inf)
                cost = round(t * 10) if t <= max_travel_min else int(penalty + (t * 10 if math.isfinite(t) else 1e6))
                g.add_edge(("s", a), ("r", b), weight=cost)
        flow = nx.min_cost_flow(g)
        flags = types.loc[type_id]
        for (_, a), targets in sorted(flow.items()):
            for (_, b), n in sorted(targets.items()):
                if n:
                    t = tmap.get((a, b), math.nan)
                    rows.append(
                        {"from_unit": a, "to_unit": b, "stage": flags["stage"], "type_id": type_id,
                         "category": category_of(flags), "above_required": int(flags["above_required"]),
                         "backbone": int(flags["backbone"]), "pe_art": int(flags["pe_art"]),
                         "eligible": bool(flags["eligible"]), "count": int(n), "time_min": t,
                         "within_cap": bool(t <= max_travel_min)}
                    )  # fmt: skip
    cols = ["from_unit", "to_unit", "stage", "type_id", "category", "above_required", "backbone", "pe_art", "eligible",
            "count", "time_min", "within_cap"]  # fmt: skip
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


def exchange_list(county: County, flows: pd.DataFrame, standards: Standards) -> pd.DataFrame:
    """Name the teachers who move: for each flow, the longest-serving teachers of its type.

    Deterministic: candidates of the flow's type at the sending school sorted by years at
    the school (longest first), then teacher_id.
    """
    cats = teacher_categories(county.teachers, standards)
    cats["years_at_school"] = county.teachers["years_at_school"]
    taken: set[str] = set()
    rows = []
    for f in flows.sort_values(["from_unit", "to_unit", "type_id"]).itertuples(index=False):
        pool = cats[
            (cats["school_id"] == f.from_unit)
            & (cats["stage"] == f.stage)
            & (cats["above_required"].astype(int) == f.above_required)
            & (cats["backbone"].astype(int) == f.backbone)
            & (cats["pe_art"].astype(int) == f.pe_art)
            & (cats["eligible"] == f.eligible)
            & ~cats.index.isin(list(taken))
        ]
        pool = pool.assign(_tid=pool.index).sort_values(["years_at_school", "_tid"], ascending=[False, True])
        chosen = pool.head(int(f.count))
        if len(chosen) < f.count:
            raise RuntimeError(f"not enough teachers of type {f.type_id} at {f.from_unit} for the plan")
        for tid, c in chosen.iterrows():
            taken.add(str(tid))
            rows.append(
                {"teacher_id": tid, "from_school_id": f.from_unit, "to_school_id": f.to_unit, "stage": f.stage,
                 "category": c["category"], "years_at_school": int(c["years_at_school"]),
                 "kind": "rotation" if f.eligible else "redeployment", "time_min": f.time_min,
                 "within_cap": f.within_cap}
            )  # fmt: skip
    cols = ["teacher_id", "from_school_id", "to_school_id", "stage", "category", "years_at_school", "kind",
            "time_min", "within_cap"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def rotation_table(ex: pd.DataFrame) -> pd.DataFrame:
    rot = ex[ex["kind"] == "rotation"]
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
