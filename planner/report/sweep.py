"""The budget sweep's table (CSV, Excel) and curve (PNG) (``planner sweep``).

The sweep itself — the plan at each budget — is :func:`planner.plan.variants.run_sweep`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from planner.plan.variants import smallest_passing_budget
from planner.report.cell_text import frames_to_xlsx

#: the cheapest passing plan's figures, Chinese first (:func:`planner.plan.variants.cheapest_summary` keys)
CHEAPEST_LABELS: dict[str, tuple[str, str]] = {
    "no_money_fix_parts": ("无论投入多少都无法达标的学校学段", "school parts no money can fix"),
    "no_money_fix_binds": ("制约因素", "what binds them"),
    "no_money_fix_cvs": ("无法达标的差异系数", "CVs no money can bring within threshold"),
    "capital_yuan": ("其余全部达标的最低资本性投入（元）", "cheapest capital passing the rest (yuan)"),
    "recurrent_yuan_per_year": ("其余全部达标的经常性经费（元/年）", "its recurrent cost (yuan/yr)"),
    "schools_passing": ("达标学校学段", "school parts passing"),
    "passes": ("全县资源配置达标", "county passes resource allocation"),
    "smallest_passing_budget_yuan": ("最小达标资本预算（元）", "smallest passing capital budget (yuan)"),
    "solver_description": ("求解状态", "solver status"),
}

#: headers of the no-money-can-fix table, Chinese first
NO_MONEY_HEADERS: dict[str, str] = {
    "source": "类型 source", "school_id": "学校代码 school_id", "name_zh": "学校名称 name", "stage": "学段 stage",
    "item": "指标 item", "item_zh": "项目 item (zh)", "missed_zh": "未达标指标 indicators below standard",
    "binds": "制约因素代码 binds", "binds_zh": "制约因素 what binds", "detail_zh": "说明 detail",
}  # fmt: skip


def cheapest_table(summary: dict[str, Any]) -> pd.DataFrame:
    """The cheapest passing plan as a two-language list: what no money can fix first, then the cost."""
    rows = [{"项目": zh, "item": en, "数值 value": summary.get(key)} for key, (zh, en) in CHEAPEST_LABELS.items()]
    return pd.DataFrame(rows)


def write_sweep(
    table: pd.DataFrame,
    out_dir: Path,
    cheapest: dict[str, Any] | None = None,
    no_money_fix: pd.DataFrame | None = None,
) -> list[Path]:
    """Write the sweep table (CSV, Excel) and its curve (PNG).

    With ``cheapest`` (:func:`planner.plan.variants.cheapest_summary`) and ``no_money_fix`` (the cheapest
    passing plan's table), also ``cheapest.csv`` and ``no_money_fix.csv``, both as sheets of the workbook,
    and the cheapest plan's capital marked on the curve.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / "sweep.csv"
    table.to_csv(csv, index=False, encoding="utf-8-sig", lineterminator="\n")
    xlsx = out_dir / "sweep.xlsx"
    sheets = {"预算测算 budget sweep": table}
    written = [csv]
    if cheapest is not None:
        ct = cheapest_table(cheapest)
        nm = (no_money_fix if no_money_fix is not None else pd.DataFrame()).rename(columns=NO_MONEY_HEADERS)
        sheets["最低投入方案 cheapest plan"] = ct
        sheets["无法达标 no money can fix"] = nm
        for name, frame in (("cheapest.csv", ct), ("no_money_fix.csv", nm)):
            frame.to_csv(out_dir / name, index=False, encoding="utf-8-sig", lineterminator="\n")
            written.append(out_dir / name)
    frames_to_xlsx(sheets, xlsx)
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
    if cheapest is not None:
        for ax in (ax1, ax2):
            ax.axvline(float(cheapest["capital_yuan"]) / 1e4, color="blue", linestyle=":",
                       label="cheapest passing plan")  # fmt: skip
    if best is not None:
        for ax in (ax1, ax2):
            ax.axvline(best / 1e4, color="green", linestyle="--", label="smallest passing budget")
        ax1.set_title(f"County passes from {best / 1e4:,.0f} (10k yuan)", fontsize=10)
    else:
        ax1.set_title("County does not pass within the range swept", fontsize=10)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
    return [*written, xlsx, png]


__all__ = ["write_sweep"]
