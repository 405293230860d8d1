"""Run a PuLP problem with CBC or HiGHS and read back what the solver really proved.

PuLP reports ``LpStatus`` "Optimal" for a time-limited MIP run that merely found a
solution (PuLP issue #649, PR #682). This module never trusts that: the status comes from
the solver itself —

* HiGHS (through ``highspy``, which PuLP drives in-process): the model status
  (``kOptimal`` only when the MIP gap is within tolerance) and the ``mip_dual_bound`` /
  ``mip_gap`` info; PuLP does not pass the objective's constant term to HiGHS, so it is
  added back here to objective and bound;
* CBC (the binary bundled with PuLP): its own log (``Result - ...`` line, objective, lower
  bound, gap; ``Optimal - objective value`` for a pure LP), written to a temporary file;
  CBC also leaves out the constant term, added back here.

A run is ``optimal`` only when the solver proved optimality within its gap tolerance, or
when the objective and proven bound are within the tolerance; a run stopped by a time or
node limit with a solution in hand is ``feasible`` with the gap measured. The same
reading is meant for every model of the planner (:mod:`planner.model.solver` serves the
plan model; :func:`classify` is the shared rule).

HiGHS also gets a MIP start here (PuLP 3.3's HiGHS interface has none): variables whose
``varValue`` was set (``LpVariable.setInitialValue``) are passed to ``Highs.setSolution``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulp

log = logging.getLogger(__name__)

#: solver names accepted by :func:`run`
SOLVERS: tuple[str, ...] = ("highs", "cbc")

STATUSES: tuple[str, ...] = ("optimal", "feasible", "infeasible", "unbounded", "no_solution")


@dataclass(frozen=True)
class SolverRun:
    """What one solver run proved.

    Attributes
    ----------
    status : str
        ``optimal`` (proven within the gap tolerance), ``feasible`` (a solution, optimality
        not proven: see ``gap``), ``infeasible``, ``unbounded`` or ``no_solution``.
    objective : float or None
        Objective of the solution found, including the objective's constant term.
    bound : float or None
        Best proven bound (a lower bound when minimising), including the constant term.
    gap : float or None
        Relative gap ``|objective - bound| / max(|objective|, 1e-9)`` when both are known.
    seconds : float
        Wall time of the run (model hand-over to the solver included).
    solver : str
        Solver name and version.
    mip : bool
        Whether integrality was enforced (False: an LP relaxation was solved).
    gap_rel : float
        Relative gap tolerance asked for.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    solver: str
    mip: bool
    gap_rel: float

    @property
    def has_solution(self) -> bool:
        """Whether variable values of a solution are available."""
        return self.status in ("optimal", "feasible")

    @property
    def proven_optimal(self) -> bool:
        """Whether optimality was proven (within ``gap_rel``)."""
        return self.status == "optimal"

    def describe(self) -> str:
        """Plain status for people; never says optimal for an unproven solution."""
        return describe(self.status, self.gap, self.gap_rel)


def describe(status: str, gap: float | None, gap_rel: float) -> str:
    """One line: ``optimal (proven, gap 0.00%)`` or ``feasible, gap 1.23% (not proven optimal)``.

    Parameters
    ----------
    status : str
        One of :data:`STATUSES`.
    gap : float or None
        Relative gap.
    gap_rel : float
        Tolerance the optimum was proven within.
    """
    if status == "optimal":
        g = f", gap {gap:.2%}" if gap is not None else ""
        return f"optimal (proven within {gap_rel:.2%}{g})"
    if status == "feasible":
        g = f"gap {gap:.2%}" if gap is not None else "gap unknown"
        return f"feasible, {g} (not proven optimal)"
    return status


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|objective - bound| / max(|objective|, 1e-9)``, or None when either is unknown."""
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return None
    return abs(objective - bound) / max(abs(objective), 1e-9)


def within_tolerance(objective: float, bound: float, gap_rel: float, gap_abs: float = 0.0) -> bool:
    """Whether ``objective`` and ``bound`` are close enough to call the objective proven optimal.

    Allows ``gap_rel`` relative, ``gap_abs`` absolute and a numerical slack of
    ``1e-7 * max(1, |objective|)`` (CBC prints its bound to about 8 significant digits;
    solvers' own feasibility tolerances are of the order of 1e-6).
    """
    slack = max(gap_rel * abs(objective), gap_abs, 1e-7 * max(1.0, abs(objective)))
    return abs(objective - bound) <= slack


def classify(
    solver_proved: bool,
    has_solution: bool,
    objective: float | None,
    bound: float | None,
    gap_rel: float,
    infeasible: bool = False,
    unbounded: bool = False,
) -> tuple[str, float | None]:
    """The honest status of a run from what the solver said.

    Parameters
    ----------
    solver_proved : bool
        The solver itself declared optimality (HiGHS ``kOptimal``; CBC ``Result - Optimal
        solution found`` or, for an LP, ``Optimal - objective value``). A PuLP status of
        "Optimal" is NOT this.
    has_solution : bool
        A solution's values are available.
    objective, bound : float or None
        Objective of the solution and proven bound.
    gap_rel : float
        Relative gap tolerance.
    infeasible, unbounded : bool
        The solver proved the model infeasible / unbounded.

    Returns
    -------
    tuple
        ``(status, gap)``: status one of :data:`STATUSES`; gap the relative gap or None.
    """
    if infeasible:
        return "infeasible", None
    if unbounded:
        return "unbounded", None
    gap = relative_gap(objective, bound)
    if not has_solution or objective is None:
        return "no_solution", None
    if solver_proved:
        return "optimal", gap if gap is not None else 0.0
    if bound is not None and math.isfinite(bound) and within_tolerance(objective, bound, gap_rel):
        return "optimal", gap
    return "feasible", gap


_CBC_RESULT = re.compile(r"^Result - (.+)$", re.M)
_CBC_OBJ = re.compile(r"^Objective value:\s+(\S+)", re.M)
_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.M)
_CBC_BEST_POSSIBLE = re.compile(r"best possible (\S+?)\)")
_CBC_LP = re.compile(r"^(Optimal|Primal infeasible|Dual infeasible|Stopped on \S+) - objective value (\S+)", re.M)


def parse_cbc_log(text: str) -> dict[str, Any]:
    """What a CBC log says: result line, objective and lower bound (without the constant term).

    Parameters
    ----------
    text : str
        The log CBC wrote.

    Returns
    -------
    dict
        ``result`` (the text after ``Result - ``, or for a pure LP the status before
        `` - objective value``; ``""`` when absent), ``objective`` (None when CBC found no
        solution), ``bound`` (the lower bound, or the last "best possible" of the search),
        ``proved``, ``infeasible``, ``unbounded`` (bools).
    """
    m = _CBC_RESULT.search(text)
    lp = None if m else _CBC_LP.search(text)
    result = m.group(1).strip() if m else (lp.group(1) if lp else "")
    low = result.lower()
    objective: float | None = None
    om = _CBC_OBJ.search(text)
    if om and "no feasible solution" not in text.lower():
        objective = float(om.group(1))
    elif lp and lp.group(1) == "Optimal":
        objective = float(lp.group(2))
    bm = _CBC_BOUND.search(text)
    bound: float | None = float(bm.group(1)) if bm else None
    if bound is None:
        possible = _CBC_BEST_POSSIBLE.findall(text)
        if possible:
            bound = float(possible[-1])
    proved = low.startswith("optimal")
    if proved and objective is not None and (bound is None or lp is not None):
        bound = objective
    return {
        "result": result,
        "objective": objective,
        "bound": bound,
        "proved": proved,
        "infeasible": "infeasible" in low and "dual" not in low,
        "unbounded": "unbounded" in low or low.startswith("dual infeasible"),
    }


def _highs_solver_class() -> type:
    """PuLP's HiGHS interface with a MIP start (values set on the variables) passed to highspy."""

    class _HiGHSStart(pulp.HiGHS):  # type: ignore[misc, valid-type]
        warm_start = False

        def callSolver(self, lp: pulp.LpProblem) -> None:  # PuLP's method name
            if self.warm_start and self.mip:
                import numpy as np

                pairs = [(v.index, float(v.varValue)) for v in lp.variables() if v.varValue is not None]
                if pairs:
                    idx = np.fromiter((p[0] for p in pairs), dtype=np.int32, count=len(pairs))
                    val = np.fromiter((p[1] for p in pairs), dtype=np.float64, count=len(pairs))
                    lp.solverModel.setSolution(len(pairs), idx, val)
            lp.solverModel.run()

        def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[int, int]:  # PuLP's method name
            # PuLP 3.3 has no entry for some HiGHS statuses (e.g. kSolutionLimit after a node
            # limit) and raises KeyError after the values are read: map them to "stopped"
            try:
                return super().findSolutionValues(lp)
            except KeyError:
                feasible = lp.solverModel.getInfo().primal_solution_status == 2
                sol = pulp.LpSolutionIntegerFeasible if feasible else pulp.LpSolutionNoSolutionFound
                return pulp.LpStatusNotSolved, sol

    return _HiGHSStart


def _objective_value(prob: pulp.LpProblem) -> float:
    """Objective at the variables' values (a variable PuLP left without a value counts as 0)."""
    if prob.objective is None:
        return 0.0
    return float(prob.objective.constant) + sum(c * (v.varValue or 0.0) for v, c in prob.objective.items())


def solver_available(name: str) -> bool:
    """Whether PuLP can run solver ``name`` (``highs`` or ``cbc``) here."""
    if name == "highs":
        return bool(pulp.HiGHS().available())
    if name == "cbc":
        return bool(pulp.PULP_CBC_CMD().available())
    return False


def run(
    prob: pulp.LpProblem,
    solver: str = "highs",
    *,
    time_limit_s: float | None = None,
    gap_rel: float = 1e-4,
    gap_abs: float | None = None,
    threads: int | None = 1,
    mip: bool = True,
    warm_start: bool = False,
    options: Mapping[str, Any] | None = None,
    msg: bool = False,
) -> SolverRun:
    """Solve ``prob`` and report the solver's real status, objective, bound and gap.

    Parameters
    ----------
    prob : pulp.LpProblem
        The problem (variable values are written back by PuLP).
    solver : {"highs", "cbc"}
        HiGHS through highspy, or the CBC binary bundled with PuLP.
    time_limit_s : float or None
        Wall-clock limit for the solver.
    gap_rel : float
        Relative MIP gap at which the solver may stop and call the solution optimal.
    gap_abs : float or None
        Absolute MIP gap (e.g. 0.999 for an objective known to be integral).
    threads : int or None
        Solver threads. CBC with more than one thread is not deterministic; HiGHS's MIP
        search is deterministic either way.
    mip : bool
        False solves the LP relaxation.
    warm_start : bool
        Pass the variables' current values (``setInitialValue``) as a MIP start.
    options : mapping, optional
        Extra solver options: HiGHS option names (e.g. ``{"mip_max_nodes": 10}``) or, for
        CBC, PuLP's ``PULP_CBC_CMD`` keyword arguments (e.g. ``{"maxNodes": 10}``).
    msg : bool
        Let the solver print its log (HiGHS) — CBC's log always goes to a file to be read.

    Returns
    -------
    SolverRun
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}: expected one of {', '.join(SOLVERS)}")
    opts = dict(options or {})
    constant = float(prob.objective.constant) if prob.objective is not None else 0.0
    t0 = time.perf_counter()
    if solver == "highs":
        import highspy

        cls = _highs_solver_class()
        # HiGHS keeps one thread pool per process: a run asking for another thread count than
        # the first run of the process fails, so the count is left to HiGHS (its MIP search is
        # serial anyway)
        s = cls(msg=msg, mip=mip, timeLimit=time_limit_s, gapRel=gap_rel, gapAbs=gap_abs, threads=None, **opts)
        s.warm_start = warm_start
        prob.solve(s)
        seconds = time.perf_counter() - t0
        h = prob.solverModel
        ms = h.getModelStatus()
        info = h.getInfo()
        st = highspy.HighsModelStatus
        has_solution = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
        objective = float(info.objective_function_value) + constant if has_solution else None
        bound: float | None = None
        if mip and any(v.cat == pulp.LpInteger for v in prob.variables()):
            b = float(info.mip_dual_bound)
            bound = b + constant if math.isfinite(b) else None
        elif ms == st.kOptimal and objective is not None:
            bound = objective  # an LP solved to optimality: its value is the bound
        status, gap = classify(
            ms == st.kOptimal,
            has_solution,
            objective,
            bound,
            gap_rel,
            infeasible=ms == st.kInfeasible,
            unbounded=ms in (st.kUnbounded, st.kUnboundedOrInfeasible),
        )
        name = f"highs {highspy.Highs().version()}"
        return SolverRun(status, objective, bound, gap, seconds, name, mip, gap_rel)

    fd, log_path = tempfile.mkstemp(prefix="cbc-", suffix=".log")
    os.close(fd)
    try:
        s = pulp.PULP_CBC_CMD(
            msg=False,
            mip=mip,
            timeLimit=time_limit_s,
            gapRel=gap_rel,
            gapAbs=gap_abs,
            threads=threads,
            warmStart=warm_start,
            logPath=log_path,
            options=["randomSeed 1", "randomCbcSeed 1"],
            **opts,
        )
        prob.solve(s)
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    finally:
        os.unlink(log_path)
    seconds = time.perf_counter() - t0
    if msg:
        log.info("CBC log:\n%s", text)
    parsed = parse_cbc_log(text)
    has_solution = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    # the objective from the solution's values (the log prints about 8 significant digits)
    objective = _objective_value(prob) if has_solution else None
    bound = parsed["bound"] + constant if parsed["bound"] is not None else None
    if not mip and parsed["proved"] and objective is not None:
        bound = objective  # an LP solved to optimality: its value is the bound
    status, gap = classify(
        parsed["proved"],
        has_solution,
        objective,
        bound,
        gap_rel,
        infeasible=parsed["infeasible"] or prob.status == pulp.LpStatusInfeasible,
        unbounded=parsed["unbounded"] or prob.status == pulp.LpStatusUnbounded,
    )
    return SolverRun(status, objective, bound, gap, seconds, f"cbc (bundled with pulp {pulp.__version__})", mip,
                     gap_rel)  # fmt: skip
