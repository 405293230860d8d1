"""Contiguous catchments (连片划分): each school's catchment per stage is one connected area.

Switched on by ``scenario.catchment_rules.contiguity``. The rule is written on the
settlement adjacency graph of :mod:`planner.adjacency` (cells touching or a shared road
link), contracted per stage over settlements without pupils of that stage
(:func:`planner.adjacency.stage_graph`).

Formulation (shortest-path ordering, after Zoltners & Sinha 1983 and Caro et al. 2004):
for a unit u (school or opened candidate site) of stage k, with root r(u) — the settlement u
stands in — and d(s, u) the travel time on the arc s → u,

    x[s,k,u] ≤ Σ_{t ∈ N(s), (t,k,u) an arc, d(t,u) < d(s,u)} x[t,k,u]        for s ≠ r(u).

Validity: take any s assigned to u; the rule gives it a neighbour assigned to u that is
strictly closer; repeating, distances strictly fall, so the chain ends — and it can only
end at the root, the one settlement the rule does not bind. So every settlement of the
catchment is joined to r(u) by a path inside the catchment: the catchment is connected and
contains r(u) (or is empty). When r(u) has no pupils of the stage, its neighbours in the
stage graph (which are all adjacent to one another there) are roots. The rule only uses
arcs that exist (a settlement's allowed schools, :attr:`ModelInputs.arcs`): an arc with no
strictly closer neighbour that may also go to u is forbidden (the count is logged and
noted). The rule is sufficient, not necessary: a connected catchment whose only link to
the root runs through a farther settlement is cut off too — the price of a compact model
(one constraint per arc, no new variables; the flow formulation needs a flow variable per
directed link and unit).

Today's catchments stay a valid plan: an arc of today's assignment that breaks the rule
today (an enclave or a chain that does not fall towards the school) gets a binary slack e
penalised at 100 × ``weights.school_rule`` per settlement (objective group ``guarantee``; as the
rotation policy), so the
solver removes it whenever the rest of the plan allows, and any it keeps is reported
(``ctx.exprs["totals"]["contiguity_exceptions"]``; the plan notes and lists them). An
exception does not pass connection on: in its neighbours' rules it counts as x − e, so a
settlement assigned without slack is always joined to the root through settlements
assigned without slack — a catchment is its root's connected area plus listed exceptions
(settlements processed closest first, so a neighbour's slack exists when it is used). Boarding schools
and the schools in ``catchment_rules.contiguity_exempt`` are exempt.
"""

from __future__ import annotations

import logging

import networkx as nx
import pulp

from planner.adjacency import stage_graph
from planner.model.context import Lin, ModelContext

log = logging.getLogger(__name__)


def _start_value(lin: Lin) -> float:
    """Value of an assignment expression at the start plan (today's catchments)."""
    return lin.const + sum(c * (v.varValue or 0.0) for v, c in lin.terms.items())


def contiguity_roots(graph: nx.Graph, h: nx.Graph, own: str | None) -> set[str]:
    """Roots of a unit's catchment in stage graph ``h``: its own settlement, else that one's neighbours."""
    if own is None:
        return set()
    if own in h:
        return {own}
    if own not in graph:
        return set()
    # own settlement has no pupils of the stage: the pupil settlements next to it (through
    # other pupil-less settlements) are all roots
    keep = set(h.nodes)
    seen, stack, roots = {own}, [own], set()
    while stack:
        z = stack.pop()
        for m in graph.neighbors(z):
            if m in keep:
                roots.add(m)
            elif m not in seen:
                seen.add(m)
                stack.append(m)
    return roots


def add_contiguity(ctx: ModelContext) -> None:
    """Add the contiguity rule to the model when the scenario asks for it (no-op otherwise)."""
    rules = getattr(ctx.scenario, "catchment_rules", None)
    if rules is None or not rules.contiguity or not ctx.scenario.levers.catchments:
        return
    cg = getattr(ctx.inp, "catchment_graph", None)
    if cg is None:
        raise ValueError(
            "catchment_rules.contiguity needs the settlement adjacency graph: call "
            "planner.adjacency.attach_catchment_graph(inputs, county) before building the model"
        )
    inp = ctx.inp
    graph = cg.graph()
    assign = ctx.exprs["assign"]
    units = inp.units
    exempt = set(rules.contiguity_exempt) | {str(u) for u in units.index[units["boarding"].astype(bool)]}
    penalty = 100 * ctx.scenario.weights.school_rule
    exceptions = Lin()
    times = {
        (s, k, u): float(t)
        for s, k, u, t in inp.arcs[["settlement_id", "stage", "unit_id", "time_min"]].itertuples(index=False)
    }
    # arcs per (unit, stage)
    by_unit: dict[tuple[str, str], list[str]] = {}
    for s, k, u in assign:
        by_unit.setdefault((u, k), []).append(s)
    n_rules = n_forbidden = n_slack = 0
    for stage in sorted({k for _u, k in by_unit}):
        with_pupils = set(inp.demand.loc[(inp.demand["stage"] == stage) & (inp.demand["pupils"] > 0), "settlement_id"])
        h = stage_graph(graph, with_pupils)
        for (u, k), members in sorted(by_unit.items()):
            if k != stage or u in exempt:
                continue
            roots = contiguity_roots(graph, h, cg.own.get(u))
            cand = set(members)
            slack: dict[str, pulp.LpVariable] = {}
            # closer settlements first, so that a neighbour's exception status is known
            for s in sorted(members, key=lambda m: (times[(m, k, u)], m)):
                if s in roots:
                    continue
                x = assign[(s, k, u)]
                d = times[(s, k, u)]
                closer = sorted(t for t in (h.neighbors(s) if s in h else ()) if t in cand and times[(t, k, u)] < d)
                lhs = Lin()
                lhs.add_lin(x)
                for t in closer:
                    # a neighbour counts only when it is joined to the root itself (not an exception)
                    lhs.add_lin(assign[(t, k, u)], -1.0)
                    if t in slack:
                        lhs.add(slack[t], 1.0)
                if not closer:
                    n_forbidden += 1
                if _start_value(lhs) > 1e-9:
                    # today's assignment breaks the rule: allowed, at a price
                    e = ctx.var("contig_slack", (s, k, u), up=1, cat=pulp.LpBinary)
                    e.setInitialValue(1.0)
                    lhs.add(e, -1.0)
                    slack[s] = e
                    exceptions.add(e)
                    n_slack += 1
                if lhs.is_constant():
                    continue
                ctx.constrain(lhs, "<=", 0, f"contig_{s}_{k}_{u}")
                n_rules += 1
    ctx.objective["guarantee"].add_lin(exceptions, penalty)
    ctx.exprs["totals"]["contiguity_exceptions"] = exceptions
    ctx.exprs["totals"]["contiguity_forbidden_arcs"] = Lin(float(n_forbidden))
    log.info(
        "contiguity: %d rules, %d arcs without a closer neighbour (forbidden unless today's), "
        "%d of today's arcs break the rule today (penalised slack)",
        n_rules, n_forbidden, n_slack,
    )  # fmt: skip


def catchment_components(assignments: object, graph: nx.Graph) -> object:
    """Connected components of every catchment, from a plan's assignments table.

    Parameters
    ----------
    assignments : DataFrame
        ``settlement_id``, ``stage``, ``school_id`` (a plan's ``assignments``).
    graph : networkx.Graph
        The settlement adjacency graph (:func:`planner.adjacency.adjacency_graph`).

    Returns
    -------
    DataFrame
        ``school_id``, ``stage``, ``settlements``, ``components`` (1 = contiguous), computed on
        the stage graph (settlements without pupils of the stage contracted away).
    """
    import pandas as pd

    rows = []
    for stage, a in assignments.groupby("stage", sort=True):
        h = stage_graph(graph, set(a["settlement_id"]))
        for school, part in a.groupby("school_id", sort=True):
            sub = h.subgraph(part["settlement_id"].astype(str))
            rows.append({"school_id": school, "stage": stage, "settlements": len(part),
                         "components": nx.number_connected_components(sub)})  # fmt: skip
    return pd.DataFrame(rows, columns=["school_id", "stage", "settlements", "components"])


__all__ = ["add_contiguity", "catchment_components", "contiguity_roots"]
