"""Feeder links (小学对口初中): each primary school's catchment goes on to one junior school.

The feeder of a primary school P is where the pupils of its catchment go on: a settlement
assigned to P for primary goes to junior school J for junior, so P feeds J. The plan always
reports the feeder table (:func:`planner.plan.readback.feeder_table`, ``plan/feeder.csv``). With
``scenario.catchment_rules.feeder`` on, the model enforces one junior school per primary
school (:func:`add_feeder`), except for the primary schools in
``catchment_rules.feeder_splits_allowed`` (a documented split, reported as such).

Formulation: a binary ``feed[P,J]`` per primary/junior pair that some settlement could
join; for every settlement s with both stages, ``x[s,primary,P] + x[s,junior,J] - 1 ≤
feed[P,J]``, and ``Σ_J feed[P,J] ≤ 1``. Today's catchments stay a valid plan: a primary
school that feeds n > 1 junior schools today may keep them, with ``Σ_J feed[P,J] ≤ 1 +
extra[P]``, ``0 ≤ extra[P] ≤ n - 1`` penalised at ``weights.policy`` per extra junior
school (group ``guarantee``); extras kept are reported.
"""

from __future__ import annotations

import logging

import pulp

from planner.model.context import Lin, ModelContext

log = logging.getLogger(__name__)


def _start(lin: Lin) -> float:
    return lin.const + sum(c * (v.varValue or 0.0) for v, c in lin.terms.items())


def add_feeder(ctx: ModelContext) -> None:
    """Enforce one junior school per primary school's catchment when the scenario asks (no-op otherwise)."""
    rules = ctx.scenario.catchment_rules
    if not rules.feeder:
        return
    assign = ctx.exprs["assign"]
    prim: dict[str, list[tuple[str, Lin]]] = {}
    jun: dict[str, list[tuple[str, Lin]]] = {}
    for (s, k, u), lin in assign.items():
        (prim if k == "primary" else jun).setdefault(s, []).append((u, lin))
    allowed = set(rules.feeder_splits_allowed)
    feeds: dict[str, dict[str, Lin]] = {}
    n_links = 0
    for s in sorted(set(prim) & set(jun)):
        for p, xp in sorted(prim[s], key=lambda t: t[0]):
            if p in allowed:
                continue
            for j, xj in sorted(jun[s], key=lambda t: t[0]):
                f = feeds.setdefault(p, {}).get(j)
                if f is None:
                    v = ctx.var("feed", (p, j), up=1, cat=pulp.LpBinary)
                    f = Lin()
                    f.add(v)
                    feeds[p][j] = f
                lhs = Lin()
                lhs.add_lin(xp)
                lhs.add_lin(xj)
                lhs.add_lin(f, -1.0)
                if lhs.is_constant() and lhs.const <= 1:
                    continue
                ctx.constrain(lhs, "<=", 1, f"feed_{s}_{p}_{j}")
                n_links += 1
    # start values: today's links
    today: set[tuple[str, str]] = set()
    for s in set(prim) & set(jun):
        ps = [pp for pp, xp in prim[s] if _start(xp) > 0.5]
        js = [jj for jj, xj in jun[s] if _start(xj) > 0.5]
        today.update((pp, jj) for pp in ps for jj in js)
    for p, by_j in feeds.items():
        for j, f in by_j.items():
            next(iter(f.terms)).setInitialValue(1.0 if (p, j) in today else 0.0)
    extras = Lin()
    for p in sorted(feeds):
        total = Lin()
        for j in sorted(feeds[p]):
            total.add_lin(feeds[p][j])
        n_today = round(_start(total))
        if n_today > 1:
            e = ctx.var("feed_extra", p, up=n_today - 1, cat=pulp.LpInteger)
            e.setInitialValue(float(n_today - 1))
            total.add(e, -1.0)
            extras.add(e)
        ctx.constrain(total, "<=", 1, f"feed_one_{p}")
    ctx.objective["limits"].add_lin(extras, ctx.scenario.weights.policy)
    ctx.exprs["totals"]["feeder_extra_links"] = extras
    log.info("feeder rule: %d primary schools, %d link constraints", len(feeds), n_links)


__all__ = ["add_feeder"]
