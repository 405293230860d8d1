"""Feeder links (小学对口初中): each primary school's catchment goes on to one junior school.

The feeder of a primary school P is where the pupils of its catchment go on: a settlement
assigned to P for primary goes to junior school J for junior, so P feeds J. The plan always
reports the feeder table (:func:`feeder_table`, ``plan/feeder.csv``). With
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

import pandas as pd
import pulp

from planner.model.context import Lin, ModelContext

log = logging.getLogger(__name__)


def _start(lin: Lin) -> float:
    return lin.const + sum(c * (v.varValue or 0.0) for v, c in lin.terms.items())


def add_feeder(ctx: ModelContext) -> None:
    """Enforce one junior school per primary school's catchment when the scenario asks (no-op otherwise)."""
    rules = getattr(ctx.scenario, "catchment_rules", None)
    if rules is None or not rules.feeder:
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


def plan_feeder_table(plan: object, county: object, scenario: object | None = None) -> pd.DataFrame:
    """:func:`feeder_table` of a plan (school names from the county after the plan)."""
    after = getattr(plan, "after_county", None) or county
    names = after.schools["name_zh"]
    rules = getattr(scenario, "catchment_rules", None)
    return feeder_table(plan.assignments, names, rules.feeder_splits_allowed if rules is not None else ())


__all__ = ["add_feeder", "feeder_table", "plan_feeder_table"]


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
