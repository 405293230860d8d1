"""Resources lever: equipment, networked multimedia classrooms, music and art rooms.

Public schools (existing or new) may receive equipment value (continuous, yuan),
multimedia sets (whole rooms, at most one per classroom) and music / art rooms (whole
rooms, fitted in existing space), each at its unit cost from ``parameters.yaml``.
"""

from __future__ import annotations

import pulp

from planner.model.context import Lin, ModelContext


def add_resources(ctx: ModelContext) -> None:
    """Add purchase variables for every public unit."""
    inp, sc = ctx.inp, ctx.scenario
    if not sc.levers.resources:
        return
    cost = inp.unit_costs
    for unit in inp.units.index[inp.units["public"]]:
        eq = ctx.var("equipment", unit)
        ctx.resource[(unit, "", "equipment")].add(eq)
        ctx.capital_yuan.add(eq, cost["equipment_yuan_per_yuan"])

        mm = ctx.var("multimedia", unit, cat=pulp.LpInteger)
        ctx.resource[(unit, "", "multimedia")].add(mm)
        ctx.capital_yuan.add(mm, cost["multimedia_room_yuan"])
        # a multimedia set goes into a classroom: no more new sets than classrooms
        diff = Lin()
        diff.add(mm)
        diff.add_lin(ctx.classrooms[unit], -1.0)
        ctx.constrain(diff, "<=", 0, f"mm_rooms_{unit}")

        for kind, store in (("music", ctx.music_rooms), ("art", ctx.art_rooms)):
            r = ctx.var(f"{kind}_room", unit, up=6, cat=pulp.LpInteger)
            store[unit].add(r)
            ctx.capital_yuan.add(r, cost[f"{kind}_room_yuan"])
