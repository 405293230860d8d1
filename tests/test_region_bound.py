"""The Lagrangian bound by regions (planner/model/lagrange.py) on the tiny county, with the real solver.

Checked as an operations-research reviewer would: at the LP's duals the blocks' LPs add up to the LP
relaxation's value (the sign conventions are right); the bound lies between the LP bound and the MIP's
proven optimum at every budget; it stays below the optimum for any multipliers of the right sign, also
ones no solver produced; every catchment binary sits in its school's region; and ``optimise`` reports it
(a bound no higher than its plan) when it runs, and not when switched off.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pulp
import pytest
from tiny_county import straight_line_travel, write_tiny_county

from planner.loader import load_county
from planner.model import lagrange
from planner.model.backend import run
from planner.model.build import build_model
from planner.model.optimise import optimise
from planner.model.regions import model_arrays, partition_units
from planner.plan.instance import model_inputs
from planner.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("tiny_models")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    county = load_county(write_tiny_county(tmp_path_factory.mktemp("lag") / "c"), check_network=False)
    travel, school_times = straight_line_travel(county)
    sc = load_scenario(ROOT / "scenarios" / "combined.yaml")
    sc = sc.model_copy(update={"solver": sc.solver.model_copy(update={"gap_rel": 0.0, "cv_iterations": 0})})
    return sc, model_inputs(county, sc, travel, school_times)


def _lp_and_optimum(inp, sc: Scenario):
    built = build_model(inp, sc)
    lp = run(built.prob, "highs", mip=False, time_limit_s=60)
    assert lp.status == "optimal"
    duals = lagrange.model_duals(built.prob)
    assert duals is not None and len(duals) == len(built.prob.constraints)
    mip = run(build_model(inp, sc).prob, "highs", time_limit_s=60, gap_rel=0.0, gap_abs=1e-9)
    assert mip.status == "optimal"
    return built, float(lp.objective), float(mip.objective), duals


def _bound(built, regions, duals) -> lagrange.RegionBound:
    variables = built.prob.variables()
    block = lagrange.column_blocks(built.ctx, variables, regions)
    result = lagrange.region_bound(model_arrays(built.prob, variables), block, duals, 60.0)
    assert result is not None and result.complete
    return result


@pytest.mark.parametrize("budget_scale", [0.0, 0.3, 1.0])
def test_between_the_lp_bound_and_the_optimum(tiny, budget_scale: float) -> None:
    sc, inp = tiny
    inp = replace(inp, capital_budget_yuan=inp.capital_budget_yuan * budget_scale)
    built, lp, optimum, duals = _lp_and_optimum(inp, sc)
    regions = partition_units(inp, 2)
    assert len(regions) >= 2
    result = _bound(built, regions, duals)
    assert result.dualized_rows > 0  # the budgets at least
    # at the LP's duals the blocks' LPs sum to the LP relaxation (the multipliers' signs are the solver's)
    assert result.lp_bound == pytest.approx(lp, rel=1e-7, abs=1e-6)
    tol = 1e-7 * max(1.0, abs(optimum))
    assert lp - tol <= result.bound <= optimum + tol
    assert all(b.bound >= b.lp - 1e-9 * max(1.0, abs(b.lp)) for b in result.blocks)
    if budget_scale > 0:
        # a school passes whole within its region: the bound closes part of the LP's gap (about 4 of 12 here)
        assert result.bound - lp > 0.2 * (optimum - lp) > 0
    # solving the LP itself (no duals handed in) gives the same decomposition
    again = _bound(built, regions, None)
    assert again.lp_bound == pytest.approx(lp, rel=1e-7, abs=1e-6)
    assert again.bound <= optimum + tol


def test_any_multipliers_of_the_right_sign_give_a_bound(tiny) -> None:
    sc, inp = tiny
    built, _lp, optimum, duals = _lp_and_optimum(inp, sc)
    regions = partition_units(inp, 2)
    rng = np.random.default_rng(7)
    scale = float(np.abs(duals).max())
    for _ in range(4):
        # random multipliers, clipped to the right sign by the module: still a lower bound of the optimum
        noise = rng.normal(0.0, scale, size=len(duals))
        result = _bound(built, regions, duals + noise)
        assert result.bound <= optimum + 1e-7 * max(1.0, abs(optimum))
    zero = _bound(built, regions, np.zeros_like(duals))
    assert zero.bound <= optimum + 1e-7 * max(1.0, abs(optimum))


def test_signed_duals_keep_the_finite_side() -> None:
    lo = np.array([0.0, -np.inf, 1.0, 2.0])
    up = np.array([np.inf, 5.0, 1.0, 3.0])
    y, b = lagrange.signed_duals(np.array([-1.0, 2.0, -3.0, 4.0]), lo, up)
    # a ≥ row priced negative and a ≤ row priced positive are round-off: dropped
    assert y.tolist() == [0.0, 0.0, -3.0, 4.0]
    assert b.tolist() == [0.0, 0.0, 1.0, 2.0]


def test_catchment_binaries_sit_in_their_schools_region(tiny) -> None:
    sc, inp = tiny
    built = build_model(inp, sc)
    regions = partition_units(inp, 2)
    variables = built.prob.variables()
    block = lagrange.column_blocks(built.ctx, variables, regions)
    pos = {v.name: i for i, v in enumerate(variables)}
    region_of = {u: i for i, r in enumerate(regions) for u in r}
    for (_sid, _stage, unit), v in built.ctx.vars["x"].items():
        assert block[pos[v.name]] == region_of[unit]
    for (unit, _stage), v in built.ctx.vars["fail"].items():
        assert block[pos[v.name]] == region_of[unit]
    ints = [i for i, v in enumerate(variables) if v.cat == pulp.LpInteger]
    assert set(block[ints].tolist()) <= set(range(len(regions) + 1))


def test_optimise_reports_it(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    sc, inp = tiny
    from planner.model import regions as regions_module

    monkeypatch.setattr(regions_module, "REGION_UNITS", 2)
    monkeypatch.setattr("planner.model.optimise.partition_units", lambda i: regions_module.partition_units(i, 2))
    sc = sc.model_copy(update={"solver": sc.solver.model_copy(update={"time_limit_s": 30.0, "gap_rel": 0.01})})
    sol = optimise(inp, sc)
    entry = [d for d in sol.rounds if d.get("phase") == "region_bound"]
    assert len(entry) == 1
    r = sol.result
    assert r.bound is not None and r.objective is not None
    assert entry[0]["bound"] <= r.bound + 1e-9 * abs(r.bound)  # the best bound is the one reported
    assert r.bound <= r.objective + 1e-7 * abs(r.objective)
    # each CV round states its status by the final rule: optimal only within the tolerance on what can change
    for d in (d for d in sol.rounds if "phase" not in d):
        assert d["gap"] is not None and (d["status"] == "optimal") == (d["gap"] <= 0.01 + 1e-7)
    off = sc.model_copy(update={"solver": sc.solver.model_copy(update={"region_bound": False})})
    assert not [d for d in optimise(inp, off).rounds if d.get("phase") == "region_bound"]


def test_a_child_left_unread_is_stopped(tiny) -> None:
    import gc
    import os

    sc, inp = tiny
    built = build_model(inp, sc)
    child = lagrange.start_region_bound(built.ctx, partition_units(inp, 2), None, 60.0)
    assert child is not None
    pid = child.pid
    del child  # a solve that raised before reading it
    gc.collect()
    with pytest.raises(ChildProcessError):  # killed and reaped already
        os.waitpid(pid, os.WNOHANG)


def test_block_restrictions_by_hand() -> None:
    from scipy import sparse

    # columns 0, 1 in block 0, column 2 in block 1, column 3 (continuous, unbounded above) in block 1;
    # all binaries except column 3
    a = sparse.csr_matrix(np.array([
        [3.0, 2.0, 4.0, 0.0],   # ≥ 6 across blocks: block 0 needs 3x0 + 2x1 ≥ 2, block 1 4x2 ≥ 1
        [1.0, 1.0, 1.0, 0.0],   # = 1 across blocks: block 0 gets x0 + x1 ≤ 1; block 1's x2 ≤ 1 is its bound
        [5.0, 0.0, 0.0, 1.0],   # ≤ 4: column 3 cannot go below 0, so block 0 gets 5x0 ≤ 4, and block 1
                                # x3 ≤ 4 (unbounded above on its own)
        [1.0, 1.0, 0.0, 0.0],   # within block 0: not dualized, never restricted
    ]))  # fmt: skip
    lower = np.zeros(4)
    upper = np.array([1.0, 1.0, 1.0, np.inf])
    row_lo = np.array([6.0, 1.0, -np.inf, -np.inf])
    row_up = np.array([np.inf, 1.0, 4.0, 1.0])
    block = np.array([0, 0, 1, 1])
    where = lagrange.row_blocks(a, block)
    assert where.tolist() == [-1, -1, -1, 0]
    out = lagrange.block_restrictions(a, lower, upper, row_lo, row_up, block, where)
    zero, one = out[0], out[1]
    # block 0: rows 0, 1 and 2, over its columns (0, 1)
    assert zero.a.toarray().tolist() == [[3.0, 2.0], [1.0, 1.0], [5.0, 0.0]]
    assert zero.lo[0] == pytest.approx(2.0) and zero.lo[0] < 2.0 and np.isinf(zero.up[0])
    assert np.isinf(zero.lo[1]) and zero.up[1] == pytest.approx(1.0) and zero.up[1] > 1.0
    assert np.isinf(zero.lo[2]) and zero.up[2] == pytest.approx(4.0)
    # block 1: rows 0 and 2 (row 1 would give x2 ≤ 1, its bound already)
    assert one.a.toarray().tolist() == [[4.0, 0.0], [0.0, 1.0]]
    assert one.lo[0] == pytest.approx(1.0) and np.isinf(one.up[0])
    assert np.isinf(one.lo[1]) and one.up[1] == pytest.approx(4.0)
    # with x3 free below, block 0 could no longer be restricted by row 2
    free = lagrange.block_restrictions(a, np.array([0.0, 0.0, 0.0, -np.inf]), upper, row_lo, row_up, block, where)
    assert free[0].a.toarray().tolist() == [[3.0, 2.0], [1.0, 1.0]]


def test_block_restrictions_hold_at_the_optimum(tiny) -> None:
    sc, inp = tiny
    inp = replace(inp, capital_budget_yuan=inp.capital_budget_yuan * 0.3)
    built = build_model(inp, sc)
    mip = run(built.prob, "highs", time_limit_s=60, gap_rel=0.0, gap_abs=1e-9)
    assert mip.status == "optimal"
    variables = built.prob.variables()
    arrays = model_arrays(built.prob, variables)
    block = lagrange.column_blocks(built.ctx, variables, partition_units(inp, 2))
    where = lagrange.row_blocks(arrays["a"], block)
    out = lagrange.block_restrictions(arrays["a"], arrays["lower"], arrays["upper"], arrays["row_lo"],
                                      arrays["row_up"], block, where)  # fmt: skip
    assert out  # the capital budget at least restricts the blocks that buy
    x = np.array([v.varValue or 0.0 for v in variables])
    for k, own in out.items():
        activity = own.a @ x[np.flatnonzero(block == k)]
        assert np.all(activity >= own.lo - 1e-6) and np.all(activity <= own.up + 1e-6)


def test_the_budget_kept_in_each_block_raises_the_bound(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    sc, inp = tiny
    # no money at all, and no prices: the blocks alone would each buy what they like
    inp = replace(inp, capital_budget_yuan=0.0)
    built, _lp, optimum, duals = _lp_and_optimum(inp, sc)
    regions = partition_units(inp, 2)
    zero = np.zeros_like(duals)
    kept = _bound(built, regions, zero)
    assert kept.restricted_rows > 0
    monkeypatch.setattr(lagrange, "block_restrictions", lambda *args: {})
    priced_only = _bound(built, regions, zero)
    assert priced_only.restricted_rows == 0
    tol = 1e-7 * max(1.0, abs(optimum))
    assert priced_only.bound < kept.bound <= optimum + tol


def test_the_bound_so_far_is_read_without_stopping_the_child(tiny) -> None:
    # the full MIP asks for the bound so far while it searches (it stops once that proves its plan)
    import time

    sc, inp = tiny
    built = build_model(inp, sc)
    child = lagrange.start_region_bound(built.ctx, partition_units(inp, 2), None, 30.0)
    assert child is not None
    seen: list[float] = []
    until = time.perf_counter() + 60.0
    latest = None
    while time.perf_counter() < until:
        latest = lagrange.latest_region_bound(child)
        if latest is not None:
            seen.append(latest.bound)
            if latest.complete:
                break
        time.sleep(0.02)
    assert latest is not None and latest.complete
    assert seen == sorted(seen)  # blocks only raise it: each report is at least the one before
    # after its blocks the child may still send the least of the bottom lines: the same bound, that added
    collected = lagrange.collect_region_bound(child)
    assert collected is not None and collected.bound == latest.bound and collected.blocks == latest.blocks
    assert lagrange.latest_region_bound(child) is collected  # read after the child is stopped: what it sent


def test_a_block_s_bound_is_reported_while_its_mip_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # the largest block's MIP may run for most of the solve: its proven bound so far is reported as it rises
    # (at most every PROGRESS_S), so the full MIP can stop on it before that block ends
    from types import SimpleNamespace

    subscribed: list = []
    options: dict[str, object] = {}
    h = SimpleNamespace(cbMipLogging=SimpleNamespace(subscribe=subscribed.append),
                        cbMipInterrupt=SimpleNamespace(subscribe=subscribed.append),
                        setOptionValue=options.__setitem__,
                        getOptionValue=lambda name: options.get(name, False))  # a quiet solver  # fmt: skip
    blocks = {3: lagrange.BlockBound(3, 10, 5, lp=100.0, bound=100.0, proved=False, seconds=0.0)}
    reports: list[float] = []
    clock = [1000.0]
    monkeypatch.setattr(lagrange.time, "perf_counter", lambda: clock[0])
    lagrange._report_progress(h, 3, blocks, lambda: reports.append(blocks[3].bound))
    assert len(subscribed) == 2 and options["output_flag"] is True and options["log_to_console"] is False
    on = subscribed[0]

    def event(bound: float) -> SimpleNamespace:
        return SimpleNamespace(data_out=SimpleNamespace(mip_dual_bound=bound))

    clock[0] += 0.5
    on(event(120.0))  # too soon after the start: not yet
    assert reports == [] and blocks[3].bound == 100.0
    clock[0] += lagrange.PROGRESS_S
    on(event(-np.inf))  # no bound yet (root node)
    on(event(90.0))  # below what the block already has: never lowers it
    on(event(125.0))
    assert reports == [125.0] and blocks[3].bound == 125.0
    on(event(130.0))  # within PROGRESS_S of the last report
    clock[0] += lagrange.PROGRESS_S
    on(event(131.0))
    assert reports == [125.0, 131.0] and not blocks[3].proved
