"""A finished run's read-outs for the results page, read back from the run directory's own files.

Schools passing and CVs before → after come from ``before/`` and ``after/`` (the assessment
engine's tables), cost and the solver's status from ``manifest.json``, pupils re-zoned and
teachers moved from :func:`planner.report.compare.run_summary` (the numbers ``planner compare``
shows). A run directory never changes once written, so summaries are cached by its path.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

STAGES_ZH = {"primary": "小学 primary", "junior": "初中 junior"}

#: download groups: folder prefix → label
FILE_GROUPS: tuple[tuple[str, str], ...] = (
    ("", "上报材料 hand-in documents"),
    ("plan/", "方案明细 plan tables"),
    ("before/", "规划前自评 self-assessment before"),
    ("after/", "规划后自评 self-assessment after"),
    ("maps/", "静态地图 static maps"),
    ("gis/", "GIS 数据 GeoPackage and QGIS styles"),
    ("catchments/", "学区说明与公示 catchment read-outs"),
    ("projection/", "学位预测 enrolment projection"),
)


@dataclass(frozen=True)
class StagePassing:
    """Schools passing the school rule, before and after the plan, for one stage."""

    stage_zh: str
    before: str
    after: str
    verdict_after_zh: str


@dataclass(frozen=True)
class CvChange:
    """One indicator's coefficient of variation before and after, with its threshold."""

    stage_zh: str
    indicator_zh: str
    threshold: float
    before: float
    after: float
    met_after: bool


@dataclass(frozen=True)
class RunResults:
    """What the results page shows about one run."""

    scenario: str
    status_zh: str
    status_en: str
    capital_wan: float
    capital_budget_wan: float
    recurrent_wan: float
    recurrent_budget_wan: float
    pupils_rezoned: int
    teachers_moved: int
    passing: tuple[StagePassing, ...]
    cvs: tuple[CvChange, ...]
    static_maps: tuple[str, ...]
    has_map: bool
    file_groups: tuple[tuple[str, tuple[str, ...]], ...]
    notes: tuple[str, ...]


def status_words(solver: dict[str, Any]) -> str:
    """The solver's status and gap in words (Chinese): never 'optimal' for an unproven plan."""
    status = solver.get("status")
    gap = solver.get("gap")
    gap_rel = solver.get("gap_rel")
    gap_text = f"{gap:.2%}" if isinstance(gap, int | float) and math.isfinite(gap) else "未知 unknown"
    if status == "optimal":
        within = f"（容差 {gap_rel:.2%} 以内）" if isinstance(gap_rel, int | float) else ""
        return f"已证明最优{within}，与下界差距 {gap_text}"
    if status == "feasible":
        return f"可行方案，未证明最优：与下界差距 {gap_text}（求解时间到达上限）"
    return f"未得到可行方案（{status}）"


def _passing(summary: pd.DataFrame, stage: str) -> str:
    if stage not in summary.index:
        return "-"
    return f"{int(summary.loc[stage, 'schools_passing'])}/{int(summary.loc[stage, 'schools_assessed'])}"


_READING = threading.Lock()


def run_results(run_dir: Path) -> RunResults:
    """The results page's read-outs of ``run_dir`` (cached; a run directory never changes).

    One run is read at a time: visitors arriving together wait for the first reading instead
    of each reading the same files.
    """
    manifest = run_dir / "manifest.json"
    key = (str(run_dir.resolve()), manifest.stat().st_mtime_ns)
    with _READING:
        return _run_results(*key)


@lru_cache(maxsize=256)
def _run_results(run_dir_text: str, mtime_ns: int) -> RunResults:
    from planner.report.compare import run_summary

    run_dir = Path(run_dir_text)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    row = run_summary(run_dir)

    def read(rel: str) -> pd.DataFrame:
        return pd.read_csv(run_dir / rel, encoding="utf-8-sig")

    sb, sa = read("before/summary.csv").set_index("stage"), read("after/summary.csv").set_index("stage")
    passing = tuple(
        StagePassing(STAGES_ZH[s], _passing(sb, s), _passing(sa, s), str(sa.loc[s, "verdict_zh"]) if s in sa.index
                     else "")
        for s in STAGES_ZH
        if s in sb.index or s in sa.index
    )  # fmt: skip
    bb = read("before/balance.csv").set_index(["stage", "indicator"])
    ab = read("after/balance.csv")
    cvs = tuple(
        CvChange(STAGES_ZH.get(r.stage, r.stage), str(r.indicator_zh), float(r.threshold),
                 float(bb.loc[(r.stage, r.indicator), "cv"]) if (r.stage, r.indicator) in bb.index else math.nan,
                 float(r.cv), bool(r.met))
        for r in ab.itertuples(index=False)
    )  # fmt: skip
    files = [str(f) for f in manifest.get("files", [])]
    groups = []
    for prefix, label in FILE_GROUPS:
        if prefix:
            members = [f for f in files if f.startswith(prefix)]
        else:
            members = [f for f in files if "/" not in f]
        if members:
            groups.append((label, tuple(members)))
    costs = manifest.get("costs", {})
    solver = {"gap_rel": manifest.get("scenario", {}).get("solver", {}).get("gap_rel"), **manifest.get("solver", {})}
    return RunResults(
        scenario=str(row["scenario"]),
        status_zh=status_words(solver),
        status_en=str(manifest.get("status", "")),
        capital_wan=float(costs.get("capital_yuan", 0.0)) / 1e4,
        capital_budget_wan=float(costs.get("capital_budget_yuan", 0.0)) / 1e4,
        recurrent_wan=float(costs.get("recurrent_yuan_per_year", 0.0)) / 1e4,
        recurrent_budget_wan=float(costs.get("recurrent_budget_yuan_per_year", 0.0)) / 1e4,
        pupils_rezoned=int(row["pupils_rezoned"]),
        teachers_moved=int(row["teachers_moved"]),
        passing=passing,
        cvs=cvs,
        static_maps=tuple(f for f in files if f.startswith("maps/") and f.endswith(".png")),
        has_map="map.html" in files,
        file_groups=tuple(groups),
        notes=tuple(str(n) for n in manifest.get("notes", [])),
    )


@lru_cache(maxsize=256)
def _listed_files(run_dir_text: str, mtime_ns: int) -> frozenset[str]:
    manifest = json.loads((Path(run_dir_text) / "manifest.json").read_text(encoding="utf-8"))
    return frozenset(str(f) for f in manifest.get("files", []))


def run_file(run_dir: Path, rel: str) -> Path | None:
    """The file ``rel`` of a run when its manifest lists it (no other path is ever opened)."""
    manifest = run_dir / "manifest.json"
    if rel not in _listed_files(str(run_dir), manifest.stat().st_mtime_ns):
        return None
    path = run_dir / rel
    return path if path.is_file() else None
