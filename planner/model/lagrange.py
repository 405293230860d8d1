"""A proven lower bound by regions: Lagrangian decomposition of the plan MILP (issue #17, docs/performance.md).

The LP relaxation is a weak bound where the plan is lumpy: a school passes or fails whole, a project is
built or not. The full MIP's search closes that gap slowly on the bundled county and not at all on an 8×
county, where only the region heuristic runs (:mod:`planner.model.regions`). This bound closes it where it
lies, school by school, and splits into pieces that each finish:

1. Every column goes to one **block**: the region of the unit its key names (:func:`column_blocks`: a
   catchment binary to the region of its school, a project, room, teacher flow or school-rule binary to
   its unit's), or a county-wide block for the rest (the CV slacks).
2. A row whose columns all lie in one block stays in it; every other row (the budgets, the CV cuts, the
   county-wide teacher pools, the catchment of a settlement between two regions) is **dualized** with a
   multiplier ``y`` of the right sign (the LP relaxation's row duals: the start heuristic's, or solved here).
3. For any such ``y``, every plan ``x`` has ``c·x ≥ c·x + y·(b − A_D·x) = y·b + Σ_blocks (c − A_Dᵀy)_B·x_B``,
   so ``L(y) = y·b + Σ_B min{(c − A_Dᵀy)_B·x_B : x_B within block B's own rows, bounds and integrality}``
   is a lower bound of the MILP. Each block's minimum is a small MIP (a region's schools, projects and
   catchments); any lower bound of it — the MIP's proven bound when its time runs out, at least its LP —
   keeps ``L`` valid.
4. At the LP's duals the blocks' LPs sum to the LP bound exactly (checked and logged), so ``L`` is never
   below it; the blocks' integrality (a school passes whole, a project is whole) is what it adds.
5. A dualized row still limits each block on its own (:func:`block_restrictions`): the capital budget
   ``Σ_all cost·x ≤ B`` implies ``Σ_B cost·x ≤ B − (the least the other blocks can spend)`` for every block
   ``B``. Every plan satisfies these rows, so each block's MIP keeps them beside the priced row and ``L``
   stays a bound. They are what a price alone cannot say: at the LP's price of capital the county seat's
   block alone buys 321 M yuan of a 300 M budget (确山, combined), and kept to 300 M it fails J004, as the plan
   does (docs/performance.md).

The blocks are solved smallest first, each with its share (by columns) of the time left, so the small ones
finish and hand unused time to the large ones. In :func:`planner.model.optimise.optimise` the bound runs in a
forked child alongside the full MIP or the region heuristic (:func:`start_region_bound`), reporting after
every block; the best bound the solve proves is reported, with the solver's real status rule. After its blocks
the child solves the bottom lines alone (:func:`planner.model.bottom_lines.least_limits`) with the time left and
sends their proven least too, the floor of what the plan can change where it lies above the LP's, unless the
solve's other child proved it beside the start heuristic.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pulp

from planner.model.backend import ForkedChild, fork_child, on_mip_progress
from planner.model.bottom_lines import LeastLimits, least_limits, limits_cost
from planner.model.context import ModelContext
from planner.model.regions import highs_lp, highs_solver, model_arrays, unit_of_key

log = logging.getLogger(__name__)

#: relative mismatch between the blocks' LPs and the LP bound above which the duals are not trusted
LP_CHECK_REL = 1e-6
#: share of the time left that the last blocks keep in hand for reporting (HiGHS overruns its limit)
END_MARGIN = 0.1
#: seconds between two reports of a block's bound while its MIP runs
PROGRESS_S = 1.0


@dataclass(frozen=True)
class BlockBound:
    """One block of the decomposition: its size and the bound of its subproblem at the multipliers."""

    block: int
    columns: int
    rows: int
    lp: float
    bound: float
    proved: bool
    seconds: float


@dataclass(frozen=True)
class RegionBound:
    """The Lagrangian bound ``constant + Σ blocks`` (each block at its MIP bound where solved, else its LP)."""

    bound: float
    lp_bound: float
    constant: float
    dualized_rows: int
    blocks: tuple[BlockBound, ...]
    complete: bool
    seconds: float
    #: dualized rows kept in a block as its own restriction (:func:`block_restrictions`), summed over blocks
    restricted_rows: int = 0
    #: the least of the bottom lines, proven after the blocks (:func:`planner.model.bottom_lines.least_limits`)
    least_limits: LeastLimits | None = None

    @property
    def solved_blocks(self) -> int:
        """Blocks whose MIP proved optimality or raised the block's bound above its LP within its time."""
        return sum(b.bound > b.lp or b.proved for b in self.blocks)


@dataclass
class BoundChild(ForkedChild):
    """A forked child computing :func:`region_bound`; read it with :func:`collect_region_bound`."""

    latest: RegionBound | None = None


def column_blocks(ctx: ModelContext, variables: list[pulp.LpVariable], regions: list[list[str]]) -> np.ndarray:
    """Block of every column: the index of its unit's region, or ``len(regions)`` (county-wide).

    A catchment binary ``x[settlement, stage, unit]`` goes with its school's region; any other variable
    with the region of the first unit (or expansion option's unit) its key names.
    """
    inp = ctx.inp
    unit_ids = {str(u) for u in inp.units.index}
    option_unit = {str(o): str(u) for o, u in zip(inp.expansions["option_id"], inp.expansions["unit_id"], strict=True)}
    region_of = {u: i for i, r in enumerate(regions) for u in r}
    pos = {v.name: i for i, v in enumerate(variables)}
    block = np.full(len(variables), len(regions), dtype=np.int64)
    for group, d in ctx.vars.items():
        for key, v in d.items():
            i = pos.get(v.name)
            if i is None:
                continue
            unit = str(key[2]) if group == "x" else unit_of_key(key, unit_ids, option_unit)
            if unit in region_of:
                block[i] = region_of[unit]
    return block


def row_blocks(a: Any, block: np.ndarray) -> np.ndarray:
    """Block of every row of CSR matrix ``a`` whose columns all lie in one block; -1 for a row across blocks
    (dualized) and -2 for an empty row."""
    coo = a.tocoo()
    lo = np.full(a.shape[0], np.iinfo(np.int64).max)
    hi = np.full(a.shape[0], -1)
    np.minimum.at(lo, coo.row, block[coo.col])
    np.maximum.at(hi, coo.row, block[coo.col])
    out = np.where(lo == hi, lo, -1)
    out[hi < 0] = -2
    return out


@dataclass(frozen=True)
class Restriction:
    """Dualized rows as one block's own rows: ``lo ≤ a·x_B ≤ up`` over the block's columns (CSR ``a``)."""

    a: Any
    lo: np.ndarray
    up: np.ndarray

    def below(self, a: Any, lo: np.ndarray, up: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
        """The block's own rows ``a``, ``lo``, ``up`` with these restricted rows appended under them."""
        from scipy import sparse

        return sparse.vstack([a, self.a]).tocsr(), np.concatenate([lo, self.lo]), np.concatenate([up, self.up])


def block_restrictions(
    a: Any,
    lower: np.ndarray,
    upper: np.ndarray,
    row_lo: np.ndarray,
    row_up: np.ndarray,
    block: np.ndarray,
    where: np.ndarray,
) -> dict[int, Restriction]:
    """Each dualized row restricted to each block it touches, where the restriction cuts that block.

    For a row ``lo ≤ Σ_j a_j·x_j ≤ up`` and a block ``B``, the other blocks' columns contribute at least
    ``m`` and at most ``M`` within their bounds, so every plan has ``lo − M ≤ Σ_{j∈B} a_j·x_j ≤ up − m``.
    The row is kept for ``B`` only where a side is finite and tighter than ``B``'s own columns' bounds
    already make it (a catchment row across two regions, ``Σ x = 1``, gives ``Σ_B x ≤ 1``; the capital
    budget gives ``Σ_B cost·x ≤ B`` minus what the other blocks must spend). The sides are relaxed by a
    round-off margin so that no plan is cut by floating-point error.

    Parameters
    ----------
    a : scipy.sparse.csr_matrix
        The constraint matrix; ``lower``/``upper`` its column bounds and ``row_lo``/``row_up`` its row sides.
    block : numpy.ndarray
        Block of every column (:func:`column_blocks`).
    where : numpy.ndarray
        Block of every row (:func:`row_blocks`); the rows at -1 (across blocks) are the ones restricted.

    Returns
    -------
    dict of int to Restriction
        The restricted rows of every block that has any, over that block's columns in ascending order.
    """
    from scipy import sparse

    dual_rows = np.flatnonzero(where == -1)
    if not len(dual_rows):
        return {}
    sub = a[dual_rows].tocoo()
    coef, col = sub.data, sub.col
    lo_c, up_c = lower[col], upper[col]
    with np.errstate(invalid="ignore"):
        at_lo, at_up = coef * lo_c, coef * up_c
    least = np.where(coef > 0, at_lo, at_up)  # each term's smallest and largest value within its bounds
    most = np.where(coef > 0, at_up, at_lo)
    n_blocks = int(block.max()) + 1
    pair = sub.row * n_blocks + block[col]
    pairs, inverse = np.unique(pair, return_inverse=True)

    def sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # finite part and count of infinite terms, per row and per (row, block)
        finite = np.isfinite(values)
        v = np.where(finite, values, 0.0)
        inf = (~finite).astype(np.int64)
        row_sum, row_inf = np.zeros(len(dual_rows)), np.zeros(len(dual_rows), dtype=np.int64)
        np.add.at(row_sum, sub.row, v)
        np.add.at(row_inf, sub.row, inf)
        pair_sum, pair_inf = np.zeros(len(pairs)), np.zeros(len(pairs), dtype=np.int64)
        np.add.at(pair_sum, inverse, v)
        np.add.at(pair_inf, inverse, inf)
        return row_sum, row_inf, pair_sum, pair_inf

    lsum, linf, own_lsum, own_linf = sums(least)
    msum, minf, own_msum, own_minf = sums(most)
    r = pairs // n_blocks
    k = pairs % n_blocks
    scale_up = np.abs(lsum[r]) + np.abs(own_lsum) + 1.0
    scale_lo = np.abs(msum[r]) + np.abs(own_msum) + 1.0
    others_least = np.where(linf[r] - own_linf == 0, lsum[r] - own_lsum, -math.inf)
    others_most = np.where(minf[r] - own_minf == 0, msum[r] - own_msum, math.inf)
    up = row_up[dual_rows][r] - others_least
    lo = row_lo[dual_rows][r] - others_most
    up = np.where(np.isfinite(up), up + 1e-9 * (scale_up + np.abs(up)), math.inf)
    lo = np.where(np.isfinite(lo), lo - 1e-9 * (scale_lo + np.abs(lo)), -math.inf)
    own_least = np.where(own_linf == 0, own_lsum, -math.inf)
    own_most = np.where(own_minf == 0, own_msum, math.inf)
    # a side cuts the block only where it is tighter than the block's own columns allow
    with np.errstate(invalid="ignore"):  # an infinite side is never kept, whatever the comparison reads
        cuts_up = np.isfinite(up) & (up + 1e-7 * (1.0 + np.abs(up)) < own_most)
        cuts_lo = np.isfinite(lo) & (lo - 1e-7 * (1.0 + np.abs(lo)) > own_least)
    keep = cuts_up | cuts_lo
    up = np.where(cuts_up, up, math.inf)
    lo = np.where(cuts_lo, lo, -math.inf)
    out: dict[int, Restriction] = {}
    a_rows = a[dual_rows].tocsc()
    for b in np.unique(k[keep]).tolist():
        sel = keep & (k == b)
        cols = np.flatnonzero(block == b)
        mat = sparse.csr_matrix(a_rows[:, cols])[r[sel]]
        out[b] = Restriction(mat, lo[sel], up[sel])
    return out


def signed_duals(duals: np.ndarray, row_lo: np.ndarray, row_up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers of the sign that keeps the Lagrangian a bound, and the side of each row they price.

    A row ``lo ≤ a·x ≤ up`` of a minimisation priced at ``y > 0`` pays ``y·(lo − a·x) ≤ 0``, at ``y < 0``
    ``y·(up − a·x) ≤ 0``: so ``y`` is kept only where that side is finite (a ``≥`` row keeps ``y ≥ 0``,
    a ``≤`` row ``y ≤ 0``); a solver's round-off of the wrong sign becomes 0. Returns ``(y, b)``.
    """
    y = np.nan_to_num(np.asarray(duals, dtype=float))
    y = np.where((y > 0) & ~np.isfinite(row_lo), 0.0, y)
    y = np.where((y < 0) & ~np.isfinite(row_up), 0.0, y)
    b = np.where(y > 0, row_lo, np.where(y < 0, row_up, 0.0))
    return y, np.nan_to_num(b, posinf=0.0, neginf=0.0)


def region_bound(
    arrays: dict[str, Any],
    block: np.ndarray,
    duals: np.ndarray | None,
    time_limit_s: float,
    report: Any | None = None,
    gap_abs: float = 0.0,
) -> RegionBound | None:
    """The Lagrangian bound of the model in ``arrays`` (:func:`planner.model.regions.model_arrays`).

    Parameters
    ----------
    arrays : dict
        The model as arrays.
    block : numpy.ndarray
        Block of every column (:func:`column_blocks`).
    duals : numpy.ndarray or None
        Row multipliers (the LP relaxation's row duals, HiGHS's sign convention); rows beyond its length
        (cuts added after the LP) get 0. None solves the LP relaxation here first.
    time_limit_s : float
        Wall-clock budget; blocks left without time keep their LP value (still a bound).
    report : callable, optional
        Called with the :class:`RegionBound` so far after the blocks' LPs and after every block's MIP.
    gap_abs : float
        Absolute gap at which a block's MIP may stop (its proven bound is what counts, so a block whose
        integrality changes little stops early and leaves the time to the others).

    Returns
    -------
    RegionBound or None
        None when the LP relaxation or a block's LP does not solve (no bound is claimed).
    """
    import highspy

    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    a = arrays["a"]
    cost, lower, upper, is_int = arrays["cost"], arrays["lower"], arrays["upper"], arrays["is_int"]
    row_lo, row_up = arrays["row_lo"], arrays["row_up"]
    n_rows = a.shape[0]
    lp_value: float | None = None
    if duals is None:
        h = highs_solver(highs_lp(a, cost, lower, upper, row_lo, row_up), deadline - time.perf_counter())
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            log.info("Lagrangian bound: the LP relaxation ended %s", h.getModelStatus())
            return None
        duals = np.array(h.getSolution().row_dual, dtype=float)
        lp_value = float(h.getInfo().objective_function_value) + arrays["offset"]
    y = np.zeros(n_rows)
    y[: min(len(duals), n_rows)] = duals[:n_rows]
    where = row_blocks(a, block)
    dualized = where == -1
    y = np.where(dualized, y, 0.0)
    y, b = signed_duals(y, row_lo, row_up)
    priced = cost - a.T @ y
    constant = float(y @ b) + float(arrays["offset"])
    a_csc = a.tocsc()
    # each block's columns, rows and their matrix, smallest block first
    parts: dict[int, tuple[np.ndarray, np.ndarray, Any]] = {}
    for k in np.unique(block).tolist():
        cols, rows = np.flatnonzero(block == k), np.flatnonzero(where == k)
        parts[k] = (cols, rows, a_csc[:, cols].tocsr()[rows])
    order = sorted(parts, key=lambda k: len(parts[k][0]))
    blocks: dict[int, BlockBound] = {}
    for k in order:
        cols, rows, sub = parts[k]
        h = highs_solver(highs_lp(sub, priced[cols], lower[cols], upper[cols], row_lo[rows], row_up[rows]),
                         max(deadline - time.perf_counter(), 1.0))  # fmt: skip
        t = time.perf_counter()
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            log.info("Lagrangian bound: block %d's LP ended %s; no bound", k, h.getModelStatus())
            return None
        value = float(h.getInfo().objective_function_value)
        blocks[k] = BlockBound(k, len(cols), len(rows), value, value, not is_int[cols].any(),
                               time.perf_counter() - t)  # fmt: skip
    lp_sum = constant + sum(bb.lp for bb in blocks.values())
    if lp_value is not None and abs(lp_sum - lp_value) > LP_CHECK_REL * max(1.0, abs(lp_value)):
        log.warning("Lagrangian bound: the blocks' LPs sum to %.9g, the LP relaxation is %.9g", lp_sum, lp_value)

    restricted = block_restrictions(a, lower, upper, row_lo, row_up, block, where)
    n_restricted = sum(len(r.lo) for r in restricted.values())

    def current(complete: bool) -> RegionBound:
        total = constant + sum(bb.bound for bb in blocks.values())
        return RegionBound(total, lp_sum, constant, int(dualized.sum()), tuple(blocks[k] for k in order), complete,
                           time.perf_counter() - t0, n_restricted)  # fmt: skip

    if report is not None:
        report(current(False))
    # the blocks whose bound can rise above their LP: integrality, or rows of their own kept from the dualized
    rising = [k for k in order if is_int[parts[k][0]].any() or k in restricted]
    left_cols = sum(len(parts[k][0]) for k in rising)
    for k in rising:
        cols, rows, sub = parts[k]
        lo_k, up_k = row_lo[rows], row_up[rows]
        if k in restricted:
            sub, lo_k, up_k = restricted[k].below(sub, lo_k, up_k)
        left = deadline - time.perf_counter()
        if left < 0.5:
            break
        # its share by columns, ending early enough that its bound is reported before the time is up
        # (HiGHS may overrun its limit in the root node's cut rounds)
        limit = min(max(left * len(cols) / max(left_cols, 1), min(left, 1.0)), left - max(1.0, END_MARGIN * left))
        left_cols -= len(cols)
        mip = bool(is_int[cols].any())
        lp = highs_lp(sub, priced[cols], lower[cols], upper[cols], lo_k, up_k, is_int[cols] if mip else None)
        h = highs_solver(lp, limit)
        h.setOptionValue("mip_rel_gap", 1e-6)
        h.setOptionValue("mip_abs_gap", max(float(gap_abs), 1e-6))
        if mip and report is not None:
            _report_progress(h, k, blocks, lambda: report(current(False)))
        t = time.perf_counter()
        h.run()
        info = h.getInfo()
        proved = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        mip_bound = float(info.mip_dual_bound) if mip else (float(info.objective_function_value) if proved
                                                            else -math.inf)  # fmt: skip
        best = max(mip_bound, blocks[k].bound) if math.isfinite(mip_bound) else blocks[k].bound
        blocks[k] = replace(blocks[k], bound=best, proved=proved or blocks[k].proved,
                            seconds=blocks[k].seconds + time.perf_counter() - t)  # fmt: skip
        if report is not None:
            report(current(False))
    result = current(True)
    if report is not None:
        report(result)
    log.info("Lagrangian bound %.9g (LP %.9g): %d blocks, %d rows dualized (%d kept in a block as its own), "
             "%d block MIPs proved, %.1f s", result.bound, result.lp_bound, len(blocks), result.dualized_rows,
             n_restricted, sum(bb.proved for bb in result.blocks), result.seconds)  # fmt: skip
    return result


def _report_progress(h: Any, k: int, blocks: dict[int, BlockBound], report: Callable[[], None]) -> None:
    """Raise block ``k``'s bound to the proven bound its MIP ``h`` reaches while it runs, and report it.

    At most every :data:`PROGRESS_S` seconds and only when it rose: the full MIP asks for the bound so far and
    stops once it proves its plan, so the largest block's progress counts before that block ends. HiGHS
    calls these callbacks for the MIP itself, not its sub-MIP heuristics (a block's MIP has no start to
    complete, see :func:`planner.model.backend.complete_start`), so each value is a bound of the block.
    """
    last = [time.perf_counter()]

    def on_progress(e: Any) -> None:
        b = float(e.data_out.mip_dual_bound)
        now = time.perf_counter()
        if math.isfinite(b) and b > blocks[k].bound and now - last[0] >= PROGRESS_S:
            blocks[k] = replace(blocks[k], bound=b)
            last[0] = now
            report()

    on_mip_progress(h, on_progress)


def model_duals(prob: pulp.LpProblem) -> np.ndarray | None:
    """The row duals PuLP left on ``prob``'s constraints after an LP (``pi``), in row order; None if any is missing."""
    pis = [c.pi for c in prob.constraints.values()]
    if not pis or any(p is None for p in pis):
        return None
    return np.array(pis, dtype=float)


def start_region_bound(
    ctx: ModelContext,
    regions: list[list[str]],
    duals: np.ndarray | None,
    time_limit_s: float,
    gap_abs: float = 0.0,
    with_least: bool = True,
) -> BoundChild | None:
    """Start :func:`region_bound` of ``ctx``'s model in a forked child (None where ``fork`` is missing).

    With ``with_least``, the child then solves the bottom lines alone with the time left and sends their least too.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - Windows
        return None
    t0 = time.perf_counter()

    def child(sender: Any, _parent: int) -> None:
        # the model as arrays here, in the child's copy of it: the parent goes on at once
        variables = ctx.prob.variables()
        arrays = model_arrays(ctx.prob, variables)
        block = column_blocks(ctx, variables, regions)
        result = region_bound(arrays, block, duals, time_limit_s - (time.perf_counter() - t0), sender.send, gap_abs)
        if not with_least:
            return
        # then, on the same core, the least of the bottom lines: the floor of what the plan can change
        cost, constant = limits_cost(ctx, variables)
        least = least_limits(arrays, cost, constant, time_limit_s - (time.perf_counter() - t0))
        if result is not None and least is not None:
            sender.send(replace(result, least_limits=least))

    pid, receiver = fork_child(child)
    return BoundChild(pid, receiver)


def latest_region_bound(child: BoundChild) -> RegionBound | None:
    """The latest bound ``child`` has reported so far, without waiting for more or stopping it."""
    try:
        while child.receiver.poll(0):
            child.latest = child.receiver.recv()
    except (EOFError, OSError):  # the child has ended (or was stopped): what it sent is what there is
        pass
    return child.latest


def collect_region_bound(child: BoundChild, wait_s: float = 0.0) -> RegionBound | None:
    """The latest bound ``child`` reported, waiting at most ``wait_s`` for it to finish; the child is stopped.

    Whatever it sent after its blocks completed (the least of the bottom lines) is read too.
    """
    deadline = time.perf_counter() + max(wait_s, 0.0)
    try:
        while child.latest is None or not child.latest.complete:
            if not child.receiver.poll(max(deadline - time.perf_counter(), 0.0)):
                break
            try:
                child.latest = child.receiver.recv()
            except (EOFError, OSError):
                break
        latest_region_bound(child)
    finally:
        child.stop()
    return child.latest
