"""Baseline statistics of a county's schools against the 7 resource indicators (DOMAIN.md §1.1).

A small, self-contained calculator used to calibrate the synthetic data; the project's
assessment engine (:mod:`planner.assess`) is the authority. Per school part (a nine-year
school has a primary and a junior part, school-total resources split by pupils) it
computes the indicator values, whether each meets the national standard, how many a part
misses, and per stage the enrolment-weighted coefficient of variation:

    X̄ = Σ P_i X_i / P,  S = sqrt(Σ P_i (X_i − X̄)² / P),  CV = S / X̄.

Scope: special schools and teaching points under 50 pupils are excluded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Indicator -> (primary standard, junior standard, per-pupils multiplier).
STANDARDS: dict[str, tuple[float, float, float]] = {
    "above_required": (4.2, 5.3, 100.0),
    "backbone": (1.0, 1.0, 100.0),
    "pe_art": (0.9, 0.9, 100.0),
    "floor_area": (4.5, 5.8, 1.0),
    "sports_area": (7.5, 10.2, 1.0),
    "equipment": (2000.0, 2500.0, 1.0),
    "multimedia": (2.3, 2.4, 100.0),
}
CV_MAX = {"primary": 0.50, "junior": 0.45}
_RESOURCE = {
    "floor_area": "floor_area_m2",
    "sports_area": "sports_area_m2",
    "equipment": "equipment_value_yuan",
    "multimedia": "multimedia_rooms",
}


def school_parts(schools: pd.DataFrame, teachers: pd.DataFrame) -> pd.DataFrame:
    """One row per (school, stage) with pupils and the resource of each indicator."""
    t = teachers.copy()
    above = np.where(
        t["stage"] == "primary",
        t["education"].isin(["college", "bachelor", "master"]),
        t["education"].isin(["bachelor", "master"]),
    )
    t["above_required"] = above.astype(int)
    t["backbone"] = t["backbone_level"].isin(["county", "city", "province", "national"]).astype(int)
    t["pe_art"] = t["subject"].isin(["pe", "music", "art"]).astype(int)
    counts = t.groupby(["school_id", "stage"])[["above_required", "backbone", "pe_art"]].sum()
    rows = []
    for r in schools.itertuples(index=False):
        total = r.pupils_primary + r.pupils_junior
        for stage in ("primary", "junior"):
            p = int(getattr(r, f"pupils_{stage}"))
            if p == 0:
                continue
            share = p / total
            row: dict[str, Any] = {
                "school_id": r.school_id,
                "kind": r.kind,
                "stage": stage,
                "pupils": p,
                "included": r.kind != "special" and not (r.kind == "teaching_point" and p < 50),
            }
            for key in ("above_required", "backbone", "pe_art"):
                row[key] = int(counts[key].get((r.school_id, stage), 0)) if len(counts) else 0
            for key, col in _RESOURCE.items():
                row[key] = float(getattr(r, col)) * share
            rows.append(row)
    return pd.DataFrame(rows)


def baseline_statistics(schools: pd.DataFrame, teachers: pd.DataFrame) -> dict[str, Any]:
    """Indicator values, misses per part and CV per stage and indicator.

    Returns
    -------
    dict
        ``parts`` (DataFrame with indicator values and ``missed``/``passes``), ``cv``
        (DataFrame stage × indicator), ``summary`` (dict of headline counts).
    """
    parts = school_parts(schools, teachers)
    for key, (sp, sj, mult) in STANDARDS.items():
        std = np.where(parts["stage"] == "primary", sp, sj)
        val = parts[key] / parts["pupils"] * mult
        parts[f"{key}_value"] = val
        parts[f"{key}_ratio"] = val / std
    ratios = parts[[f"{k}_ratio" for k in STANDARDS]].to_numpy()
    parts["missed"] = (ratios < 1).sum(axis=1)
    parts["passes"] = (parts["missed"] == 0) | ((parts["missed"] == 1) & (ratios.min(axis=1) >= 0.85))
    cv_rows = []
    for stage in ("primary", "junior"):
        p = parts[(parts["stage"] == stage) & parts["included"]]
        w = p["pupils"].to_numpy(float)
        row: dict[str, Any] = {"stage": stage}
        for key in STANDARDS:
            if w.sum() == 0:
                row[key] = float("nan")
                continue
            x = p[f"{key}_value"].to_numpy()
            mean = float((w * x).sum() / w.sum())
            sd = float(np.sqrt((w * (x - mean) ** 2).sum() / w.sum()))
            row[key] = sd / mean if mean else float("nan")
        cv_rows.append(row)
    cv = pd.DataFrame(cv_rows).set_index("stage")
    inc = parts[parts["included"]]
    summary = {
        "parts_assessed": len(inc),
        "parts_passing": int(inc["passes"].sum()),
        "parts_missing_2plus": int((inc["missed"] >= 2).sum()),
        "excluded_small_teaching_points": int(((parts["kind"] == "teaching_point") & ~parts["included"]).sum()),
        "cv_over_limit": [f"{s}/{k}" for s in cv.index for k in STANDARDS if cv.loc[s, k] > CV_MAX[s]],
    }
    return {"parts": parts, "cv": cv, "summary": summary}


def format_statistics(stats: dict[str, Any]) -> str:
    """Plain-text report of :func:`baseline_statistics` (for the command line and the README)."""
    parts, cv, s = stats["parts"], stats["cv"], stats["summary"]
    inc = parts[parts["included"]]
    lines = [
        "| 指标 indicator | 小学未达标 primary schools below | 小学 CV | 初中未达标 junior schools below | 初中 CV |",
        "|---|---:|---:|---:|---:|",
    ]
    for key in STANDARDS:
        cells = []
        for stage in ("primary", "junior"):
            p = inc[inc["stage"] == stage]
            cells.append(f"{int((p[f'{key}_ratio'] < 1).sum())} / {len(p)}")
            cells.append(f"{cv.loc[stage, key]:.2f}{' ✗' if cv.loc[stage, key] > CV_MAX[stage] else ''}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"School parts assessed: {s['parts_assessed']} (teaching points under 50 pupils excluded: "
        f"{s['excluded_small_teaching_points']}); meeting the 6-of-7 rule: {s['parts_passing']}; "
        f"missing 2 or more indicators: {s['parts_missing_2plus']}. "
        f"CV over the limit (0.50 primary, 0.45 junior): {', '.join(s['cv_over_limit']) or 'none'}."
    )
    return "\n".join(lines)
