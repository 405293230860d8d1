"""The least of the bottom lines (底线): what every plan pays on the ``limits`` group, proven by a MIP of it alone.

The objective's ``limits`` group (pupils over classroom capacity, over the school-size limit or beyond the travel
cap while a school within it exists; rotation policy, contiguity, a CV made worse) is left out of the gap that
is reported where no plan can avoid it (issue #17 item 1): the floor. The LP of the group alone
(:func:`planner.model.optimise.unavoidable_floor`) is one such floor, and a weak one where only whole projects
relieve the pupils: under the strict distance rule 确山's LP floor reads 150.1 M and the least any plan pays is
155.7 M (this module's MIP, proven in 35 s), so a plan 158.77 M against a bound of 158.51 M read "2.9% of what
the plan can change" where the plan can change 3.1 M, not 8.7 M, and the gap is 8.5%.

:func:`least_limits` solves the group alone as a MIP on the model's arrays (HiGHS) and returns its proven bound:
a floor at least as high as the LP's, and a bound on the whole objective (every other group is non-negative).
It runs in the bound child after the blocks of the bound by regions (:mod:`planner.model.lagrange`), on the core
the blocks leave idle, so the search for the plan loses no time to it; a MIP stopped at its limit still gives its
dual bound.

Measured and not kept (docs/performance.md): the same MIP as a first stage of the solve, its plan re-solved with
the group held at its least (a lexicographic start): on the 2× county it repairs the start heuristic's plan only
when the restricted MIP ran short of time (9.17e8 → 6.03e8 from scratch in three minutes; at 300 s the start's
own plan was 6.36e8, the held one 6.46e8), and on 确山 under the strict distance rule its 42 s left the full MIP
too little (171.6 M against 158.8 M).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pulp

from planner.model.context import ModelContext
from planner.model.regions import highs_lp, highs_solver

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


def limits_cost(ctx: ModelContext, variables: list[pulp.LpVariable]) -> tuple[np.ndarray, float]:
    """The ``limits`` group as a cost vector over ``variables`` (their order) and its constant."""
    pos = {id(v): i for i, v in enumerate(variables)}
    cost = np.zeros(len(variables))
    group = ctx.objective["limits"]
    for v, c in group.terms.items():
        if c and id(v) in pos:
            cost[pos[id(v)]] += c
    return cost, float(group.const)


def least_limits(arrays: dict[str, Any], cost: np.ndarray, constant: float, time_limit_s: float) -> LeastLimits | None:
    """The least of the ``limits`` group in the model ``arrays`` (:func:`planner.model.regions.model_arrays`).

    Parameters
    ----------
    arrays : dict
        The model as arrays (its own objective is not used).
    cost, constant : numpy.ndarray, float
        The group as a cost vector over the arrays' columns and its constant (:func:`limits_cost`).
    time_limit_s : float
        Wall-clock budget of HiGHS (a MIP stopped there still reports its proven bound).

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
    out = LeastLimits(bound + constant, value, proved, time.perf_counter() - t0)
    found_at = f", a plan at {value:.9g}" if value is not None else ""
    log.info("the least of the bottom lines: at least %.9g%s (%.1f s)", out.bound, " (proved)" if proved else found_at,
             out.seconds)  # fmt: skip
    return out
