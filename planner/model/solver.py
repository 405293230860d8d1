"""Run CBC or HiGHS through PuLP and report the solver's real status and MIP gap.

PuLP maps a time-limited run that found a solution to ``LpStatus`` "Optimal" (PuLP issue
#649, PR #682). Here the status comes from the solver itself: HiGHS's model status and
``mip_gap`` / ``mip_dual_bound`` info, CBC's own log ("Result - ..." line, its objective,
lower bound and gap). A run is ``optimal`` only when the solver proved it within its gap
tolerance; a run stopped by the time limit with a plan in hand is ``feasible`` with the
gap measured.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
from dataclasses import dataclass

import pulp

from planner.scenario import SolverSettings


@dataclass(frozen=True)
class SolveResult:
    """What the solver said.

    Attributes
    ----------
    status : str
        ``optimal`` (proven within ``gap_tolerance``), ``feasible`` (stopped with a plan;
        see ``gap``), ``infeasible``, ``unbounded`` or ``no_solution``.
    gap : float or None
        Relative MIP gap |objective − bound| / |objective| when known.
    bound : float or None
        Best proven bound on the objective.
    objective : float or None
        Objective of the plan found.
    seconds : float
        Wall time of the solve.
    solver : str
        ``cbc`` or ``highs``, with version.
    """

    status: str
    gap: float | None
    bound: float | None
    objective: float | None
    seconds: float
    solver: str
    gap_tolerance: float

    @property
    def has_solution(self) -> bool:
        """Whether a plan is available."""
        return self.status in ("optimal", "feasible")

    @property
    def proven_optimal(self) -> bool:
        """Whether optimality was proven (within the gap tolerance)."""
        return self.status == "optimal"

    def describe(self) -> str:
        """Plain status for people: never 'optimal' for an unproven plan."""
        if self.status == "optimal":
            g = f", gap {self.gap:.2%}" if self.gap is not None else ""
            return f"optimal (proven within {self.gap_tolerance:.2%}{g})"
        if self.status == "feasible":
            g = f"gap {self.gap:.2%}" if self.gap is not None else "gap unknown"
            return f"feasible, {g} (time limit reached)"
        return self.status


def _rel_gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None or not (math.isfinite(obj) and math.isfinite(bound)):
        return None
    return abs(obj - bound) / max(abs(obj), 1e-9)


def _mip_start(prob: pulp.LpProblem) -> None:
    """Start from the do-nothing plan: registered starting values, else 0."""
    for v in prob.variables():
        if v.cat == pulp.LpInteger and v.varValue is None:
            v.setInitialValue(0)


_CBC_RESULT = re.compile(r"^Result - (.+)$", re.M)
_CBC_OBJ = re.compile(r"^Objective value:\s+(\S+)", re.M)
_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.M)
_CBC_GAP = re.compile(r"^Gap:\s+(\S+)", re.M)
_CBC_BEST_POSSIBLE = re.compile(r"best possible (\S+?)\)")


def parse_cbc_log(text: str, gap_tolerance: float) -> tuple[str, float | None, float | None, float | None]:
    """Status, objective, bound and gap from a CBC log.

    Returns
    -------
    tuple
        (status, objective, bound, gap) with status one of optimal, feasible,
        infeasible, unbounded, no_solution.
    """
    m = _CBC_RESULT.search(text)
    result = m.group(1).strip() if m else ""
    obj = float(_CBC_OBJ.search(text).group(1)) if _CBC_OBJ.search(text) else None
    bound = float(_CBC_BOUND.search(text).group(1)) if _CBC_BOUND.search(text) else None
    if bound is None:
        possibles = _CBC_BEST_POSSIBLE.findall(text)
        if possibles:
            bound = float(possibles[-1])
    gap = float(_CBC_GAP.search(text).group(1)) if _CBC_GAP.search(text) else None
    if result.startswith("Optimal"):
        if bound is None:
            bound = obj
        return "optimal", obj, bound, gap if gap is not None else _rel_gap(obj, bound)
    if "infeasible" in result.lower():
        return "infeasible", None, None, None
    if "unbounded" in result.lower():
        return "unbounded", None, None, None
    if obj is not None:
        g = gap if gap is not None else _rel_gap(obj, bound)
        status = "optimal" if g is not None and g <= gap_tolerance + 1e-12 else "feasible"
        return status, obj, bound, g
    return "no_solution", None, bound, None


def solve(built: object, settings: SolverSettings, time_limit_s: float | None = None, warm: bool = True) -> SolveResult:
    """Solve ``built.prob`` with the scenario's solver settings."""
    prob: pulp.LpProblem = built.prob  # type: ignore[attr-defined]
    limit = float(time_limit_s if time_limit_s is not None else settings.time_limit_s)
    t0 = time.perf_counter()
    if settings.name == "highs":
        solver = pulp.HiGHS(msg=False, timeLimit=limit, gapRel=settings.gap_rel, threads=settings.threads)
        prob.solve(solver)
        seconds = time.perf_counter() - t0
        return _highs_result(prob, settings, seconds)
    if warm:
        _mip_start(prob)
    fd, log_path = tempfile.mkstemp(prefix="cbc-", suffix=".log")
    os.close(fd)
    try:
        solver = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=limit,
            gapRel=settings.gap_rel,
            threads=settings.threads,
            warmStart=warm,
            logPath=log_path,
            options=["randomSeed 1", "randomCbcSeed 1"],
        )
        prob.solve(solver)
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    finally:
        os.unlink(log_path)
    seconds = time.perf_counter() - t0
    status, obj, bound, gap = parse_cbc_log(text, settings.gap_rel)
    # CBC's log leaves out the objective's constant term; the gap is relative to the
    # objective CBC optimised, so it is kept as CBC measured it
    offset = float(prob.objective.constant) if prob.objective is not None else 0.0
    obj = obj + offset if obj is not None else None
    bound = bound + offset if bound is not None else None
    if status == "no_solution" and prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        obj = pulp.value(prob.objective)
        status = "feasible"
    return SolveResult(status, gap, bound, obj, seconds, f"cbc (bundled with pulp {pulp.__version__})",
                       settings.gap_rel)  # fmt: skip


def _highs_result(prob: pulp.LpProblem, settings: SolverSettings, seconds: float) -> SolveResult:
    import highspy

    h = prob.solverModel
    ms = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    obj = float(info.objective_function_value) if prob.sol_status in (1, 2) else None
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else _rel_gap(obj, bound)
    if ms == S.kOptimal:
        status = "optimal"
    elif ms in (S.kInfeasible,):
        status = "infeasible"
    elif ms in (S.kUnbounded, S.kUnboundedOrInfeasible):
        status = "unbounded"
    elif obj is not None:
        status = "feasible"
    else:
        status = "no_solution"
    version = getattr(highspy.Highs(), "version", lambda: "")()
    return SolveResult(status, gap, bound, obj, seconds, f"highs {version}".strip(), settings.gap_rel)
