"""Checks shared by tests that read run directories back."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from planner.cli import main


def compare_and_check(runs: list[Path], out: Path) -> pd.DataFrame:
    """Run ``planner compare`` and check every row against the run's own tables.

    Returns the comparison table (bilingual headers) for further checks.
    """
    assert main(["compare", *map(str, runs), "--out", str(out), "-q"]) == 0
    table = pd.read_csv(out / "comparison.csv", encoding="utf-8-sig")
    assert list(table["方案 scenario"]) == [r.name for r in runs]
    for (_, row), run in zip(table.iterrows(), runs, strict=True):
        projects = pd.read_csv(run / "plan" / "projects.csv", encoding="utf-8-sig")
        assign = pd.read_csv(run / "plan" / "assignments.csv", encoding="utf-8-sig")
        exchange = pd.read_csv(run / "plan" / "exchange_list.csv", encoding="utf-8-sig")
        indicators = pd.read_csv(run / "after" / "indicators.csv", encoding="utf-8-sig")
        assert row["资本性支出 capital (yuan)"] == pytest.approx(projects["cost_yuan"].sum())
        assert row["调整学区学生 pupils re-zoned"] == assign.loc[assign["changed"], "pupils"].sum()
        assert row["交流教师 teachers moved"] == len(exchange)
        assert row["未达标指标项 unmet school-indicators"] == (~indicators["met"]).sum()
        mean = (assign["time_min"] * assign["pupils"]).sum() / assign["pupils"].sum()
        assert row["平均上学时间 mean travel (min)"] == pytest.approx(mean)
    for name in ("comparison.xlsx", "comparison.png", "comparison.html"):
        assert (out / name).stat().st_size > 0
    if all((run / "gis" / "plan.gpkg").exists() for run in runs):
        # the map grid: one panel per run, read from the runs' GeoPackages
        grid = plt.imread(out / "catchments_grid_primary.png")
        assert grid.shape[0] > 200 and grid.shape[1] > 200
    page = (out / "comparison.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page  # offline: nothing fetched
    return table
