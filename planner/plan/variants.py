"""Budget sweeps (``planner sweep``): re-solve a scenario over a range of capital budgets.

For each budget the plan is optimised and assessed by the engine; the curve shows how
the unmet standards and the CVs fall as money grows, and marks the smallest budget at
which the county passes resource allocation (every assessed school meets the 6-of-7
rule and every CV is within its threshold) — the number a finance bureau asks for first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from planner.county import County
from planner.errors import ScenarioError
from planner.plan.pipeline import plan_county
from planner.scenario import Scenario
from planner.standards import INDICATORS_BY_KEY

log = logging.getLogger(__name__)


def parse_budget_range(text: str) -> list[float]:
    """``FROM:TO:STEPS`` in yuan (``万`` suffix for units of 10,000 yuan) → the budgets.

    Examples
    --------
    >>> parse_budget_range("0:300000000:4")
    [0.0, 100000000.0, 200000000.0, 300000000.0]
    >>> parse_budget_range("0万:3000万:4")[-1]
    30000000.0
    """
    parts = text.split(":")
    if len(parts) != 3:
        raise ScenarioError(f"--budget {text!r}: expected FROM:TO:STEPS, e.g. 0:300000000:7 or 0万:30000万:7")

    def amount(s: str) -> float:
        s = s.strip()
        scale = 1e4 if s.endswith("万") else 1.0
        try:
            return float(s.rstrip("万")) * scale
        except ValueError:
            raise ScenarioError(f"--budget {text!r}: {s!r} is not an amount of yuan") from None

    lo, hi = amount(parts[0]), amount(parts[1])
    try:
        steps = int(parts[2])
    except ValueError:
        raise ScenarioError(f"--budget {text!r}: STEPS must be a whole number") from None
    if steps < 2 or lo < 0 or hi <= lo:
        raise ScenarioError(f"--budget {text!r}: need 0 ≤ FROM < TO and STEPS ≥ 2")
    return [float(v) for v in np.linspace(lo, hi, steps)]


def _pupil_equivalents(indicators: pd.DataFrame) -> float:
    per = indicators["indicator"].map(lambda k: INDICATORS_BY_KEY[k].per_pupils)
    return float((indicators["shortfall"] / (indicators["standard"] / per)).sum())


def run_sweep(
    county: County,
    scenario: Scenario,
    budgets: Sequence[float],
    travel: pd.DataFrame,
    school_times: pd.DataFrame,
    *,
    distance_method: str = "network",
    progress: Callable[[int, float], None] | None = None,
) -> pd.DataFrame:
    """Plan the scenario at each capital budget; one row per budget.

    Columns: ``capital_budget_yuan``, ``capital_yuan`` (spent), ``status``,
    ``unmet_standards`` (school-indicators below standard after the plan),
    ``shortfall_pupil_equivalents``, ``schools_failing``, ``passes`` (resource allocation
    passes in both stages), and ``cv_<stage>_<indicator>``.
    """
    rows = []
    for i, budget in enumerate(sorted(budgets)):
        sc = scenario.model_copy(
            update={"budget": scenario.budget.model_copy(update={"capital_yuan": float(budget), "scale": 1.0})}
        )
        plan = plan_county(county, sc, travel, school_times, distance_method=distance_method)
        ind = plan.after.indicators
        summary = plan.after.summary
        row = {
            "capital_budget_yuan": float(budget),
            "capital_yuan": plan.costs["capital_yuan"],
            "status": plan.solver["description"],
            "unmet_standards": int((~ind["met"].astype(bool)).sum()),
            "shortfall_pupil_equivalents": _pupil_equivalents(ind),
            "schools_failing": int(summary["schools_failing"].sum()),
            "passes": bool(summary["passes"].all()),
        }
        for r in plan.after.balance.itertuples(index=False):
            row[f"cv_{r.stage}_{r.indicator}"] = float(r.cv)
        rows.append(row)
        log.info("budget %.0f yuan: %s", budget, row["status"])
        if progress:
            progress(i, budget)
    return pd.DataFrame(rows)


def smallest_passing_budget(table: pd.DataFrame) -> float | None:
    """The smallest budget of the sweep at which the county passes, or None."""
    ok = table[table["passes"]]
    return float(ok["capital_budget_yuan"].min()) if len(ok) else None


def write_sweep(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write the sweep table (CSV, Excel) and its curve (PNG)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / "sweep.csv"
    table.to_csv(csv, index=False, encoding="utf-8-sig", lineterminator="\n")
    xlsx = out_dir / "sweep.xlsx"
    table.to_excel(xlsx, index=False, sheet_name="预算测算 budget sweep")
    png = out_dir / "sweep.png"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=150)
    x = table["capital_budget_yuan"] / 1e4
    ax1.plot(x, table["unmet_standards"], marker="o", color="#c00000")
    ax1.set_xlabel("Capital budget (10k yuan)")
    ax1.set_ylabel("School-indicators below standard")
    ax1.grid(alpha=0.3)
    for col in [c for c in table.columns if c.startswith("cv_")]:
        if table[col].max() > 0:
            ax2.plot(x, table[col], marker=".", label=col[3:])
    ax2.set_xlabel("Capital budget (10k yuan)")
    ax2.set_ylabel("Enrolment-weighted CV")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=6, ncol=2)
    best = smallest_passing_budget(table)
    if best is not None:
        for ax in (ax1, ax2):
            ax.axvline(best / 1e4, color="green", linestyle="--", label="smallest passing budget")
        ax1.set_title(f"County passes from {best / 1e4:,.0f} (10k yuan)", fontsize=10)
    else:
        ax1.set_title("County does not pass within the range swept", fontsize=10)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
    return [csv, xlsx, png]
