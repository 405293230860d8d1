"""Teacher lever: rotation of eligible teachers, redeployment to new schools, recruitment.

Teachers are grouped into *types* by stage, the three indicator flags (above-required
qualification, county-level backbone, PE/art specialist) and rotation eligibility, so a
move changes each indicator exactly. The model decides how many teachers of each type
leave (``out``) and join (``in``) every public school; sending and receiving balance per
type. Pairing the moves into an exchange list (from, to) with the least travel inside
the school-to-school cap is done after the solve (a transportation problem, integral by
construction; see :func:`planner.plan.readback.pair_flows`).

Rules (DOMAIN.md §1.2, docs/model.md):

- only eligible teachers (6+ years at their school) rotate between existing schools; a
  new school may also be staffed by redeploying any teacher (县管校聘), which does not
  count as rotation;
- at least ``min_share_of_eligible`` of the county's eligible teachers rotate, and
  backbone teachers are at least ``min_backbone_share`` of those rotating;
- staffing norm at both ends: a school never ends below ``min(current, norm)`` teachers
  nor above ``max(current, norm)``, the norm being one post per 19 primary / 13.5 junior
  pupils (current pupils); a new school holds at most its norm (rounded up), and a site
  left unbuilt nobody;
- recruits are above-required teachers (optionally PE/art), never backbone, up to a cap;
- a closed school (closures lever) receives and recruits nobody; its eligible teachers may
  rotate like any others, and those left are listed for the bureau to place (待统筹安排):
  the plan does not assume where they go, so their effect on other schools' indicators is
  not counted (conservative).
"""

from __future__ import annotations

import math

import pulp

from planner.model.context import Lin, ModelContext
from planner.model.inputs import TEACHER_INDICATORS


def add_teachers(ctx: ModelContext) -> None:
    """Add rotation, redeployment and hiring variables and the teacher resources."""
    inp, sc = ctx.inp, ctx.scenario
    parts = inp.parts
    public_units = set(inp.units.index[inp.units["public"]])
    new_units = set(inp.units.index[inp.units["is_new"]])

    # current teacher resources per part
    for (unit, stage), row in parts.iterrows():
        for k in TEACHER_INDICATORS:
            ctx.resource[(unit, stage, k)].add(None, float(row[k]))

    net: dict[tuple[str, str], Lin] = {key: Lin() for key in parts.index}
    types = inp.teacher_types
    type_flags = types.drop_duplicates("type_id").set_index("type_id")
    rotated = Lin()
    rotated_backbone = Lin()
    new_stages = {s for (u, s) in parts.index if u in new_units}
    big = float(parts["teachers"].sum()) + 1

    for type_id, group in types.groupby("type_id", sort=True):
        flags = type_flags.loc[type_id]
        stage = str(flags["stage"])
        eligible = bool(flags["eligible"])
        may_rotate = eligible and sc.levers.rotation
        if not (may_rotate or stage in new_stages):
            continue
        # rotation: any public school receives; redeployment (non-eligible): only new schools
        receivers = [u for (u, s) in parts.index if s == stage and u in public_units and (u in new_units or may_rotate)]
        balance = Lin()
        outs: dict[str, pulp.LpVariable] = {}
        ins: dict[str, pulp.LpVariable] = {}
        for r in group.itertuples(index=False):
            if r.unit_id not in public_units or r.count <= 0:
                continue
            out = ctx.var("out", (r.unit_id, type_id), up=int(r.count), cat=pulp.LpInteger)
            outs[r.unit_id] = out
            balance.add(out, -1)
            net[(r.unit_id, stage)].add(out, -1)
            for k in TEACHER_INDICATORS:
                ctx.resource[(r.unit_id, stage, k)].add(out, -float(flags[k]))
            if eligible:
                rotated.add(out)
                if flags["backbone"]:
                    rotated_backbone.add(out)
        if balance.is_constant():
            continue
        for u in receivers:
            inn = ctx.var("in", (u, type_id), cat=pulp.LpInteger)
            ins[u] = inn
            balance.add(inn, 1)
            net[(u, stage)].add(inn, 1)
            for k in TEACHER_INDICATORS:
                ctx.resource[(u, stage, k)].add(inn, float(flags[k]))
            if u in ctx.closed:
                # a closed school receives nobody
                lhs = Lin()
                lhs.add(inn)
                lhs.add_lin(ctx.closed[u], big)
                ctx.constrain(lhs, "<=", big, f"no_in_if_closed_{u}_{type_id}")
        ctx.constrain(balance, "==", 0, f"type_balance_{type_id}")
        # a school cannot exchange with itself: out_u + in_u <= all moves of the type, which is
        # exactly when the moves can be paired between different schools
        total = Lin()
        for v in ins.values():
            total.add(v)
        for u in sorted(set(outs) & set(ins)):
            lhs = Lin()
            lhs.add(outs[u])
            lhs.add(ins[u])
            lhs.add_lin(total, -1.0)
            ctx.constrain(lhs, "<=", 0, f"no_self_{u}_{type_id}")

    # recruitment
    hires_total = Lin()
    if sc.levers.hires and sc.hires.max_total > 0:
        for unit, stage in parts.index:
            if unit not in public_units:
                continue
            for h in inp.hire_types.itertuples(index=False):
                hv = ctx.var("hire", (unit, stage, h.type_id), cat=pulp.LpInteger, up=sc.hires.max_total)
                if unit in ctx.closed:
                    lhs = Lin()
                    lhs.add(hv)
                    lhs.add_lin(ctx.closed[unit], float(sc.hires.max_total))
                    ctx.constrain(lhs, "<=", float(sc.hires.max_total), f"no_hire_if_closed_{unit}_{stage}_{h.type_id}")
                hires_total.add(hv)
                net[(unit, stage)].add(hv)
                for k in TEACHER_INDICATORS:
                    ctx.resource[(unit, stage, k)].add(hv, float(getattr(h, k)))
                ctx.recurrent_yuan.add(hv, inp.unit_costs["teacher_hire_yuan_per_year"])
        ctx.constrain(hires_total, "<=", sc.hires.max_total, "max_hires")
    ctx.exprs["totals"]["hires"] = hires_total

    # staffing norm at both ends
    for (unit, stage), row in parts.iterrows():
        if unit not in public_units or net[(unit, stage)].is_constant():
            continue
        teachers = float(row["teachers"])
        if unit in new_units:
            lhs = Lin()
            lhs.add_lin(net[(unit, stage)])
            lhs.add_lin(ctx.pupils[(unit, stage)], -1.0 / inp.staffing_norm[stage])
            # at most the norm (rounded up) of its pupils, and nobody at a site left unbuilt
            opened = ctx.site_open.get(unit)
            if opened is not None:
                lhs.add_lin(opened, -1.0)
                ctx.constrain(lhs, "<=", 0, f"norm_new_{unit}_{stage}")
            else:
                ctx.constrain(lhs, "<=", 1, f"norm_new_{unit}_{stage}")
            continue
        norm = math.ceil(float(row["pupils"]) / inp.staffing_norm[stage])
        low = Lin()
        low.add_lin(net[(unit, stage)])
        if unit in ctx.closed:
            # a closed school may lose every teacher
            low.add_lin(ctx.closed[unit], float(min(teachers, norm)))
        ctx.constrain(low, ">=", min(teachers, norm) - teachers, f"norm_low_{unit}_{stage}")
        ctx.constrain(net[(unit, stage)], "<=", max(teachers, norm) - teachers, f"norm_high_{unit}_{stage}")
    ctx.exprs["net_teachers"] = dict(net)

    # rotation policy
    ctx.exprs["totals"]["rotated"] = rotated
    ctx.exprs["totals"]["rotated_backbone"] = rotated_backbone
    if sc.levers.rotation and not rotated.is_constant():
        eligible_total = int(types.loc[types["eligible"] & types["unit_id"].isin(public_units), "count"].sum())
        need = math.ceil(sc.rotation.min_share_of_eligible * eligible_total - 1e-9)
        # the policy is a guarantee item: met unless impossible, and then reported (soft, so the
        # do-nothing plan stays a valid starting point for the solver)
        short = ctx.var("rotation_short", "share")
        lhs = Lin()
        lhs.add_lin(rotated)
        lhs.add(short)
        ctx.constrain(lhs, ">=", need, "rotation_share")
        short_b = ctx.var("rotation_short", "backbone")
        lhs = Lin()
        lhs.add_lin(rotated_backbone)
        lhs.add_lin(rotated, -sc.rotation.min_backbone_share)
        lhs.add(short_b)
        ctx.constrain(lhs, ">=", 0, "rotation_backbone_share")
        # a rotation the policy requires outweighs any one school's standards: the policy binds
        # whenever it can be met at all
        ctx.objective["limits"].add(short, sc.weights.policy)
        ctx.objective["limits"].add(short_b, sc.weights.policy)
        ctx.recurrent_yuan.add_lin(rotated, inp.unit_costs["rotation_allowance_yuan_per_year"])
        ctx.objective["moved"].add_lin(rotated, sc.weights.moved_teacher)


def rotation_start(ctx: ModelContext) -> int:
    """Give the solver a starting plan that already meets the rotation policy.

    Swaps of two eligible teachers of the same type between two schools change no
    indicator and no staffing level, so the do-nothing plan plus enough swaps (backbone
    teachers first, then others) is feasible and meets the 10% / 20% policy. Partners
    are the nearest school holding the same type. Returns the teachers moved.
    """
    inp, sc = ctx.inp, ctx.scenario
    if not sc.levers.rotation:
        return 0
    types = inp.teacher_types
    public = set(inp.units.index[inp.units["public"]])
    elig = types[types["eligible"] & types["unit_id"].isin(public)]
    need = math.ceil(sc.rotation.min_share_of_eligible * int(elig["count"].sum()) - 1e-9)
    need_backbone = math.ceil(sc.rotation.min_backbone_share * need - 1e-9)
    times = inp.school_times
    near: dict[str, list[str]] = {}
    for a, group in times.sort_values(["from_unit", "time_min", "to_unit"]).groupby("from_unit", sort=False):
        near[str(a)] = [str(b) for b in group["to_unit"]]
    outs, ins = ctx.vars["out"], ctx.vars["in"]
    left = {(r.unit_id, r.type_id): int(r.count) for r in elig.itertuples(index=False)}
    moved = moved_backbone = 0
    for backbone_pass in (True, False):
        order = elig[elig["backbone"].astype(bool) == backbone_pass].sort_values(["type_id", "unit_id"])
        for r in order.itertuples(index=False):
            target = need_backbone if backbone_pass else need
            done = moved_backbone if backbone_pass else moved
            if done >= target:
                break
            a, t = r.unit_id, r.type_id
            if left.get((a, t), 0) <= 0 or (a, t) not in outs or (a, t) not in ins:
                continue
            partner = next(
                (b for b in near.get(a, []) if left.get((b, t), 0) > 0 and (b, t) in outs and (b, t) in ins), None
            )
            if partner is None:
                continue
            for u, v in ((a, partner), (partner, a)):
                outs[(u, t)].setInitialValue((outs[(u, t)].varValue or 0) + 1)
                ins[(v, t)].setInitialValue((ins[(v, t)].varValue or 0) + 1)
                left[(u, t)] -= 1
            moved += 2
            if backbone_pass:
                moved_backbone += 2
    return moved
