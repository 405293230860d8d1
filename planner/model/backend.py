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
reading is meant for every model of the planner (:mod:`planner.model.start` serves the
plan model; :func:`classify` is the shared rule).

HiGHS also gets a MIP start here (PuLP 3.3's HiGHS interface has none): variables whose
``varValue`` was set (``LpVariable.setInitialValue``) are passed to ``Highs.setSolution``.

The time limit of a HiGHS MIP is a wall-clock promise (issue #5). HiGHS 1.16 does not check
its ``time_limit`` during root-node cut separation (a 120 s limit took ~360 s on the bundled
county), so :func:`run` builds the highspy model in this process (PuLP's hand-over, MIP start
included) and runs it in a child process made by ``fork`` (POSIX only: Linux, macOS; elsewhere
HiGHS runs in-process as before). The child reports every improving solution and every rise of
the proven dual bound through a pipe (highspy callbacks ``kCallbackMipImprovingSolution``,
``kCallbackMipInterrupt``, ``kCallbackMipLogging``). HiGHS's own limit is what is left of
``time_limit_s`` after the hand-over; the child is killed at ``time_limit_s`` + a grace of
:func:`default_grace_s` (2 s + 5% of the limit) after the call began, and the parent keeps

* the child's own result when it finished in time — the very same values, status and info as an
  in-process run;
* otherwise the best solution it reported, else the MIP start when it sets every column and is
  feasible, or when it sets every integer and the LP over the rest completes it (an LP in this
  process, at most 10% of the limit), else no solution; the best bound it reported (else none);
  model status ``kTimeLimit``. The status is then derived by :func:`classify` like any other run.

A run may be given overtime (:class:`Overtime`, ``run(overtime_s=…, keep_going=…)``): HiGHS's own limit is then
``time_limit_s`` + the overtime, and the parent stops the child at ``time_limit_s`` unless the best plan so far
passes the caller's test, asking again at every better plan after it (the full MIP's use of the CV rounds'
reserve, :func:`planner.model.optimise.cuts_hold`).

A MIP start that leaves integer columns unset is completed by the child before the run, in a copy of the
model without callbacks (:func:`complete_start`, the same auxiliary MIP HiGHS would solve): HiGHS reports
that MIP's progress through the run's own callbacks, and its dual bound — a bound of the start's
neighbourhood only — would otherwise read as the model's.

LP runs (``mip=False``) and CBC (its own process, which respects its limit) are unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import pulp

if TYPE_CHECKING:  # numpy is imported where a run needs it
    import numpy as np

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
    floor : float or None
        A proven lower bound on the part of the objective no plan can change (:func:`on_changeable`);
        when set, ``gap`` and ``status`` are measured on the objective above it.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    solver: str
    mip: bool
    gap_rel: float
    floor: float | None = None

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
        text = describe(self.status, self.gap, self.gap_rel)
        if self.floor is not None and self.gap is not None and self.floor > 0:
            text += " on what the plan can change"
        return text


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


def on_changeable(result: SolverRun, floor: float | None) -> SolverRun:
    """``result`` with its gap and status measured on what the plan can change: the objective above ``floor``.

    ``floor`` is a proven lower bound on penalties no plan avoids (:func:`planner.model.optimise.unavoidable_floor`:
    pupils the county cannot keep within the bottom lines even with fractional decisions). Objective and bound
    keep their values; the gap is ``(objective − max(bound, floor)) / (objective − floor)``, so a constant that
    every plan pays no longer shrinks it (issue #17: 3% of the whole objective was 35% of what can change). The
    status is re-derived from that gap and the tolerance asked for, never taken from the solver's own stop
    (which measures the whole objective).
    """
    if floor is None or result.objective is None or not result.has_solution:
        return result
    floor = min(float(floor), result.objective)
    bound = floor if result.bound is None or not math.isfinite(result.bound) else max(result.bound, floor)
    room = result.objective - floor
    gap = relative_gap(room, bound - floor) if room > 1e-9 else 0.0
    proven = within_tolerance(result.objective, bound, 0.0, gap_abs=result.gap_rel * room)
    return replace(result, bound=bound, gap=gap, status="optimal" if proven else "feasible", floor=floor)


def changeable_gap(gap_rel: float, incumbent: float, floor: float | None) -> tuple[float, float | None]:
    """The stopping rule of every MIP with a floor: (relative gap, absolute gap) to hand the solver.

    With ``floor`` (penalties no plan avoids) below ``incumbent``: no relative gap and an absolute one of
    ``gap_rel`` × (incumbent − floor), the gap on what the plan can change that :func:`on_changeable` reports;
    otherwise ``gap_rel`` of the whole objective. The full MIP (:func:`planner.model.optimise.solve`) and each
    region's sub-MIP (:func:`planner.model.regions.region_fix_and_optimise`) stop by it.
    """
    if floor is None or incumbent <= floor:
        return gap_rel, None
    return 0.0, gap_rel * (incumbent - floor)


def proven_within(objective: float, bound: float, gap_rel: float, floor: float | None) -> bool:
    """Whether ``bound`` proves ``objective`` within ``gap_rel`` of what the plan can change (:func:`changeable_gap`).

    The rule by which a search stops on a bound proved outside it (:func:`planner.model.optimise.solve`) and the CV
    rounds end (:func:`planner.model.optimise.proven_at_true_cvs`), at the plan in hand.
    """
    rel, absolute = changeable_gap(gap_rel, objective, floor)
    return within_tolerance(objective, bound, rel, absolute or 0.0)


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


#: a HiGHS MIP run in a child process is stopped at ``time_limit_s + GRACE_S + GRACE_SHARE * time_limit_s``
GRACE_S = 2.0
#: see :data:`GRACE_S`
GRACE_SHARE = 0.05
#: seconds between two questions to a HiGHS child's ``proven`` rule (:func:`run_in_child`)
PROVEN_POLL_S = 0.5


def default_grace_s(time_limit_s: float) -> float:
    """Seconds a HiGHS MIP run may overrun ``time_limit_s`` before it is stopped: ``2 + 5% of the limit``."""
    return GRACE_S + GRACE_SHARE * time_limit_s


@dataclass(frozen=True)
class Overtime:
    """How a HiGHS run in a child may go on past its limit: while its best plan passes a test.

    At ``at`` (a ``time.perf_counter()`` instant, the run's limit) the parent asks ``keep_going(objective,
    values)`` of the best plan the child reported (HiGHS's objective, without PuLP's constant; the column
    values); True lets the search go on until ``until`` (HiGHS's own limit is set there, the kill comes after
    its grace), and every better plan it reports is asked again: the first that fails stops the search at once,
    that plan kept. Without a plan at ``at`` the run stops there.
    """

    at: float
    until: float
    keep_going: Callable[[float, np.ndarray], bool]


def hard_limit_available() -> bool:
    """Whether a HiGHS MIP run can be stopped at its wall-clock limit here (needs ``fork``: Linux, macOS)."""
    return hasattr(os, "fork")


class _Values:
    """``col_value``/``col_dual``/``row_value``/``row_dual`` as :class:`highspy.HighsSolution` names them."""

    def __init__(self, col_value: Any, col_dual: Any, row_value: Any, row_dual: Any) -> None:
        self.col_value = col_value
        self.col_dual = col_dual
        self.row_value = row_value
        self.row_dual = row_dual


class _Info:
    """The :class:`highspy.HighsInfo` fields this module and PuLP read."""

    def __init__(self, objective: float, dual_bound: float, gap: float, primal_status: int) -> None:
        self.objective_function_value = objective
        self.mip_dual_bound = dual_bound
        self.mip_gap = gap
        self.primal_solution_status = primal_status


class _ChildOutcome:
    """What a HiGHS run in a child process left, read through the subset of the ``Highs`` API PuLP uses."""

    def __init__(self, model_status: Any, objective: float, values: _Values, info: _Info) -> None:
        self.model_status = model_status
        self.objective = objective
        self.values = values
        self.info = info
        self.stopped = False  # True: the child was stopped at the deadline (or died) before it finished
        self.proven_outside = False  # True: stopped early because a bound from outside proved its plan
        self.kept = "the solver's result"  # what the values are, for the log

    def getModelStatus(self) -> Any:  # highspy's name
        return self.model_status

    def getObjectiveValue(self) -> float:  # highspy's name
        return self.objective

    def getSolution(self) -> _Values:  # highspy's name
        return self.values

    def getInfo(self) -> _Info:  # highspy's name
        return self.info


def die_with_parent(parent: int) -> None:
    """In the child: be killed when the parent process dies (Linux ``PR_SET_PDEATHSIG``), or leave now if it has."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:
        os._exit(1)


def _option(h: Any, name: str) -> Any:
    """The value of HiGHS option ``name`` (highspy 1.16 returns ``(status, value)``, later ones the value)."""
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value


def on_mip_progress(h: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(event)`` at each of HiGHS model ``h``'s MIP display lines and interrupt checks.

    ``event.data_out.mip_dual_bound`` is then the MIP's proven bound so far. HiGHS calls the logging callback
    (and so reports the bound at each display line, also in the root node) only with output on: it is turned
    on, but not to the console. The full MIP's child (:func:`_child_main`) and the blocks of the bound by
    regions (:mod:`planner.model.lagrange`) listen this way.
    """
    h.cbMipLogging.subscribe(callback)
    h.cbMipInterrupt.subscribe(callback)
    if not _option(h, "output_flag"):
        h.setOptionValue("output_flag", True)
        h.setOptionValue("log_to_console", False)


def leaves_integers_unset(h: Any, start: tuple[Any, Any]) -> bool:
    """Whether the MIP start ``start`` (``(index, value)`` arrays) leaves an integer column of model ``h`` unset."""
    import numpy as np

    integrality = np.asarray([int(t) for t in h.getLp().integrality_], dtype=np.int64)
    if not integrality.size:
        return False
    given = np.zeros(integrality.size, dtype=bool)
    given[np.asarray(start[0], dtype=np.int64)] = True
    return bool(np.any((integrality != 0) & ~given))


def complete_start(h: Any, start: tuple[Any, Any]) -> Any | None:
    """A full solution of model ``h`` from a MIP start that leaves integer columns unset, or None.

    Completed the way HiGHS completes such a start (a MIP with the start's integer columns fixed, at most
    ``mip_max_start_nodes`` nodes, within ``h``'s time limit), but in a copy of the model without callbacks:
    HiGHS reports that auxiliary MIP's progress through the callbacks of the run itself, so its dual bound —
    a bound of the start's neighbourhood, not of the model — would read as the model's (a restricted MIP of
    the 2× county once read "optimal, gap 0.26%" against 8.91e8 with its true bound at 5.99e8).
    """
    import highspy
    import numpy as np

    idx, val = np.asarray(start[0], dtype=np.int32), np.asarray(start[1], dtype=np.float64)
    integer = np.asarray([int(t) for t in h.getLp().integrality_], dtype=np.int64)[idx] != 0
    copy = highspy.Highs()
    copy.setOptionValue("output_flag", False)
    copy.passModel(h.getModel())
    copy.setOptionValue("time_limit", float(_option(h, "time_limit")))
    copy.setOptionValue("mip_max_nodes", int(_option(h, "mip_max_start_nodes")))
    copy.setOptionValue("mip_rel_gap", float(_option(h, "mip_rel_gap")))
    fixed = idx[integer]
    copy.changeColsBounds(len(fixed), fixed, val[integer], val[integer])
    copy.run()
    if copy.getInfo().primal_solution_status != 2:
        return None
    return np.asarray(copy.getSolution().col_value, dtype=np.float64)


def _child_main(h: Any, conn: Any, parent: int, start: tuple[Any, Any] | None = None) -> None:
    """Run HiGHS (the model inherited by ``fork``) and send what it finds to the parent through ``conn``.

    Messages: ``("solution", objective, col_values)`` for each improving solution, ``("bound", dual_bound)``
    when the proven bound moves, and at the end ``("done", model_status, objective, col_value, col_dual,
    row_value, row_dual, info)``. Objectives and bounds are HiGHS's (without PuLP's objective constant).
    The child stops HiGHS at its next callback when process ``parent`` is gone. ``start``: a MIP start that
    leaves integer columns unset, completed here first (:func:`complete_start`), so that only the model's
    own bounds are reported.
    """
    import numpy as np

    if start is not None:
        t0 = time.perf_counter()
        x = complete_start(h, start)
        if x is not None:
            h.setSolution(len(x), np.arange(len(x), dtype=np.int32), x)
        limit = float(_option(h, "time_limit"))
        if math.isfinite(limit):
            h.setOptionValue("time_limit", max(limit - (time.perf_counter() - t0), 0.1))
    last_bound = [-math.inf]

    def on_bound(e: Any) -> None:
        if os.getppid() != parent:  # the parent is gone (where PR_SET_PDEATHSIG does not exist): stop
            e.interrupt()
            return
        b = float(e.data_out.mip_dual_bound)
        if math.isfinite(b) and b > last_bound[0]:
            last_bound[0] = b
            conn.send(("bound", b))

    def on_solution(e: Any) -> None:
        on_bound(e)
        conn.send(("solution", float(e.data_out.objective_function_value), np.array(e.data_out.mip_solution)))

    h.cbMipImprovingSolution.subscribe(on_solution)
    on_mip_progress(h, on_bound)
    h.run()
    info = h.getInfo()
    sol = h.getSolution()
    conn.send(
        (
            "done",
            int(h.getModelStatus()),
            float(h.getObjectiveValue()),
            np.array(sol.col_value),
            np.array(sol.col_dual),
            np.array(sol.row_value),
            np.array(sol.row_dual),
            (float(info.objective_function_value), float(info.mip_dual_bound), float(info.mip_gap),
             int(info.primal_solution_status)),
        )
    )  # fmt: skip
    conn.close()


def _feasible(h: Any, x: Any, tol: float = 1e-6) -> bool:
    """Whether column values ``x`` satisfy the bounds, integrality and rows of the HiGHS model ``h``."""
    import numpy as np

    model = h.getLp()  # a copy
    lo, up = np.asarray(model.col_lower_), np.asarray(model.col_upper_)
    if np.any(x < lo - tol) or np.any(x > up + tol):
        return False
    integ = np.asarray([int(t) for t in model.integrality_]) if len(model.integrality_) else np.zeros(0)
    if integ.size and np.any(np.abs(x[integ == 1] - np.round(x[integ == 1])) > tol):
        return False
    rows = _row_values(h, x, model)
    rlo, rup = np.asarray(model.row_lower_), np.asarray(model.row_upper_)
    scale = np.maximum(1.0, np.abs(rows))
    return not (np.any(rows < rlo - tol * scale) or np.any(rows > rup + tol * scale))


def _row_values(h: Any, x: Any, model: Any = None) -> Any:
    """Row activities ``A x`` of the HiGHS model ``h`` (its ``getLp()`` copy ``model`` when at hand)."""
    import numpy as np

    model = model if model is not None else h.getLp()
    a = model.a_matrix_
    start = np.asarray(a.start_, dtype=np.int64)
    index = np.asarray(a.index_, dtype=np.int64)
    value = np.asarray(a.value_, dtype=np.float64)
    if int(a.format_) == 1:  # MatrixFormat.kColwise
        cols = np.repeat(np.arange(model.num_col_), np.diff(start))
        return np.bincount(index, weights=value * x[cols], minlength=model.num_row_)
    rows = np.repeat(np.arange(model.num_row_), np.diff(start))
    return np.bincount(rows, weights=value * x[index], minlength=model.num_row_)


def _start_solution(h: Any, start: tuple[Any, Any], complete_s: float) -> Any | None:
    """The MIP start as a full solution of HiGHS model ``h`` (never run), or None when it is not feasible.

    A start that sets every column is checked as it is; a partial one is completed like HiGHS does, by
    the LP over the columns it leaves free (integrality dropped; ``complete_s`` seconds at most), and kept
    only when that LP solution is feasible for the MIP. ``h`` is changed by the completion.
    """
    import highspy
    import numpy as np

    idx, val = start
    n_col = h.getNumCol()
    if len(idx) == n_col:
        x = np.zeros(n_col)
        x[idx] = val
        return x if _feasible(h, x) else None
    lp = h.getLp()
    if not len(lp.integrality_):
        return None
    integrality = np.asarray([int(t) for t in lp.integrality_], dtype=np.uint8)
    h.changeColsBounds(len(idx), idx, val, val)
    h.changeColsIntegrality(n_col, np.arange(n_col, dtype=np.int32), np.zeros(n_col, dtype=np.uint8))
    h.setOptionValue("time_limit", max(complete_s, 0.1))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    h.changeColsIntegrality(n_col, np.arange(n_col, dtype=np.int32), integrality)
    return x if _feasible(h, x) else None


#: who is told of a HiGHS solve's progress (:func:`listen_to_progress`)
_LISTENERS: list[Callable[[str, float], None]] = []


def listen_to_progress(listener: Callable[[str, float], None]) -> Callable[[], None]:
    """Tell ``listener(event, value)`` of every HiGHS MIP run's progress in this process; returns how to stop.

    Events: ``("start", nan)`` when a run begins, ``("solution", objective)`` for each improving plan and
    ``("bound", bound)`` for each better bound the solver reports, as :func:`run_in_child` receives them.
    Values are HiGHS's own (without PuLP's objective constant). A listener that raises is logged and
    ignored: progress reporting never stops a solve. ``planner serve`` shows them live.
    """
    _LISTENERS.append(listener)

    def stop() -> None:
        with contextlib.suppress(ValueError):
            _LISTENERS.remove(listener)

    return stop


def _tell(event: str, value: float) -> None:
    for listener in list(_LISTENERS):
        try:
            listener(event, value)
        except Exception:  # a listener's fault must never stop a solve
            log.debug("progress listener failed on %s", event, exc_info=True)


def fork_child(target: Callable[[Any, int], None]) -> tuple[int, Any]:
    """Run ``target(sender, parent_pid)`` in a forked child that dies with its parent; returns ``(pid, receiver)``.

    ``sender`` / ``receiver`` are the two ends of a one-way pipe. os.fork rather than
    multiprocessing.Process: it works in daemonic processes too (Dask workers), and the child leaves by
    ``os._exit`` without running the parent's exit handlers or flushing its copies of the parent's buffers.
    Every child here runs HiGHS, so the child first drops the HiGHS thread pool it copied from the parent
    (without its worker threads; HiGHS would hang on it). Stop it with :func:`stop_child`.
    """
    receiver, sender = multiprocessing.Pipe(duplex=False)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
        code = 1
        try:
            import highspy

            die_with_parent(parent)
            receiver.close()
            highspy.Highs.resetGlobalScheduler(False)
            target(sender, parent)
            code = 0
        finally:
            os._exit(code)
    sender.close()
    return pid, receiver


def stop_child(pid: int, receiver: Connection) -> None:
    """Close the pipe from a :func:`fork_child` child, kill the child if it still runs, and reap it."""
    receiver.close()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@dataclass
class ForkedChild:
    """A :func:`fork_child` child and the receiving end of its pipe.

    ``stop`` kills and reaps the child; it also runs when the object is dropped unread (a solve that raised), so
    no child outlives its solve.
    """

    pid: int
    receiver: Connection
    stop: weakref.finalize = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.stop = weakref.finalize(self, stop_child, self.pid, self.receiver)


def run_in_child(
    h: Any,
    kill_at: float,
    start: Any | None,
    complete_s: float,
    *,
    complete_first: bool = False,
    proven: Callable[[float], bool] | None = None,
    overtime: Overtime | None = None,
) -> _ChildOutcome:
    """Run HiGHS model ``h`` in a forked child, stopped at ``kill_at`` (``time.perf_counter()``) if still running.

    Returns the child's own result when it finished; otherwise its best improving solution, else the MIP
    start ``start`` (``(index, value)`` arrays) as a solution (completed by an LP of at most ``complete_s``
    seconds when partial, see :func:`_start_solution`) when it is feasible, with the best dual bound the
    child reported and model status ``kTimeLimit`` (``kNotset`` without a solution). ``complete_first``:
    ``start`` leaves integer columns unset and is not set on ``h``; the child completes it first
    (:func:`complete_start`). ``proven``: asked every :data:`PROVEN_POLL_S` seconds with the best objective
    the child reported (HiGHS's, without PuLP's constant); when it answers True (a bound proved elsewhere,
    e.g. the bound by regions, shows that plan within the tolerance) the child is stopped and that plan kept.
    ``overtime``: the search may go on past ``overtime.at`` (its limit) while its best plan passes the test
    (:class:`Overtime`); ``kill_at`` is then the kill instant of the longer run.
    """
    import highspy
    import numpy as np

    first = start if complete_first else None
    pid, receiver = fork_child(lambda sender, parent: _child_main(h, sender, parent, first))
    _tell("start", math.nan)
    best: tuple[float, Any] | None = None
    bound = -math.inf
    done: tuple[Any, ...] | None = None
    exit_status: int | None = None
    proven_outside = False
    stop_at = kill_at if overtime is None else min(overtime.at, kill_at)
    extended = False
    try:
        while done is None:
            wait_s = stop_at - time.perf_counter()
            if wait_s <= 0:
                if overtime is not None and not extended and best is not None and overtime.keep_going(*best):
                    extended, stop_at = True, kill_at
                    log.info("HiGHS goes on past its limit: its best plan (%.9g) passes the overtime test", best[0])
                    continue
                break
            if proven is not None and best is not None and proven(best[0]):
                proven_outside = True
                break
            if not receiver.poll(wait_s if proven is None else min(wait_s, PROVEN_POLL_S)):
                continue
            try:
                msg = receiver.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "bound":
                bound = max(bound, msg[1])
                _tell("bound", float(msg[1]))
            elif msg[0] == "solution":
                improved = best is None or msg[1] < best[0]
                if improved:
                    best = (msg[1], msg[2])
                _tell("solution", float(msg[1]))
                if extended and improved and overtime is not None and not overtime.keep_going(*best):
                    log.info("HiGHS stopped in its overtime: a better plan (%.9g) fails the overtime test", best[0])
                    break
            else:
                done = msg
    finally:
        receiver.close()
        if done is None:
            ended, status = os.waitpid(pid, os.WNOHANG)
            exit_status = status if ended else None
        if exit_status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    st = highspy.HighsModelStatus
    if done is not None:
        _, status, objective, col_value, col_dual, row_value, row_dual, info = done
        return _ChildOutcome(st(status), objective, _Values(col_value, col_dual, row_value, row_dual), _Info(*info))
    n_col, n_row = h.getNumCol(), h.getNumRow()
    if exit_status is not None:
        log.warning("the HiGHS child process ended without a result (wait status %d)", exit_status)
    x = None
    objective = math.inf
    kept = "no solution"
    if best is not None:
        objective, x = best
        kept = "the best solution HiGHS reported"
    elif start is not None:
        x = _start_solution(h, start, complete_s)
        if x is not None:
            objective = float(np.dot(np.asarray(h.getLp().col_cost_), x))
            kept = "the MIP start" if len(start[0]) == n_col else "the MIP start, completed by an LP"
    zeros_c, zeros_r = np.zeros(n_col), np.zeros(n_row)
    if x is None:
        values = _Values(zeros_c, zeros_c, zeros_r, zeros_r)
        outcome = _ChildOutcome(st.kNotset, math.inf, values, _Info(math.inf, bound, math.inf, 0))
    else:
        values = _Values(x, zeros_c, _row_values(h, x), zeros_r)
        gap = abs(objective - bound) / max(abs(objective), 1e-9) if math.isfinite(bound) else math.inf
        outcome = _ChildOutcome(st.kTimeLimit, objective, values, _Info(objective, bound, gap, 2))
    outcome.stopped = True
    outcome.proven_outside = proven_outside
    outcome.kept = kept
    return outcome


def _highs_solver_class() -> type:
    """PuLP's HiGHS interface with a MIP start (values set on the variables) passed to highspy.

    With ``kill_at`` set (a ``time.perf_counter()`` instant) a MIP is run in a forked child process that is
    stopped then (see :func:`run_in_child`); its result replaces ``lp.solverModel`` for reading back.
    """

    class _HiGHSStart(pulp.HiGHS):  # type: ignore[misc, valid-type]
        warm_start = False
        kill_at: float | None = None
        limit_at: float | None = None
        outcome: _ChildOutcome | None = None
        proven: Callable[[float], bool] | None = None
        overtime_s = 0.0
        keep_going: Callable[[float, np.ndarray], bool] | None = None

        def callSolver(self, lp: pulp.LpProblem) -> None:  # PuLP's method name
            start = None
            if self.warm_start and self.mip:
                import numpy as np

                pairs = [(v.index, float(v.varValue)) for v in lp.variables() if v.varValue is not None]
                if pairs:
                    idx = np.fromiter((p[0] for p in pairs), dtype=np.int32, count=len(pairs))
                    val = np.fromiter((p[1] for p in pairs), dtype=np.float64, count=len(pairs))
                    start = (idx, val)
            in_child = self.kill_at is not None and self.limit_at is not None
            # a start that leaves integers unset is completed by the child first (its callbacks report only the
            # model's own bounds, see complete_start); any other start goes to HiGHS as it is
            complete_first = in_child and start is not None and leaves_integers_unset(lp.solverModel, start)
            if start is not None and not complete_first:
                lp.solverModel.setSolution(len(start[0]), start[0], start[1])
            if not in_child:
                lp.solverModel.run()
                return
            # HiGHS's own limit: what is left of the run's limit after the model hand-over (unless the
            # caller set HiGHS's ``time_limit`` option itself)
            overtime = None
            kill_at = self.kill_at
            if self.keep_going is not None and self.overtime_s > 0:
                # HiGHS's own limit is the longer run's; the parent stops it at the shorter one unless its plan
                # passes the test (see Overtime)
                overtime = Overtime(at=self.limit_at, until=self.limit_at + self.overtime_s, keep_going=self.keep_going)
                kill_at = self.kill_at + self.overtime_s
            if "time_limit" not in self.optionsDict:
                end = self.limit_at if overtime is None else overtime.until
                lp.solverModel.setOptionValue("time_limit", max(end - time.perf_counter(), 0.0))
            complete_s = max(1.0, 0.1 * (self.timeLimit or 0.0))
            self.outcome = run_in_child(lp.solverModel, kill_at, start, complete_s, complete_first=complete_first,
                                        proven=self.proven, overtime=overtime)  # fmt: skip

        def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[int, int]:  # PuLP's method name
            h = lp.solverModel
            if self.outcome is not None:
                lp.solverModel = self.outcome
            # PuLP 3.3 has no entry for some HiGHS statuses (e.g. kSolutionLimit after a node
            # limit) and raises KeyError after the values are read: map them to "stopped"
            try:
                return super().findSolutionValues(lp)
            except KeyError:
                feasible = lp.solverModel.getInfo().primal_solution_status == 2
                sol = pulp.LpSolutionIntegerFeasible if feasible else pulp.LpSolutionNoSolutionFound
                return pulp.LpStatusNotSolved, sol
            finally:
                lp.solverModel = h

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
    hard_limit: bool = True,
    grace_s: float | None = None,
    proven: Callable[[float], bool] | None = None,
    overtime_s: float = 0.0,
    keep_going: Callable[[float, np.ndarray], bool] | None = None,
) -> SolverRun:
    """Solve ``prob`` and report the solver's real status, objective, bound and gap.

    Parameters
    ----------
    prob : pulp.LpProblem
        The problem (variable values are written back by PuLP).
    solver : {"highs", "cbc"}
        HiGHS through highspy, or the CBC binary bundled with PuLP.
    time_limit_s : float or None
        Wall-clock limit for the solver (for a HiGHS MIP, of the whole call: see ``hard_limit``).
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
    hard_limit : bool
        HiGHS MIP with a time limit: run the solver in a forked child process that is stopped
        at ``time_limit_s + grace_s`` after the call began (model hand-over included),
        keeping the best solution it reported, else the MIP start when it is feasible (a start
        setting every integer is completed by an LP), and the best bound it reported (see the
        module notes).
        A run that ends in time gives exactly what an in-process run gives.
        False runs HiGHS in this process, where its root-node cut separation can overrun the
        limit several-fold. Ignored for LP runs and CBC (both respect their limit).
    grace_s : float or None
        Seconds the HiGHS child may overrun ``time_limit_s`` before it is stopped; default
        :func:`default_grace_s` (2 s + 5% of the limit).
    proven : callable, optional
        HiGHS MIP in a child (``hard_limit``): asked with the objective of the best plan found so far
        (with PuLP's constant); True stops the search there, that plan kept (a bound proved elsewhere, the
        caller's rule, shows it within the tolerance). The status is then judged by the caller with that
        bound; the run's own bound is the solver's.
    overtime_s, keep_going : float, callable, optional
        HiGHS MIP in a child (``hard_limit``): the search may run ``overtime_s`` seconds past ``time_limit_s``
        while ``keep_going(objective, values)`` holds for its best plan (objective with PuLP's constant, values
        in the order of ``prob.variables()``), asked at the limit and at each better plan after it
        (:class:`Overtime`).

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
        if (hard_limit and mip and time_limit_s is not None and hard_limit_available()
                and any(v.cat == pulp.LpInteger for v in prob.variables())):  # fmt: skip
            s.limit_at = t0 + time_limit_s
            s.kill_at = s.limit_at + (default_grace_s(time_limit_s) if grace_s is None else grace_s)
            if proven is not None:
                s.proven = lambda objective: proven(objective + constant)
            if keep_going is not None and overtime_s > 0:
                s.overtime_s = float(overtime_s)
                s.keep_going = lambda objective, values: keep_going(objective + constant, values)
        prob.solve(s)
        seconds = time.perf_counter() - t0
        h = s.outcome if s.outcome is not None else prob.solverModel
        if s.outcome is not None and s.outcome.proven_outside:
            log.info("HiGHS stopped after %.1f s: its best plan is proven by a bound from outside the search",
                     seconds)  # fmt: skip
        elif s.outcome is not None and s.outcome.stopped:
            log.info("HiGHS stopped at its wall-clock limit (%.1f s + %.1f s grace) after %.1f s; kept: %s",
                     time_limit_s, s.kill_at - s.limit_at, seconds, s.outcome.kept)  # fmt: skip
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
        name = solver_label("highs")
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


def solver_label(name: str) -> str:
    """Solver name and version, as :func:`planner.model.backend.run` reports it."""
    if name == "highs":
        import highspy

        return f"highs {highspy.Highs().version()}"
    return name
