"""Schools a plan moves across the assessment's scope line (评估范围变化).

A teaching point (教学点) with fewer than 50 pupils is outside the assessment (DOMAIN.md §1.1). Re-zoning
that takes one across the line (or, in a horizon plan, the target year's projected pupils) changes which
schools the inspectors count, and which enter every CV. The
model discourages it (``catchments.keep_assessment_scope``: each pupil across is a ``policy`` penalty) but
keeps each part's scope as today, so a plan that still moves a point across it (to relieve a school over a
bottom line) counts that point as today. :func:`scope_changes` lists every such part from the
assessments before and after the plan, with how the part fares in the after-assessment, so the bureau
reads in the plan why the self-assessment table has a school more (or fewer) than today.
"""

from __future__ import annotations

import pandas as pd

from planner.schema import STAGE_ZH

COLUMNS: tuple[str, ...] = (
    "school_id", "name_zh", "stage", "stage_zh", "change", "change_zh",
    "pupils_before", "pupils_after", "passes_after", "missed_after", "reason_zh",
)  # fmt: skip

CHANGE_ZH = {"enters": "纳入评估 enters the assessment", "leaves": "退出评估 leaves the assessment"}


def scope_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Parts assessed after the plan and not before, or the other way round.

    Parameters
    ----------
    before, after : DataFrame
        ``Assessment.schools`` of the county before and after the plan (one row per part: ``school_id``,
        ``name_zh``, ``stage``, ``pupils``, ``assessed``, ``passes``, ``missed``, ``reason_zh``). Parts of
        schools the plan closes are absent from ``after`` and are not listed.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, one row per part that changes side; ``passes_after``, ``missed_after`` and
        ``reason_zh`` are the after-assessment's for a part that enters it, empty for one that leaves.
    """
    key = ["school_id", "stage"]
    b = before.set_index(key)
    a = after.set_index(key)
    both = b.index.intersection(a.index, sort=False)
    moved = [k for k in both if bool(b.at[k, "assessed"]) != bool(a.at[k, "assessed"])]
    rows = []
    for k in moved:
        was, now = b.loc[k], a.loc[k]
        enters = bool(now["assessed"])
        change = "enters" if enters else "leaves"
        missed = now["missed"] if enters and pd.notna(now["missed"]) else ""
        rows.append({
            "school_id": k[0], "name_zh": now["name_zh"], "stage": k[1], "stage_zh": STAGE_ZH.get(k[1], k[1]),
            "change": change, "change_zh": CHANGE_ZH[change],
            "pupils_before": int(was["pupils"]), "pupils_after": int(now["pupils"]),
            "passes_after": bool(now["passes"]) if enters else pd.NA, "missed_after": str(missed),
            "reason_zh": str(now["reason_zh"]) if enters else "",
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _named(rows: pd.DataFrame) -> str:
    return "、".join(f"{r.name_zh}（{r.school_id}，{r.pupils_before}→{r.pupils_after}人）" for r in rows.itertuples())


def scope_notes(table: pd.DataFrame, line: int) -> list[str]:
    """One plain-language note per direction of :func:`scope_changes` (none when nothing changes side).

    ``line`` is the standard's scope line (``Standards.scope.teaching_point_min_pupils``).
    """
    notes = []
    enters = table[table["change"] == "enters"]
    if len(enters):
        failing = int((~enters["passes_after"].astype(bool)).sum())
        notes.append(
            f"评估范围变化 scope: {len(enters)} 个教学点学生数达到{line}人、纳入评估 {_named(enters)}，"
            f"其中 {failing} 个未达标 ({len(enters)} teaching points reach {line} pupils and enter the "
            f"assessment, {failing} of them failing; the model counts them outside it, as today, so the "
            "self-assessment counts them and the model's failing term does not; plan/scope_changes.csv)"
        )
    leaves = table[table["change"] == "leaves"]
    if len(leaves):
        notes.append(
            f"评估范围变化 scope: {len(leaves)} 个教学点学生数降至{line}人以下、退出评估 {_named(leaves)}"
            f" ({len(leaves)} teaching points fall below {line} pupils and leave the assessment; the model still "
            "counts them in it, as today; plan/scope_changes.csv)"
        )
    return notes


def scope_paragraph_zh(table: pd.DataFrame, line: int) -> str:
    """The budget justification's sentence on the parts that change side ("" when none do)."""
    parts = []
    enters = table[table["change"] == "enters"]
    if len(enters):
        names = "、".join(f"{r.name_zh}（{r.school_id}）" for r in enters.itertuples())
        passing = int(enters["passes_after"].astype(bool).sum())
        how = "均达标" if passing == len(enters) else ("均未达标" if passing == 0 else f"其中{passing}所达标")
        parts.append(f"{names}学生数增至{line}人以上，纳入评估范围（{how}）")
    leaves = table[table["change"] == "leaves"]
    if len(leaves):
        names = "、".join(f"{r.name_zh}（{r.school_id}）" for r in leaves.itertuples())
        parts.append(f"{names}学生数降至{line}人以下，不再参评")
    return f"规划实施后，{'；'.join(parts)}。" if parts else ""


__all__ = ["CHANGE_ZH", "COLUMNS", "scope_changes", "scope_notes", "scope_paragraph_zh"]
