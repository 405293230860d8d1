"""Horizon plans: capacity and school size must hold in every year of the horizon.

With a scenario ``horizon`` the model's demand (:attr:`ModelInputs.demand`) is the target
year's projected pupils, so indicators, CV and the target year's capacity are written by
the other modules as usual. This module adds, for every other year of the horizon, the
same two guarantee items as :func:`planner.model.balance.add_guarantees` on that year's
pupils — pupils in primary-class equivalents ≤ class-size limit × classrooms, school
pupils ≤ school-size limit — each with one penalised overflow per school that covers its
peak year (``over_capacity_horizon[u] ≥ overflow in year y`` for every y), weighted like
the target-year overflow.

A year's pupils at a school follow the plan's catchments: Σ over settlements of the
settlement's projected pupils of that year × its assignment expression
``ctx.exprs["assign"][(settlement, stage, unit)]``. A settlement with pupils in some
year but none in the target year has no assignment in the model; its pupils stay with
today's catchment school.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from planner.model.context import Lin, ModelContext

log = logging.getLogger(__name__)


def horizon_pupils(ctx: ModelContext) -> dict[int, dict[tuple[str, str], Lin]]:
    """Pupils per (unit, stage) in every non-target year of the horizon, as linear expressions."""
    inp = ctx.inp
    by_year = inp.demand_by_year
    if by_year is None or not len(by_year):
        return {}
    arcs_of: dict[tuple[str, str], list[tuple[str, Lin]]] = defaultdict(list)
    for (sid, stage, unit), lin in ctx.exprs["assign"].items():
        arcs_of[(sid, stage)].append((unit, lin))
    out: dict[int, dict[tuple[str, str], Lin]] = {}
    unplaced = 0
    rows = by_year[by_year["year"] != inp.target_year]
    for year, grp in rows.groupby("year", sort=True):
        pupils: dict[tuple[str, str], Lin] = defaultdict(Lin)
        for sid, stage, d, cur in zip(grp["settlement_id"], grp["stage"], grp["pupils"], grp["current_unit"],
                                      strict=True):  # fmt: skip
            arcs = arcs_of.get((sid, stage))
            if arcs:
                for unit, lin in arcs:
                    pupils[(unit, stage)].add_lin(lin, float(d))
            elif cur:
                pupils[(cur, stage)].add(None, float(d))
            else:
                unplaced += 1
        out[int(year)] = pupils
    if unplaced:
        log.warning("%d settlement-years have projected pupils but no school to count them at", unplaced)
    return out


def add_horizon_capacity(ctx: ModelContext) -> None:
    """Capacity and school-size rows for every non-target year of a horizon plan (no-op otherwise)."""
    inp, w = ctx.inp, ctx.scenario.weights
    years = horizon_pupils(ctx)
    if not years:
        return
    ctx.exprs["horizon_pupils"] = {(u, s, y): lin for y, d in years.items() for (u, s), lin in d.items()}
    base_limit = inp.class_limit["primary"]
    stages_of: dict[str, list[str]] = defaultdict(list)
    for u, s in inp.parts.index:
        stages_of[u].append(s)
    for unit, row in inp.units.iterrows():
        stages = stages_of.get(unit, [])
        if not stages or not bool(row["public"]):
            continue
        limit = inp.size_limit["nine_year" if bool(row["nine_year"]) else "single"]
        over = None
        big = None
        for year, pupils in years.items():
            load = Lin()
            total = Lin()
            for s in stages:
                p = pupils.get((unit, s))
                if p is None:
                    continue
                load.add_lin(p, base_limit / inp.class_limit[s])
                total.add_lin(p)
            if load.is_constant() and load.const <= 0:
                continue
            if over is None:
                over = ctx.var("over_capacity_horizon", unit)
                big = ctx.var("over_size_horizon", unit)
                ctx.objective["limits"].add(over, w.limits)
                ctx.objective["limits"].add(big, w.limits)
            lhs = Lin()
            lhs.add_lin(load)
            lhs.add(over, -1)
            lhs.add_lin(ctx.classrooms[unit], -base_limit)
            ctx.constrain(lhs, "<=", 0, f"capacity_{unit}_{year}")
            lhs = Lin()
            lhs.add_lin(total)
            lhs.add(big, -1)
            ctx.constrain(lhs, "<=", limit, f"size_{unit}_{year}")


__all__ = ["add_horizon_capacity", "horizon_pupils"]
