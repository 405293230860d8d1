"""The budget sweep's table (CSV, Excel) and curve (PNG) (``planner sweep``).

The sweep itself — the plan at each budget — is :func:`planner.plan.variants.run_sweep`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from planner.plan.variants import smallest_passing_budget
from planner.report.cell_text import frames_to_xlsx


def write_sweep(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write the sweep table (CSV, Excel) and its curve (PNG)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / "sweep.csv"
    table.to_csv(csv, index=False, encoding="utf-8-sig", lineterminator="\n")
    xlsx = out_dir / "sweep.xlsx"
    frames_to_xlsx({"预算测算 budget sweep": table}, xlsx)
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


__all__ = ["write_sweep"]
