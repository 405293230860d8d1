"""Every scenario in scenarios/ runs from the CLI on the bundled county; compare covers them all.

Each solve is limited to 10 s (``--time-limit``), so plans are "feasible, gap X%" or optimal;
what is checked holds for any plan: the run directory is complete, its status is the
solver's own, and the comparison's numbers equal the runs' own tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from run_checks import compare_and_check

from planner.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module")
def all_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    base = tmp_path_factory.mktemp("scenarios")
    runs = []
    for path in SCENARIOS:
        out = base / "runs" / path.stem
        code = main(["run", str(path), "--data", str(ROOT / "geodata" / "queshan"), "--out", str(out),
                     "--time-limit", "10", "-q"])  # fmt: skip
        assert code == 0, path.name
        runs.append(out)
    return base, runs


def test_every_scenario_runs(all_runs: tuple[Path, list[Path]]) -> None:
    _, runs = all_runs
    assert len(runs) >= 8
    for run in runs:
        manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["solver"]["status"] in ("optimal", "feasible")
        assert manifest["scenario"]["name"] == run.name
        for f in ("plan/assignments.csv", "plan/projects.csv", "after/self_assessment.xlsx", "before/summary.csv"):
            assert (run / f).exists(), f"{run.name}: {f}"


def test_baseline_changes_nothing(all_runs: tuple[Path, list[Path]]) -> None:
    _, runs = all_runs
    base = next(r for r in runs if r.name == "baseline")
    assert pd.read_csv(base / "plan" / "projects.csv", encoding="utf-8-sig").empty
    assert not pd.read_csv(base / "plan" / "assignments.csv", encoding="utf-8-sig")["changed"].any()
    before = pd.read_csv(base / "before" / "indicators.csv", encoding="utf-8-sig")
    after = pd.read_csv(base / "after" / "indicators.csv", encoding="utf-8-sig")
    pd.testing.assert_series_equal(before["met"], after["met"])


def test_compare_over_all_scenarios(all_runs: tuple[Path, list[Path]]) -> None:
    base, runs = all_runs
    compare_and_check(runs, base / "comparison")
