"""The least of the bottom lines (底线): what every plan pays on the ``limits`` group, proven by a MIP of it alone.

The objective's ``limits`` group (pupils over classroom capacity, over the school-size limit or beyond the travel
cap while a school within it exists; rotation policy, contiguity, a CV made worse) is left out of the gap that
is reported where no plan can avoid it (issue #17 item 1): the floor. The LP of the group alone
(:func:`planner.model.optimise.unavoidable_floor`) is one such floor, and a weak one where only whole projects
relieve the pupils: under the strict distance rule 确山's LP floor reads 150.1 M and the least any plan pays is
155.7 M (this module's MIP, proven in 35 s), so a plan 158.77 M against a bound of 158.51 M read "2.9% of what
the plan can change" where the plan can change 3.1 M, not 8.7 M, and the gap is 8.5%.

:func:`least_limits` solves the group alone as a MIP on the model's arrays (HiGHS) and returns its proven bound:
a floor at least as high as the LP's, and a bound on the whole objective (every other group is non-negative);
a MIP stopped at its limit still gives its dual bound. It runs twice in a solve
(:func:`planner.model.optimise.optimise`), each time on a core the rest leaves idle: beside the start heuristic
in a child of its own (:func:`start_least_child`, read by :func:`collect_least` when the heuristic ends, with
every bound sent as it rises), and in the bound child after the blocks of the bound by regions
(:mod:`planner.model.lagrange`) unless the first proved it.

The child beside the start heuristic also writes each better plan it finds to memory it shares with the solve
(:class:`SharedPlan`). Where the start heuristic ran short of time with a plan over the bottom lines, the child's
plan is re-decided around its catchments and kept if it scores better
(:func:`planner.model.optimise.from_least_plan`; the 2× county's plan 8.87e8 → 6.52e8 at 120 s).

Where the least lies above the LP's floor, :func:`hold_least` puts the row ``limits >= least`` into the model
for the region sweeps (or the region heuristic) and :func:`release_least` takes it out before the full MIP:
valid for every plan, it hands their sub-MIPs what only this MIP proved (on 确山 under strict distance the
first sweep then takes the start's 539 M plan to 160 M in 8 s, against nothing found without it).

Measured and not kept (docs/performance.md): the same MIP as a first stage of the solve, its plan re-solved with
the group held at its least (a lexicographic start): on the 2× county it repairs the start heuristic's plan only
when the restricted MIP ran short of time (9.17e8 → 6.03e8 from scratch in three minutes; at 300 s the start's
own plan was 6.36e8, the held one 6.46e8), and on 确山 under the strict distance rule its 42 s left the full MIP
too little (171.6 M against 158.8 M); and the row left in for the full MIP, whose one measured run ended on a
plan that broke the primary equipment CV (true score 179.2 M against 158.67 M without it).
"""

from __future__ import annotations

import logging
import math
import mmap
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pulp

from planner.model.backend import ForkedChild, fork_child, on_mip_progress
from planner.model.context import ModelContext
from planner.model.regions import expression_vector, highs_lp, highs_solver, model_arrays

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeastLimits:
    """The MIP of the ``limits`` group alone.

    Attributes
    ----------
    bound : float
        Its proven lower bound: no plan pays less on the group (constant included).
    value : float or None
        The group at the best plan it found (None: none found in its time).
    proved : bool
        Whether the bound is the group's least (the MIP solved to optimality).
    seconds : float
        Wall time.
    """

    bound: float
    value: float | None
    proved: bool
    seconds: float


@dataclass(frozen=True)
class LeastPlan:
    """The best plan the MIP of the ``limits`` group found.

    Feasible for the whole model (the group's MIP has every row of it), and within the bottom lines at ``value``;
    every other group is left where the search happened to put it, so it is a start to re-decide, not a plan
    (:func:`planner.model.start.least_guided_start`).

    Attributes
    ----------
    value : float
        The ``limits`` group at this plan (constant included).
    x : numpy.ndarray
        The plan's value of every column of the model, in the order of the arrays it was solved on.
    """

    value: float
    x: np.ndarray


def limits_cost(ctx: ModelContext, variables: list[pulp.LpVariable]) -> tuple[np.ndarray, float]:
    """The ``limits`` group as a cost vector over ``variables`` (their order) and its constant."""
    return expression_vector(ctx.objective["limits"].expr(), variables)


def least_limits(
    arrays: dict[str, Any],
    cost: np.ndarray,
    constant: float,
    time_limit_s: float,
    report: Callable[[float], None] | None = None,
    on_plan: Callable[[LeastPlan], None] | None = None,
) -> LeastLimits | None:
    """The least of the ``limits`` group in the model ``arrays`` (:func:`planner.model.regions.model_arrays`).

    Parameters
    ----------
    arrays : dict
        The model as arrays (its own objective is not used).
    cost, constant : numpy.ndarray, float
        The group as a cost vector over the arrays' columns and its constant (:func:`limits_cost`).
    time_limit_s : float
        Wall-clock budget of HiGHS (a MIP stopped there still reports its proven bound).
    report : callable, optional
        Called with the proven bound (constant included) each time HiGHS raises it during the search, so that
        a reader in another process has it before the MIP ends.
    on_plan : callable, optional
        Called with each better plan HiGHS finds, and with the best one when the MIP ends (:class:`LeastPlan`).

    Returns
    -------
    LeastLimits or None
        None when HiGHS proves no finite bound in the time (or the group has no variable).
    """
    import highspy

    t0 = time.perf_counter()
    if not np.any(cost) or time_limit_s < 0.5:
        return None
    lp = highs_lp(arrays["a"], cost, arrays["lower"], arrays["upper"], arrays["row_lo"], arrays["row_up"],
                  arrays["is_int"])  # fmt: skip
    h = highs_solver(lp, time_limit_s)
    h.setOptionValue("mip_rel_gap", 1e-6)
    if report is not None:
        told = [-math.inf]

        def progress(event: Any) -> None:
            bound = float(event.data_out.mip_dual_bound)
            if math.isfinite(bound) and (
                not math.isfinite(told[0]) or bound + constant > told[0] + 1e-9 * abs(told[0])
            ):
                told[0] = bound + constant
                report(told[0])

        on_mip_progress(h, progress)
    if on_plan is not None:

        def found(event: Any) -> None:
            x = np.asarray(event.data_out.mip_solution, dtype=float)
            on_plan(LeastPlan(float(event.data_out.objective_function_value) + constant, x))

        h.cbMipImprovingSolution.subscribe(found)
    ran = h.run()
    status = h.getModelStatus()
    stopped = (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt)
    if ran == highspy.HighsStatus.kError or (status != highspy.HighsModelStatus.kOptimal and status not in stopped):
        log.info("the least of the bottom lines: HiGHS ended %s; no bound", status)
        return None
    info = h.getInfo()
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        return None
    proved = status == highspy.HighsModelStatus.kOptimal
    found = info.primal_solution_status == 2
    value = float(info.objective_function_value) + constant if found else None
    if on_plan is not None and value is not None:
        on_plan(LeastPlan(value, np.array(h.getSolution().col_value, dtype=float)))
    out = LeastLimits(bound + constant, value, proved, time.perf_counter() - t0)
    found_at = f", a plan at {value:.9g}" if value is not None else ""
    log.info("the least of the bottom lines: at least %.9g%s (%.1f s)", out.bound, " (proved)" if proved else found_at,
             out.seconds)  # fmt: skip
    return out


class SharedPlan:
    """The latest plan of a forked child, in memory it shares with its parent (an anonymous shared ``mmap``).

    The child writes each better plan (:meth:`write`), the parent reads the latest when it wants it (:meth:`read`).
    Not a pipe: a plan is every column's value (40,000 on the 2× county), and a child sending one at each
    improvement blocks mid-search until the parent reads, which it does only when the start heuristic ends
    (measured: the 2× county's least came at 81 s in the solve against 48 s alone). A sequence number odd while
    a write is under way, read before and after the copy, keeps a reader from taking half of two plans.
    """

    def __init__(self, n_cols: int) -> None:
        self.n_cols = n_cols
        self._buf = mmap.mmap(-1, 8 * (n_cols + 2))  # shared with a child forked after this
        self._a = np.frombuffer(self._buf, dtype=np.float64)

    def write(self, plan: LeastPlan) -> None:
        """Put ``plan`` in the shared memory (the child's side)."""
        if len(plan.x) != self.n_cols:
            return
        a = self._a
        a[0] += 1.0  # odd: being written
        a[1] = plan.value
        a[2:] = plan.x
        a[0] += 1.0

    def read(self) -> LeastPlan | None:
        """The latest plan written, or None (none yet, or a write kept it busy through every try)."""
        a = self._a
        for _ in range(200):
            seq = float(a[0])
            if seq == 0.0:
                return None
            if seq % 2.0 == 0.0:
                value, x = float(a[1]), a[2:].copy()
                if float(a[0]) == seq:
                    return LeastPlan(value, x)
            time.sleep(0.001)
        return None


@dataclass
class LeastChild(ForkedChild):
    """A forked child computing :func:`least_limits` of a model, started at ``started``
    (``time.perf_counter()``); read it with :func:`collect_least`.

    ``best`` is the highest bound read so far (a :class:`LeastLimits`, ``proved`` once the MIP ended at its
    optimum); ``plan`` the best plan read so far (a :class:`LeastPlan` over ``variables``, the model's columns
    when the child was started), which the child writes to ``shared``.
    """

    started: float
    variables: list[pulp.LpVariable]
    shared: SharedPlan
    best: LeastLimits | None = None
    plan: LeastPlan | None = None


def start_least_child(ctx: ModelContext, time_limit_s: float) -> LeastChild | None:
    """Start :func:`least_limits` of ``ctx``'s model in a forked child for at most ``time_limit_s``.

    The child sends every bound HiGHS proves as it rises (a float) and the outcome at the end (a
    :class:`LeastLimits`), and writes each better plan to the memory it shares with the parent
    (:class:`SharedPlan`, read with the rest by :func:`collect_least`). None where ``fork`` is missing, the
    time is too short, or the ``limits`` group is a constant (its least is known).
    """
    if not hasattr(os, "fork") or time_limit_s < 1.0 or ctx.objective["limits"].is_constant():
        return None
    t0 = time.perf_counter()
    # a copy: PuLP hands back its own list, which grows and is sorted again as variables are added (the CV cuts'
    # auxiliaries), and the plan's values are in the order of the columns as they are now
    variables = list(ctx.prob.variables())
    shared = SharedPlan(len(variables))

    def child(sender: Any, _parent: int) -> None:
        arrays = model_arrays(ctx.prob, variables)
        cost, constant = limits_cost(ctx, variables)
        out = least_limits(arrays, cost, constant, time_limit_s - (time.perf_counter() - t0), sender.send,
                           shared.write)  # fmt: skip
        if out is not None:
            sender.send(out)

    pid, receiver = fork_child(child)
    return LeastChild(pid, receiver, t0, variables, shared)


def collect_least(child: LeastChild, wait_s: float = 0.0) -> LeastLimits | None:
    """What ``child`` sent so far, waiting at most ``wait_s`` for its outcome; the child is stopped.

    Keeps the highest bound in ``child.best`` (a bound read from the search's progress is valid before the MIP
    ends: ``proved`` False, no plan value) and the best plan it wrote in ``child.plan`` (read before the child is
    stopped, so never half-written); returns ``child.best``.
    """
    deadline = time.perf_counter() + max(wait_s, 0.0)
    try:
        try:
            while child.best is None or not child.best.proved:
                if not child.receiver.poll(max(deadline - time.perf_counter(), 0.0)):
                    break
                message = child.receiver.recv()
                if isinstance(message, LeastLimits):
                    child.best = message if child.best is None or message.bound >= child.best.bound else child.best
                    break  # the child's last word
                if child.best is None or message > child.best.bound:
                    child.best = LeastLimits(float(message), None, False, time.perf_counter() - child.started)
        except (EOFError, OSError):  # the child has ended (or was stopped): what it sent is what there is
            pass
        plan = child.shared.read()
        if plan is not None and (child.plan is None or plan.value <= child.plan.value):
            child.plan = plan
    finally:
        child.stop()
    return child.best


def hold_least(ctx: ModelContext, least: LeastLimits) -> None:
    """Add the row ``limits >= least.bound`` (less a millionth, HiGHS's tolerance) to ``ctx``'s model.

    Valid for every plan of the model (the bound is proven, and rows added later only raise the group's
    least), so it cuts off no plan; it hands the LP relaxation what only the MIP proved. The solve holds it for
    the region sweeps and takes it out before the full MIP (:func:`release_least`; docs/model.md).
    """
    slack = 1e-6 * max(1.0, abs(least.bound))
    ctx.constrain(ctx.objective["limits"], ">=", least.bound - slack, "limits_least")


def release_least(ctx: ModelContext) -> None:
    """Take the row of :func:`hold_least` out of ``ctx``'s model again."""
    name = "limits_least"
    if name in ctx.prob.constraints:
        del ctx.prob.constraints[name]
        ctx.n_constraints -= 1
