"""The school rule's implied rows (``balance.add_pass_implications``) cut off fractional plans only.

Checked on the hand-made two-school instance: with the rows the MIP optimum is the same as without them
at every budget (they are valid inequalities) while the LP relaxation's bound never falls; a school no
project can bring to 85% of a standard is fixed failing, with the threshold computed here by hand; and a
school that can pass only with its expansion gets the row that says so.
"""

from __future__ import annotations

from dataclasses import replace

import pulp
import pytest
from model_instances import STANDARD, tiny_primary

from planner.model import balance
from planner.model.backend import run
from planner.model.build import build_model
from planner.model.inputs import ModelInputs
from planner.scenario import Scenario, scenario_from_dict

pytestmark = pytest.mark.xdist_group("tiny_models")


def _scenario() -> Scenario:
    levers = {"catchments": True, "new_schools": True, "expansions": True, "resources": True, "rotation": False,
              "hires": False}  # fmt: skip
    solver = {"name": "highs", "gap_rel": 0.0, "time_limit_s": 60, "cv_iterations": 0}
    return scenario_from_dict({"name": "tiny", "levers": levers, "solver": solver})


def _solve(inp: ModelInputs, *, implied: bool, mip: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[float, object]:
    with monkeypatch.context() as m:
        if not implied:
            m.setattr(balance, "add_pass_implications", lambda *a, **k: None)
        built = build_model(inp, _scenario())
    result = run(built.prob, "highs", mip=mip, time_limit_s=60, gap_rel=0.0, threads=1)
    assert result.status == "optimal", result
    return float(result.objective), built


def _captive(inp: ModelInputs, sports_area_a: float) -> ModelInputs:
    """A's three villages can go nowhere else (its 600 pupils are fixed) and A has ``sports_area_a`` m²."""
    arcs = inp.arcs[(inp.arcs["unit_id"] == "A") | ~inp.arcs["settlement_id"].isin(["v1", "v2", "v3"])]
    units = inp.units.copy()
    units.loc["A", "sports_area"] = sports_area_a
    return replace(inp, arcs=arcs.reset_index(drop=True), units=units)


@pytest.mark.parametrize("budget_yuan", [0.0, 5e6, 12e6, 30e6])
def test_same_optimum_stronger_bound(budget_yuan: float, monkeypatch: pytest.MonkeyPatch) -> None:
    for inp in (tiny_primary(capital_budget_yuan=budget_yuan), _captive(tiny_primary(budget_yuan), 4000.0)):
        with_rows, _ = _solve(inp, implied=True, mip=True, monkeypatch=monkeypatch)
        without, _ = _solve(inp, implied=False, mip=True, monkeypatch=monkeypatch)
        assert with_rows == pytest.approx(without, rel=1e-9, abs=1e-6)
        lp_with, _ = _solve(inp, implied=True, mip=False, monkeypatch=monkeypatch)
        lp_without, _ = _solve(inp, implied=False, mip=False, monkeypatch=monkeypatch)
        assert lp_with >= lp_without - 1e-6


def test_no_project_reaches_85_percent_fixes_the_school_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    # A keeps its 600 pupils; 85% of the sports standard is 0.85 × 7.5 × 600 = 3,825 m², A has 3,000 and
    # its only expansion adds no sports area: no plan passes A
    assert 0.85 * STANDARD["primary"]["sports_area"] * 600 == pytest.approx(3825.0)
    inp = _captive(tiny_primary(capital_budget_yuan=30e6), 3000.0)
    _, built = _solve(inp, implied=True, mip=True, monkeypatch=monkeypatch)
    fail = built.ctx.vars["fail"][("A", "primary")]
    assert fail.lowBound == 1
    assert fail.varValue == pytest.approx(1.0)
    # B can still pass: nothing of the kind is fixed there
    assert built.ctx.vars["fail"][("B", "primary")].lowBound == 0


def test_a_school_that_needs_its_expansion_gets_the_row(monkeypatch: pytest.MonkeyPatch) -> None:
    # A keeps its 600 pupils: floor area 2,400 m² against 4.5 × 600 = 2,700 (full) and 2,295 (85%), sports
    # area 4,000 against 4,500 and 3,825. Sports area can only be the missed indicator, so A passes only with
    # floor area in full, which takes the expansion EA (+1,000 m²): fail + miss_floor + expand_EA ≥ 1, and
    # since sports area is below the full standard whatever the plan, fail + miss_sports ≥ 1
    inp = _captive(tiny_primary(capital_budget_yuan=30e6), 4000.0)
    _, built = _solve(inp, implied=True, mip=False, monkeypatch=monkeypatch)
    rows = {name: c for name, c in built.prob.constraints.items() if name.startswith(("need_", "needmiss_"))}
    ctx = built.ctx
    y = ctx.vars["expand"]["EA"]
    fail = ctx.vars["fail"][("A", "primary")]
    by_terms = {frozenset(v.name for v in c.keys()): c for c in rows.values()}
    floor_row = by_terms[frozenset({fail.name, ctx.vars["miss"][("A", "primary", "floor_area")].name, y.name})]
    assert floor_row.sense == pulp.LpConstraintGE and -floor_row.constant == 1
    assert frozenset({fail.name, ctx.vars["miss"][("A", "primary", "sports_area")].name}) in by_terms
    # with the budget for EA, the optimum expands A and passes it
    _, solved = _solve(inp, implied=True, mip=True, monkeypatch=monkeypatch)
    assert solved.ctx.vars["expand"]["EA"].varValue == pytest.approx(1.0)
    assert solved.ctx.vars["fail"][("A", "primary")].varValue == pytest.approx(0.0)


def test_the_rows_close_the_lp_gap_of_a_lumpy_project(monkeypatch: pytest.MonkeyPatch) -> None:
    # 5 million yuan buys EA exactly: without the rows the LP passes A on a fraction of the school rule's
    # big-M (fail ≥ rule / (std · every pupil within reach)); with them its bound reaches the MIP optimum
    inp = _captive(tiny_primary(capital_budget_yuan=5e6), 4000.0)
    optimum, _ = _solve(inp, implied=True, mip=True, monkeypatch=monkeypatch)
    lp_with, _ = _solve(inp, implied=True, mip=False, monkeypatch=monkeypatch)
    lp_without, _ = _solve(inp, implied=False, mip=False, monkeypatch=monkeypatch)
    assert lp_without < 0.75 * optimum
    assert lp_with == pytest.approx(optimum, rel=1e-6)
