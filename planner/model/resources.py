"""Resources lever: equipment, networked multimedia classrooms, music and art rooms.

Public schools (existing or new) may receive equipment value (continuous, yuan, either 0
or at least the scenario's ``purchases.min_lot_yuan``),
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
    lot = sc.purchases.min_lot_yuan
    # most: what the budget buys, at most twice the full standard at the largest school size (a tight big-M,
    # so the solver's integrality tolerance cannot let a "not bought" school buy a few hundred yuan)
    eq_std = max(inp.std(s, "equipment") for s in inp.class_limit)
    most = min(inp.capital_budget_yuan / cost["equipment_yuan_per_yuan"], 2 * max(inp.size_limit.values()) * eq_std)
    for unit in inp.units.index[inp.units["public"]]:
        eq = ctx.var("equipment", unit)
        ctx.resource[(unit, "", "equipment")].add(eq)
        ctx.capital_yuan.add(eq, cost["equipment_yuan_per_yuan"])
        # one procurement lot at least: eq = 0 or lot <= eq <= most (binary buy)
        if lot > 0:
            buy = ctx.var("equipment_buy", unit, up=1, cat=pulp.LpInteger)
            low, high = Lin(), Lin()
            low.add(eq)
            low.add(buy, -lot)
            high.add(eq)
            high.add(buy, -most)
            ctx.constrain(low, ">=", 0, f"eq_lot_{unit}")
            ctx.constrain(high, "<=", 0, f"eq_buy_{unit}")

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
