"""One planner run, as a function: what ``planner run`` does, callable by the CLI and by batches.

:func:`run_plan` loads and validates the county, builds travel times and the access report,
assesses the baseline, optimises the scenario, assesses the county after the plan, and writes
the run directory atomically (:mod:`planner.rundir`) with its ``manifest.json``. It returns
the texts the CLI prints and the figures a script wants, never printing itself.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from planner import __version__
from planner.scenario import Scenario


class StageBar(Protocol):
    """What :func:`run_plan` reports its stages to (a ``tqdm`` bar fits)."""

    def set_postfix_str(self, s: str) -> Any: ...

    def update(self, n: int = 1) -> Any: ...


#: Stages of a run, in order (a progress bar has this many steps).
STAGES = ("load", "network", "assess", "plan", "marginal", "report")


def run_plan(
    data_dir: Path,
    scenario: Scenario,
    out_dir: Path,
    *,
    scenario_file: Path | None = None,
    bar: StageBar | None = None,
    marginal: bool | None = None,
) -> dict[str, Any]:
    """Run the planner on one county and write the run directory ``out_dir`` atomically.

    Parameters
    ----------
    data_dir : Path
        County folder (data contract, docs/data.md).
    scenario : Scenario
        The scenario, time limit already applied.
    out_dir : Path
        Run directory to create; must not exist (checked before the slow work).
    scenario_file : Path, optional
        Recorded in the manifest.
    bar : StageBar, optional
        Told each stage's label before it starts and updated after it ends.
    marginal : bool, optional
        Re-solve at ±``report.marginal_delta`` budget for the budget justification; default:
        the scenario's ``report.marginal_budget`` (skipped anyway when no lever spends money).

    Returns
    -------
    dict
        ``run_dir``, ``status``, ``gap`` (on what the plan can change), ``objective``, ``bound``, ``costs``,
        ``rezoning`` (pupils re-zoned per stage and their trip changes,
        :func:`planner.plan.rezoning.rezoning_summary` records), ``timings_s``, and the texts
        ``county_summary``, ``access_text``, ``plan_summary`` (what ``planner run`` prints).

    Raises
    ------
    DataError, ScenarioError
        Bad input (one line naming file, row, field and rule).
    RunDirError
        ``out_dir`` exists already.
    """
    from planner.assess import assess
    from planner.loader import format_summary, load_county, summarise
    from planner.plan.pipeline import plan_county
    from planner.plan.rezoning import rezoning_records
    from planner.report.run import RunInputs, format_plan_summary, write_run
    from planner.rundir import atomic_run_dir, ensure_new, input_hashes, write_json
    from planner.scenario_check import validate_against_county

    target = Path(out_dir)
    ensure_new(target)  # before the slow work, not only at the end
    timings: dict[str, float] = {}

    def step(label: str) -> float:
        if bar is not None:
            bar.set_postfix_str(label)
        return time.perf_counter()

    def done() -> None:
        if bar is not None:
            bar.update()

    t0 = step("load 读取数据")
    county = load_county(data_dir)
    validate_against_county(scenario, county)
    timings["load_s"] = time.perf_counter() - t0
    done()

    t0 = step("network 路网与通行时间")
    travel = _travel(county, scenario)
    access_text, access_tables = _access(county, travel)
    timings["network_s"] = time.perf_counter() - t0
    done()

    t0 = step("assess 基线评估")
    before = assess(county)
    timings["assess_s"] = time.perf_counter() - t0
    done()

    t0 = step("plan 优化求解")
    table = None
    if (scenario.report.marginal_budget if marginal is None else marginal) and _spends_money(scenario):
        from planner.plan.variants import marginal_budget

        # the plan, then its re-solves at -δ (guided by the plan's catchments) and +δ (from the plan)
        marks = {0: "marginal 预算边际"}

        def chain_step(i: int) -> None:
            if i in marks:
                timings["plan_s"] = time.perf_counter() - t0
                done()
                step(marks[i])

        chain = marginal_budget(county, scenario, travel.long, travel.school_times,
                                delta=scenario.report.marginal_delta, distance_method=travel.method,
                                time_limit_s=scenario.report.marginal_time_limit_s, before=before,
                                progress=chain_step)  # fmt: skip
        plan, table = chain.plan, chain.table
        timings["marginal_s"] = time.perf_counter() - t0 - timings["plan_s"]
    else:
        plan = plan_county(county, scenario, travel.long, travel.school_times, distance_method=travel.method,
                           before=before)  # fmt: skip
        timings["plan_s"] = time.perf_counter() - t0
        done()
        step("marginal 预算边际")
        timings["marginal_s"] = 0.0
    done()

    t0 = step("report 写出结果")
    rezoning = rezoning_records(plan.extra_tables["rezoning"]) if "rezoning" in plan.extra_tables else []
    with atomic_run_dir(target) as tmp:
        inputs = RunInputs(county=county, scenario=scenario, travel=travel.long, marginal=table)
        files = write_run(plan, tmp, access_tables=access_tables, inputs=inputs)
        timings["report_s"] = time.perf_counter() - t0
        manifest = {
            "scenario": scenario.model_dump(mode="json"),
            "scenario_file": str(scenario_file) if scenario_file else None,
            "data": str(data_dir),
            "inputs_sha256": input_hashes(Path(data_dir)),
            "planner_version": __version__,
            "python": sys.version.split()[0],
            "solver": asdict(plan.solver),
            # what the objective is made of, by priority group (bottom lines, failing schools, CVs, …)
            "objective_terms": {k: round(float(v or 0.0), 3) for k, v in plan.objective_terms.items()},
            "status": plan.solver.description,
            "gap": plan.solver.gap,
            "costs": plan.costs,
            "distance_method": plan.distance_method,
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
            "files": sorted(str(f.relative_to(tmp)) for f in files),
            "notes": plan.notes,
            "rezoning": rezoning,
        }
        write_json(tmp / "manifest.json", manifest)
    done()
    return {
        "run_dir": str(target),
        "status": plan.solver.description,
        "gap": plan.solver.gap,
        "objective": plan.solver.objective,
        "bound": plan.solver.bound,
        "costs": plan.costs,
        "rezoning": rezoning,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "county_summary": format_summary(summarise(county)),
        "access_text": access_text,
        "plan_summary": format_plan_summary(plan),
    }


def _spends_money(scenario: Scenario) -> bool:
    """Whether a budget change can change the plan (some lever costs money, and the budget binds).

    The cheapest passing plan (``objective: min_cost_to_pass``) lifts the budgets: ±δ of them changes nothing.
    """
    lv = scenario.levers
    spends = lv.new_schools or lv.expansions or lv.resources or lv.hires or lv.rotation
    return spends and scenario.objective == "balance"


def _travel(county: Any, scenario: Any) -> Any:
    """Travel times for the plan (network, or straight line when the county has no roads)."""
    from planner.travel import plan_travel_times

    return plan_travel_times(county, scenario)


def _access(county: Any, travel: Any) -> tuple[str, dict[str, Any]]:
    """The access report (pupils by travel-time band) and its tables."""
    from planner.access import access_summary, format_access_summary

    report = access_summary(county, travel.travel_times)
    return format_access_summary(report), report.tables(zh=True)
