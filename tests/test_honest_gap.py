"""The gap is measured on what the plan can change (issue #17 item 1).

A plan's objective carries penalties no plan avoids (pupils the county cannot keep within the bottom
lines); measured on the whole objective, a 3% gap was 35% of what the plan could change. The floor
(:func:`planner.model.optimise.unavoidable_floor`) is left out of the denominator and stated apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from model_instances import tiny_primary

from planner.model.backend import SolverRun, on_changeable
from planner.model.build import BuiltModel
from planner.model.optimise import at_objective, at_true_cvs, optimise
from planner.model.polish import ctx_objective
from planner.scenario import Scenario, scenario_from_dict


def _run(objective: float, bound: float | None, status: str = "feasible") -> SolverRun:
    gap = None if bound is None else (objective - bound) / objective
    return SolverRun(status, objective, bound, gap, 1.0, "highs", True, 0.01)


def test_gap_on_what_can_change_by_hand() -> None:
    # 152 against a bound of 149, of which 146 no plan avoids: 3 / (152 - 146) = 50%, not 3 / 152 = 2%
    r = on_changeable(_run(152.0, 149.0), 146.0)
    assert r.gap == pytest.approx(0.5)
    assert (r.objective, r.bound, r.floor, r.status) == (152.0, 149.0, 146.0, "feasible")
    # a solver that stopped at 1% of the whole objective has not proven 1% of what can change
    assert on_changeable(_run(152.0, 150.6, status="optimal"), 146.0).status == "feasible"
    # within 1% of the changeable part: optimal
    r = on_changeable(_run(152.0, 151.95), 146.0)
    assert r.status == "optimal" and r.gap == pytest.approx(0.05 / 6)
    # a bound below the floor is raised to it (both are proven bounds)
    assert on_changeable(_run(152.0, 140.0), 146.0).bound == 146.0
    # no floor: nothing changes
    r0 = _run(152.0, 149.0)
    assert on_changeable(r0, None) is r0


def test_floor_is_the_penalty_no_plan_avoids() -> None:
    # A: 600 pupils and 10 classrooms (450 places at 45 a class); with no lever that adds places or moves
    # pupils, 150 pupils stay over capacity in every plan, at the bottom-line weight of 200,000 a pupil
    inp = tiny_primary(capital_budget_yuan=0.0)
    levers = {"catchments": False, "new_schools": False, "expansions": False, "resources": False, "rotation": False,
              "hires": False}  # fmt: skip
    sc = scenario_from_dict({"name": "t", "levers": levers, "solver": {"gap_rel": 0.01, "cv_iterations": 0}})
    sol = optimise(inp, sc)
    weight = sc.weights.limits
    assert sol.result.floor == pytest.approx(150 * weight)
    assert sol.result.objective >= sol.result.floor
    assert sol.result.status == "optimal" and sol.result.gap == pytest.approx(0.0, abs=1e-9)
    assert "on what the plan can change" in sol.result.describe()


def test_a_plan_is_judged_at_its_true_cvs() -> None:
    # the solver proved 100 against 99.5 with the cuts it had; the plan's true CVs cost 10 more: 110 against
    # 99.5 is a gap of 10.5 / 110, not proven
    r = at_true_cvs(_run(100.0, 99.5, status="optimal"), 110.0)
    assert (r.objective, r.bound, r.status) == (110.0, 99.5, "feasible")
    assert r.gap == pytest.approx(10.5 / 110.0)
    # the same true score: nothing changes
    assert at_true_cvs(_run(100.0, 99.5, status="optimal"), 100.0).status == "optimal"


def test_the_registered_start_is_a_plan_of_its_own() -> None:
    # the last resort when no solve reports a plan in time: today's catchments, nothing built, as a plan
    from model_instances import violations

    from planner.model.build import build_model
    from planner.model.start import registered_plan

    inp = tiny_primary()
    sc = scenario_from_dict({"name": "t"})
    built = build_model(inp, sc)
    r = registered_plan(built, sc.solver, 30.0)
    assert r.has_solution and r.objective is not None
    assert violations(built.prob) == []
    for (sid, stage, unit), x in built.ctx.vars["x"].items():
        today = inp.demand.set_index(["settlement_id", "stage"]).loc[(sid, stage), "current_unit"]
        assert round(x.varValue) == int(unit == today)
    assert all(round(v.varValue) == 0 for v in built.ctx.vars.get("build", {}).values())
    # what the plan's objective counts failing is what the inspectors would: today A (600 pupils on 2,400 m² of
    # floor and 4,000 m² of sports area) misses two of the seven (4.0 < 4.5 m² and 6.7 < 7.5 m² a pupil) and fails;
    # B meets all seven; the sites have no pupils. The do-nothing start sets every part failing: that is not it
    assert built.ctx.objective["failing"].value() == pytest.approx(sc.weights.failing_school * 1)
    # the bounds are given back: the integers are free again
    assert all(x.lowBound == 0 and x.upBound == 1 for x in built.ctx.vars["x"].values())


def test_the_registered_start_as_a_last_resort_is_not_called_proven(monkeypatch: pytest.MonkeyPatch) -> None:
    # no solve reports a plan in its time (a loaded machine): the registered start is evaluated with every decision
    # fixed, and that evaluation's "optimal" proves nothing about the county's plan (CI, strict distance, a 1 s
    # limit: the do-nothing plan was reported "optimal, gap 0")
    no_plan = SolverRun("no_solution", None, None, None, 0.0, "highs", True, 0.01)
    monkeypatch.setattr("planner.model.optimise.solve", lambda *a, **k: no_plan)
    sc = scenario_from_dict({"name": "t", "solver": {"start_heuristic": False, "time_limit_s": 30}})
    fallback = optimise(tiny_primary(), sc)
    monkeypatch.undo()
    best = optimise(tiny_primary(), sc)
    assert best.result.status == "optimal"
    assert fallback.result.has_solution and fallback.result.status == "feasible"
    assert fallback.result.objective > best.result.objective  # today's plan, nothing built: worse than the best
    # whatever bound it states is one: no higher than the proven optimum
    assert fallback.result.bound is None or fallback.result.bound <= best.result.bound + 1e-6


@contextmanager
def _values_kept(built: BuiltModel) -> Iterator[None]:
    """The module's shared plan, its values put back however the test inside ends (the fixture serves several)."""
    from planner.model.start import restore_values

    kept = {v.name: v.varValue for v in built.prob.variables()}
    try:
        yield
    finally:
        restore_values(built, kept)


@pytest.fixture(scope="module")
def strict_today() -> tuple[BuiltModel, SolverRun, int]:
    """确山 today under strict distance as the registered start evaluated, and the assessment's parts failing."""
    from pathlib import Path

    from planner.assess import assess_parts, school_parts
    from planner.loader import load_county
    from planner.model.build import build_model
    from planner.model.start import registered_plan
    from planner.plan.instance import model_inputs
    from planner.scenario import load_scenario
    from planner.standards import load_standards
    from planner.travel import plan_travel_times

    root = Path(__file__).resolve().parents[1]
    county = load_county(root / "geodata" / "queshan", check_network=False)
    sc = load_scenario(root / "scenarios" / "strict_distance.yaml")
    std = load_standards()
    travel = plan_travel_times(county, sc)
    built = build_model(model_inputs(county, sc, travel.long, travel.school_times, standards=std), sc)
    r = registered_plan(built, sc.solver, 60.0)
    today = assess_parts(school_parts(county, std), std).schools
    assessed = today[today["assessed"].astype(bool)]
    return built, r, int((~assessed["passes"].astype(bool)).sum())


def test_the_registered_start_counts_failing_what_the_assessment_does_on_the_bundled_county(
    strict_today: tuple[BuiltModel, SolverRun, int],
) -> None:
    # 确山 today under strict distance, as the registered start evaluated: HiGHS handed back school-rule binaries it
    # presolved away at their start value, so 38 parts that fail no rule were counted failing (190 against the
    # assessment's 152), and a run that fell back on this plan (a loaded CI machine) reported more failing parts in
    # its objective than its own tables
    built, r, failing = strict_today
    assert r.status == "optimal"
    assert failing > 100  # the bundled county today: most of its schools fail the rule
    assert built.ctx.objective["failing"].value() == pytest.approx(built.ctx.scenario.weights.failing_school * failing)
    # the values on the variables and the solver's objective agree: the plan's terms add up to what it reports
    assert ctx_objective(built) == pytest.approx(r.objective, rel=1e-9)


def test_the_school_rule_is_judged_by_arithmetic_as_the_solver_judges_it(
    strict_today: tuple[BuiltModel, SolverRun, int],
) -> None:
    # a solve stopped at its limit hands back its start's judgement: every part failing, no indicator missed (CI,
    # a 10 s limit on a slow machine: the objective counted 125 parts failing, the assessment 120 and 4 out of
    # scope). Judged again without a solve, the plan's objective is the exact evaluation's, part by part
    from planner.model.balance import settle_failing

    built, r, failing = strict_today
    ctx = built.ctx
    judged = {k: v.varValue for k, v in ctx.vars["fail"].items()}
    with _values_kept(built):
        for v in ctx.vars["fail"].values():
            v.varValue = 1.0
        for g in ("miss", "missP"):
            for v in ctx.vars.get(g, {}).values():
                v.varValue = 0.0
        for (unit, stage, k), v in ctx.vars["rule"].items():  # the whole standard short: nothing counted
            v.varValue = ctx.inp.std(stage, k) * ctx.exprs["rule_basis"][(unit, stage, k)].value()
        assert ctx_objective(built) > r.objective * 1.001
        settle_failing(ctx)
        assert sum(v.varValue for v in ctx.vars["fail"].values()) == failing
        assert ctx_objective(built) == pytest.approx(r.objective, rel=1e-9)
        # the solver's own judgement, part by part
        assert {k: v.varValue for k, v in ctx.vars["fail"].items()} == judged
        # and every row of the model still holds
        assert [n for n, c in built.prob.constraints.items() if not c.valid(1e-6)] == []


def test_a_plan_reported_with_its_right_objective_and_stale_judgements_keeps_that_objective(
    strict_today: tuple[BuiltModel, SolverRun, int],
) -> None:
    # HiGHS can report the right objective beside a presolved-away column left at its start value: settling the
    # values mends them, and the run's objective stays the plan's (not lowered by what the stale values over-counted)
    import time

    from planner.model.optimise import _polished

    built, r, failing = strict_today
    ctx = built.ctx
    with _values_kept(built):
        for v in ctx.vars["fail"].values():
            v.varValue = 1.0
        assert ctx_objective(built) > r.objective + 1e6
        out = _polished(built, ctx.scenario, r, deadline=time.perf_counter())
        assert out.objective == pytest.approx(r.objective, rel=1e-9)
        assert sum(v.varValue for v in ctx.vars["fail"].values()) == failing


def test_the_settle_after_the_limit_keeps_to_the_solve_s_end(
    strict_today: tuple[BuiltModel, SolverRun, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the settle after the polish had its own 5 s whatever the clock said, once per polish: a 2× county's 120 s
    # solve ran 148.7 s. Past the limit the polish does not run; the settle runs (it mends stale values) but gets
    # HiGHS's least time (1 s), and before the solve's end no more than what is left of it
    import time

    from planner.model import optimise as opt

    built, r, _ = strict_today
    limits: list[float] = []
    real = opt.polish_resources

    def spy(b: BuiltModel, settings: object, time_limit_s: float, free_groups: tuple[str, ...] | None = None):
        limits.append(time_limit_s)
        return real(b, settings, time_limit_s, free_groups)  # type: ignore[arg-type]

    monkeypatch.setattr(opt, "polish_resources", spy)
    with _values_kept(built):
        now = time.perf_counter()
        out = opt._polished(built, built.ctx.scenario, r, deadline=now - 10.0, stop=now - 5.0)
        assert limits == [1.0]  # the settle alone, at HiGHS's least
        assert out.objective == pytest.approx(r.objective, rel=1e-9)  # the plan is the evaluated one: nothing lost
        limits.clear()
        end = time.perf_counter() + 3.0
        opt._polished(built, built.ctx.scenario, r, deadline=end - 10.0, stop=end)
        assert len(limits) == 1 and 1.0 <= limits[0] <= 3.0
    assert opt.SETTLE_S > 3.0  # so that the 3 s above is the stop's doing


def test_the_stopping_rule_is_the_gap_on_what_the_plan_can_change() -> None:
    from planner.model.backend import changeable_gap

    # 确山's combined plan: 1% of its 2.36 M above the floor, not 1% of 151.56 M
    rel, absolute = changeable_gap(0.01, 151.56e6, 149.2e6)
    assert rel == 0.0 and absolute == pytest.approx(23_600.0)
    assert changeable_gap(0.01, 151.56e6, None) == (0.01, None)  # no floor known: the whole objective's
    assert changeable_gap(0.01, 149.2e6, 149.2e6) == (0.01, None)  # nothing above the floor


def test_the_bottom_lines_own_mip_proves_more_than_their_lp_under_strict_distance(
    strict_today: tuple[BuiltModel, SolverRun, int],
) -> None:
    # 确山 under strict distance: the LP of the bottom lines says every plan pays 150.1 M, where only whole projects
    # relieve the pupils over the limits; the MIP of the group alone proves 155.7 M (8.5 s into its search here),
    # and reports each bound as it rises, so the solve can read it while its own search goes on
    from planner.model.bottom_lines import least_limits, limits_cost
    from planner.model.optimise import unavoidable_floor
    from planner.model.regions import model_arrays

    built, _r, _failing = strict_today
    with _values_kept(built):
        floor = unavoidable_floor(built, built.ctx.scenario.solver, 30.0)
    variables = built.prob.variables()
    cost, constant = limits_cost(built.ctx, variables)
    told: list[float] = []
    least = least_limits(model_arrays(built.prob, variables), cost, constant, 40.0, told.append)
    assert floor is not None and least is not None
    assert least.bound >= floor + 5e6  # 155.7 M against 150.1 M: 28 pupils over the limits at 200,000 each
    assert told and told == sorted(told) and told[-1] <= least.bound * (1 + 1e-9)
    assert any(b > floor for b in told)  # a bound above the LP's was told before the search ended


def _spending_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full MIP that may spend nothing (school A of the tiny county stays 150 pupils over its places), and no
    polish after it that would mend that."""
    import planner.model.optimise as opt

    real_solve = opt.solve

    def spending_nothing(built: BuiltModel, settings: object, *args: object, **kwargs: object) -> SolverRun:
        ctx = built.ctx
        ctx.constrain(ctx.capital_yuan, "<=", 0.0, "spend_nothing")
        try:
            r = real_solve(built, settings, *args, **{**kwargs, "outside_bound": None})
        finally:
            del built.prob.constraints["spend_nothing"]
            ctx.n_constraints -= 1
        return at_objective(replace(r, bound=None), r.objective)  # its bound was the restricted model's

    monkeypatch.setattr("planner.model.optimise.solve", spending_nothing)
    monkeypatch.setattr("planner.model.optimise._polished", lambda built, scenario, result, *a, **k: result)


def _expansions_only(**solver: object) -> Scenario:
    levers = {"catchments": False, "new_schools": False, "expansions": True, "resources": False, "rotation": False,
              "hires": False}  # fmt: skip
    return scenario_from_dict({"name": "t", "levers": levers, "solver": {"time_limit_s": 30, "cv_iterations": 0,
                                                                         **solver}})  # fmt: skip


def test_the_plan_the_full_mip_starts_from_stays_when_every_later_plan_is_worse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a full MIP that ends on a worse plan than it started from (on 确山 under strict distance, once: a plan that
    # broke the primary equipment CV, 179.2 M on its true CVs, where the swept plan it started from scored 159.5 M),
    # with nothing after it to mend it (there, no CV round or repair step could)
    best = optimise(tiny_primary(), _expansions_only())
    _spending_nothing(monkeypatch)
    kept = optimise(tiny_primary(), _expansions_only())
    assert best.built.ctx.capital_yuan.value() > 0  # the best plan builds
    # the full MIP's plan spent nothing and scored worse; the plan it started from (the start heuristic's) is kept
    assert kept.built.ctx.capital_yuan.value() == pytest.approx(best.built.ctx.capital_yuan.value())
    assert kept.result.objective == pytest.approx(best.result.objective, rel=1e-9)
    assert kept.built.ctx.objective["limits"].value() == pytest.approx(best.built.ctx.objective["limits"].value())


def test_a_registered_start_that_no_solve_completed_is_no_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    # the do-nothing start as registered sets the decisions only: its slacks (pupils over the limits) stand at 0,
    # so scored as it is it reads better than the plans solved. On CI's loaded machine the start heuristic had no
    # time, the full MIP began from that start, and a first version of the candidate kept it: 190 parts counted
    # failing on 确山 where the assessment found 152, every judgement and slack still the start's
    sc = _expansions_only(start_heuristic=False)
    _spending_nothing(monkeypatch)
    sol = optimise(tiny_primary(), sc)
    # the plan handed back is the one solved: nothing built, A's 150 pupils over its places counted
    assert sol.built.ctx.capital_yuan.value() == pytest.approx(0.0, abs=1e-6)
    assert sol.built.ctx.objective["limits"].value() == pytest.approx(150 * sc.weights.limits, rel=1e-6)
    assert sol.result.objective == pytest.approx(ctx_objective(sol.built), rel=1e-9)
