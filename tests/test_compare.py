"""planner compare: numbers read back from the runs' own tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
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
    out = base / "comparison"
    assert main(["compare", *map(str, runs), "--out", str(out), "-q"]) == 0
    table = pd.read_csv(out / "comparison.csv", encoding="utf-8-sig")
    assert list(table["方案 scenario"]) == ["baseline", "combined"]
    for row, run in zip(table.itertuples(index=False), runs, strict=True):
        projects = pd.read_csv(run / "plan" / "projects.csv", encoding="utf-8-sig")
        assign = pd.read_csv(run / "plan" / "assignments.csv", encoding="utf-8-sig")
        exchange = pd.read_csv(run / "plan" / "exchange_list.csv", encoding="utf-8-sig")
        indicators = pd.read_csv(run / "after" / "indicators.csv", encoding="utf-8-sig")
        d = dict(zip(table.columns, row, strict=True))
        assert d["资本性支出 capital (yuan)"] == pytest.approx(projects["cost_yuan"].sum())
        assert d["调整学区学生 pupils re-zoned"] == assign.loc[assign["changed"], "pupils"].sum()
        assert d["交流教师 teachers moved"] == len(exchange)
        assert d["未达标指标项 unmet school-indicators"] == (~indicators["met"]).sum()
        mean = (assign["time_min"] * assign["pupils"]).sum() / assign["pupils"].sum()
        assert d["平均上学时间 mean travel (min)"] == pytest.approx(mean)
    # the baseline changes nothing; the combined plan spends money and leaves fewer standards unmet
    assert table.iloc[0]["资本性支出 capital (yuan)"] == 0
    assert table.iloc[0]["调整学区学生 pupils re-zoned"] == 0
    assert table.iloc[1]["未达标指标项 unmet school-indicators"] < table.iloc[0]["未达标指标项 unmet school-indicators"]
    for name in ("comparison.xlsx", "comparison.png", "comparison.html"):
        assert (out / name).stat().st_size > 0
    page = (out / "comparison.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page  # offline: nothing fetched


def test_compare_names_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(tmp_path), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "no manifest.json" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()
