"""Nothing escapes, nothing executes (issue 18, item 4): run directories stay inside the runs
folder whatever the scenario name, formula-like text stays text in workbooks, and hidden
``.partial-*`` folders left by killed runs are cleaned up.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from planner.cli import main
from planner.report.cell_text import frames_to_xlsx, keep_text, save_workbook
from planner.rundir import atomic_run_dir, new_run_path, remove_stale_partials, safe_name

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    "name",
    ["../../x", "/etc/passwd", "..", ".", "", "a/../../b", "C:\\Windows\\x", ".hidden", "名称 with spaces", "\x00x",
     "..\\..\\y", "x" * 500, "~/runs", "=HYPERLINK(\"http://e\")"],
)  # fmt: skip
def test_run_directory_stays_inside_runs(name: str, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    path = new_run_path(runs, name, now=NOW)
    assert path.parent == runs
    assert path.resolve().parent == runs.resolve()
    assert not path.name.startswith(".") and "/" not in path.name and "\\" not in path.name
    assert path.name.endswith("-20260102-030405")
    assert len(path.name) <= 80 + len("-20260102-030405")


def test_safe_name_keeps_readable_names() -> None:
    assert safe_name("combined_budget_minus_20pct") == "combined_budget_minus_20pct"
    assert safe_name("确山 方案A") == "确山_方案A"
    assert safe_name("../../x") == "x"
    assert safe_name("..") == "run"


def test_stale_partials_are_removed_fresh_ones_kept(tmp_path: Path) -> None:
    old = tmp_path / ".run-1.partial-abc"
    fresh = tmp_path / ".run-2.partial-def"
    other = tmp_path / ".keep-me"
    for p in (old, fresh, other):
        p.mkdir()
        (p / "f.txt").write_text("x")
    day_and_a_bit = time.time() - 25 * 3600
    os.utime(old, (day_and_a_bit, day_and_a_bit))
    os.utime(other, (day_and_a_bit, day_and_a_bit))
    assert remove_stale_partials(tmp_path) == [old]
    assert not old.exists() and fresh.exists() and other.exists()
    # the next run in the folder does the same
    os.utime(fresh, (day_and_a_bit, day_and_a_bit))
    with atomic_run_dir(tmp_path / "new-run") as tmp:
        (tmp / "a.txt").write_text("a")
    assert not fresh.exists() and (tmp_path / "new-run" / "a.txt").exists()


def test_keep_text_turns_formulas_into_text(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    values = ['=HYPERLINK("http://evil","点击")', "+1+2", "-3", "@SUM(A1)", "普通文本", 42, -5.5]
    ws.append(values)
    assert ws["A1"].data_type == "f"  # openpyxl would write a live formula
    path = save_workbook(wb, tmp_path / "x.xlsx")
    back = load_workbook(path).active
    for j, v in enumerate(values, start=1):
        cell = back.cell(row=1, column=j)
        assert cell.value == v
        if isinstance(v, str):
            assert cell.data_type == "s"
        if isinstance(v, str) and v[0] in "=+-@":
            assert cell.quotePrefix
        else:
            assert not cell.quotePrefix
    assert keep_text(Workbook()) is not None


def test_frames_to_xlsx_keeps_text(tmp_path: Path) -> None:
    df = pd.DataFrame({"name": ["=1+1", "ok"], "n": [1, 2]})
    path = frames_to_xlsx({"表": df}, tmp_path / "t.xlsx")
    ws = load_workbook(path)["表"]
    assert ws["A2"].value == "=1+1" and ws["A2"].data_type == "s" and ws["A2"].quotePrefix
    assert ws["B2"].value == 1


def test_formula_name_in_self_assessment_is_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "county"
    shutil.copytree(ROOT / "geodata" / "queshan", folder)
    df = pd.read_csv(folder / "schools.csv", dtype=str, keep_default_na=False)
    evil = '=HYPERLINK("http://example.com/x","点击查看")'
    df.loc[0, "name_zh"] = evil
    df.to_csv(folder / "schools.csv", index=False)
    out = tmp_path / "assess"
    assert main(["assess", str(folder), "--out", str(out)]) == 0, capsys.readouterr().err
    wb = load_workbook(out / "self_assessment.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value == evil]
    assert cells, "the school name is in the workbook"
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    formulas = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


def test_assess_out_under_a_file_is_an_output_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("x")
    assert main(["assess", str(ROOT / "geodata" / "queshan"), "--out", str(tmp_path / "f" / "o")]) == 3
    assert "is a file" in capsys.readouterr().err
