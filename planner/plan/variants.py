"""Variants of a scenario: copies with one setting changed, and every re-solve of them.

Every "the same scenario, but with …" of the planner is made here:

- :func:`with_time_limit`, :func:`with_solver`, :func:`with_report`, :func:`with_budget` — the
  scenario with a solver setting, a report setting or the budget changed (``planner run
  --time-limit`` / ``--start-only`` / ``--no-maps``, batch time limits, threads and budget grids);
- :func:`solve_variants` — plan a list of scenario variants in order (``planner sweep``'s budgets):
  with ``chain`` each starts from the previous plan and keeps the better of it and its own solve
  (:func:`better_of`), so more money never looks worse;
- :func:`marginal_budget` — the plan and its ±δ budget re-solves for the budget justification
  (the marginal value of money): the plan first, then −δ guided by its catchments, then +δ starting
  from it, each keeping the better plan so the table is monotone, tabulated by :func:`marginal_table`;
- :func:`run_sweep` — ``planner sweep``: the plan over a range of capital budgets, and
  :func:`smallest_passing_budget` (the number a finance bureau asks for first), which
  :func:`cheapest_passing` answers directly (the cheapest passing plan, :mod:`planner.model.cheapest`);
  :func:`planner.report.sweep.write_sweep` writes it.

Unmet-standard total (the measure compared across budgets)
-----------------------------------------------------------
Taken from the after-**assessment** (:attr:`Plan.after`), never from the model:

``unmet_indicators``
    Number of school-indicators below standard: assessed school parts (school × stage) ×
    the 7 resource-allocation indicators with ``met`` false. The headline figure.
``shortfall_index``
    Σ over those school-indicators of ``shortfall / required`` = Σ (1 − value/standard):
    each unmet school-indicator counts between 0 (just short) and 1 (none of the
    resource). It separates plans with the same count, and a unit of it means "one
    school-indicator's whole requirement".
``schools_passing`` / ``schools_failing``
    Assessed school parts meeting / missing the school rule (6 of 7, the other ≥ 85%).
``cv_over``
    Stage × indicator CVs above their threshold.
``guarantee_unmet``
    Government-guarantee items not met (class size, music and art rooms, staffing, school
    size, catchment share, rotation shares).

The optimiser minimises a weighted objective in the inspectors' order (docs/model.md). In a budget
chain each solve holds the smaller budget's counts of parts failing and school-indicators unmet
(:func:`planner.model.balance.hold_counts`), and the chain keeps at each budget the better of its own
plan and the smaller budget's (:func:`plan_rank`: CVs pushed over their threshold, schools passing, schools
failing, CVs over, unmet indicators), so the table is monotone in those counts by construction; the table's ``notes``
(``table.attrs["notes"]``) say where a plan was kept from a smaller budget, and where any other count
rises with the money.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from planner.assess import Assessment
from planner.county import County
from planner.errors import ScenarioError
from planner.plan.pipeline import plan_county
from planner.plan.plan import Plan
from planner.scenario import Scenario
from planner.standards import INDICATORS_BY_KEY

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- scenario copies


def with_solver(scenario: Scenario, **settings: Any) -> Scenario:
    """The scenario with solver settings replaced (``time_limit_s``, ``threads``, ``full_mip``, ...)."""
    return scenario.model_copy(update={"solver": scenario.solver.model_copy(update=settings)})


def with_report(scenario: Scenario, **settings: Any) -> Scenario:
    """The scenario with report settings replaced (``maps``, ...)."""
    return scenario.model_copy(update={"report": scenario.report.model_copy(update=settings)})


def with_budget(scenario: Scenario, *, name: str | None = None, **settings: Any) -> Scenario:
    """The scenario with budget settings replaced (``scale``, ``capital_yuan``, ...), optionally renamed."""
    update: dict[str, Any] = {"budget": scenario.budget.model_copy(update=settings)}
    if name is not None:
        update["name"] = name
    return scenario.model_copy(update=update)


def with_time_limit(scenario: Scenario, time_limit_s: float | None) -> Scenario:
    """The scenario with its solver time limit replaced (``None`` keeps it).

    Raises
    ------
    ScenarioError
        If the time limit is not a positive number of seconds.
    """
    if time_limit_s is None:
        return scenario
    if time_limit_s <= 0:
        raise ScenarioError(f"--time-limit {time_limit_s:g}: must be a positive number of seconds")
    return with_solver(scenario, time_limit_s=float(time_limit_s))


# --------------------------------------------------------------------------- re-solves


def solve_variants(
    county: County,
    scenarios: Sequence[Scenario],
    travel: pd.DataFrame,
    school_times: pd.DataFrame,
    *,
    distance_method: str = "network",
    chain: bool = False,
    before: Assessment | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[Plan, float]]:
    """Plan each scenario variant, in the order given: (plan, wall seconds) for each.

    Each variant is planned end to end (:func:`planner.plan.pipeline.plan_county`); ``progress(i)``
    is called after the ``i``-th.

    With ``chain`` the variants must be in increasing order of both budgets (the budget chain of
    :func:`run_sweep`): each is solved starting from the plan of the one before — a plan of a smaller
    budget is a plan of a larger one; its catchments also guide the start heuristic (``guide``) — and
    the better of that plan and the solve is kept (:func:`better_of`). More money then never gives a
    worse plan, by construction, however time-limited the solves.
    """
    out: list[tuple[Plan, float]] = []
    for i, sc in enumerate(scenarios):
        t0 = time.perf_counter()
        start = out[-1][0] if chain and out else None
        if start is not None:
            _check_larger(start, sc, county)
        plan = plan_county(county, sc, travel, school_times, distance_method=distance_method, before=before,
                           start=start, guide=start)  # fmt: skip
        if start is not None:
            plan = better_of(plan, start)
        out.append((plan, time.perf_counter() - t0))
        if progress:
            progress(i)
    return out


#: how a plan kept from a smaller budget says so in its notes
KEPT_NOTE = "沿用较小预算的方案"
#: the time limit of each marginal re-solve, as a share of the scenario's, unless ``report.marginal_time_limit_s``
#: says otherwise: 40 s at the default 120 s. Each starts from the plan (its catchments, or the plan itself), so its
#: start heuristic and region sweeps do the work; on 确山 the −10% plan passed 158 parts in 40 s as in 120 s, and the
#: README's run fits in 3 minutes (docs/performance.md)
MARGINAL_TIME_SHARE = 1 / 3


def plan_rank(plan: Plan) -> tuple[int, int, int, int, int, float]:
    """How the inspectors rank a plan (lower is better).

    First the balances the plan pushes over their threshold (:func:`pushed_over`: the county newly fails
    them, whatever else it passes), then schools passing (more is better), schools failing (fewer: the two
    differ where plans build different schools), CVs over their threshold, school-indicators unmet, the
    shortfall index (:func:`unmet_summary`).
    """
    u = unmet_summary(plan.after)
    return (len(pushed_over(plan)), -u["schools_passing"], u["schools_failing"], u["cv_over"],
            u["unmet_indicators"], round(u["shortfall_index"], 9))  # fmt: skip


def pushed_over(plan: Plan) -> list[tuple[str, str]]:
    """The (stage, indicator) CVs within their threshold before the plan and over it after."""
    before = plan.before.balance.set_index(["stage", "indicator"])["met"].astype(bool)
    after = plan.after.balance.set_index(["stage", "indicator"])["met"].astype(bool)
    return [key for key, met in after.items() if not met and bool(before.get(key, False))]


def better_of(plan: Plan, smaller: Plan) -> Plan:
    """``plan``, or ``smaller`` (a plan of smaller budgets, so feasible for ``plan``'s) where it ranks better.

    The kept plan takes ``plan``'s name and budgets, and a note says why (the re-solve at the larger
    budget, time-limited, found nothing better than the plan it started from).
    """
    if plan_rank(plan) <= plan_rank(smaller):
        return plan
    budgets = {k: plan.costs[k] for k in ("capital_budget_yuan", "recurrent_budget_yuan_per_year")}
    note = (
        f"{KEPT_NOTE}：在本预算下的求解（{plan.solver.description}）未找到比较小预算"
        f"（资本性 {smaller.costs['capital_budget_yuan']:,.0f} 元）方案更好的方案，较小预算的方案在本预算下同样可行。"
        f" Kept the plan of the smaller budget ({smaller.costs['capital_budget_yuan']:,.0f} yuan capital): the "
        f"time-limited solve at this budget ({plan.solver.description}) found none better, and it is feasible here."
    )
    log.info("budget chain: kept the smaller budget's plan (rank %s against %s)", plan_rank(smaller), plan_rank(plan))
    return replace(smaller, scenario_name=plan.scenario_name, costs={**smaller.costs, **budgets},
                   notes=[*smaller.notes, note])  # fmt: skip


def _check_larger(start: Plan, scenario: Scenario, county: County) -> None:
    budget = county.parameters.budget
    cap = scenario.budget.capital_yuan if scenario.budget.capital_yuan is not None else budget.capital_yuan
    if cap * scenario.budget.scale < start.costs["capital_budget_yuan"] - 1e-6:
        raise ValueError("solve_variants(chain=True): the variants must come in increasing order of budget")


def parse_budget_range(text: str) -> list[float]:
    """``FROM:TO:STEPS`` in yuan (``万`` suffix for units of 10,000 yuan) → the budgets.

    Examples
    --------
    >>> parse_budget_range("0:300000000:4")
    [0.0, 100000000.0, 200000000.0, 300000000.0]
    >>> parse_budget_range("0万:3000万:4")[-1]
    30000000.0
    """
    parts = text.split(":")
    if len(parts) != 3:
        raise ScenarioError(f"--budget {text!r}: expected FROM:TO:STEPS, e.g. 0:300000000:7 or 0万:30000万:7")

    def amount(s: str) -> float:
        s = s.strip()
        scale = 1e4 if s.endswith("万") else 1.0
        try:
            return float(s.rstrip("万")) * scale
        except ValueError:
            raise ScenarioError(f"--budget {text!r}: {s!r} is not an amount of yuan") from None

    lo, hi = amount(parts[0]), amount(parts[1])
    try:
        steps = int(parts[2])
    except ValueError:
        raise ScenarioError(f"--budget {text!r}: STEPS must be a whole number") from None
    if steps < 2 or lo < 0 or hi <= lo:
        raise ScenarioError(f"--budget {text!r}: need 0 ≤ FROM < TO and STEPS ≥ 2")
    return [float(v) for v in np.linspace(lo, hi, steps)]


def _pupil_equivalents(indicators: pd.DataFrame) -> float:
    per = indicators["indicator"].map(lambda k: INDICATORS_BY_KEY[k].per_pupils)
    return float((indicators["shortfall"] / (indicators["standard"] / per)).sum())


def run_sweep(
    county: County,
    scenario: Scenario,
    budgets: Sequence[float],
    travel: pd.DataFrame,
    school_times: pd.DataFrame,
    *,
    distance_method: str = "network",
    progress: Callable[[int, float], None] | None = None,
) -> pd.DataFrame:
    """Plan the scenario at each capital budget; one row per budget.

    Columns: ``capital_budget_yuan``, ``capital_yuan`` (spent), ``status``,
    ``unmet_standards`` (school-indicators below standard after the plan),
    ``shortfall_pupil_equivalents``, ``schools_failing``, ``passes`` (resource allocation
    passes in both stages), and ``cv_<stage>_<indicator>``.
    """
    rows = []
    budgets = sorted(budgets)
    grid = scenario.model_copy(update={"objective": "balance"})  # a budget of the grid binds: the balance objective
    variants = [with_budget(grid, capital_yuan=float(b), scale=1.0) for b in budgets]
    plans = solve_variants(county, variants, travel, school_times, distance_method=distance_method, chain=True,
                           progress=(lambda i: progress(i, budgets[i])) if progress else None)  # fmt: skip
    for budget, (plan, _wall) in zip(budgets, plans, strict=True):
        ind = plan.after.indicators
        summary = plan.after.summary
        row = {
            "capital_budget_yuan": float(budget),
            "capital_yuan": plan.costs["capital_yuan"],
            "status": plan.solver.description,
            "unmet_standards": int((~ind["met"].astype(bool)).sum()),
            "shortfall_pupil_equivalents": _pupil_equivalents(ind),
            "schools_failing": int(summary["schools_failing"].sum()),
            "passes": bool(summary["passes"].all()),
        }
        for r in plan.after.balance.itertuples(index=False):
            row[f"cv_{r.stage}_{r.indicator}"] = float(r.cv)
        rows.append(row)
        log.info("budget %.0f yuan: %s", budget, row["status"])
    return pd.DataFrame(rows)


def smallest_passing_budget(table: pd.DataFrame) -> float | None:
    """The smallest budget of the sweep at which the county passes, or None."""
    ok = table[table["passes"]]
    return float(ok["capital_budget_yuan"].min()) if len(ok) else None


def cheapest_passing(
    county: County,
    scenario: Scenario,
    travel: pd.DataFrame,
    school_times: pd.DataFrame,
    *,
    distance_method: str = "network",
    before: Assessment | None = None,
) -> Plan:
    """The scenario's cheapest passing plan (``objective: min_cost_to_pass``, :mod:`planner.model.cheapest`)."""
    sc = scenario.model_copy(update={"objective": "min_cost_to_pass"})
    return plan_county(county, sc, travel, school_times, distance_method=distance_method, before=before)


def cheapest_summary(plan: Plan) -> dict[str, Any]:
    """One row for the cheapest passing plan: its cost, what no money can fix, and the assessment's verdict.

    ``smallest_passing_budget_yuan`` is the plan's capital when the county passes after it, else None (some
    part or CV no money can fix: ``capital_yuan`` is then what passing everything else costs).
    """
    table = plan.extra_tables["no_money_fix"]
    u = unmet_summary(plan.after)
    parts = table[table["source"] == "school"]
    return {
        "capital_yuan": float(plan.costs["capital_yuan"]),
        "recurrent_yuan_per_year": float(plan.costs["recurrent_yuan_per_year"]),
        "status": plan.solver.status,
        "gap": float(plan.solver.gap) if plan.solver.gap is not None else np.nan,
        "solver_description": plan.solver.description,
        "schools_passing": u["schools_passing"],
        "no_money_fix_parts": len(parts),
        "no_money_fix_cvs": int((table["source"] == "cv").sum()),
        "no_money_fix_binds": ";".join(sorted({c for b in parts["binds"] for c in str(b).split(";")})),
        "passes": u["passes"],
        "smallest_passing_budget_yuan": float(plan.costs["capital_yuan"]) if u["passes"] else None,
    }


#: Columns of the marginal table, in order.
MARGINAL_COLUMNS: tuple[str, ...] = (
    "label", "scale", "capital_budget_yuan", "recurrent_budget_yuan_per_year", "capital_yuan",
    "recurrent_yuan_per_year", "unmet_indicators", "shortfall_index", "schools_passing", "schools_failing",
    "cv_over", "guarantee_unmet", "passes", "status", "gap", "solver_description", "time_limit_s", "wall_s",
)  # fmt: skip


def unmet_summary(assessment: Any) -> dict[str, Any]:
    """The unmet-standard total of an assessment (definitions in the module docstring).

    Parameters
    ----------
    assessment : planner.assess.Assessment
        Usually ``plan.after``.

    Returns
    -------
    dict
        ``unmet_indicators``, ``shortfall_index``, ``schools_passing``,
        ``schools_failing``, ``cv_over``, ``guarantee_unmet``, ``passes`` (both stages
        pass resource allocation).
    """
    ind = assessment.indicators
    miss = ind[~ind["met"].astype(bool)]
    schools = assessment.schools
    assessed = schools[schools["assessed"].astype(bool)]
    passing = int(assessed["passes"].astype(bool).sum())
    return {
        "unmet_indicators": len(miss),
        "shortfall_index": float((1.0 - miss["ratio"].astype(float)).sum()),
        "schools_passing": passing,
        "schools_failing": len(assessed) - passing,
        "cv_over": int((~assessment.balance["met"].astype(bool)).sum()),
        "guarantee_unmet": int((~assessment.guarantee["met"].astype(bool)).sum()),
        "passes": bool(assessment.summary["passes"].astype(bool).all()),
    }


def _row(label: str, scale: float, plan: Plan, time_limit_s: float, wall_s: float) -> dict[str, Any]:
    gap = plan.solver.gap
    return {
        "label": label,
        "scale": scale,
        "capital_budget_yuan": float(plan.costs["capital_budget_yuan"]),
        "recurrent_budget_yuan_per_year": float(plan.costs["recurrent_budget_yuan_per_year"]),
        "capital_yuan": float(plan.costs["capital_yuan"]),
        "recurrent_yuan_per_year": float(plan.costs["recurrent_yuan_per_year"]),
        **unmet_summary(plan.after),
        "status": plan.solver.status,
        "gap": float(gap) if gap is not None else np.nan,
        "solver_description": plan.solver.description,
        "time_limit_s": float(time_limit_s),
        "wall_s": float(wall_s),
    }


def marginal_table(
    base_plan: Plan,
    variants: dict[str, tuple[float, Plan, float]],
    *,
    base_scale: float = 1.0,
    base_time_limit_s: float = math.nan,
    variant_time_limit_s: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The marginal table from the base plan and its re-solves (see :func:`marginal_budget`).

    ``variant_time_limit_s``: each re-solve's time limit by label (NaN where not given).
    """

    def limit_of(label: str) -> float:
        return float((variant_time_limit_s or {}).get(label, math.nan))

    rows = []
    items = sorted(variants.items(), key=lambda kv: kv[1][0])
    lower = [(k, v) for k, v in items if v[0] < base_scale]
    upper = [(k, v) for k, v in items if v[0] >= base_scale]
    for label, (scale, plan, wall) in lower:
        rows.append(_row(label, scale, plan, limit_of(label), wall))
    base_wall = float(base_plan.solver.solve_s) + float(base_plan.solver.build_s)
    rows.append(_row("0%", base_scale, base_plan, base_time_limit_s, base_wall))
    for label, (scale, plan, wall) in upper:
        rows.append(_row(label, scale, plan, limit_of(label), wall))
    table = pd.DataFrame(rows, columns=list(MARGINAL_COLUMNS))
    kept = [f"{label}: {n}" for label, (_s, p, _w) in variants.items() for n in p.notes if n.startswith(KEPT_NOTE)]
    kept += [f"0%: {n}" for n in base_plan.notes if n.startswith(KEPT_NOTE)]
    table.attrs["notes"] = kept + marginal_notes(table)
    return table


def marginal_notes(table: pd.DataFrame) -> list[str]:
    """Plain-language notes on a marginal table: non-monotone results and their cause."""
    notes: list[str] = []
    t = table.sort_values("scale").reset_index(drop=True)
    not_proven = t[t["status"] != "optimal"]
    for a, b in zip(t.index[:-1], t.index[1:], strict=True):
        lo, hi = t.loc[a], t.loc[b]
        worse = (hi["unmet_indicators"], hi["shortfall_index"]) > (lo["unmet_indicators"], lo["shortfall_index"])
        if worse:
            why = (
                f"{hi['schools_passing']} schools pass against {lo['schools_passing']}: the plan passes schools "
                "first (the inspectors' order), at the price of more indicators unmet at schools that fail anyway"
                if hi["schools_passing"] > lo["schools_passing"]
                else f"fewer CVs over their threshold ({hi['cv_over']} against {lo['cv_over']})"
                if hi["cv_over"] < lo["cv_over"]
                else f"solves not proven optimal: {', '.join(not_proven['label'])} (time limit / gap)"
                if len(not_proven)
                else "all solves optimal within their gap; each solve's gap allows a plan this much worse"
            )
            notes.append(
                f"非单调 non-monotone: budget {hi['label']} leaves {hi['unmet_indicators']} unmet school-indicators "
                f"(index {hi['shortfall_index']:.3f}) vs {lo['unmet_indicators']} ({lo['shortfall_index']:.3f}) "
                f"at {lo['label']} — {why}."
            )
    slack_cap = float(t["capital_yuan"].max()) < float(t["capital_budget_yuan"].min()) - 0.5
    slack_rec = float(t["recurrent_yuan_per_year"].max()) < float(t["recurrent_budget_yuan_per_year"].min()) - 0.5
    if slack_cap and slack_rec:
        notes.append(
            "预算未构成约束 budget not binding: every plan spends less than the smallest budget tested "
            f"(capital ≤ {t['capital_yuan'].max():,.0f} of ≥ {t['capital_budget_yuan'].min():,.0f} yuan; recurrent ≤ "
            f"{t['recurrent_yuan_per_year'].max():,.0f} of ≥ {t['recurrent_budget_yuan_per_year'].min():,.0f} "
            "yuan/yr), so ±budget changes nothing the plan can use; differences come from the solver, not the money."
        )
    if len(not_proven) and not any(n.startswith("非单调") for n in notes):
        notes.append(
            f"Solves not proven optimal ({', '.join(not_proven['label'])}): the differences are those of the "
            "plans found, within the gaps shown."
        )
    return notes


@dataclass(frozen=True)
class BudgetChain:
    """The plan and its ±δ budget re-solves (:func:`marginal_budget`).

    Attributes
    ----------
    plan : Plan
        The plan at the scenario's budget (the 0% row).
    variants : dict
        ``{label: (scale, plan, wall seconds)}`` of the two re-solves (``-10%``, ``+10%``).
    table : DataFrame
        :func:`marginal_table` of the three (columns :data:`MARGINAL_COLUMNS`, notes in ``attrs``).
    """

    plan: Plan
    variants: dict[str, tuple[float, Plan, float]]
    table: pd.DataFrame


def marginal_budget(
    county: County,
    scenario: Scenario,
    travel: pd.DataFrame,
    school_times: pd.DataFrame,
    *,
    delta: float = 0.10,
    distance_method: str = "network",
    time_limit_s: float | None = None,
    before: Assessment | None = None,
    progress: Callable[[int], None] | None = None,
) -> BudgetChain:
    """The plan at the scenario's budget and how the unmet-standard total moves with ±``delta`` budget.

    The plan is solved first, on its own, with the scenario's time limit: it is the plan the bureau
    adopts, and a chain's rows (hold the smaller budget's counts) made its solve slower and its plan
    worse (docs/performance.md). Then ``1 + delta``, starting from the plan (its catchments guiding the
    start heuristic) and holding its counts, as in a chain (:func:`solve_variants`). Then ``1 − delta``,
    its start heuristic keeping the plan's catchments (``guide``), with its own time limit plus what the
    ``1 + delta`` solve left unused of its. Where the ``1 − delta`` plan ranks better (:func:`plan_rank`), it
    is a plan of the scenario's budget too and replaces the plan (:func:`better_of`), and the ``1 + delta``
    plan gives way to it in turn. So the table is monotone by construction: more money never passes fewer
    schools (nor, at equal schools, leaves more CVs over or more school-indicators unmet).

    Parameters
    ----------
    county, scenario, travel, school_times
        As for :func:`planner.plan.pipeline.plan_county`.
    delta : float
        Relative change of both budgets (capital and recurrent), in (0, 1).
    distance_method : str
        ``network`` or ``straight_line``.
    time_limit_s : float, optional
        Solver time limit of each re-solve; default: :data:`MARGINAL_TIME_SHARE` of the scenario's. The
        ``1 − delta`` solve also gets what the ``1 + delta`` one left unused (twice the limit, less its wall
        time). The plan at the scenario's budget keeps the scenario's limit.
    before : Assessment, optional
        The county assessed before the plan.
    progress : callable, optional
        Called with 0 after the plan's solve, 1 after the ``1 + delta`` one and 2 after ``1 − delta``.

    Returns
    -------
    BudgetChain
        The plan (the 0% row), the two re-solves, and the table: one row per budget, lowest first
        (columns :data:`MARGINAL_COLUMNS`): label (``-10%``, ``0%``, ``+10%``), scale, both budgets,
        both amounts spent, the unmet-standard total (module docstring), solver status, gap and
        description, the time limit and wall seconds of each solve. ``table.attrs["notes"]`` holds
        notes (plans kept from a smaller budget, non-monotone counts where more schools pass).

    Raises
    ------
    ScenarioError
        If ``delta`` is not in (0, 1) or ``time_limit_s`` is not positive.
    """
    if not 0 < delta < 1:
        raise ScenarioError(f"marginal budget: delta must be between 0 and 1 (e.g. 0.10 for ±10%), got {delta!r}")
    if time_limit_s is not None and not time_limit_s > 0:
        raise ScenarioError(f"marginal budget: time limit must be > 0 seconds, got {time_limit_s!r}")
    if time_limit_s is None:
        time_limit_s = MARGINAL_TIME_SHARE * float(scenario.solver.time_limit_s)
    resolve = with_time_limit(scenario, time_limit_s)
    scale = scenario.budget.scale
    labels = (f"{-delta:+.0%}", f"{delta:+.0%}")

    def solve(sc: Scenario, i: int, **kw: Plan) -> tuple[Plan, float]:
        t0 = time.perf_counter()
        plan = plan_county(county, sc, travel, school_times, distance_method=distance_method, before=before, **kw)
        if progress:
            progress(i)
        return plan, time.perf_counter() - t0

    # the plan first, on its own (the solve the bureau adopts gets the scenario's limit and no chain's rows)
    base, _ = solve(scenario, 0)
    # more money: starts from the plan, its catchments guiding the start heuristic, and holds its counts
    # (solve_variants' chain rule)
    high, w_high = solve(with_budget(resolve, scale=scale * (1 + delta)), 1, start=base, guide=base)
    # less money: the plan's catchments guide the start, with the time +δ left unused (a plan proven early passes
    # its time on: 西平's +10% is proven in 17 s, and its −10% passed 87–92 parts in 40 s, 94 in 120 s)
    low_limit = max(float(time_limit_s), 2 * float(time_limit_s) - w_high)
    low, w_low = solve(with_budget(with_time_limit(scenario, low_limit), scale=scale * (1 - delta)), 2, guide=base)
    # a better-ranked plan of less money is a plan of the larger budgets too
    base = better_of(base, low)
    high = better_of(high, base)
    variants = {labels[0]: (scale * (1 - delta), low, w_low), labels[1]: (scale * (1 + delta), high, w_high)}
    for label, (sc, plan, wall) in variants.items():
        log.info("budget %s (scale %.3f): %s in %.1f s", label, sc, plan.solver.description, wall)
    table = marginal_table(
        base, variants, base_scale=scale, base_time_limit_s=float(scenario.solver.time_limit_s),
        variant_time_limit_s={labels[0]: low_limit, labels[1]: float(time_limit_s)},
    )  # fmt: skip
    return BudgetChain(plan=base, variants=variants, table=table)
