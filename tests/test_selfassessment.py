"""The self-assessment workbook (自评表): written, read back, and equal to the Assessment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from test_assess import build_county

from planner.assess import Assessment, assess
from planner.report.selfassessment import SHEETS, SUMMARY_HEADER_ROW, WORKBOOK_NAME, indicator_headers
from planner.standards import INDICATORS


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal up to the 16 significant digits openpyxl writes (no display rounding)."""
    np.testing.assert_allclose(actual.astype(float), expected.astype(float), rtol=1e-15, atol=0)


@pytest.fixture(scope="module")
def assessment() -> Assessment:
    plan = pd.DataFrame(
        [{"from_school_id": "A", "to_school_id": "E", "category": "backbone", "count": 1},
         {"from_school_id": "H", "to_school_id": "G", "category": "pe_art", "count": 2}]
    )  # fmt: skip
    return assess(build_county(), rotation=plan)


@pytest.fixture(scope="module")
def written(assessment: Assessment, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    from planner.report.selfassessment import write_self_assessment

    out = tmp_path_factory.mktemp("sa") / "out"
    return out, write_self_assessment(assessment, out)


def test_files_written(written: tuple[Path, list[Path]]) -> None:
    out, paths = written
    names = [p.name for p in paths]
    assert names == [WORKBOOK_NAME, "summary.csv", "indicators.csv", "schools.csv", "balance.csv", "guarantee.csv",
                     "parts.csv"]  # fmt: skip
    assert all(p.parent == out and p.stat().st_size > 0 for p in paths)
    # CSV copies carry a UTF-8 BOM so Excel shows the Chinese text
    assert (out / "summary.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_sheets_layout(written: tuple[Path, list[Path]]) -> None:
    out, _ = written
    wb = load_workbook(out / WORKBOOK_NAME)
    assert wb.sheetnames == list(SHEETS)
    assert wb[SHEETS[0]].freeze_panes == f"A{SUMMARY_HEADER_ROW + 1}"
    for name in SHEETS[1:]:
        assert wb[name].freeze_panes in ("A2", "C2")  # header row frozen (and names, on the wide sheet)
    ws = wb[SHEETS[1]]
    headers = [c.value for c in ws[1]]
    assert headers[:2] == ["学校代码 (School ID)", "学校名称 (School)"]
    h = indicator_headers("floor_area")
    col = headers.index(h["value"]) + 1
    assert ws.cell(row=2, column=col).number_format == "#,##0.00"
    assert ws.column_dimensions["B"].width >= 20
    # the first sheet's title names the county and labels synthetic data
    summary = wb[SHEETS[0]]
    assert "测试县" in summary["A1"].value
    assert "合成数据" in summary["A2"].value


def test_summary_sheet_equals_the_summary(written: tuple[Path, list[Path]], assessment: Assessment) -> None:
    out, _ = written
    df = pd.read_excel(out / WORKBOOK_NAME, sheet_name=SHEETS[0], header=SUMMARY_HEADER_ROW - 1, nrows=2)
    s = assessment.summary
    assert list(df["结论 (Verdict)"]) == list(s["verdict_zh"])
    assert list(df["Verdict (English)"]) == list(s["verdict_en"])
    assert list(df["未达标学校数 (Schools failing)"]) == list(s["schools_failing"])
    assert list(df["是否通过 (Passes)"]) == ["✓" if p else "✗" for p in s["passes"]]


def test_indicator_sheet_equals_the_indicator_table(written: tuple[Path, list[Path]], assessment: Assessment) -> None:
    out, _ = written
    df = pd.read_excel(out / WORKBOOK_NAME, sheet_name=SHEETS[1])
    ind = assessment.indicators
    parts = ind[["stage", "school_id"]].drop_duplicates()
    assert len(df) == len(parts) == 8
    assert list(df["学校代码 (School ID)"]) == list(parts["school_id"])
    for i in INDICATORS:
        h = indicator_headers(i.key)
        sub = ind[ind["indicator"] == i.key]
        _close(df[h["value"]].to_numpy(), sub["value"].to_numpy())
        _close(df[h["standard"]].to_numpy(), sub["standard"].to_numpy())
        _close(df[h["shortfall"]].to_numpy(), sub["shortfall"].to_numpy())
        assert list(df[h["met"]]) == ["✓" if m else "✗" for m in sub["met"]]
        if i.discrete:
            assert list(df[h["shortfall_whole"]]) == list(sub["shortfall_whole"].astype(int))
    sch = assessment.schools[assessment.schools["assessed"]]
    assert list(df["达标项数 (Indicators met)"]) == list(sch["n_met"].astype(int))
    assert list(df["原因 (Reason)"]) == list(sch["reason_zh"])
    # total shortfall of sports area in m², sheet vs table: B 120 + G junior 110
    col = indicator_headers("sports_area")["shortfall"]
    assert df[col].sum() == pytest.approx(ind.loc[ind["indicator"] == "sports_area", "shortfall"].sum())
    assert df[col].sum() == pytest.approx(230.0)


def test_cv_sheet_equals_the_balance_table(written: tuple[Path, list[Path]], assessment: Assessment) -> None:
    out, _ = written
    df = pd.read_excel(out / WORKBOOK_NAME, sheet_name=SHEETS[2])
    b = assessment.balance
    assert len(df) == len(b) == 14
    _close(df["差异系数 CV"].to_numpy(), b["cv"].to_numpy())
    _close(df["县均值 X̄ (County mean)"].to_numpy(), b["mean"].to_numpy())
    _close(df["上限 (Threshold)"].to_numpy(), b["threshold"].to_numpy())
    assert list(df["达标 (Met)"]) == ["✓" if m else "✗" for m in b["met"]]


def test_guarantee_and_excluded_sheets(written: tuple[Path, list[Path]], assessment: Assessment) -> None:
    out, _ = written
    g = assessment.guarantee
    df = pd.read_excel(out / WORKBOOK_NAME, sheet_name=SHEETS[3])
    assert len(df) == len(g)
    assert list(df["代码 (Code)"]) == list(g["item"])
    _close(df["差额 (Gap)"].to_numpy(), g["gap"].to_numpy())
    assert int((df["达标 (Met)"] == "✗").sum()) == int((~g["met"]).sum())
    assert df["涉及学生 (Pupils affected)"].sum() == g["pupils_affected"].sum()
    assert {"rotation_share", "rotation_backbone_share"} <= set(df["代码 (Code)"])
    ex = pd.read_excel(out / WORKBOOK_NAME, sheet_name=SHEETS[4])
    assert list(ex["学校代码 (School ID)"]) == ["D"]
    st = pd.read_excel(out / WORKBOOK_NAME, sheet_name=SHEETS[5])
    assert st.set_index("代码 (Key)").loc["indicators.floor_area.junior", "值 (Value)"] == 5.8


def test_csv_copies_equal_the_tables(written: tuple[Path, list[Path]], assessment: Assessment) -> None:
    out, _ = written
    for name, df in assessment.tables().items():
        back = pd.read_csv(out / f"{name}.csv", encoding="utf-8-sig", keep_default_na=False, na_values=[""])
        assert list(back.columns) == list(df.columns), name
        assert len(back) == len(df), name
        for col in df.columns:
            if pd.api.types.is_float_dtype(df[col]):
                np.testing.assert_allclose(back[col].to_numpy(dtype=float), df[col].to_numpy(dtype=float),
                                           rtol=0, atol=0, err_msg=f"{name}.{col}")  # fmt: skip
    ind = pd.read_csv(out / "indicators.csv", encoding="utf-8-sig")
    assert ind["shortfall"].sum() == assessment.indicators["shortfall"].sum()
