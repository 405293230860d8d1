"""就近入学 read-out: pupils re-zoned per stage and how their trips to school change.

:func:`rezoning_summary` is computed from a plan's ``assignments`` table alone (``changed``,
``pupils``, ``time_min``, ``current_time_min``, ``current_within_cap``), so the run summary, the
manifest, the workbook and the budget justification all state the same figures, and a test can
recompute them from ``plan/assignments.csv``. Trip changes are in minutes by the stage's travel
mode (docs/network.md); means are pupil-weighted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from planner.schema import STAGE_ZH

#: a re-zoned trip longer by more than this (minutes) while today's school is within the cap is
#: what issue #16 asks never to happen on the bundled county; counted separately
LONGER_LIMIT_MIN = 15.0

COLUMNS: tuple[str, ...] = (
    "stage",
    "pupils",
    "settlements_rezoned",
    "pupils_rezoned",
    "share_rezoned",
    "mean_time_before_min",
    "mean_time_after_min",
    "mean_change_min",
    "max_change_min",
    "pupils_longer",
    "settlements_longer",
    "pupils_shorter",
    "pupils_longer_15_within_cap",
    "tolerance_min",
)

#: Chinese-first headers of :data:`COLUMNS` (workbook)
HEADERS_ZH: dict[str, str] = {
    "stage": "学段 stage",
    "pupils": "学生数 pupils",
    "settlements_rezoned": "调整居民点 settlements re-zoned",
    "pupils_rezoned": "调整学生 pupils re-zoned",
    "share_rezoned": "调整比例 share",
    "mean_time_before_min": "调整前平均通学时间(分钟) mean time before",
    "mean_time_after_min": "调整后平均通学时间(分钟) mean time after",
    "mean_change_min": "平均变化(分钟) mean change",
    "max_change_min": "最大增加(分钟) largest change",
    "pupils_longer": "通学时间变长学生 pupils with a longer trip",
    "settlements_longer": "通学时间变长居民点 settlements with a longer trip",
    "pupils_shorter": "通学时间缩短学生 pupils with a shorter trip",
    "pupils_longer_15_within_cap": "现学校在时限内而增加超15分钟学生 pupils over +15 min, today's within cap",
    "tolerance_min": "就近容差(分钟) tolerance",
}


def rezoning_summary(assignments: pd.DataFrame, tolerance_min: float | None = None) -> pd.DataFrame:
    """Pupils re-zoned per stage (and ``all``) and the change of their trips.

    Parameters
    ----------
    assignments : DataFrame
        A plan's assignments: ``stage``, ``settlement_id``, ``pupils``, ``changed``, ``time_min``,
        ``current_time_min`` and ``current_within_cap`` (today's school within the settlement's cap).
    tolerance_min : float, optional
        The scenario's ``distance.rezoning_tolerance_min`` (recorded in the table; None: rule off).

    Returns
    -------
    DataFrame
        One row per stage present and a row ``all``; columns :data:`COLUMNS`. Means are
        pupil-weighted over re-zoned settlements (NaN when nobody is re-zoned); ``max_change_min``
        is the largest change of a re-zoned settlement's trip (negative when every trip got
        shorter); ``pupils_longer_15_within_cap`` counts re-zoned pupils whose trip grows by more
        than :data:`LONGER_LIMIT_MIN` while today's school is within their cap.
    """
    rows: list[dict[str, Any]] = []
    stages = [s for s in ("primary", "junior") if s in set(assignments["stage"])]
    for stage in [*stages, "all"]:
        a = assignments if stage == "all" else assignments[assignments["stage"] == stage]
        moved = a[a["changed"].astype(bool)]
        p = moved["pupils"].to_numpy(dtype=float)
        before = moved["current_time_min"].to_numpy(dtype=float)
        after = moved["time_min"].to_numpy(dtype=float)
        change = after - before
        n = float(p.sum())
        longer = change > 1e-9
        far = longer & (change > LONGER_LIMIT_MIN) & moved["current_within_cap"].to_numpy(dtype=bool)
        rows.append(
            {
                "stage": stage,
                "pupils": int(a["pupils"].sum()),
                "settlements_rezoned": len(moved),
                "pupils_rezoned": int(n),
                "share_rezoned": n / float(a["pupils"].sum()) if len(a) and a["pupils"].sum() else 0.0,
                "mean_time_before_min": float(np.dot(p, before) / n) if n else np.nan,
                "mean_time_after_min": float(np.dot(p, after) / n) if n else np.nan,
                "mean_change_min": float(np.dot(p, change) / n) if n else np.nan,
                "max_change_min": float(change.max()) if len(change) else np.nan,
                "pupils_longer": int(p[longer].sum()),
                "settlements_longer": int(longer.sum()),
                "pupils_shorter": int(p[change < -1e-9].sum()),
                "pupils_longer_15_within_cap": int(p[far].sum()),
                "tolerance_min": np.nan if tolerance_min is None else float(tolerance_min),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _stage_label(stage: str) -> str:
    return "合计 all" if stage == "all" else f"{STAGE_ZH.get(stage, stage)} {stage}"


def _minutes(v: float, sign: bool = True) -> str:
    if v != v:  # NaN
        return "—"
    return f"{v:+.1f}" if sign else f"{v:.1f}"


def format_rezoning(table: pd.DataFrame) -> list[str]:
    """Lines for the run summary: per stage, pupils re-zoned and how their trips change."""
    lines = []
    for r in table.itertuples(index=False):
        if r.stage == "all" and len(table) <= 2:
            continue  # one stage: the total repeats it
        lines.append(
            f"    {_stage_label(r.stage)}: {r.pupils_rezoned:,} 人 pupils ({r.share_rezoned:.1%}) in "
            f"{r.settlements_rezoned} 个居民点 settlements; 通学时间 trip {_minutes(r.mean_time_before_min, False)}"
            f"→{_minutes(r.mean_time_after_min, False)} min, 平均 mean {_minutes(r.mean_change_min)}, "
            f"最大 largest {_minutes(r.max_change_min)} min; 变长 longer {r.pupils_longer:,} 人 pupils, "
            f"现校在时限内而增加超{LONGER_LIMIT_MIN:.0f}分钟 over +{LONGER_LIMIT_MIN:.0f} min with today's "
            f"school within cap: {r.pupils_longer_15_within_cap:,}"
        )
    return lines


def rezoning_paragraph(table: pd.DataFrame) -> str:
    """The budget justification's paragraph on re-zoning (Chinese)."""
    tol = table["tolerance_min"].dropna()
    rule = (
        f"学区调整遵循就近入学：居民点只调整到服务半径内、且不远于“现就读学校与服务半径内最近学校中较远者再加"
        f"{float(tol.iloc[0]):g}分钟”的学校；寄宿制学校仅在服务半径内没有走读学校时接收更远的居民点。"
        if len(tol)
        else "学区调整在服务半径内进行（本方案未设就近容差）。"
    )
    parts = []
    for r in table.itertuples(index=False):
        if r.stage == "all":
            continue
        name = STAGE_ZH.get(r.stage, r.stage)
        if not r.pupils_rezoned:
            parts.append(f"{name}不调整学区")
            continue
        parts.append(
            f"{name}调整{r.settlements_rezoned}个居民点、{r.pupils_rezoned:,}名学生（占{r.share_rezoned:.1%}），"
            f"其平均通学时间由{r.mean_time_before_min:.1f}分钟变为{r.mean_time_after_min:.1f}分钟"
            f"（平均{r.mean_change_min:+.1f}分钟，最大增加{r.max_change_min:+.1f}分钟），"
            f"{r.pupils_longer:,}名学生通学时间变长、{r.pupils_shorter:,}名缩短"
        )
    far = int(table.loc[table["stage"] == "all", "pupils_longer_15_within_cap"].sum())
    tail = (
        f"现学校在服务半径内的学生中，通学时间增加超过{LONGER_LIMIT_MIN:.0f}分钟的有{far:,}名。"
        if far
        else f"现学校在服务半径内的学生，无一人通学时间增加超过{LONGER_LIMIT_MIN:.0f}分钟。"
    )
    return rule + "；".join(parts) + "。" + tail + "明细见 plan/assignments.csv 与 plan/rezoning.csv。"


def rezoning_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-ready records (NaN as None) for the manifest and ``--json``."""
    out = []
    for rec in table.to_dict(orient="records"):
        clean = {k: v.item() if isinstance(v, np.generic) else v for k, v in rec.items()}
        out.append({k: (None if isinstance(v, float) and v != v else v) for k, v in clean.items()})
    return out


__all__ = [
    "COLUMNS",
    "HEADERS_ZH",
    "LONGER_LIMIT_MIN",
    "format_rezoning",
    "rezoning_paragraph",
    "rezoning_records",
    "rezoning_summary",
]
