"""Catchment lever: each settlement's pupils of a stage go wholly to one school.

Variables ``x[settlement, stage, unit]`` (binary) exist only for the allowed arcs of
:attr:`ModelInputs.arcs`: the current school plus the nearest schools and candidate sites
within the stage's travel-time cap. With the lever off, every settlement stays with its
current school and pupils are constants.
"""

from __future__ import annotations

import numpy as np
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
    arcs = arcs.sort_values(["settlement_id", "stage", "time_min", "unit_id"], kind="stable")
    sids = arcs["settlement_id"].to_numpy()
    stages = arcs["stage"].to_numpy()
    units = arcs["unit_id"].to_numpy()
    currents = arcs["current_unit"].to_numpy()
    times = arcs["time_min"].to_numpy(dtype=float)
    pupils = arcs["pupils"].to_numpy(dtype=float)
    within = arcs["within_cap"].to_numpy(dtype=bool) if "within_cap" in arcs else np.ones(len(arcs), dtype=bool)
    beyond = Lin()
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
                beyond.add(None, d)
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
            if not within[j]:
                beyond.add(x, d)
            if unit in ctx.closed:
                lhs = Lin()
                lhs.add(x)
                lhs.add_lin(ctx.closed[unit])
                ctx.constrain(lhs, "<=", 1, f"closed_{sid}_{stage}_{unit}")
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
        if unit not in units.index or bool(units.loc[unit, "is_new"]) or not bool(units.loc[unit, "public"]):
            continue
        keep = served.get(unit)
        if keep is None or keep.is_constant():
            continue
        if unit in ctx.closed:
            keep = Lin()
            keep.add_lin(served[unit])
            keep.add_lin(ctx.closed[unit])
        ctx.constrain(keep, ">=", 1, f"stays_open_{unit}")
    ctx.exprs["totals"]["rezoned_pupils"] = rezoned_pupils
    # pupils sent beyond their travel-time cap: a guarantee item (only today's school may be
    # beyond the cap, kept so that today's catchments remain a valid plan)
    ctx.exprs["totals"]["beyond_cap_pupils"] = beyond
    ctx.objective["guarantee"].add_lin(beyond, 2 * w.guarantee)
    if sc.max_rezoned_pupils is not None and not rezoned_pupils.is_constant():
        ctx.constrain(rezoned_pupils, "<=", sc.max_rezoned_pupils, "max_rezoned")
    keep_settlements(ctx)


def keep_settlements(ctx: ModelContext) -> None:
    """Settlements named in ``catchment_rules.keep_settlements`` keep today's school in both stages.

    (Every settlement already goes wholly to one school per stage — ``assign_<s>_<stage>``
    sums its binaries to 1 — so a village or neighbourhood is never split between schools.)
    """
    rules = getattr(ctx.scenario, "catchment_rules", None)
    if rules is None or not rules.keep_settlements:
        return
    keep = set(rules.keep_settlements)
    current = {
        (s, k): u for s, k, u in ctx.inp.demand[["settlement_id", "stage", "current_unit"]].itertuples(index=False)
    }
    for (s, k, u), lin in sorted(ctx.exprs["assign"].items()):
        if s in keep and u == current.get((s, k)) and not lin.is_constant():
            ctx.constrain(lin, "==", 1, f"keep_{s}_{k}")
