"""What ``planner run`` writes into a run directory, and its one-screen summary.

Layout of a run directory::

    manifest.json            scenario, input hashes, versions, solver status and gap, timings
    plan/                    assignments, projects, teacher_flows, exchange_list, hires (CSV)
    plan/costs.csv           capital and recurrent cost against the budgets
    plan/unmet.csv           what stays unmet after the plan (from the assessment engine)
    before/, after/          self-assessment workbooks (自评表) and CSV copies
    access_*.csv             pupils by travel-time band (network report)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from planner.plan import Plan
from planner.report.selfassessment import write_self_assessment


def unmet_after(plan: Plan) -> pd.DataFrame:
    """Indicators still below standard after the plan, per school part (engine's numbers)."""
    ind = plan.after.indicators
    if "met" not in ind.columns:
        return ind.iloc[0:0]
    return ind[~ind["met"].astype(bool)].reset_index(drop=True)


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


def write_run(plan: Plan, out_dir: Path, access_tables: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write the plan, its costs, the before/after self-assessments and access tables."""
    files: list[Path] = []
    plan_dir = out_dir / "plan"
    files += plan.save(plan_dir)
    for name, df in (("costs", cost_table(plan)), ("unmet", unmet_after(plan))):
        path = plan_dir / f"{name}.csv"
        df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
        files.append(path)
    files += write_self_assessment(plan.before, out_dir / "before")
    files += write_self_assessment(plan.after, out_dir / "after")
    for name, df in (access_tables or {}).items():
        path = out_dir / f"access_{name}.csv"
        df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
        files.append(path)
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
        f"求解 solver: {plan.solver['solver']} — {plan.solver['description']} "
        f"(建模 build {plan.solver['build_s']:.1f}s, 求解 solve {plan.solver['solve_s']:.1f}s)",
        f"资本性支出 capital: {plan.costs['capital_yuan'] / 1e4:,.0f} 万元 / 预算 budget "
        f"{plan.costs['capital_budget_yuan'] / 1e4:,.0f} 万元;  经常性 recurrent: "
        f"{plan.costs['recurrent_yuan_per_year'] / 1e4:,.1f} / {plan.costs['recurrent_budget_yuan_per_year'] / 1e4:,.1f} 万元/年",  # noqa: E501
        f"项目 projects: {len(plan.projects)};  调整学区 pupils re-zoned: "
        f"{int(plan.assignments.loc[plan.assignments['changed'], 'pupils'].sum()):,};  "
        f"交流教师 teachers moved: {len(plan.exchange_list)};  招聘 hires: {int(plan.hires['count'].sum())}",
    ]
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
