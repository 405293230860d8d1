"""planner sweep: the unmet-standard curve never rises as the budget grows."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
from tiny_county import write_tiny_county

from planner.cli import main
from planner.errors import ScenarioError
from planner.plan.variants import parse_budget_range

ROOT = Path(__file__).resolve().parents[1]


def test_budget_range_parsing() -> None:
    assert parse_budget_range("0:60000000:7") == [0.0, 1e7, 2e7, 3e7, 4e7, 5e7, 6e7]
    assert parse_budget_range("0万:6000万:3") == [0.0, 3e7, 6e7]
    for bad in ("0:10", "10:0:3", "0:10:1", "a:10:3"):
        with pytest.raises(ScenarioError):
            parse_budget_range(bad)


def test_sweep_curve_never_rises(tmp_path: Path) -> None:
    data = write_tiny_county(tmp_path / "county")
    out = tmp_path / "sweep"
    code = main(["sweep", str(ROOT / "scenarios" / "build_only.yaml"), "--budget", "0:15000000:6", "--data",
                 str(data), "--out", str(out), "-q"])  # fmt: skip
    assert code == 0
    table = pd.read_csv(out / "sweep.csv", encoding="utf-8-sig")
    assert len(table) == 6
    assert (table["capital_yuan"] <= table["capital_budget_yuan"] + 1e-6).all()
    unmet = table["shortfall_pupil_equivalents"].to_numpy()
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(unmet)), unmet
    counts = table["unmet_standards"].to_numpy()
    assert all(b <= a for a, b in itertools.pairwise(counts)), counts
    assert counts[-1] < counts[0]  # money helps
    assert (out / "sweep.png").stat().st_size > 0
