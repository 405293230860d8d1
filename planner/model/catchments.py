"""Catchment lever: each settlement's pupils of a stage go wholly to one school.

Variables ``x[settlement, stage, unit]`` (binary) exist only for the allowed arcs of
:attr:`ModelInputs.arcs`: the current school plus the nearby schools and candidate sites of the
就近入学 rule (:func:`planner.plan.instance._arcs`: within the cap and the re-zoning tolerance).
An arc flagged ``if_closed`` is allowed only if today's school closes. With the lever off, every
settlement stays with its current school and pupils are constants. ``max_rezoned_pupils`` caps
the pupils (both stages) whose school changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pulp

from planner.model.context import Lin, ModelContext


def add_catchments(ctx: ModelContext) -> None:
    """Add assignment variables (or constants), pupils per part and travel terms."""
    inp, sc = ctx.inp, ctx.scenario
    w = sc.weights
    travel = ctx.objective["travel"]
    rezoned = ctx.objective["rezoned"]
    rezoned_pupils = Lin()

    # private schools keep their pupils
    for (unit, stage), row in inp.parts.iterrows():
        if row["fixed_pupils"] == row["fixed_pupils"]:  # not NaN
            ctx.pupils[(unit, stage)].add(None, float(row["fixed_pupils"]))

    demand = inp.demand[inp.demand["pupils"] > 0]
    arcs = inp.arcs.merge(demand[["settlement_id", "stage", "pupils", "current_unit"]], on=["settlement_id", "stage"])
    if not sc.levers.catchments:
        arcs = arcs[arcs["unit_id"] == arcs["current_unit"]]
    if "if_closed" in arcs:
        # arcs offered only for the case that today's school closes: dropped when it cannot
        arcs = arcs[~arcs["if_closed"].astype(bool) | arcs["current_unit"].isin(list(ctx.closed))]
    arcs = arcs.sort_values(["settlement_id", "stage", "time_min", "unit_id"], kind="stable")
    sids = arcs["settlement_id"].to_numpy()
    stages = arcs["stage"].to_numpy()
    units = arcs["unit_id"].to_numpy()
    currents = arcs["current_unit"].to_numpy()
    times = arcs["time_min"].to_numpy(dtype=float)
    pupils = arcs["pupils"].to_numpy(dtype=float)
    within = arcs["within_cap"].to_numpy(dtype=bool) if "within_cap" in arcs else np.ones(len(arcs), dtype=bool)
    if_closed = arcs["if_closed"].to_numpy(dtype=bool) if "if_closed" in arcs else np.zeros(len(arcs), dtype=bool)
    beyond = Lin()
    unavoidable = 0.0
    n = len(arcs)
    start = 0
    while start < n:
        end = start + 1
        while end < n and sids[end] == sids[start] and stages[end] == stages[start]:
            end += 1
        sid, stage, d = sids[start], stages[start], pupils[start]
        if end - start == 1:
            unit = units[start]
            if unit in ctx.closed:
                # the settlement has no other school: its school cannot close
                ctx.constrain(ctx.closed[unit], "<=", 0, f"keep_{unit}_{sid}_{stage}")
            ctx.pupils[(unit, stage)].add(None, d)
            travel.add(None, w.travel_per_pupil_min * d * times[start])
            if not within[start]:
                unavoidable += d  # no school within the cap: the same in every plan, not penalised
            ctx.exprs["assign"][(sid, stage, unit)] = Lin(1.0)
            start = end
            continue
        one = Lin()
        for j in range(start, end):
            unit, current = units[j], currents[j]
            x = ctx.var("x", (sid, stage, unit), up=1, cat=pulp.LpBinary)
            x.setInitialValue(1.0 if unit == current else 0.0)  # start: today's catchments
            lin = Lin()
            lin.add(x)
            ctx.exprs["assign"][(sid, stage, unit)] = lin
            one.add(x)
            ctx.pupils[(unit, stage)].add(x, d)
            travel.add(x, w.travel_per_pupil_min * d * times[j])
            if unit != current:
                rezoned.add(x, w.rezoned_pupil * d)
                rezoned_pupils.add(x, d)
                # pupils leaving today's school: its teachers may follow them (planner/model/teachers.py)
                ctx.exprs["pupils_leaving"].setdefault((current, stage), Lin()).add(x, d)
            if not within[j]:
                beyond.add(x, d)
            if unit in ctx.closed:
                lhs = Lin()
                lhs.add(x)
                lhs.add_lin(ctx.closed[unit])
                ctx.constrain(lhs, "<=", 1, f"closed_{sid}_{stage}_{unit}")
            if if_closed[j]:
                # 就近入学: a school this far is allowed only if today's school closes
                lhs = Lin()
                lhs.add(x)
                lhs.add_lin(ctx.closed[current], -1.0)
                ctx.constrain(lhs, "<=", 0, f"if_closed_{sid}_{stage}_{unit}")
            if unit in ctx.site_open:
                # only an opened site can take pupils
                lhs = Lin()
                lhs.add(x)
                lhs.add_lin(ctx.site_open[unit], -1.0)
                ctx.constrain(lhs, "<=", 0, f"open_{sid}_{stage}_{unit}")
        ctx.constrain(one, "==", 1, f"assign_{sid}_{stage}")
        start = end
    # re-zoning never empties an existing school by accident: it keeps at least one of its
    # settlements unless the closures lever closes it
    served: dict[str, Lin] = {}
    for (_sid, _stage, unit), lin in ctx.exprs["assign"].items():
        served.setdefault(unit, Lin()).add_lin(lin)
    units = inp.units
    current = set(demand["current_unit"])
    for unit in sorted(current):
        if not _existing_public(units, unit):
            continue
        keep = served.get(unit)
        if keep is None or keep.is_constant():
            continue
        if unit in ctx.closed:
            keep = Lin()
            keep.add_lin(served[unit])
            keep.add_lin(ctx.closed[unit])
        ctx.constrain(keep, ">=", 1, f"stays_open_{unit}")
    keep_share(ctx, demand)
    keep_assessment_scope(ctx)
    ctx.exprs["totals"]["rezoned_pupils"] = rezoned_pupils
    # pupils beyond their travel-time cap: a bottom line (only today's school may be beyond the
    # cap, kept so that today's catchments remain a valid plan, at the `limits` weight per pupil);
    # settlements with no school within the cap at all stay where they are and are not penalised, a
    # constant that would only dilute the reported gap (the plan's unmet table lists them)
    ctx.objective["limits"].add_lin(beyond, w.limits)
    total = Lin()
    total.add_lin(beyond)
    total.add(None, unavoidable)
    ctx.exprs["totals"]["beyond_cap_pupils"] = total
    if sc.max_rezoned_pupils is not None and not rezoned_pupils.is_constant():
        ctx.constrain(rezoned_pupils, "<=", sc.max_rezoned_pupils, "max_rezoned")
    keep_settlements(ctx)


def _existing_public(units: pd.DataFrame, unit: str) -> bool:
    """Whether ``unit`` is a public school that exists today (not a candidate site, not private)."""
    return unit in units.index and not bool(units.loc[unit, "is_new"]) and bool(units.loc[unit, "public"])


def keep_share(ctx: ModelContext, demand: pd.DataFrame) -> None:
    """An existing public school keeps at least ``scenario.min_school_share`` of today's pupils of each stage.

    Without it, re-zoning can leave a failing school with one small village (a school of a few
    pupils "passes" per pupil and wrecks the county's CV, which the tangent cuts cannot see when
    pupils move). Re-zoning that would empty a school more than that is a closure, which the
    closures lever decides: a closed school is exempt (``+ share·P₀·closed``).
    """
    share = float(ctx.scenario.min_school_share)
    if share <= 0:
        return
    inp = ctx.inp
    units = inp.units
    today = demand.groupby(["current_unit", "stage"])["pupils"].sum()
    pupils = {(r.settlement_id, r.stage): float(r.pupils) for r in demand.itertuples(index=False)}
    kept: dict[tuple[str, str], Lin] = {}
    for (sid, stage, unit), lin in ctx.exprs["assign"].items():
        kept.setdefault((unit, stage), Lin()).add_lin(lin, pupils[(sid, stage)])
    for (unit, stage), p0 in sorted(today.items()):
        if not _existing_public(units, unit):
            continue
        lhs = kept.get((unit, stage))
        if lhs is None or lhs.is_constant():
            continue
        need = share * float(p0)
        if unit in ctx.closed:
            lhs = Lin()
            lhs.add_lin(kept[(unit, stage)])
            lhs.add_lin(ctx.closed[unit], need)
        else:
            ctx.pupils_floor[(unit, stage)] = need
        ctx.constrain(lhs, ">=", need, f"keep_share_{unit}_{stage}")


def keep_assessment_scope(ctx: ModelContext) -> None:
    """Re-zoning keeps each teaching point on its side of the assessment's pupil line (50).

    A teaching point under ``teaching_point_min_pupils`` is outside the assessment (DOMAIN.md §1.1), so
    pupils moved across that line would take a school into or out of the assessment: in or out of the
    schools counted and of every CV, which the model's parts (assessed or not as today) cannot follow.
    On 西平 re-zoning moved 18 teaching points across it, and the county's primary CV of above-required
    teachers, within 0.50 at the model's parts, read 0.51 after the plan. Inspectors would also read a
    point shrunk below the line as gaming the scope. So an assessed point keeps at least the line's
    pupils (unless the closures lever closes it) and one outside keeps fewer; each pupil across is a
    ``policy`` penalty rather than a hard rule, so a horizon plan whose projected pupils already
    cross the line stays feasible.
    """
    inp, w = ctx.inp, ctx.scenario.weights
    line = float(inp.teaching_point_min_pupils)
    points = set(inp.units.index[inp.units["kind"] == "teaching_point"]) if "kind" in inp.units.columns else set()
    for (unit, stage), row in inp.parts.iterrows():
        pupils = ctx.pupils.get((unit, stage))
        if unit not in points or pupils is None or pupils.is_constant():
            continue
        across = ctx.var("scope_across", (unit, stage))
        lhs = Lin()
        lhs.add_lin(pupils)
        lhs.add(across, 1.0 if bool(row["included"]) else -1.0)
        if bool(row["included"]):
            if unit in ctx.closed:
                lhs.add_lin(ctx.closed[unit], line)
            ctx.constrain(lhs, ">=", line, f"scope_in_{unit}_{stage}")
        else:
            ctx.constrain(lhs, "<=", line - 1.0, f"scope_out_{unit}_{stage}")
        ctx.objective["limits"].add(across, w.policy)


def keep_settlements(ctx: ModelContext) -> None:
    """Settlements named in ``catchment_rules.keep_settlements`` keep today's school in both stages.

    (Every settlement already goes wholly to one school per stage — ``assign_<s>_<stage>``
    sums its binaries to 1 — so a village or neighbourhood is never split between schools.)
    """
    rules = ctx.scenario.catchment_rules
    if not rules.keep_settlements:
        return
    keep = set(rules.keep_settlements)
    current = {
        (s, k): u for s, k, u in ctx.inp.demand[["settlement_id", "stage", "current_unit"]].itertuples(index=False)
    }
    for (s, k, u), lin in sorted(ctx.exprs["assign"].items()):
        if s in keep and u == current.get((s, k)) and not lin.is_constant():
            ctx.constrain(lin, "==", 1, f"keep_{s}_{k}")


def share_fix(ctx: ModelContext, fix: dict[str, float], score: dict[str, float | None]) -> dict[str, float]:
    """Repair rounded catchments so that every school keeps its share of today's pupils (:func:`keep_share`).

    ``fix`` maps catchment binaries' names to 0/1 (one 1 per settlement and stage, e.g. the LP relaxation
    rounded); a school left below ``min_school_share`` of today's pupils of a stage gets back its own
    settlements of today, highest ``score`` (the LP value of going there) first, then the largest. Schools the
    closures lever may close are left to the solver. Returns the repaired map (a new dict).
    """
    share = float(ctx.scenario.min_school_share)
    if share <= 0:
        return fix
    inp = ctx.inp
    units = inp.units
    demand = inp.demand[inp.demand["pupils"] > 0]
    pupils = {(r.settlement_id, r.stage): float(r.pupils) for r in demand.itertuples(index=False)}
    today = {(r.settlement_id, r.stage): r.current_unit for r in demand.itertuples(index=False)}
    var_of: dict[tuple[str, str, str], str] = {}
    at: dict[tuple[str, str], str] = {}
    for (sid, stage, unit), lin in ctx.exprs["assign"].items():
        if lin.is_constant():
            at[(sid, stage)] = unit
            continue
        (v,) = lin.terms
        var_of[(sid, stage, unit)] = v.name
        if fix.get(v.name, 0.0) > 0.5:
            at[(sid, stage)] = unit
    p0: dict[tuple[str, str], float] = {}
    for key, unit in today.items():
        p0[(unit, key[1])] = p0.get((unit, key[1]), 0.0) + pupils[key]
    out = dict(fix)
    for _ in range(3):  # a move back can leave another school short; a few passes settle it
        kept: dict[tuple[str, str], float] = {}
        for (sid, stage), unit in at.items():
            kept[(unit, stage)] = kept.get((unit, stage), 0.0) + pupils.get((sid, stage), 0.0)
        moved = False
        for (unit, stage), total in sorted(p0.items()):
            if not _existing_public(units, unit):
                continue
            if unit in ctx.closed or kept.get((unit, stage), 0.0) >= share * total - 1e-9:
                continue
            back = [k for k, u in today.items() if u == unit and k[1] == stage and at.get(k) != unit
                    and (k[0], stage, unit) in var_of]  # fmt: skip
            back.sort(key=lambda k: (-(score.get(var_of[(k[0], stage, unit)]) or 0.0), -pupils[k], k[0]))
            for k in back:
                if kept.get((unit, stage), 0.0) >= share * total - 1e-9:
                    break
                old = at[k]
                out[var_of[(k[0], stage, old)]] = 0.0
                out[var_of[(k[0], stage, unit)]] = 1.0
                at[k] = unit
                kept[(old, stage)] = kept.get((old, stage), 0.0) - pupils[k]
                kept[(unit, stage)] = kept.get((unit, stage), 0.0) + pupils[k]
                moved = True
        if not moved:
            break
    return out
