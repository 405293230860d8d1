"""Contiguous catchments (连片划分): each school's catchment per stage is one connected area.

Switched on by ``scenario.catchment_rules.contiguity``. The rule is written on the
settlement adjacency graph of :mod:`planner.adjacency` (cells touching or a shared road
link), contracted per stage over settlements without pupils of that stage
(:func:`planner.adjacency.stage_graph`).

Formulation (shortest-path ordering, after Zoltners & Sinha 1983 and Caro et al. 2004). For a
unit u (school or opened candidate site) of stage k, let G_u be the stage graph restricted to
the settlements that may go to u (an arc of :attr:`ModelInputs.arcs`), and r(u) its roots (the
settlement u stands in; when that one has no pupils of the stage, its neighbours in the stage
graph; when none of them may go to u — a candidate site whose nearest settlement in a straight
line is far by road — the settlement of G_u nearest to u in time). :func:`unit_order` ranks the
settlements of G_u joined to a root: a Dijkstra search from the roots whose label of a
settlement s reached from p is max(d(s, u), label(p)) (d = travel time of the arc s → u), so the
rank follows the travel time wherever times rise away from the school, and a pocket (a
settlement nearer in time than every neighbour on its way to the school) is ranked just after
the neighbour it is reached from. The rule:

    x[s,k,u] ≤ Σ_{t ∈ N(s) ∩ G_u, rank_u(t) < rank_u(s)} x[t,k,u]        for s not a root.

Validity: take any s assigned to u; the rule gives it a neighbour assigned to u of lower rank;
repeating, ranks strictly fall, so the chain ends — and it can only end at a root, the one
settlement the rule does not bind. So every catchment is connected and contains r(u) (or is
empty). Every settlement joined to a root inside G_u has a lower-ranked neighbour (the one it
was reached from), so no such arc is ruled out; only arcs of settlements that cannot be joined
to the school through settlements that may go there are (x ≤ 0: no connected catchment can
hold them). The rule is sufficient, not necessary: a connected catchment whose only link to
the root runs through a higher-ranked settlement is cut off too — the price of a compact model
(one constraint per arc, no new variables; a flow formulation needs a flow variable per
directed link and unit). With plain travel-time ordering (the earlier version) a pocket had no
strictly closer neighbour and its arc was ruled out; equal times ruled out both settlements.

The start plan is contiguous: :func:`contiguous_assignment` repairs today's catchments (the
registered start) before the model is solved, and :func:`planner.model.start.lp_guided_start`
repairs the LP-rounded catchments the same way before it fixes them. The repair moves each
settlement that breaks the rule to another allowed school where it is joined (nearest first),
and where none is, pulls the chain of settlements that joins it to its school along the rank
order (never moving a school's own settlement, a ``keep_settlements`` entry or a settlement
without another school). A settlement the repair cannot place keeps today's school at a price:
an arc of the start that still breaks the rule gets a binary slack e penalised at 100 ×
``weights.policy`` per settlement (objective group ``limits``), reported as an exception
(``ctx.exprs["totals"]["contiguity_exceptions"]``; the plan notes and lists them). An exception
does not pass connection on: in its neighbours' rules it counts as x − e, so a catchment is its
root's connected area plus listed exceptions. An *unavoidable* settlement — its only allowed
school is today's and it is not joined to it inside G_u, so no plan can change it — gets no rule
and no penalty: its slack is fixed at 1, so the plan lists it with the exceptions (``only_school``),
and ``totals["contiguity_unavoidable"]`` counts it. Only the schools in
``catchment_rules.contiguity_exempt`` are exempt; boarding schools keep the rule too (until 2026-12-02
they were exempt, and on the bundled county 8 junior boarding catchments of the contiguous redraw fell
into 2-6 pieces).

Measured on the bundled county (docs/catchments.md): today's catchments break the rank rule at 7
settlements (the travel-time rule: 12), all re-zoned by the start repair, plus 3 unavoidable
villages of P007; a 20 s combined plan keeps no penalised exception.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import networkx as nx
import pulp

from planner.adjacency import stage_graph
from planner.model.context import Lin, ModelContext

log = logging.getLogger(__name__)

#: key of a catchment decision: (settlement_id, stage)
Key = tuple[str, str]


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


def unit_order(h: nx.Graph, times: dict[str, float], roots: set[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Rank the settlements that may go to one unit, from its roots outwards (see module docstring).

    Parameters
    ----------
    h : networkx.Graph
        Stage graph.
    times : dict
        settlement_id -> travel time (minutes) to the unit, for the settlements that may go to it (G_u).
    roots : set of str
        The unit's roots.

    Returns
    -------
    rank : dict
        settlement_id -> rank (0, 1, ...) for the settlements joined to a root inside G_u.
    parent : dict
        settlement_id -> the lower-ranked neighbour it was reached from (roots have none).
    """
    label: dict[str, float] = {}
    heap: list[tuple[float, float, str, str]] = []
    for r in sorted(roots):
        if r in times:
            label[r] = times[r]
            heapq.heappush(heap, (times[r], times[r], r, ""))
    rank: dict[str, int] = {}
    parent: dict[str, str] = {}
    while heap:
        lab, _d, s, p = heapq.heappop(heap)
        if s in rank:
            continue
        rank[s] = len(rank)
        if p:
            parent[s] = p
        for t in h.neighbors(s) if s in h else ():
            if t in times and t not in rank:
                new = max(times[t], lab)
                if new < label.get(t, float("inf")):
                    label[t] = new
                    heapq.heappush(heap, (new, times[t], t, s))
    return rank, parent


@dataclass
class ContiguityRule:
    """The contiguity rule of one model, for checking and repairing catchment plans.

    Attributes
    ----------
    graphs : dict
        stage -> stage graph.
    arcs : dict
        (settlement_id, stage) -> allowed units, nearest first.
    times : dict
        (settlement_id, stage, unit_id) -> travel time (minutes).
    rank, parent, roots : dict
        (unit_id, stage) -> :func:`unit_order` ranks, parents and the unit's roots.
    exempt : set of str
        Units exempt from the rule (``contiguity_exempt``).
    keep : set of str
        Settlements that keep today's schools (``keep_settlements``): never moved by a repair.
    """

    graphs: dict[str, nx.Graph]
    arcs: dict[Key, list[str]]
    times: dict[tuple[str, str, str], float]
    rank: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    parent: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    roots: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    exempt: set[str] = field(default_factory=set)
    keep: set[str] = field(default_factory=set)

    def unavoidable(self, s: str, stage: str, unit: str) -> bool:
        """Whether ``unit`` is the settlement's only allowed school and it cannot be joined to it (no plan can)."""
        return (
            unit not in self.exempt
            and self.arcs.get((s, stage)) == [unit]
            and s not in self.rank.get((unit, stage), {})
            and s not in self.roots.get((unit, stage), set())
        )

    def joined(self, stage: str, unit: str, members: set[str]) -> set[str]:
        """Members of a unit's catchment joined to its root by the rule (all of them when the unit is exempt)."""
        if unit in self.exempt:
            return set(members)
        rank = self.rank.get((unit, stage), {})
        roots = self.roots.get((unit, stage), set())
        h = self.graphs[stage]
        ok: set[str] = set()
        for s in sorted((m for m in members if m in rank), key=rank.__getitem__):
            if s in roots or any(t in ok for t in h.neighbors(s)):
                ok.add(s)
        return ok

    def breaks(self, assign: dict[Key, str]) -> list[tuple[str, str, str]]:
        """(settlement, stage, unit) of every assignment that breaks the rule, sorted."""
        out = []
        for stage, members in _members(assign).items():
            for u, mem in members.items():
                out.extend((s, stage, u) for s in mem - self.joined(stage, u, mem) if not self.unavoidable(s, stage, u))
        return sorted(out)

    def can_join(self, stage: str, s: str, v: str, joined: set[str]) -> bool:
        """Whether ``s`` would be joined to unit ``v``'s catchment whose joined members are ``joined``."""
        if v in self.exempt:
            return True
        rank = self.rank.get((v, stage), {})
        if s not in rank:
            return False
        if s in self.roots.get((v, stage), set()):
            return True
        return any(t in joined and rank[t] < rank[s] for t in self.graphs[stage].neighbors(s))


def _members(assign: dict[Key, str]) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for (s, k), u in assign.items():
        out.setdefault(k, {}).setdefault(u, set()).add(s)
    return out


def _chain(
    rule: ContiguityRule, stage: str, v: str, s: str, joined: set[str], movable: Callable[[str], bool]
) -> list[str] | None:
    """Settlements from ``s`` down unit ``v``'s rank order to its joined area or a root, all movable to ``v``.

    A depth-first search over neighbours of strictly lower rank (so each settlement of the chain has
    its successor as a lower-ranked neighbour: assigned to ``v`` they keep the rule); None when none.
    """
    rank = rule.rank[(v, stage)]
    roots = rule.roots[(v, stage)]
    h = rule.graphs[stage]
    if not movable(s):
        return None
    path, seen = [s], {s}

    def steps(t: str) -> list[str]:
        nxt = [m for m in h.neighbors(t) if m in rank and rank[m] < rank[t] and m not in seen]
        return sorted(nxt, key=lambda m: (m not in joined, rank[m]))

    if s in joined or s in roots:
        return path
    stack = [iter(steps(s))]
    while stack:
        m = next(stack[-1], None)
        if m is None:
            stack.pop()
            path.pop()
            continue
        seen.add(m)
        if m in joined:
            return path
        if not movable(m):
            continue
        path.append(m)
        if m in roots:
            return path
        stack.append(iter(steps(m)))
    return None


def contiguous_assignment(
    rule: ContiguityRule,
    assign: dict[Key, str],
    prefer: Callable[[str, str, str], float] | None = None,
) -> tuple[dict[Key, str], int]:
    """Repair a catchment plan so that it keeps the contiguity rule (see module docstring).

    Parameters
    ----------
    rule : ContiguityRule
        The model's rule.
    assign : dict
        (settlement_id, stage) -> unit_id, every settlement with pupils of the stage.
    prefer : callable, optional
        ``prefer(settlement, stage, unit)``: lower is better when choosing where a settlement goes
        (default: travel time).

    Returns
    -------
    assign : dict
        The repaired plan: only units already used by ``assign`` take settlements, no unit is
        emptied, and ``rule.keep`` settlements, a unit's own settlement (root) and settlements
        with one allowed school stay put.
    breaks : int
        Assignments still breaking the rule (the repair found no place for them).
    """
    prefer = prefer or (lambda s, k, u: rule.times[(s, k, u)])
    out = dict(assign)
    locked = {key for key, u in out.items() if key[0] in rule.keep or len(rule.arcs.get(key, ())) <= 1}
    locked |= {key for key, u in out.items() if key[0] in rule.roots.get((u, key[1]), ())}
    for stage, members in sorted(_members(out).items()):
        joined = {u: rule.joined(stage, u, mem) for u, mem in members.items()}
        pulled: set[str] = set()

        def move(s: str, v: str, members: dict[str, set[str]] = members, stage: str = stage) -> None:
            u = out[(s, stage)]
            members[u].discard(s)
            members[v].add(s)
            out[(s, stage)] = v

        def movable(c: str, v: str, members: dict[str, set[str]] = members, stage: str = stage) -> bool:
            u = out[(c, stage)]
            return u == v or ((c, stage) not in locked and len(members[u]) > 1)

        for _round in range(20):
            changed = False
            # 1. move every breaking settlement to a school where it is joined (best first)
            progress = True
            while progress:
                progress = False
                for u in sorted(members):
                    for s in sorted(members[u] - joined[u]):
                        if (s, stage) in locked or len(members[u]) <= 1:
                            continue
                        options = [v for v in rule.arcs[(s, stage)] if v != u and v in members and members[v]
                                   and rule.can_join(stage, s, v, joined[v])]  # fmt: skip
                        if not options:
                            continue
                        v = min(options, key=lambda v, s=s: (prefer(s, stage, v), v))
                        move(s, v)
                        joined[v] = rule.joined(stage, v, members[v])
                        progress = changed = True
            # 2. pull the chain of settlements joining a stuck one to a school
            for u in sorted(members):
                for s in sorted(members[u] - joined[u]):
                    if s in pulled or s not in members[u]:
                        continue
                    # a settlement that stays put pulls its chain to its own school; others try each school
                    targets = [u] if (s, stage) in locked else rule.arcs[(s, stage)]
                    for v in sorted(targets, key=lambda v, s=s: (prefer(s, stage, v), v)):
                        if (
                            v not in members
                            or not members[v]
                            or v in rule.exempt
                            or s not in rule.rank.get((v, stage), {})
                        ):
                            continue
                        chain = _chain(rule, stage, v, s, joined[v], lambda c, v=v: movable(c, v))
                        if chain is None:
                            continue
                        for c in chain:
                            if out[(c, stage)] != v:
                                move(c, v)
                            pulled.add(c)
                            locked.add((c, stage))
                        for w in members:
                            joined[w] = rule.joined(stage, w, members[w])
                        changed = True
                        break
            if not changed:
                break
    left = len(rule.breaks(out))
    return out, left


def build_rule(ctx: ModelContext) -> ContiguityRule:
    """The :class:`ContiguityRule` of a model's inputs and scenario (stage graphs, ranks, roots)."""
    inp = ctx.inp
    rules = ctx.scenario.catchment_rules
    cg = inp.catchment_graph
    graph = cg.graph()
    # boarding schools keep the rule too (their far settlements come only from where no day school is within
    # the cap, planner/plan/instance.py): only the schools the scenario names are exempt
    exempt = set(rules.contiguity_exempt)
    times: dict[tuple[str, str, str], float] = {}
    arcs: dict[Key, list[str]] = {}
    cols = ["settlement_id", "stage", "unit_id", "time_min"]
    a = inp.arcs.assign(if_closed=inp.arcs["if_closed"] if "if_closed" in inp.arcs else False)
    for s, k, u, t, if_closed in a[[*cols, "if_closed"]].itertuples(index=False):
        if (s, k, u) in ctx.exprs["assign"]:
            times[(s, k, u)] = float(t)
            if not if_closed:
                # an arc allowed only if today's school closes is in G_u but never a repair's target
                arcs.setdefault((s, k), []).append(u)
    for key, us in arcs.items():
        us.sort(key=lambda u, key=key: (times[(*key, u)], u))
    rule = ContiguityRule(graphs={}, arcs=arcs, times=times, exempt=exempt, keep=set(rules.keep_settlements))
    by_unit: dict[tuple[str, str], dict[str, float]] = {}
    for (s, k, u), t in times.items():
        by_unit.setdefault((u, k), {})[s] = t
    for stage in sorted({k for _u, k in by_unit}):
        with_pupils = set(inp.demand.loc[(inp.demand["stage"] == stage) & (inp.demand["pupils"] > 0), "settlement_id"])
        h = stage_graph(graph, with_pupils)
        rule.graphs[stage] = h
        for (u, k), tu in by_unit.items():
            if k != stage:
                continue
            roots = {r for r in contiguity_roots(graph, h, cg.own.get(u)) if r in tu}
            if not roots and tu:
                # the settlement the unit stands in may not go there (a candidate site whose nearest
                # settlement in a straight line is far by road): its catchment grows from the settlement
                # nearest to it in time
                roots = {min(tu, key=lambda m, tu=tu: (tu[m], m))}
            rule.roots[(u, k)] = roots
            rule.rank[(u, k)], rule.parent[(u, k)] = unit_order(h, tu, roots)
    return rule


def start_assignment(ctx: ModelContext) -> dict[Key, str]:
    """(settlement, stage) -> unit of the model's registered start (today's catchments)."""
    return {(s, k): u for (s, k, u), lin in ctx.exprs["assign"].items() if _start_value(lin) > 0.5}


def set_start(ctx: ModelContext, assign: dict[Key, str]) -> None:
    """Register ``assign`` as the start's catchments (initial values of the assignment binaries)."""
    for (s, k, u), x in ctx.vars["x"].items():
        x.setInitialValue(1.0 if assign.get((s, k)) == u else 0.0)


def _repair_start(ctx: ModelContext, rule: ContiguityRule) -> dict[str, int]:
    """Make the registered start contiguous where possible; returns counts for the log and notes."""
    today = start_assignment(ctx)
    before = len(rule.breaks(today))
    fixed, left = contiguous_assignment(rule, today)
    moved = {key: u for key, u in fixed.items() if today[key] != u}
    cap = ctx.scenario.max_rezoned_pupils
    if moved and cap is not None:
        pupils = ctx.inp.demand.set_index(["settlement_id", "stage"])["pupils"]
        current = ctx.inp.demand.set_index(["settlement_id", "stage"])["current_unit"]
        rezoned = sum(float(pupils[key]) for key, u in fixed.items() if u != current[key])
        if rezoned > cap:
            log.warning("contiguity: repairing today's catchments would re-zone %d pupils (cap %d); start not repaired",
                        rezoned, cap)  # fmt: skip
            return {"today_breaks": before, "start_moved": 0, "start_breaks": before}
    set_start(ctx, fixed)
    return {"today_breaks": before, "start_moved": len(moved), "start_breaks": left}


def add_contiguity(ctx: ModelContext) -> None:
    """Add the contiguity rule to the model when the scenario asks for it (no-op otherwise).

    Also repairs the registered start (today's catchments) so that it keeps the rule where it
    can, and stores the rule as ``ctx.contiguity_rule`` for the start heuristic.
    """
    rules = ctx.scenario.catchment_rules
    if not rules.contiguity or not ctx.scenario.levers.catchments:
        return
    if ctx.inp.catchment_graph is None:
        raise ValueError(
            "catchment_rules.contiguity needs the settlement adjacency graph: prepare the instance with "
            "planner.plan.instance.model_inputs (or planner.adjacency.attach_catchment_graph for one made by hand)"
        )
    rule = build_rule(ctx)
    ctx.contiguity_rule = rule
    counts = _repair_start(ctx, rule)
    assign = ctx.exprs["assign"]
    penalty = ctx.scenario.weights.policy
    exceptions = Lin()
    by_unit: dict[tuple[str, str], list[str]] = {}
    for s, k, u in assign:
        by_unit.setdefault((u, k), []).append(s)
    n_rules = n_forbidden = n_slack = n_unavoidable = 0
    for (u, k), members in sorted(by_unit.items()):
        if u in rule.exempt:
            continue
        h = rule.graphs[k]
        rank, roots = rule.rank[(u, k)], rule.roots[(u, k)]
        slack: dict[str, pulp.LpVariable] = {}
        # lower ranks first, so that a neighbour's exception status is known
        for s in sorted(members, key=lambda m: (rank.get(m, len(rank)), m)):
            if s in roots:
                continue
            x = assign[(s, k, u)]
            lhs = Lin()
            lhs.add_lin(x)
            if s in rank:
                for t in sorted(h.neighbors(s)):
                    if rank.get(t, len(rank)) < rank[s]:
                        # a neighbour counts only when it is joined to the root itself (not an exception)
                        lhs.add_lin(assign[(t, k, u)], -1.0)
                        if t in slack:
                            lhs.add(slack[t], 1.0)
            elif rule.unavoidable(s, k, u):
                # its only school, which no plan can join it to: listed, not penalised (a constant)
                e = ctx.var("contig_slack", (s, k, u), low=1, up=1, cat=pulp.LpBinary)
                e.setInitialValue(1.0)
                fixed_one = Lin()
                fixed_one.add(e)
                ctx.constrain(fixed_one, "==", 1, f"contig_unavoidable_{s}_{k}_{u}")
                n_unavoidable += 1
                continue
            else:
                n_forbidden += 1  # not joined to the school through settlements that may go there
            if _start_value(lhs) > 1e-9:
                # the start breaks the rule here (the repair found no place): allowed, at a price
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
    ctx.objective["limits"].add_lin(exceptions, penalty)
    ctx.exprs["totals"]["contiguity_exceptions"] = exceptions
    ctx.exprs["totals"]["contiguity_forbidden_arcs"] = Lin(float(n_forbidden))
    ctx.exprs["totals"]["contiguity_today_breaks"] = Lin(float(counts["today_breaks"]))
    ctx.exprs["totals"]["contiguity_start_moved"] = Lin(float(counts["start_moved"]))
    ctx.exprs["totals"]["contiguity_unavoidable"] = Lin(float(n_unavoidable))
    log.info(
        "contiguity: %d rules, %d arcs ruled out (settlement not joined to the school inside its arcs); "
        "today's catchments break the rule at %d settlements, the start repair re-zoned %d, %d left "
        "(penalised slack), %d unavoidable (only school, cannot be joined to it; listed)",
        n_rules, n_forbidden, counts["today_breaks"], counts["start_moved"], n_slack, n_unavoidable,
    )  # fmt: skip


def contiguous_fix(ctx: ModelContext, fix: dict[str, float], score: dict[str, float | None]) -> dict[str, float]:
    """Repair the catchments of a start heuristic's fixing so that they keep the contiguity rule.

    Parameters
    ----------
    ctx : ModelContext
        A model built with the rule on (``ctx.contiguity_rule``); without it ``fix`` is returned.
    fix : dict
        Variable name -> value for the assignment binaries (exactly one 1 per settlement and stage).
    score : dict
        Variable name -> LP value: a settlement that must move goes to the allowed school with the
        largest value (then the nearest).

    Returns
    -------
    dict
        ``fix`` with the assignment binaries of the repaired catchments; those of a settlement the
        repair could not place and of its neighbours are dropped (left free).
    """
    rule = ctx.contiguity_rule
    if rule is None:
        return fix
    xs = ctx.vars["x"]
    assign = {(s, k): u for (s, k), u in start_assignment(ctx).items()}
    for (s, k, u), v in xs.items():
        if fix.get(v.name) == 1.0:
            assign[(s, k)] = u
    # settlements with one allowed school are constants, not variables: they keep it
    for (s, k, u), lin in ctx.exprs["assign"].items():
        if lin.is_constant():
            assign[(s, k)] = u

    def prefer(s: str, k: str, u: str) -> float:
        v = xs.get((s, k, u))
        return -(score.get(v.name) or 0.0) * 1e6 + rule.times[(s, k, u)] if v is not None else rule.times[(s, k, u)]

    fixed, left = contiguous_assignment(rule, assign, prefer)
    # a settlement the repair could not place, and its neighbours, are left free for the restricted MIP
    free = set()
    for s, k, _u in rule.breaks(fixed):
        free.add((s, k))
        free.update((t, k) for t in rule.graphs[k].neighbors(s))
    out = dict(fix)
    for (s, k, u), v in xs.items():
        if (s, k) in free:
            out.pop(v.name, None)
        elif v.name in out:
            out[v.name] = 1.0 if fixed[(s, k)] == u else 0.0
    moved = sum(1 for key in assign if assign[key] != fixed[key])
    log.info("start heuristic: contiguity repair re-zoned %d settlements of the LP-rounded catchments, %d breaks left",
             moved, left)  # fmt: skip
    return out


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


__all__ = [
    "ContiguityRule",
    "add_contiguity",
    "build_rule",
    "catchment_components",
    "contiguity_roots",
    "contiguous_assignment",
    "contiguous_fix",
    "unit_order",
]
