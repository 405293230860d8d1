"""Teacher lever: rotation of eligible teachers, redeployment to new schools, recruitment.

Teachers are grouped into indicator *groups* by stage, the three indicator flags
(above-required qualification, county-level backbone, PE/art specialist) and rotation
eligibility, and into *types* by group and subject, so a move changes each indicator and
each subject count exactly. The model decides how many teachers of each type leave a
school (``out``: rotation or return leg; ``redeploy``: to a new school) and how many of each
group join it (``in``); sending and receiving balance per group and leg. Pairing the
moves into an exchange list (from, to) with the least travel inside the school-to-school
cap is done after the solve (a transportation problem, integral by construction; see
:func:`planner.plan.readback.pair_flows`).

Rules (DOMAIN.md §1.2, docs/model.md, issue #16 item 2):

- types carry the subject; no school loses its last teacher of a subject it teaches;
- rotation legs go from givers (urban/town schools that meet the teacher indicators) to
  takers (rural or weak schools), the return leg of a 双向交流 back, at most as many per
  school as the rotation legs it takes part in; only eligible teachers (6+ years at their
  school) rotate; a new school is staffed by redeploying any teacher of a giver (县管校聘),
  which does not count as rotation, and by recruits;
- a subject a taker is short of is a reason to send that subject there (guarantee item);
- at least ``min_share_of_eligible`` of the county's eligible teachers rotate, and
  backbone teachers are at least ``min_backbone_share`` of those rotating;
- staffing norm at both ends: a school never ends below ``min(current, norm)`` teachers
  nor above ``max(current, norm)``, the norm being one post per 19 primary / 13.5 junior
  pupils (current pupils); the floor falls with the pupils re-zoned away from the school, at
  its own teachers per pupil today (teachers follow their pupils, to a new school above all,
  and the school is never left worse staffed per pupil than today or the norm); a new
  school holds at most its norm (rounded up), and a site
  left unbuilt nobody; at the plan's pupils, each teacher by which the plan widens a
  school's gap to its norm (and a new school's gap) is a guarantee item;
- recruits are above-required teachers (optionally PE/art), never backbone, up to a cap;
- a closed school (closures lever) receives and recruits nobody; its eligible teachers may
  rotate like any others, and those left are listed for the bureau to place (待统筹安排):
  the plan does not assume where they go, so their effect on other schools' indicators is
  not counted (conservative).
"""

from __future__ import annotations

import math

import pandas as pd
import pulp

from planner.model.balance import max_pupils
from planner.model.context import Lin, ModelContext
from planner.model.inputs import TEACHER_INDICATORS, ModelInputs

#: subjects whose teachers are the PE/art specialists of indicator 3
PE_ART_SUBJECTS = frozenset({"pe", "music", "art"})
#: subjects every school of the stage teaches, so a school without a teacher of them is short
CORE_SUBJECTS = frozenset({"chinese", "math"})


def school_sides(inp: ModelInputs) -> pd.Series:
    """Each unit's side in the exchange: ``giver``, ``taker`` or ``new``.

    A *giver* is an existing public school in an urban or town settlement that is not weak;
    every other existing public school is a *taker* (rural, or weak). *Weak* means that
    today one of its assessed parts misses a teacher indicator (1-3). Rotation legs go from
    givers to takers; the return leg of a 双向交流 from takers to givers. A school below its
    staffing norm today is protected by the norm rule instead (it never loses net teachers,
    so it gives only in an exchange). Candidate sites are ``new``; private schools ``-``.
    """
    units = inp.units
    area = units["area_type"] if "area_type" in units.columns else pd.Series("town", index=units.index)
    weak: set[str] = set()
    for (unit, stage), row in inp.parts.iterrows():
        pupils = float(row["pupils"])
        if pupils <= 0:
            continue
        if bool(row["included"]) and any(float(row[k]) < inp.std(stage, k) * pupils - 1e-9 for k in TEACHER_INDICATORS):
            weak.add(str(unit))
    side = {}
    for u, r in units.iterrows():
        if bool(r["is_new"]):
            side[u] = "new"
        elif not bool(r["public"]):
            side[u] = "-"
        elif str(area.get(u, "rural")) in ("urban", "town") and u not in weak:
            side[u] = "giver"
        else:
            side[u] = "taker"
    return pd.Series(side, name="side", dtype=object)


def subject_needs(inp: ModelInputs) -> dict[tuple[str, str, str], int]:
    """Teachers of a subject a taker school is short of, per (unit, stage, subject).

    A part's target for a subject is its staffing norm (today's pupils) × the county's share
    of that stage's teachers teaching the subject, rounded down, and at least one for the
    subjects every school teaches (Chinese, maths); the need is the target minus the
    teachers of the subject it has. Only taker schools (rural or weak) with pupils.
    """
    types = inp.teacher_types
    if "subject" not in types.columns:
        return {}
    side = school_sides(inp)
    share = types.groupby(["stage", "subject"])["count"].sum()
    share = share / share.groupby(level=0).transform("sum")
    shares: dict[str, dict[str, float]] = {}
    for (stage, subject), v in share.items():
        shares.setdefault(str(stage), {})[str(subject)] = float(v)
    have = {k: int(v) for k, v in types.groupby(["unit_id", "stage", "subject"])["count"].sum().items()}
    needs: dict[tuple[str, str, str], int] = {}
    for (unit, stage), row in inp.parts.iterrows():
        if side.get(unit) != "taker" or float(row["pupils"]) <= 0:
            continue
        norm = float(row["pupils"]) / inp.staffing_norm[stage]
        for subject, sh in shares.get(stage, {}).items():
            target = math.floor(norm * float(sh) + 1e-9)
            if subject in CORE_SUBJECTS:
                target = max(target, 1)
            gap = target - int(have.get((unit, stage, subject), 0))
            if gap > 0:
                needs[(str(unit), str(stage), str(subject))] = gap
    return needs


def add_pe_art_recruit_limit(ctx: ModelContext, unit: str, stage: str, recruits: Lin, most_pupils: float) -> None:
    """PE/art recruits at a part: at most what its pupils need by the standard, plus one for rounding.

    A recruit counts for indicator 3 (PE/art teachers per 100 pupils) only if the bureau recruits a PE,
    music or art teacher; it does so for a school that needs one. Without this rule a PE/art recruit costs
    the same as any other and counts for more, so the model would staff a new school with PE/art teachers
    alone (a 1,158-pupil junior school given 41 of them, pushing the county's CV of indicator 3 from 0.20
    past its 0.45 threshold). Two linear pieces of ``recruits ≤ max(0, std·P + 1 − have)``:

    - ``recruits ≤ std·P + 1`` with ``P`` the part's pupils (a variable where catchments move): exact for
      a new school, which has no PE/art teacher yet;
    - ``recruits ≤ ⌊std·Pmax + 1 − have⌋`` (at least 0) with ``Pmax`` the most pupils the part can have and
      ``have`` its PE/art teachers today.
    """
    std = ctx.inp.std(stage, "pe_art")
    have = float(ctx.inp.parts.at[(unit, stage), "pe_art"])
    static = max(0.0, math.floor(std * most_pupils + 1.0 - have + 1e-9))
    for v in recruits.terms:
        v.upBound = min(float(v.upBound), static) if v.upBound is not None else static
    lhs = Lin()
    lhs.add_lin(recruits)
    lhs.add_lin(ctx.pupils[(unit, stage)], -std)
    ctx.constrain(lhs, "<=", 1.0, f"pe_art_recruits_{unit}_{stage}")


def add_teachers(ctx: ModelContext) -> None:
    """Add rotation, return, redeployment and hiring variables and the teacher resources.

    Teachers leave (``out``) per subject-level type; they arrive (``in``) per indicator
    group. Sending and receiving balance per group and leg: rotation (giver → taker),
    return (taker → giver, at most the rotation legs the school takes part in) and
    redeployment (giver → new school). No school loses its last teacher of a subject.
    """
    inp, sc = ctx.inp, ctx.scenario
    parts = inp.parts
    public_units = set(inp.units.index[inp.units["public"]])
    new_units = set(inp.units.index[inp.units["is_new"]])

    # current teacher resources per part
    for (unit, stage), row in parts.iterrows():
        for k in TEACHER_INDICATORS:
            ctx.resource[(unit, stage, k)].add(None, float(row[k]))

    net: dict[tuple[str, str], Lin] = {key: Lin() for key in parts.index}
    types = inp.teacher_types.copy()
    if "group_id" not in types.columns:
        types["group_id"] = types["type_id"]
    if "subject" not in types.columns:
        types["subject"] = ""
    side = school_sides(inp)
    group_flags = types.drop_duplicates("group_id").set_index("group_id").to_dict("index")
    rotated = Lin()
    rotated_backbone = Lin()
    outbound = Lin()  # teachers going to rural and weak schools: they draw the rotation allowance
    new_stages = {s for (u, s) in parts.index if u in new_units}
    big = float(parts["teachers"].sum()) + 1
    rot_part: dict[tuple[str, str], Lin] = {}  # (giver, group) -> teachers on rotation legs
    redeploy: dict[tuple[str, str], Lin] = {}  # (giver, group) -> teachers redeployed to new schools
    returns: dict[tuple[str, str], Lin] = {}  # (taker, group) -> teachers on return legs
    subject_out: dict[tuple[str, str, str], Lin] = {}  # (unit, stage, subject) -> teachers leaving
    have = {k: int(v) for k, v in types.groupby(["unit_id", "stage", "subject"])["count"].sum().items()}

    for group_id, group in types.groupby("group_id", sort=True):
        flags = group_flags[group_id]
        stage = str(flags["stage"])
        eligible = bool(flags["eligible"])
        may_rotate = eligible and sc.levers.rotation
        redeployable = stage in new_stages
        if not (may_rotate or redeployable):
            continue
        down, back, redep = Lin(), Lin(), Lin()
        for r in group.itertuples(index=False):
            u = r.unit_id
            if u not in public_units or r.count <= 0 or side.get(u) not in ("giver", "taker"):
                continue
            n_subject = int(have.get((u, stage, r.subject), 0))
            keep = 0 if (u in ctx.closed or not r.subject) else 1
            up = min(int(r.count), n_subject - keep)
            if up <= 0:
                continue  # its last teacher of the subject stays
            # a giver's teachers go on rotation legs (``out``) or to new schools (``redeploy``); a
            # taker's only on the return leg of a rotation (``out``)
            legs_here = []
            if may_rotate:
                legs_here.append("out")
            if redeployable and side[u] == "giver":
                legs_here.append("redeploy")
            both = Lin()
            for leg_name in legs_here:
                v = ctx.var(leg_name, (u, r.type_id), up=up, cat=pulp.LpInteger)
                both.add(v)
                subject_out.setdefault((u, stage, r.subject), Lin()).add(v)
                net[(u, stage)].add(v, -1)
                for k in TEACHER_INDICATORS:
                    ctx.resource[(u, stage, k)].add(v, -float(flags[k]))
                if leg_name == "redeploy":
                    redeploy.setdefault((u, group_id), Lin()).add(v)
                    redep.add(v, -1)
                    continue
                rotated.add(v)
                if flags["backbone"]:
                    rotated_backbone.add(v)
                if side[u] == "taker":
                    returns.setdefault((u, group_id), Lin()).add(v)
                    back.add(v, -1)
                else:
                    rot_part.setdefault((u, group_id), Lin()).add(v)
                    outbound.add(v)
                    down.add(v, -1)
            if len(legs_here) > 1:
                ctx.constrain(both, "<=", up, f"legs_le_count_{u}_{r.type_id}")
        # receivers: takers get rotation legs, givers return legs, new schools redeployments
        for u in inp.units.index:
            if u not in public_units and u not in new_units:
                continue
            if (u, stage) not in parts.index:
                continue
            s_u = side.get(u)
            leg = {"taker": down, "giver": back, "new": redep}.get(s_u)
            if leg is None or leg.is_constant() or (s_u != "new" and not may_rotate):
                continue
            inn = ctx.var("in", (u, group_id), cat=pulp.LpInteger)
            leg.add(inn, 1)
            net[(u, stage)].add(inn, 1)
            for k in TEACHER_INDICATORS:
                ctx.resource[(u, stage, k)].add(inn, float(flags[k]))
            if u in ctx.closed:
                # a closed school receives nobody
                lhs = Lin()
                lhs.add(inn)
                lhs.add_lin(ctx.closed[u], big)
                ctx.constrain(lhs, "<=", big, f"no_in_if_closed_{u}_{group_id}")
        for name, leg in (("rotation", down), ("return", back), ("redeploy", redep)):
            if not leg.is_constant():
                ctx.constrain(leg, "==", 0, f"{name}_balance_{group_id}")

    # no school loses its last teacher of a subject it teaches (closed schools excepted)
    for (u, stage, subject), lin in sorted(subject_out.items()):
        n = int(have.get((u, stage, subject), 0))
        if not subject or (n <= 1 and u not in ctx.closed):
            continue  # (a school that may close gives up its only teacher of a subject only if it closes)
        lhs = Lin()
        lhs.add_lin(lin)
        if u in ctx.closed:
            lhs.add_lin(ctx.closed[u], -1.0)
        ctx.constrain(lhs, "<=", n - 1, f"keep_subject_{u}_{stage}_{subject}")

    # the return leg of a 双向交流: a taker sends back at most the rotation legs it receives, and
    # a giver takes back at most the rotation legs it sends
    ins_of: dict[str, dict[str, pulp.LpVariable]] = {}
    for (v, g), inn in ctx.vars["in"].items():
        ins_of.setdefault(v, {})[g] = inn
    legs_of: dict[str, list[Lin]] = {}
    for (v, _g), lin in [*returns.items(), *rot_part.items()]:
        legs_of.setdefault(v, []).append(lin)
    for u in sorted(side.index):
        if side[u] not in ("giver", "taker"):
            continue
        sign = 1.0 if side[u] == "giver" else -1.0
        lhs = Lin()
        for inn in ins_of.get(u, {}).values():
            lhs.add(inn, sign)
        for lin in legs_of.get(u, []):
            lhs.add_lin(lin, -sign)
        if not lhs.is_constant():
            ctx.constrain(lhs, "<=", 0, f"return_le_rotation_{u}")

    # a subject short at a taker school is a reason to send that subject there: per indicator
    # group, a rotation leg into the school counts toward its need of a subject only as far as
    # givers send teachers of that group and subject (exact: any giver may pair with any taker,
    # and the pairing after the solve serves the needs first)
    needs = subject_needs(inp) if sc.levers.rotation else {}
    supply: dict[tuple[str, str], Lin] = {}  # (group, subject) -> rotation legs of givers
    for r in types.itertuples(index=False):
        v = ctx.vars["out"].get((r.unit_id, r.type_id))
        if v is not None and side.get(r.unit_id) == "giver":
            supply.setdefault((r.group_id, r.subject), Lin()).add(v)
    credited: dict[tuple[str, str], Lin] = {}
    slots: dict[tuple[str, str], Lin] = {}  # (taker, group) -> subjects credited
    for (u, stage, subject), gap in sorted(needs.items()):
        short = ctx.var("subject_short", (u, stage, subject), up=gap)
        lhs = Lin()
        lhs.add(short)
        for g in sorted(ins_of.get(u, {})):
            if (g, subject) not in supply or str(group_flags[g]["stage"]) != stage:
                continue
            got = ctx.var("subject_gain", (u, g, subject), up=gap)
            lhs.add(got)
            credited.setdefault((g, subject), Lin()).add(got)
            slots.setdefault((u, g), Lin()).add(got)
        ctx.constrain(lhs, ">=", gap, f"subject_short_{u}_{stage}_{subject}")
        ctx.objective["guarantee"].add(short, sc.weights.guarantee)
    for (u, g), lin in sorted(slots.items()):
        lhs = Lin()
        lhs.add_lin(lin)
        lhs.add(ins_of[u][g], -1)
        ctx.constrain(lhs, "<=", 0, f"subject_slots_{u}_{g}")
    for (g, subject), lin in sorted(credited.items()):
        lhs = Lin()
        lhs.add_lin(lin)
        lhs.add_lin(supply[(g, subject)], -1)
        ctx.constrain(lhs, "<=", 0, f"subject_supply_{g}_{subject}")
    ctx.exprs["teacher_legs"] = {"rotation": rot_part, "return": returns, "redeploy": redeploy}
    ctx.exprs["teacher_needs"] = dict(needs)

    # recruitment
    hires_total = Lin()
    if sc.levers.hires and sc.hires.max_total > 0:
        pmax = max_pupils(ctx)
        for unit, stage in parts.index:
            if unit not in public_units:
                continue
            pe_art_hires = Lin()
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
                if int(h.pe_art):
                    pe_art_hires.add(hv)
            if not pe_art_hires.is_constant():
                add_pe_art_recruit_limit(ctx, unit, stage, pe_art_hires, pmax[(unit, stage)])
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
        floor = float(min(teachers, norm))
        low = Lin()
        low.add_lin(net[(unit, stage)])
        if unit in ctx.closed:
            # a closed school may lose every teacher
            low.add_lin(ctx.closed[unit], floor)
        leaving = ctx.exprs["pupils_leaving"].get((unit, stage))
        if leaving is not None and float(row["pupils"]) > 0:
            # teachers follow the pupils re-zoned away, at the school's own staffing today (its teachers per
            # pupil, or the norm's where it is above the norm): a school losing a third of its pupils to a new
            # school may send a third of its floor there (县管校聘), and is never left worse staffed per pupil
            low.add_lin(leaving, floor / float(row["pupils"]))
        ctx.constrain(low, ">=", floor - teachers, f"norm_low_{unit}_{stage}")
        ctx.constrain(net[(unit, stage)], "<=", max(teachers, norm) - teachers, f"norm_high_{unit}_{stage}")
    # no school is drained below its staffing norm at the plan's pupils (re-zoning included), and a
    # new school is staffed to its norm: each teacher by which the plan widens a school's gap to
    # pupils / norm (today's gap, if any, is not the plan's doing) is a guarantee item. (A binary
    # per school put below its norm made the start heuristic's restricted MIP find no plan in its
    # time on the bundled county, so the item counts teachers, not schools.)
    for (unit, stage), row in parts.iterrows():
        if unit not in public_units or unit in ctx.closed:
            continue
        pupils = ctx.pupils.get((unit, stage), Lin())
        if net[(unit, stage)].is_constant() and pupils.is_constant():
            continue
        ratio = inp.staffing_norm[stage]
        short = ctx.var("norm_short", (unit, stage))
        today_gap = max(0.0, float(row["pupils"]) / ratio - float(row["teachers"]))
        lhs = Lin(float(row["teachers"]) + today_gap)
        lhs.add_lin(net[(unit, stage)])
        lhs.add(short)
        lhs.add_lin(pupils, -1.0 / ratio)
        ctx.constrain(lhs, ">=", 0, f"norm_after_{unit}_{stage}")
        ctx.objective["guarantee"].add(short, sc.weights.guarantee)
    ctx.exprs["net_teachers"] = dict(net)

    # rotation policy
    ctx.exprs["totals"]["rotated"] = rotated
    ctx.exprs["totals"]["rotated_backbone"] = rotated_backbone
    if sc.levers.rotation and not rotated.is_constant():
        eligible_total = int(types.loc[types["eligible"] & types["unit_id"].isin(public_units), "count"].sum())
        need = math.ceil(sc.rotation.min_share_of_eligible * eligible_total - 1e-9)
        # the policy is a guarantee item: met unless impossible, and then reported (soft, so the
        # do-nothing plan stays a valid starting point for the solver)
        # whole teachers: a share missed by a fraction of a teacher is missed (the after-assessment's
        # check), so the shortfalls are integers, started where the registered start leaves them
        short = ctx.var("rotation_short", "share", cat=pulp.LpInteger)
        lhs = Lin()
        lhs.add_lin(rotated)
        lhs.add(short)
        ctx.constrain(lhs, ">=", need, "rotation_share")
        ctx.exprs["totals"]["rotation_need"] = Lin(float(need))
        short_b = ctx.var("rotation_short", "backbone", cat=pulp.LpInteger)
        lhs = Lin()
        lhs.add_lin(rotated_backbone)
        lhs.add_lin(rotated, -sc.rotation.min_backbone_share)
        lhs.add(short_b)
        ctx.constrain(lhs, ">=", 0, "rotation_backbone_share")
        # a rotation the policy requires outweighs any one school's standards: the policy binds
        # whenever it can be met at all
        ctx.objective["limits"].add(short, sc.weights.policy)
        ctx.objective["limits"].add(short_b, sc.weights.policy)
        # the allowance is paid to teachers going to rural and weak schools (the outbound leg)
        ctx.recurrent_yuan.add_lin(outbound, inp.unit_costs["rotation_allowance_yuan_per_year"])
        ctx.objective["moved"].add_lin(rotated, sc.weights.moved_teacher)


def rotation_start(ctx: ModelContext) -> int:
    """Give the solver a starting plan that already meets the rotation policy.

    A 双向交流 of two eligible teachers of the same subject-level type — one from a giver
    school to a taker school, one back — changes no indicator, no staffing level and no
    subject count, so the do-nothing plan plus enough such exchanges (backbone teachers
    first, then others) is feasible and meets the 10% / 20% policy. Rural takers come
    first; partners are the nearest giver holding the same type. Returns the teachers moved.
    """
    inp, sc = ctx.inp, ctx.scenario
    if not sc.levers.rotation:
        return 0
    types = inp.teacher_types
    if "group_id" not in types.columns:
        types = types.assign(group_id=types["type_id"])
    public = set(inp.units.index[inp.units["public"]])
    side = school_sides(inp)
    area = inp.units["area_type"] if "area_type" in inp.units.columns else pd.Series("town", index=inp.units.index)
    elig = types[types["eligible"] & types["unit_id"].isin(public)]
    need = math.ceil(sc.rotation.min_share_of_eligible * int(elig["count"].sum()) - 1e-9)
    need_backbone = math.ceil(sc.rotation.min_backbone_share * need - 1e-9)
    times = inp.school_times
    near: dict[str, list[str]] = {}
    for a, group in times.sort_values(["from_unit", "time_min", "to_unit"]).groupby("from_unit", sort=False):
        near[str(a)] = [str(b) for b in group["to_unit"]]
    outs, ins = ctx.vars["out"], ctx.vars["in"]
    group_of = dict(zip(elig["type_id"], elig["group_id"], strict=True))
    left = {(r.unit_id, r.type_id): int(r.count) for r in elig.itertuples(index=False)}
    if "subject" not in elig.columns:
        elig = elig.assign(subject="")
    subject_of = {r.type_id: (r.stage, r.subject) for r in elig.itertuples(index=False)}
    # teachers of a subject a school may send: all but its last one
    counts = types.groupby(["unit_id", "stage", "subject"])["count"].sum() if "subject" in types.columns else {}
    subject_left = {key: int(n) - 1 for key, n in dict(counts).items()}

    def room(u: str, t: str) -> int:
        v = outs.get((u, t))
        if v is None or (u, group_of[t]) not in ins:
            return 0
        stage, subject = subject_of[t]
        free = subject_left.get((u, stage, subject), 10**9) if subject else 10**9
        return min(left.get((u, t), 0), int(v.upBound or 0) - round(v.varValue or 0), free)

    moved = moved_backbone = 0
    for backbone_pass in (True, False):
        order = elig[(elig["backbone"].astype(bool) == backbone_pass) & elig["unit_id"].map(side).eq("taker")]
        # rural schools first (the policy's direction), then weak urban and town ones
        order = order.assign(_urban=order["unit_id"].map(area).isin(["urban", "town"]))
        for r in order.sort_values(["_urban", "type_id", "unit_id"]).itertuples(index=False):
            target = need_backbone if backbone_pass else need
            if (moved_backbone if backbone_pass else moved) >= target:
                break
            b, t = r.unit_id, r.type_id
            if room(b, t) <= 0:
                continue
            a = next((u for u in near.get(b, []) if side.get(u) == "giver" and room(u, t) > 0), None)
            if a is None:
                continue
            g = group_of[t]
            for u, v in ((a, b), (b, a)):
                outs[(u, t)].setInitialValue(round(outs[(u, t)].varValue or 0) + 1)
                ins[(v, g)].setInitialValue(round(ins[(v, g)].varValue or 0) + 1)
                left[(u, t)] -= 1
                key = (u, *subject_of[t])
                if key in subject_left:
                    subject_left[key] -= 1
            moved += 2
            if backbone_pass:
                moved_backbone += 2
    _start_policy_shortfalls(ctx)
    return moved


def _start_policy_shortfalls(ctx: ModelContext) -> None:
    """Start the rotation policy's integer shortfalls at what the registered start leaves short."""
    shorts = ctx.vars.get("rotation_short", {})
    if not shorts:
        return
    totals = ctx.exprs["totals"]
    rotated, backbone = totals["rotated"].value(), totals["rotated_backbone"].value()
    need = totals["rotation_need"].value()
    if "share" in shorts:
        shorts["share"].setInitialValue(float(max(0, math.ceil(need - rotated - 1e-9))))
    if "backbone" in shorts:
        want = ctx.scenario.rotation.min_backbone_share * rotated
        shorts["backbone"].setInitialValue(float(max(0, math.ceil(want - backbone - 1e-9))))
