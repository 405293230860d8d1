"""planner compare: numbers read back from the runs' own tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_checks import compare_and_check
from tiny_county import write_tiny_county

from planner.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    base = tmp_path_factory.mktemp("cmp")
    data = write_tiny_county(base / "county")
    runs = []
    for name in ("baseline", "combined"):
        out = base / "runs" / name
        assert (
            main(["run", str(ROOT / "scenarios" / f"{name}.yaml"), "--data", str(data), "--out", str(out), "-q"]) == 0
        )
        runs.append(out)
    return base, runs


def test_compare_matches_the_runs_tables(two_runs: tuple[Path, list[Path]]) -> None:
    base, runs = two_runs
    table = compare_and_check(runs, base / "comparison")
    # the baseline changes nothing; the combined plan spends money and leaves fewer standards unmet
    assert table.iloc[0]["资本性支出 capital (yuan)"] == 0
    assert table.iloc[0]["调整学区学生 pupils re-zoned"] == 0
    assert table.iloc[1]["未达标指标项 unmet school-indicators"] < table.iloc[0]["未达标指标项 unmet school-indicators"]


def test_compare_names_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(tmp_path), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "no manifest.json" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()
