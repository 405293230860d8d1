"""What ``planner run`` writes into a run directory, and its one-screen summary.

Layout of a run directory (docs/outputs.md)::

    manifest.json               scenario, input hashes, versions, solver status and gap, timings
    plan/                       assignments, projects, teacher_flows, exchange_list, hires, costs,
                                unmet, cost_to_meet, marginal_budget, feeder, ... (CSV)
    before/, after/             self-assessment workbooks (自评表) and CSV copies
    plan_workbook.xlsx          the plan workbook (自评表, 学区划分, 教师交流名单, 项目清单, 预算汇总, 未达标项)
    budget_justification.docx   预算编制说明 (and .md)
    gis/plan.gpkg               GeoPackage with QGIS styles (schools, sites, catchments, flows, townships)
    maps/                       static maps, PNG (200 dpi) and PDF
    map.html                    offline interactive map
    catchments/                 per-catchment read-out, settlements not sent to a nearest school,
                                public-notice pages (notice/) when the scenario asks
    projection/                 enrolment projection (scenarios with a horizon)
    access_*.csv                pupils by travel-time band (network report)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from planner.county import County
from planner.plan import Plan
from planner.plan.rezoning import format_rezoning
from planner.report.geopackage import write_geopackage
from planner.report.justification import scenario_zh, write_budget_justification
from planner.report.layers import plan_layers
from planner.report.maps import write_maps
from planner.report.marginal import cost_to_meet
from planner.report.notice import write_catchment_outputs
from planner.report.projection import write_projection_outputs
from planner.report.selfassessment import write_self_assessment
from planner.report.webmap import school_details_table, write_web_map
from planner.report.workbook import write_plan_workbook
from planner.rundir import write_csv
from planner.scenario import Scenario


def cost_table(plan: Plan) -> pd.DataFrame:
    """Costs against budgets, bilingual."""
    c = plan.costs
    return pd.DataFrame(
        [
            {"项目 item": "资本性支出 capital (yuan)", "金额 amount": c["capital_yuan"],
             "预算 budget": c["capital_budget_yuan"]},
            {"项目 item": "经常性支出 recurrent (yuan per year)", "金额 amount": c["recurrent_yuan_per_year"],
             "预算 budget": c["recurrent_budget_yuan_per_year"]},
        ]
    )  # fmt: skip


@dataclass(frozen=True)
class RunInputs:
    """What the hand-in documents need besides the plan.

    Attributes
    ----------
    county : County
        The county before the plan.
    scenario : Scenario
        The scenario the plan was made for.
    travel : DataFrame
        Settlement-to-school travel times (settlement_id, stage, unit_id, time_min, distance_m).
    marginal : DataFrame, optional
        The marginal re-solves (:func:`planner.plan.variants.marginal_budget`), if made.
    """

    county: County
    scenario: Scenario
    travel: pd.DataFrame
    marginal: pd.DataFrame | None = None


def write_run(
    plan: Plan,
    out_dir: Path,
    access_tables: dict[str, pd.DataFrame] | None = None,
    inputs: RunInputs | None = None,
) -> list[Path]:
    """Write everything a planner hands in for ``plan`` into ``out_dir``.

    Parameters
    ----------
    plan : Plan
    out_dir : Path
        The (temporary) run directory.
    access_tables : dict, optional
        Access report tables (pupils by travel-time band), written as ``access_<name>.csv``.
    inputs : RunInputs, optional
        County, scenario and travel times; without them only the tables and the
        self-assessments are written (no workbook, justification, maps or catchment read-outs).

    Returns
    -------
    list of Path
        Every file written.
    """
    files: list[Path] = []
    plan_dir = out_dir / "plan"
    files += plan.save(plan_dir)
    # plan/unmet.csv (every standard left unmet and what binds it) is one of the plan's own tables
    files.append(write_csv(cost_table(plan), plan_dir / "costs.csv"))
    files += write_self_assessment(plan.before, out_dir / "before")
    files += write_self_assessment(plan.after, out_dir / "after")
    for name, df in (access_tables or {}).items():
        files.append(write_csv(df, out_dir / f"access_{name}.csv"))
    if inputs is None:
        return files
    files += _write_documents(plan, out_dir, inputs)
    if inputs.scenario.report.maps:
        files += _write_maps(plan, out_dir, inputs)
    files += write_catchment_outputs(plan, inputs.county, inputs.travel, inputs.scenario, out_dir / "catchments")
    files += write_projection_outputs(plan, out_dir / "projection")
    return files


def _write_documents(plan: Plan, out_dir: Path, inputs: RunInputs) -> list[Path]:
    """Workbook, budget justification, cost to meet and the marginal table."""
    county = inputs.county
    to_meet = cost_to_meet(plan, county)
    files = [write_csv(to_meet, out_dir / "plan" / "cost_to_meet.csv")]
    if inputs.marginal is not None:
        files.append(write_csv(inputs.marginal, out_dir / "plan" / "marginal_budget.csv"))
    files.append(write_plan_workbook(plan, county, out_dir / "plan_workbook.xlsx", marginal=inputs.marginal,
                                     scenario=inputs.scenario))  # fmt: skip
    files += write_budget_justification(plan, county, out_dir, marginal=inputs.marginal, cost_to_meet=to_meet,
                                        scenario=inputs.scenario)  # fmt: skip
    return files


def _write_maps(plan: Plan, out_dir: Path, inputs: RunInputs) -> list[Path]:
    """GeoPackage (with QGIS styles), static maps and the offline HTML map, from one set of layers."""
    county = inputs.county
    layers = plan_layers(plan, county)
    gis = out_dir / "gis"
    gis.mkdir(parents=True, exist_ok=True)
    files = [write_geopackage(layers, gis / "plan.gpkg")]
    files += sorted(p for p in gis.rglob("*") if p.is_file() and p not in files)
    title = f"{county.name_zh}{scenario_zh(inputs.scenario, plan.scenario_name)}"
    note = "合成数据 synthetic data — not a real county's schools" if county.synthetic else ""
    files += write_maps(layers, out_dir / "maps", title_zh=title, synthetic=county.synthetic,
                        data_source=county.parameters.data_source)  # fmt: skip
    details = school_details_table(plan.before, plan.after)
    files.append(write_web_map(layers, out_dir / "map.html", title=title, school_details=details, note=note))
    return files


def _passing(assessment: Any) -> dict[str, str]:
    s = assessment.summary.set_index("stage")
    return {st: f"{int(s.loc[st, 'schools_passing'])}/{int(s.loc[st, 'schools_assessed'])}" for st in s.index}


def format_plan_summary(plan: Plan) -> str:
    """One screen: solver honesty, cost, schools passing and CVs before → after, moves."""
    b, a = _passing(plan.before), _passing(plan.after)
    bb = plan.before.balance.set_index(["stage", "indicator"])
    ab = plan.after.balance.set_index(["stage", "indicator"])
    lines = [
        f"方案 scenario: {plan.scenario_name}",
        f"求解 solver: {plan.solver.solver} — {plan.solver.description} "
        f"(建模 build {plan.solver.build_s:.1f}s, 求解 solve {plan.solver.solve_s:.1f}s)",
        f"资本性支出 capital: {plan.costs['capital_yuan'] / 1e4:,.0f} 万元 / 预算 budget "
        f"{plan.costs['capital_budget_yuan'] / 1e4:,.0f} 万元;  经常性 recurrent: "
        f"{plan.costs['recurrent_yuan_per_year'] / 1e4:,.1f} / {plan.costs['recurrent_budget_yuan_per_year'] / 1e4:,.1f} 万元/年",  # noqa: E501
        f"项目 projects: {len(plan.projects)};  调整学区 pupils re-zoned: "
        f"{int(plan.assignments.loc[plan.assignments['changed'], 'pupils'].sum()):,};  "
        f"交流教师 teachers moved: {len(plan.exchange_list)};  招聘 hires: {int(plan.hires['count'].sum())}",
    ]
    rezoning = plan.extra_tables.get("rezoning")
    if rezoning is not None and len(rezoning):
        lines.append("就近入学 re-zoned pupils and their trips (分钟 min):")
        lines += format_rezoning(rezoning)
    for stage, zh in (("primary", "小学"), ("junior", "初中")):
        if stage not in b:
            continue
        lines.append(f"{zh} {stage}: 达标学校 schools passing {b[stage]} → {a.get(stage, '-')}")
        over = [
            f"{k} {bb.loc[(stage, k), 'cv']:.2f}→{ab.loc[(stage, k), 'cv']:.2f}"
            for k in bb.loc[stage].index
            if (stage, k) in ab.index and not (bool(bb.loc[(stage, k), "met"]) and bool(ab.loc[(stage, k), "met"]))
        ]
        if over:
            lines.append(
                f"    差异系数 CV over {bb.loc[(stage, bb.loc[stage].index[0]), 'threshold']:.2f}: " + ", ".join(over)
            )
    verdicts = plan.after.summary["verdict_zh"].tolist()
    lines += ["规划后 after the plan:"] + [f"    {v}" for v in verdicts]
    if plan.distance_method != "network":
        lines.append("注意 note: 距离为直线距离（无路网） distances are straight-line (no road network given)")
    lines += [f"注意 note: {n}" for n in plan.notes]
    return "\n".join(lines)
