"""Standards as soft constraints: shortfalls, the 6-of-7 school rule, guarantee items, CV.

Every standard is kept in product form (resource ≥ standard × pupils), which stays
linear when pupils are decided by the catchment variables, and gets a non-negative
shortfall variable, so a plan always exists and says what stays unmet (DESIGN.md).

- ``short[u,s,k]``: amount of resource k missing for the full standard, in the
  standard's own unit (teachers, m², yuan, rooms). Objective: weight × short / standard
  (pupil-equivalents).
- School rule (6 of 7 met, the other ≥ 85%): binary ``miss[u,s,k]`` marks the one
  indicator allowed below standard; ``rule[u,s,k]`` is the amount missing to
  ``standard × pupils × (1 − 0.15 miss)``. With variable pupils the product
  ``pupils × miss`` is linearised by ``w ≤ P, w ≤ Pmax·miss, w ≥ P − Pmax·(1 − miss)``.
- School resources of a nine-year school are split between its parts by pupils, so each
  part's value is (school total) / (school pupils): the standard is written on the
  school's total pupils.
- Guarantee items: pupils over classroom capacity (class-size limit × classrooms),
  pupils over the school-size limit, missing music and art rooms (one each per 12
  classes).
- CV (the enrolment-weighted coefficient of variation ≤ threshold) is a second-order
  cone; :func:`add_cv_cut` adds Kelley tangent cuts at a given point, with a slack
  ``cv_excess[s,k]`` (in CV units) penalised in the objective; the same cut at the larger of
  the threshold and the CV before the plan, slack ``cv_worse[s,k]``, keeps every balance from
  getting worse (a bottom line), and a binary ``cv_crossed[s,k]`` charges once a balance pushed
  over its threshold. The optimiser adds cuts where the true CV of a solution is too high and
  re-solves (planner/model/optimise.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np
import pulp

from planner.model.context import Lin, ModelContext, safe
from planner.model.inputs import INDICATORS, TEACHER_INDICATORS


def part_resource(ctx: ModelContext, unit: str, stage: str, k: str) -> Lin:
    """Resource of indicator k available to the standard of part (unit, stage)."""
    return ctx.resource[(unit, stage, k)] if k in TEACHER_INDICATORS else ctx.resource[(unit, "", k)]


def max_pupils(ctx: ModelContext) -> dict[tuple[str, str], float]:
    """Upper bound on each part's pupils: all demand that may reach it, or its fixed pupils."""
    inp = ctx.inp
    demand = inp.demand
    if ctx.scenario.levers.catchments:
        reach = inp.arcs.merge(demand[["settlement_id", "stage", "pupils"]], on=["settlement_id", "stage"])
        sums = reach.groupby(["unit_id", "stage"])["pupils"].sum()
    else:
        sums = demand.groupby(["current_unit", "stage"])["pupils"].sum()
    out = {key: float(sums.get(key, 0.0)) for key in inp.parts.index}
    fixed = inp.parts["fixed_pupils"]
    for key, v in fixed[fixed.notna()].items():
        out[key] = float(v)
    return out


def min_pupils(ctx: ModelContext) -> dict[tuple[str, str], float]:
    """Lower bound on each part's pupils in any plan: its constant (captive or fixed) pupils, or the share
    of today's an existing school keeps (:func:`planner.model.catchments.keep_share`), whichever is larger.

    A school the closures lever may close gets 0 (a closed school has no pupils).
    """
    out = {}
    for key, lin in ctx.pupils.items():
        out[key] = 0.0 if key[0] in ctx.closed else max(lin.const, ctx.pupils_floor.get(key, 0.0))
    return out


def add_pass_implications(ctx: ModelContext, unit: str, stage: str, k: str, least_pupils: float, std: float) -> None:
    """Rows the school rule implies for indicator k of part (unit, stage), whose basis has at least
    ``least_pupils`` pupils in any plan (called after :func:`add_failing` made ``fail``).

    A part that passes has ``resource ≥ 85% · std · pupils ≥ 85% · std · least`` on every indicator, and
    ``≥ std · least`` unless k is the one it misses. Written with ``fail`` and ``miss``:

    - ``res + 0.85·std·least·fail ≥ 0.85·std·least`` and ``res + std·least·(fail + miss) ≥ std·least``;
    - with ``R`` the most the resource can reach within its variables' bounds: ``fail = 1`` when
      ``R < 0.85·std·least`` (no plan passes it: no land, a private school), ``fail + miss ≥ 1`` when
      ``R < std·least``;
    - where the resource takes whole values only (teachers), both thresholds are rounded up;
    - a project (a binary of the resource, coefficient ``a``) without which ``R − a`` falls short:
      ``fail + y ≥ 1`` (or ``fail + miss + y ≥ 1`` below the full standard). The LP then pays for a
      whole project to pass the school rather than a fraction of it.

    The relaxation's ``fail`` is otherwise bounded only by ``rule ≤ std · Pmax · fail``, with ``Pmax``
    every pupil within reach: on the bundled county these rows raise the LP bound from 0.76 M to 1.89 M
    above the penalties no plan avoids, where the best plan known pays 2.36 M (docs/performance.md).
    """
    if least_pupils <= 0 or std <= 0:
        return
    fail = ctx.vars["fail"][(unit, stage)]
    miss = ctx.vars["miss"][(unit, stage, k)]
    res = part_resource(ctx, unit, stage, k)
    low, full = ctx.inp.rule_floor * std * least_pupils, std * least_pupils
    name = f"{unit}_{stage}_{k}"
    tol = 1e-6 * max(1.0, full)
    if res.is_integral():
        # teachers come whole: a part needing 0.42 backbone teachers needs one (Chvátal–Gomory rounding)
        low, full = math.ceil(low - tol), math.ceil(full - tol)
    reach = res.upper()
    if reach < low - tol:
        fail.lowBound = 1  # its start value is 1 already (add_failing)
        return
    for coef, extra, tag in ((low, [], "passlow"), (full, [miss], "passfull")):
        lhs = Lin()
        lhs.add_lin(res)
        for v in (fail, *extra):
            lhs.add(v, coef)
        ctx.constrain(lhs, ">=", coef, f"{tag}_{name}")
    if reach < full - tol:
        lhs = Lin()
        lhs.add(fail)
        lhs.add(miss)
        ctx.constrain(lhs, ">=", 1, f"needmiss_{name}")
    for v, a in res.terms.items():
        if a <= 0 or v.cat != pulp.LpInteger or v.upBound != 1 or (v.lowBound or 0) != 0:
            continue
        if reach - a >= full - tol:
            continue
        lhs = Lin()
        lhs.add(fail)
        lhs.add(v)
        if reach - a >= low - tol:
            lhs.add(miss)
        ctx.constrain(lhs, ">=", 1, f"need_{v.name}_{name}")


def add_standards(ctx: ModelContext) -> None:
    """Shortfall and school-rule terms for every assessed part."""
    inp, w = ctx.inp, ctx.scenario.weights
    n_allowed_miss = len(INDICATORS) - inp.rule_min_met
    pmax = max_pupils(ctx)
    pmin = min_pupils(ctx)
    school_total: dict[str, Lin] = {}
    school_max: dict[str, float] = {}
    school_min: dict[str, float] = {}
    parts_of: dict[str, int] = {}
    for u, s in inp.parts.index:
        parts_of[u] = parts_of.get(u, 0) + 1
        school_total.setdefault(u, Lin()).add_lin(ctx.pupils[(u, s)])
        school_max[u] = school_max.get(u, 0.0) + pmax[(u, s)]
        school_min[u] = school_min.get(u, 0.0) + pmin.get((u, s), 0.0)
    for (unit, stage), row in inp.parts.iterrows():
        if not bool(row["included"]) or pmax[(unit, stage)] <= 0:
            continue
        misses = Lin()
        ws = Lin()
        single_basis = parts_of[unit] == 1  # one stage: every indicator uses the same pupils
        for k in INDICATORS:
            std = inp.std(stage, k)
            teacher = k in TEACHER_INDICATORS
            basis = ctx.pupils[(unit, stage)] if teacher else school_total[unit]
            basis_max = pmax[(unit, stage)] if teacher else school_max[unit]
            res = part_resource(ctx, unit, stage, k)
            # full standard
            short = ctx.var("short", (unit, stage, k), up=std * basis_max)  # no more than the whole standard
            lhs = Lin()
            lhs.add(short)
            lhs.add_lin(res)
            lhs.add_lin(basis, -std)
            ctx.constrain(lhs, ">=", 0, f"std_{unit}_{stage}_{k}")
            ctx.objective["full_standard"].add(short, w.full_standard / std)
            # school rule
            miss = ctx.var("miss", (unit, stage, k), up=1, cat=pulp.LpBinary)
            misses.add(miss)
            rule = ctx.var("rule", (unit, stage, k))
            lhs = Lin()
            lhs.add(rule)
            lhs.add_lin(res)
            lhs.add_lin(basis, -std)
            if basis.is_constant():
                lhs.add(miss, std * (1 - inp.rule_floor) * basis.const)
            else:
                wv = ctx.var("missP", (unit, stage, k), up=basis_max)
                ws.add(wv)
                lhs.add(wv, std * (1 - inp.rule_floor))
                a = Lin()
                a.add(wv)
                a.add(miss, -basis_max)
                ctx.constrain(a, "<=", 0, f"missP_a_{unit}_{stage}_{k}")
                b = Lin()
                b.add(wv)
                b.add_lin(basis, -1.0)
                ctx.constrain(b, "<=", 0, f"missP_b_{unit}_{stage}_{k}")
            ctx.constrain(lhs, ">=", 0, f"rule_{unit}_{stage}_{k}")
            ctx.objective["school_rule"].add(rule, w.school_rule / std)
            ctx.exprs["short"][(unit, stage, k)] = _of(short)
            ctx.exprs["rule"][(unit, stage, k)] = _of(rule)
            # what the rule is written on, for judging a given plan without a solve (settle_failing)
            ctx.exprs["rule_basis"][(unit, stage, k)] = basis
            ctx.exprs["rule_resource"][(unit, stage, k)] = res
        ctx.constrain(misses, "<=", n_allowed_miss, f"misses_{unit}_{stage}")
        add_failing(ctx, unit, stage, {k: (inp.std(stage, k),
                                           pmax[(unit, stage)] if k in TEACHER_INDICATORS else school_max[unit])
                                       for k in INDICATORS})  # fmt: skip
        for k in INDICATORS:
            least = pmin.get((unit, stage), 0.0) if k in TEACHER_INDICATORS else school_min[unit]
            add_pass_implications(ctx, unit, stage, k, least, inp.std(stage, k))
        if single_basis and not ws.is_constant() and n_allowed_miss == 1:
            # Σ_k P·miss_k ≤ P: only one indicator may be missed, so at most P pupils' worth of
            # relief in total (tightens the LP relaxation a lot)
            lhs = Lin()
            lhs.add_lin(ws)
            lhs.add_lin(ctx.pupils[(unit, stage)], -1.0)
            ctx.constrain(lhs, "<=", 0, f"missP_sum_{unit}_{stage}")


def add_failing(ctx: ModelContext, unit: str, stage: str, bounds: dict[str, tuple[float, float]]) -> None:
    """Binary ``fail[unit, stage]``: 1 when the part misses the school rule on any indicator.

    The inspectors' unit is the school (DOMAIN.md §1.1): the objective counts each failing part
    once at ``weights.failing_school``, whatever its size. ``rule[u,s,k] ≤ (std_k · Pmax_k − Rmin_k) · fail``
    for each indicator k, ``Pmax_k`` being the most pupils its standard can be written on and ``Rmin_k`` the
    least resource the part can have (so the factor bounds the rule shortfall); the rows of
    :func:`add_pass_implications` say the rest of what a pass implies. The shortfall itself stays in the objective at
    the ``school_rule`` weight, the tier below.

    Parameters
    ----------
    bounds : dict
        Indicator -> (standard per pupil, most pupils of its basis).
    """
    fail = ctx.var("fail", (unit, stage), up=1, cat=pulp.LpBinary)
    fail.setInitialValue(1.0)  # the do-nothing start stays feasible whatever the part's rule shortfall
    for k, (std, basis_max) in bounds.items():
        # the rule shortfall is at most the standard on every pupil within reach less the least resource
        big = std * basis_max - max(part_resource(ctx, unit, stage, k).lower(), 0.0)
        if big <= 0:
            continue
        lhs = Lin()
        lhs.add_lin(ctx.exprs["rule"][(unit, stage, k)])
        lhs.add(fail, -big)
        ctx.constrain(lhs, "<=", 0, f"fail_{unit}_{stage}_{k}")
    ctx.objective["failing"].add(fail, ctx.scenario.weights.failing_school)
    ctx.exprs["fail"][(unit, stage)] = _of(fail)


def settle_failing(ctx: ModelContext, tol: float = 1e-6) -> int:
    """Judge each part's school rule at the current values: ``miss``, ``missP``, ``rule`` and ``fail`` set as the
    best plan with these decisions would set them.

    For each assessed part the indicators it may miss (``len(INDICATORS) − rule_min_met`` of them, one today) are
    chosen as a solve with every decision fixed would choose them: so that the part passes if any choice lets it,
    else so that the weighted rule shortfall is least; ``rule[u,s,k]`` is then the shortfall
    ``max(0, std·P − resource − miss·(1 − 0.85)·std·P)``, ``missP`` the pupils a missed indicator is written on, and
    ``fail`` whether any shortfall is left above ``tol``. These variables appear only in the school rule's rows
    (and in ``Σ fail`` caps that only a lower value helps), so this keeps every constraint and never raises the
    objective. It mends a solution that kept its MIP start's judgement where the plan decides otherwise: HiGHS
    hands back a column it presolved away at its start value, a solve stopped at its limit hands back the
    start itself, and the do-nothing start counts every part failing with any indicator missed (确山, strict
    distance, a 10 s limit on a slow machine: the objective counted 125 parts failing, the assessment 120 and
    4 out of scope). Returns the parts whose ``fail`` changed.
    """
    inp, w = ctx.inp, ctx.scenario.weights
    n_miss = max(len(INDICATORS) - inp.rule_min_met, 0)
    choices = [frozenset(c) for c in itertools.combinations(INDICATORS, min(n_miss, len(INDICATORS)))]
    changed = 0
    values: dict[int, float] = {}  # one value per basis expression (a school's pupils serve all its indicators)

    def value(lin: Lin) -> float:
        if id(lin) not in values:
            values[id(lin)] = lin.value()
        return values[id(lin)]

    for (unit, stage), fail in ctx.vars.get("fail", {}).items():
        if fail.varValue is None:
            continue
        gap: dict[str, float] = {}
        relief: dict[str, float] = {}
        coef: dict[str, float] = {}
        for k in INDICATORS:
            std = inp.std(stage, k)
            pupils = value(ctx.exprs["rule_basis"][(unit, stage, k)])
            gap[k] = std * pupils - ctx.exprs["rule_resource"][(unit, stage, k)].value()
            relief[k] = std * (1 - inp.rule_floor) * pupils
            coef[k] = w.school_rule / std
        now = frozenset(k for k in INDICATORS if (ctx.vars["miss"][(unit, stage, k)].varValue or 0.0) > 0.5)
        best = min(choices, key=lambda c: _judged(c, gap, relief, coef, tol, now)) if choices else frozenset()
        left = _rule_left(best, gap, relief)
        for k in INDICATORS:
            missed = k in best
            ctx.vars["miss"][(unit, stage, k)].varValue = 1.0 if missed else 0.0
            if (unit, stage, k) in ctx.vars.get("missP", {}):
                pupils = value(ctx.exprs["rule_basis"][(unit, stage, k)])
                ctx.vars["missP"][(unit, stage, k)].varValue = pupils if missed else 0.0
            ctx.vars["rule"][(unit, stage, k)].varValue = left[k]
        want = 1.0 if any(v > tol for v in left.values()) else 0.0
        if abs(fail.varValue - want) > 0.5:
            changed += 1
        fail.varValue = want
    return changed


def _judged(
    missed: frozenset[str],
    gap: Mapping[str, float],
    relief: Mapping[str, float],
    coef: Mapping[str, float],
    tol: float,
    now: frozenset[str],
) -> tuple[bool, float, bool]:
    """How a part fares missing ``missed``: whether a rule shortfall is left, the weighted shortfall, and whether
    it differs from the ``now`` choice (so that among equal choices the current one stays)."""
    left = _rule_left(missed, gap, relief)
    return any(v > tol for v in left.values()), sum(coef[k] * v for k, v in left.items()), missed != now


def _rule_left(missed: frozenset[str], gap: Mapping[str, float], relief: Mapping[str, float]) -> dict[str, float]:
    """Each indicator's rule shortfall: its gap to the full standard, less the 15% relief where it is the one
    missed, never below 0."""
    return {k: max(g - (relief[k] if k in missed else 0.0), 0.0) for k, g in gap.items()}


def hold_counts(ctx: ModelContext, values: Mapping[str, float], tol: float = 1e-7) -> tuple[int, int]:
    """More money never fails more schools or leaves more school-indicators unmet: the budget chain's rule.

    ``values`` is the plan of the same instance under smaller budgets (the chain's start, feasible here),
    already registered on the variables (:func:`planner.model.start.register_start`).
    With ``F`` its parts failing the school rule and ``U`` its school-indicators short of the full
    standard, the model gets ``Σ fail ≤ F`` and ``Σ unmet ≤ U``, where the binary ``unmet[u,s,k]`` is 1
    when the shortfall is positive (``short ≤ std · Pmax · unmet``, ``std · Pmax`` bounding the shortfall).
    It also keeps the start's parts passing (``Σ present − fail``, ``present`` a site opened or a school left
    open). The start satisfies all three, so the model stays feasible; the counts are the measures of the
    budget table (:func:`planner.plan.variants.unmet_summary`), so the table is monotone in them by
    construction however time-limited the solves, and the objective's order decides everything else
    (a school may pass at another's expense as long as the counts do not rise). A variable ``values``
    does not name (a part the start's model could give no pupils) counts as met. Returns (F, U).
    """
    n_fail = 0
    n_pass = 0.0
    total = Lin()
    passing = Lin()
    for key, v in ctx.vars.get("fail", {}).items():
        # a variable the start does not name belongs to a part its model could not give pupils: met there
        hit = values.get(v.name, 0.0) > 0.5
        n_fail += int(hit)
        v.setInitialValue(1.0 if hit else 0.0)
        total.add(v)
        present = _presence(ctx, key[0])
        n_pass += present.value() - float(hit)  # the start's values are on the variables (register_start)
        passing.add_lin(present)
        passing.add(v, -1.0)
    ctx.constrain(total, "<=", float(n_fail), "chain_failing")
    ctx.constrain(passing, ">=", math.floor(n_pass + 1e-6), "chain_passing")
    n_unmet = 0
    count = Lin()
    for key, short in ctx.vars.get("short", {}).items():
        unmet = ctx.var("unmet", key, up=1, cat=pulp.LpBinary)
        hit = values.get(short.name, 0.0) > tol
        n_unmet += int(hit)
        unmet.setInitialValue(1.0 if hit else 0.0)
        count.add(unmet)
        lhs = Lin()
        lhs.add(short)
        lhs.add(unmet, -float(short.upBound))
        ctx.constrain(lhs, "<=", 0.0, f"unmet_{'_'.join(map(str, key))}")
        if not hit:
            short.setInitialValue(0.0)  # the start's value within tolerance of 0: exactly 0 with unmet 0
    ctx.constrain(count, "<=", float(n_unmet), "chain_unmet")
    return n_fail, n_unmet


def _presence(ctx: ModelContext, unit: str) -> Lin:
    """1 when the unit is a school after the plan: a site opened, a closable school left open, else 1."""
    if unit in ctx.site_open:
        return ctx.site_open[unit]
    present = Lin(1.0)
    if unit in ctx.closed:
        present.add_lin(ctx.closed[unit], -1.0)
    return present


def _of(var: pulp.LpVariable) -> Lin:
    lin = Lin()
    lin.add(var)
    return lin


def add_guarantees(ctx: ModelContext) -> None:
    """Class-size capacity, school size and music/art rooms, as penalised overflows."""
    inp, w = ctx.inp, ctx.scenario.weights
    base_limit = inp.class_limit["primary"]
    for unit, row in inp.units.iterrows():
        stages = [s for (u, s) in inp.parts.index if u == unit]
        if not stages or not bool(row["public"]):
            continue
        # pupils in primary-class equivalents must fit the classrooms
        load = Lin()
        total = Lin()
        classes = Lin()
        for s in stages:
            load.add_lin(ctx.pupils[(unit, s)], base_limit / inp.class_limit[s])
            total.add_lin(ctx.pupils[(unit, s)])
            classes.add_lin(ctx.pupils[(unit, s)], 1.0 / inp.class_limit[s])
        over = ctx.var("over_capacity", unit)
        lhs = Lin()
        lhs.add_lin(load)
        lhs.add(over, -1)
        lhs.add_lin(ctx.classrooms[unit], -base_limit)
        ctx.constrain(lhs, "<=", 0, f"capacity_{unit}")
        ctx.objective["limits"].add(over, w.limits)

        limit = inp.size_limit["nine_year" if bool(row["nine_year"]) else "single"]
        big = ctx.var("over_size", unit)
        lhs = Lin()
        lhs.add_lin(total)
        lhs.add(big, -1)
        ctx.constrain(lhs, "<=", limit, f"size_{unit}")
        ctx.objective["limits"].add(big, w.limits)

        for kind, rooms in (("music", ctx.music_rooms[unit]), ("art", ctx.art_rooms[unit])):
            gap = ctx.var(f"{kind}_deficit", unit)
            lhs = Lin()
            lhs.add(gap)
            lhs.add_lin(rooms)
            lhs.add_lin(classes, -1.0 / 12)
            ctx.constrain(lhs, ">=", 0, f"{kind}_rooms_{unit}")
            ctx.objective["guarantee"].add(gap, w.guarantee)


#: the cuts aim this far inside a CV threshold: a plan at 0.450000 reads "0.450000 > 0.45" to an inspector
#: recomputing it to more places (西平's junior backbone CV did), so within means within by a visible margin
CV_MARGIN = 2e-3


def cv_point(values: np.ndarray, pupils: np.ndarray) -> float:
    """Enrolment-weighted CV of per-part resources ``values`` (DOMAIN.md §1.1)."""
    keep = pupils > 0
    r, p = values[keep], pupils[keep]
    if p.sum() <= 0 or r.sum() <= 0:
        return 0.0
    mean = r.sum() / p.sum()
    x = r / p
    return float(math.sqrt(float((p * (x - mean) ** 2).sum() / p.sum())) / mean)


#: the most ``cv_worse`` a plan can have while its ``cv_crossed`` binary is on, in CV units: the big-M of
#: ``cv_worse ≤ room + CROSSED_M · cv_crossed`` (a CV 10 above its ceiling already costs 2e8 at ``cv_worse``)
CROSSED_M = 10.0

#: how far ``cv_worse`` (CV units) must exceed its row's room before a MIP start sets ``cv_crossed``
CROSSED_TOL = 1e-9

#: integer groups that only record what other variables imply (``cv_crossed``): a neighbourhood search never fixes
#: them (the polish, the regions, the registered start), since a plan's own values decide them
AUXILIARY_INTEGERS: tuple[str, ...] = ("cv_crossed",)
#: the school rule's binaries (a part failing, an indicator missed, an indicator left below the full standard):
#: a plan's decisions decide them, so evaluating a given plan (the registered start) leaves them free too
JUDGEMENT_INTEGERS: tuple[str, ...] = ("fail", "miss", "unmet")
#: every integer group a plan's decisions decide: free wherever a given plan is evaluated or polished
DECIDED_INTEGERS: tuple[str, ...] = (*JUDGEMENT_INTEGERS, *AUXILIARY_INTEGERS)


def crosses(ctx: ModelContext, stage: str, ceiling: float) -> bool:
    """Whether a rise above ``ceiling`` pushes a CV within its threshold over it: the no-worse ceiling of a
    (stage, indicator) whose CV before the plan is within the threshold (the ceiling is then at most it)."""
    return ctx.scenario.weights.cv_crossed > 0 and ceiling <= float(ctx.inp.cv_max[stage]) + 1e-12


def _crossing_room(ctx: ModelContext, stage: str, ceiling: float) -> float:
    """How far a CV may rise above its no-worse ceiling before it crosses the threshold itself (CV units)."""
    return max(float(ctx.inp.cv_max[stage]) - ceiling, 0.0)


def _cv_slack(ctx: ModelContext, stage: str, k: str, ceiling: float | None) -> pulp.LpVariable:
    """The CV excess of (stage, k) in CV units: ``cv_excess`` at ``weights.cv`` (threshold cuts, the CV tier) or,
    for the no-worse rule's cuts (``ceiling``), ``cv_worse`` at ``weights.cv_worse`` in the bottom lines.

    Where the CV is within its threshold before the plan (:func:`crosses`), ``cv_worse`` beyond the room left
    between the ceiling and the threshold switches on a binary ``cv_crossed[s,k]``
    (``cv_worse ≤ room + CROSSED_M · cv_crossed``) charged ``weights.cv_crossed`` once: pushing a balance over its
    line fails the county on it, so no number of schools passing pays for it (at ``cv_worse`` alone a rise of
    0.005 cost one school, and a 60 s plan took that trade). Within the margin it costs ``cv_worse`` only.
    """
    key = (stage, k)
    group, kind, weight = (("cv", "cv_excess", ctx.scenario.weights.cv) if ceiling is None
                           else ("limits", "cv_worse", ctx.scenario.weights.cv_worse))  # fmt: skip
    slack = ctx.vars[kind].get(key)
    if slack is None:
        slack = ctx.var(kind, key)
        ctx.objective[group].add(slack, weight * 100)
        if ceiling is not None and crosses(ctx, stage, ceiling):
            z = ctx.var("cv_crossed", key, up=1, cat=pulp.LpBinary)
            z.setInitialValue(0)
            row = Lin()
            row.add(slack)
            row.add(z, -CROSSED_M)
            ctx.constrain(row, "<=", _crossing_room(ctx, stage, ceiling), f"crossed_{stage}_{k}")
            ctx.objective["limits"].add(z, ctx.scenario.weights.cv_crossed)
    return slack


def _start_slack(ctx: ModelContext, stage: str, k: str, slack: pulp.LpVariable, need: float) -> None:
    """Raise the start value of a cut's slack to ``need`` (CV units), and its ``cv_crossed`` binary with it, so
    that the current values stay a complete MIP start."""
    slack.setInitialValue(max(slack.varValue or 0.0, need))
    z = ctx.vars["cv_crossed"].get((stage, k))
    if z is not None and slack.varValue > _crossed_at(ctx, stage, k):
        z.setInitialValue(1)


def _crossed_at(ctx: ModelContext, stage: str, k: str) -> float:
    """The ``cv_worse[s,k]`` above which ``cv_crossed[s,k]`` must be 1: its row's right-hand side."""
    return float(-ctx.prob.constraints[safe(f"crossed_{stage}_{k}")].constant) + CROSSED_TOL


def add_cv_cut(
    ctx: ModelContext,
    stage: str,
    k: str,
    parts: list[tuple[str, str]],
    resources: np.ndarray,
    pupils: np.ndarray,
    shares: np.ndarray,
    tag: str,
    ceiling: float | None = None,
) -> bool:
    """Add the tangent cut of ``CV ≤ threshold`` (or ``CV ≤ ceiling``) at the point (resources, pupils).

    School indicators: with pupils fixed at the point, ``g(r) = ||(r_i − X̄ P_i)/√P_i|| − c √P X̄``
    is convex and positively homogeneous in the part resources ``r``, so its tangent at ``r⁰`` is
    ``∇g(r⁰)·r ≤ 0`` with ``∂g/∂r_i = y_i / (‖y‖ √P_i) − c / √P``. The slack is scaled so
    that it reads in CV units at the point. Returns False when no cut is possible (the
    point has no spread). Teacher indicators, whose parts' pupils move with the catchments, get
    the cut of :func:`_add_teacher_cv_cut`, valid in teachers and pupils together.

    Parameters
    ----------
    parts : list of (unit, stage)
        Assessed parts of the stage, in the order of the arrays.
    resources, pupils : ndarray
        Part resources and pupils at the point.
    shares : ndarray
        For school indicators, the part's share of its school's pupils (1 for
        single-stage schools); the part resource is share × school resource.
    ceiling : float, optional
        The no-worse rule: cut ``CV ≤ ceiling`` (the larger of the threshold less :data:`CV_MARGIN`
        and the CV before the plan) with its own slack ``cv_worse[s,k]``, penalised at ``weights.cv_worse`` in the
        ``limits`` group. Default: the threshold less :data:`CV_MARGIN`, slack ``cv_excess[s,k]`` at
        ``weights.cv``.
    """
    keep = pupils > 0
    c = ctx.inp.cv_max[stage] - CV_MARGIN if ceiling is None else float(ceiling)
    P = float(pupils[keep].sum())
    R = float(resources[keep].sum())
    if P <= 0 or R <= 0:
        return False
    if k in TEACHER_INDICATORS:
        return _add_teacher_cv_cut(ctx, stage, k, parts, resources, pupils, tag, c, ceiling)
    mean = R / P
    y = np.zeros_like(resources, dtype=float)
    y[keep] = (resources[keep] - mean * pupils[keep]) / np.sqrt(pupils[keep])
    norm = float(np.linalg.norm(y))
    if norm <= 1e-12:
        return False
    grad = np.zeros_like(resources, dtype=float)
    grad[keep] = y[keep] / (norm * np.sqrt(pupils[keep])) - c / math.sqrt(P)
    slack = _cv_slack(ctx, stage, k, ceiling)
    lhs = Lin()
    for i, (unit, s) in enumerate(parts):
        if not keep[i] or grad[i] == 0:
            continue
        res = part_resource(ctx, unit, s, k)
        lhs.add_lin(res, float(grad[i]) * (1.0 if k in TEACHER_INDICATORS else float(shares[i])))
    # the slack that makes the current values feasible, so that they stay a complete MIP start
    need = max(lhs.value(), 0.0) / (math.sqrt(P) * mean)
    _start_slack(ctx, stage, k, slack, need)
    lhs.add(slack, -math.sqrt(P) * mean)
    ctx.constrain(lhs, "<=", 0, f"cv_{stage}_{k}_{tag}")
    return True


#: where each part's ``r² / P`` first gets a tangent, as multiples of the stage's mean teachers per pupil (and at
#: the part's own value): between two tangents ``a < b`` the under-estimate is at most ``P (b − a)² / 4``
SQUARE_GRID: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)


def _square(ctx: ModelContext, unit: str, stage: str, k: str, xs: list[float]) -> Lin:
    """``q[u,s,k] ≥ r² / P``, the part's teachers of indicator k squared over its pupils, by tangents at ``xs``.

    ``r² / P ≥ 2 x r − x² P`` for every ``x`` (the difference is ``(r − x P)² / P``), so each tangent is valid
    whatever the plan. The part's teachers and pupils get a variable each (``teacher_r``, ``part_pupils``) so that
    a tangent is a row of three entries. A part whose teachers and pupils no lever changes is a constant.
    """
    r = part_resource(ctx, unit, stage, k)
    p = ctx.pupils[(unit, stage)]
    if r.is_constant() and p.is_constant():
        return Lin(r.const**2 / p.const if p.const > 0 else 0.0)
    key = (unit, stage, k)
    q = ctx.vars["teacher_sq"].get(key)
    if q is None:
        q = ctx.var("teacher_sq", key)
        rv = ctx.var("teacher_r", key, low=None)
        eq = Lin()
        eq.add_lin(r)
        eq.add(rv, -1.0)
        ctx.constrain(eq, "==", 0, f"teacher_r_{unit}_{stage}_{k}")
        pv = ctx.vars["part_pupils"].get((unit, stage))
        if pv is None:
            pv = ctx.var("part_pupils", (unit, stage), low=None)
            eq = Lin()
            eq.add_lin(p)
            eq.add(pv, -1.0)
            ctx.constrain(eq, "==", 0, f"part_pupils_{unit}_{stage}")
    rv, pv = ctx.vars["teacher_r"][key], ctx.vars["part_pupils"][(unit, stage)]
    r0, p0 = r.value(), p.value()
    rv.setInitialValue(r0)
    pv.setInitialValue(p0)
    start = r0 * r0 / p0 if p0 > 0 else float(q.varValue or 0.0)
    for x in xs:
        name = safe("sq", unit, stage, k, f"{x:.10g}")
        if name in ctx.prob.constraints:
            continue
        lhs = Lin()
        lhs.add(rv, 2.0 * x)
        lhs.add(pv, -x * x)
        lhs.add(q, -1.0)
        ctx.constrain(lhs, "<=", 0, name)
        start = max(start, 2.0 * x * r0 - x * x * p0)
    q.setInitialValue(max(start, 0.0))
    out = Lin()
    out.add(q)
    return out


def settle_cv_terms(ctx: ModelContext, tol: float = 1e-9) -> None:
    """Make the CV cuts' auxiliary values agree with the plan on the variables (after an earlier plan is restored).

    Cuts added after a plan was found may not hold at that plan's auxiliary values: the teacher and pupil copies
    (``teacher_r``, ``part_pupils``) are set from their expressions, each ``q[u,s,k]`` to ``r² / P`` (above all its
    tangents; the largest tangent where ``P`` is 0), each cut's slack raised just enough, and each ``cv_crossed``
    binary set by its slack. None of these changes a decision, and the cuts' slacks only rise where a cut would
    otherwise be broken.
    """
    for (unit, stage, k), rv in ctx.vars.get("teacher_r", {}).items():
        rv.varValue = part_resource(ctx, unit, stage, k).value()
    for (unit, stage), pv in ctx.vars.get("part_pupils", {}).items():
        pv.varValue = ctx.pupils[(unit, stage)].value()
    squares = ctx.vars.get("teacher_sq", {})
    if squares:
        need = {q.name: 0.0 for q in squares.values()}
        for name, con in ctx.prob.constraints.items():
            if not name.startswith("sq_"):
                continue
            for v in con:
                if v.name in need:  # the tangent's epigraph variable: its least value on this row
                    need[v.name] = max(need[v.name], con.value() + float(v.varValue or 0.0))
        for (unit, stage, k), q in squares.items():
            r, p = ctx.vars["teacher_r"][(unit, stage, k)].varValue, ctx.vars["part_pupils"][(unit, stage)].varValue
            q.varValue = max(need[q.name], r * r / p if p and p > 0 else 0.0)
    slacks = [*ctx.vars.get("cv_excess", {}).values(), *ctx.vars.get("cv_worse", {}).values()]
    for v in slacks:
        if v.varValue is None:  # the slack of a cut added since the plan was found
            v.varValue = 0.0
    for name, con in ctx.prob.constraints.items():
        if not name.startswith("cv_"):
            continue
        # a variable without a value (a lever's, never handed a start) is read as 0: the do-nothing value the
        # MIP start gives it (start.mip_start)
        broken = sum(a * float(v.varValue or 0.0) for v, a in con.items()) + con.constant
        if broken <= tol:
            continue
        for v in slacks:
            coef = con.get(v, None)
            if coef is not None and coef < 0:
                v.varValue = float(v.varValue or 0.0) + broken / -coef
                break
    for key, z in ctx.vars.get("cv_crossed", {}).items():
        z.varValue = 1.0 if float(ctx.vars["cv_worse"][key].varValue or 0.0) > _crossed_at(ctx, *key) else 0.0


def _add_teacher_cv_cut(
    ctx: ModelContext,
    stage: str,
    k: str,
    parts: list[tuple[str, str]],
    resources: np.ndarray,
    pupils: np.ndarray,
    tag: str,
    c: float,
    ceiling: float | None,
) -> bool:
    """The cut of ``CV ≤ c`` for a teacher indicator, in the parts' teachers ``r`` and pupils ``P`` together.

    With ``x_i = r_i / P_i`` and the stage's pupils ``P`` (fixed: catchments move pupils between parts), the
    enrolment-weighted CV is within ``c`` exactly when ``Σ r_i² / P_i ≤ (1 + c²) R² / P`` (``R = Σ r_i``).
    Each ``r_i² / P_i`` is jointly convex; its epigraph variable ``q_i`` (:func:`_square`) lies above its
    tangents, all valid whatever the plan: at the part's own value, at a grid around the stage's mean, and at
    every plan's value the CV rounds meet. The cut

        ``Σ q_i − (1 + c²)(2 R⁰ R − R⁰²) / P ≤ 2 c R⁰² / P · slack``

    is exact at its point and never lets a plan through whose CV breaks ``c`` at the stage total ``R⁰``: a part
    losing pupils while it keeps its teachers raises its ``q_i``, which a cut at fixed pupils cannot see
    (re-zoning pushed the junior backbone CV past its threshold on two counties that way), and the per-part
    tangents see it from the first solve (one aggregate tangent a round converged too slowly). ``R²`` is
    replaced by its tangent at ``R⁰`` (recruits change a stage's total by a few percent), which errs only on
    the strict side, by ``(1 + c²)(R − R⁰)² / P``. A part with no pupils at the point (a new school) is first
    taken at the stage's mean ``x⁰ = R⁰ / P⁰``. The slack reads in CV units near ``c``. Same slacks and
    weights as :func:`add_cv_cut`, which gives ``c`` (the threshold less the margin, or ``ceiling``).
    """
    keep = pupils > 0
    P = float(pupils[keep].sum())
    R = float(resources[keep].sum())
    mean = R / P
    x = np.full(len(parts), mean, dtype=float)
    x[keep] = resources[keep] / pupils[keep]
    if float((pupils[keep] * (x[keep] - mean) ** 2).sum()) <= 1e-12 * max(R * mean, 1.0):
        return False  # no spread at the point
    slack = _cv_slack(ctx, stage, k, ceiling)
    lhs = Lin((1.0 + c * c) * R * R / P)
    rhs_r = 2.0 * (1.0 + c * c) * R / P
    for i, (unit, s) in enumerate(parts):
        lhs.add_lin(part_resource(ctx, unit, s, k), -rhs_r)
        lhs.add_lin(_square(ctx, unit, s, k, [float(x[i]), *(m * mean for m in SQUARE_GRID)]))
    scale = 2.0 * c * R * R / P
    need = max(lhs.value(), 0.0) / scale
    _start_slack(ctx, stage, k, slack, need)
    lhs.add(slack, -scale)
    ctx.constrain(lhs, "<=", 0, f"cv_{stage}_{k}_{tag}")
    return True
