"""The parts a plan takes across the assessment's scope line (plan/scope_changes.csv and its notes)."""

from __future__ import annotations

import pandas as pd

from planner.plan.scope import scope_changes, scope_notes, scope_paragraph_zh


def _schools(rows: list[tuple[str, str, int, bool, bool]]) -> pd.DataFrame:
    """An ``Assessment.schools`` table of (school, stage, pupils, assessed, passes) rows."""
    out = []
    for school, stage, pupils, assessed, passes in rows:
        out.append({"school_id": school, "name_zh": f"{school}教学点", "stage": stage, "pupils": pupils,
                    "assessed": assessed, "passes": passes if assessed else False,
                    "missed": None if passes or not assessed else "floor_area;sports_area;equipment",
                    "reason_zh": "达标" if passes else "未达标"})  # fmt: skip
    return pd.DataFrame(out)


def test_points_across_the_line_are_listed_with_their_outcome() -> None:
    before = _schools([
        ("P001", "primary", 900, True, True),  # a school: always assessed
        ("TP01", "primary", 46, False, False),  # re-zoned to 58: enters and fails
        ("TP02", "primary", 47, False, False),  # re-zoned to 50: enters and passes
        ("TP03", "primary", 52, True, False),  # re-zoned to 48: leaves
        ("TP04", "primary", 30, False, False),  # stays outside
        ("TP05", "primary", 60, True, True),  # closed by the plan: absent after, not listed
    ])  # fmt: skip
    after = _schools([
        ("P001", "primary", 880, True, True),
        ("TP01", "primary", 58, True, False),
        ("TP02", "primary", 50, True, True),
        ("TP03", "primary", 48, False, False),
        ("TP04", "primary", 31, False, False),
    ])  # fmt: skip
    t = scope_changes(before, after).set_index("school_id")
    assert sorted(t.index) == ["TP01", "TP02", "TP03"]
    assert t.loc["TP01", "change"] == "enters" and not t.loc["TP01", "passes_after"]
    assert t.loc["TP01", "missed_after"] == "floor_area;sports_area;equipment"
    assert (t.loc["TP01", "pupils_before"], t.loc["TP01", "pupils_after"]) == (46, 58)
    assert t.loc["TP02", "change"] == "enters" and bool(t.loc["TP02", "passes_after"])
    assert t.loc["TP03", "change"] == "leaves" and pd.isna(t.loc["TP03", "passes_after"])
    notes = scope_notes(scope_changes(before, after), 50)
    assert len(notes) == 2
    assert "2 个教学点学生数达到50人、纳入评估" in notes[0] and "其中 1 个未达标" in notes[0]
    assert "TP01教学点（TP01，46→58人）" in notes[0]
    assert "1 个教学点学生数降至50人以下、退出评估" in notes[1] and "52→48" in notes[1]


def test_nothing_across_the_line_gives_an_empty_table_and_no_note() -> None:
    before = _schools([("P001", "primary", 900, True, True), ("TP04", "primary", 30, False, False)])
    after = _schools([("P001", "primary", 700, True, False), ("TP04", "primary", 49, False, False)])
    t = scope_changes(before, after)
    assert t.empty and list(t.columns)[:3] == ["school_id", "name_zh", "stage"]
    assert scope_notes(t, 50) == []


def test_the_justification_sentence_names_each_point_and_its_outcome() -> None:
    before = _schools([("TP01", "primary", 46, False, False), ("TP02", "primary", 47, False, False),
                       ("TP03", "primary", 52, True, False)])  # fmt: skip
    after = _schools([("TP01", "primary", 58, True, False), ("TP02", "primary", 58, True, False),
                      ("TP03", "primary", 48, False, False)])  # fmt: skip
    text = scope_paragraph_zh(scope_changes(before, after), 50)
    assert text == ("规划实施后，TP01教学点（TP01）、TP02教学点（TP02）学生数增至50人以上，纳入评估范围（均未达标）；"
                    "TP03教学点（TP03）学生数降至50人以下，不再参评。")  # fmt: skip
    assert scope_paragraph_zh(scope_changes(before, before), 50) == ""
