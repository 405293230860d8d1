"""Outputs of a horizon plan: projected enrolment chart and tables (Chinese first, English alongside).

Reads the plan tables written by :func:`planner.plan.pipeline.plan_county` for a scenario with a
``horizon`` (``plan.extra_tables``: ``projection``, ``projection_flags``,
``township_places``, ``peak_investments``) and writes, into ``out_dir``:

- ``projection_enrolment.png`` — projected pupils per school (every school a line, log
  scale, schools flagged under 50 or over the size limit highlighted) and per township,
  with the standard's lines at 50 and 2000 pupils;
- ``projection_by_school.csv`` — pupils per school catchment and stage, one column a year;
- ``projection_flags.csv`` — schools under 50 pupils or over the school-size limit;
- ``township_places.csv`` — pupils, places and places to add per township, stage and year;
- ``peak_investments.csv`` — expansions and new schools, and whether they serve only a
  passing peak.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from planner.plan import Plan
from planner.rundir import write_csv

log = logging.getLogger(__name__)

STAGE_ZH = {"primary": "小学 primary", "junior": "初中 junior", "all": "全校 whole school"}
FLAG_ZH = {"under_50": "不足50人 under 50 pupils", "over_size": "超规模 over the size limit"}


def _township_names(plan: Plan) -> dict[str, str]:
    t = plan.after_county.townships
    return {str(k): str(v) for k, v in t["name_zh"].items()} if "name_zh" in t else {}


def by_school_table(proj: pd.DataFrame, townships: dict[str, str]) -> pd.DataFrame:
    """Projected pupils per school and stage, one column per year (bilingual headers)."""
    wide = proj.pivot_table(
        index=["school_id", "name_zh", "township_id", "stage"], columns="year", values="pupils", aggfunc="sum"
    ).reset_index()
    wide.columns = [str(c) for c in wide.columns]
    wide.insert(3, "township_zh", wide["township_id"].map(townships).fillna(""))
    wide["stage"] = wide["stage"].map(STAGE_ZH)
    return wide.rename(
        columns={"school_id": "学校代码 school_id", "name_zh": "学校 school", "township_id": "乡镇代码 township_id",
                 "township_zh": "乡镇 township", "stage": "学段 stage"}
    )  # fmt: skip


def flags_table(flags: pd.DataFrame, townships: dict[str, str]) -> pd.DataFrame:
    """Schools under 50 pupils or over the size limit (bilingual headers)."""
    f = flags.copy()
    f["township_zh"] = f["township_id"].map(townships).fillna("")
    f["stage"] = f["stage"].map(STAGE_ZH)
    f["flag"] = f["flag"].map(FLAG_ZH)
    cols = {"school_id": "学校代码 school_id", "name_zh": "学校 school", "township_zh": "乡镇 township",
            "stage": "学段 stage", "flag": "预警 flag", "limit": "界限 limit (pupils)",
            "first_year": "首次出现年份 first year", "years": "年数 years", "pupils_min": "最少在校生 min pupils",
            "pupils_max": "最多在校生 max pupils", "note_zh": "说明 note"}  # fmt: skip
    return f[list(cols)].rename(columns=cols)


def places_table(places: pd.DataFrame, townships: dict[str, str]) -> pd.DataFrame:
    """Pupils, places and places to add per township, stage and year (bilingual headers)."""
    p = places.copy()
    p.insert(1, "township_zh", p["township_id"].map(townships).fillna(""))
    p["stage"] = p["stage"].map(STAGE_ZH)
    return p.rename(
        columns={"township_id": "乡镇代码 township_id", "township_zh": "乡镇 township", "stage": "学段 stage",
                 "year": "年份 year", "pupils": "在校生 pupils", "places": "学位 places",
                 "places_short": "需新增学位 places needed"}
    )  # fmt: skip


def peaks_table(peaks: pd.DataFrame) -> pd.DataFrame:
    """Capacity investments and whether they serve only a passing peak (bilingual headers)."""
    p = peaks.copy()
    p["kind"] = p["kind"].map({"expansion": "改扩建 expansion", "new_school": "新建学校 new school"})
    p["peak_only"] = p["peak_only"].map({True: "是 yes", False: "否 no"})
    cols = {"kind": "项目 kind", "school_id": "学校代码 school_id", "name_zh": "学校 school", "item": "方案 option",
            "cost_yuan": "投资 cost_yuan", "serves": "用途 serves", "peak_year": "高峰年 peak year",
            "peak_pupils": "高峰在校生 peak pupils",
            "target_year": "目标年 target year", "target_pupils": "目标年在校生 target-year pupils",
            "places_before": "原学位 places before", "places_after": "新学位 places after",
            "peak_only": "仅服务高峰 peak only", "note_zh": "说明 note"}  # fmt: skip
    return p[list(cols)].rename(columns=cols)


def enrolment_chart(plan: Plan, path: Path) -> Path:
    """Projected pupils per school (log scale) and per township, with the 50 / size-limit lines."""
    try:
        from planner.report.fonts import use_cjk_font

        use_cjk_font()
    except ImportError:  # pragma: no cover - the font module ships with the package
        log.warning("no CJK font module: Chinese labels may not render")
    proj = plan.extra_tables["projection"]
    flags = plan.extra_tables.get("projection_flags", pd.DataFrame(columns=["school_id", "limit", "flag"]))
    flagged = set(flags["school_id"])
    schools = proj.drop_duplicates(["school_id", "year"])
    names = _township_names(plan)
    fig = Figure(figsize=(13, 5.5))  # no pyplot: no global state, any backend
    ax1, ax2 = fig.subplots(1, 2)
    for sid, g in schools.groupby("school_id", sort=True):
        g = g.sort_values("year")
        y = g["school_pupils"].clip(lower=1)
        if sid in flagged:
            ax1.plot(g["year"], y, lw=1.4, alpha=0.9, label=f"{g['name_zh'].iloc[0]} {sid}")
        else:
            ax1.plot(g["year"], y, lw=0.6, color="0.7", alpha=0.6)
    over = flags[flags["flag"] == "over_size"]["limit"] if len(flags) else pd.Series(dtype=float)
    size_line = float(over.min()) if len(over) else 2000.0
    ax1.axhline(50, color="tab:red", ls="--", lw=1, label="50人 (教学点评估线 teaching-point line)")
    ax1.axhline(size_line, color="tab:purple", ls="--", lw=1, label=f"{size_line:.0f}人 (规模上限 size limit)")
    ax1.set_yscale("log")
    ax1.set_xlabel("年份 year")
    ax1.set_ylabel("在校生 pupils (对数 log scale)")
    ax1.set_title("各学校预测在校生 projected pupils per school")
    handles, labels = ax1.get_legend_handles_labels()
    if len(handles) > 14:
        handles, labels = handles[-2:], labels[-2:]
    ax1.legend(handles, labels, fontsize=7, loc="best")
    town = proj.groupby(["township_id", "year"])["pupils"].sum().reset_index()
    for tid, g in town.groupby("township_id", sort=True):
        ax2.plot(g["year"], g["pupils"], lw=1.2, label=names.get(str(tid), str(tid)))
    ax2.set_xlabel("年份 year")
    ax2.set_ylabel("在校生 pupils")
    ax2.set_title("各乡镇预测在校生 projected pupils per township")
    ax2.legend(fontsize=7, ncol=2 if town["township_id"].nunique() > 10 else 1, loc="best")
    fig.suptitle(f"{plan.after_county.name_zh} 入学预测 enrolment projection ({plan.scenario_name})")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    return path


def write_projection_outputs(plan: Plan, out_dir: Path) -> list[Path]:
    """Write the projection chart and tables of a horizon plan; nothing for other plans.

    Parameters
    ----------
    plan : Plan
        A plan whose ``extra_tables`` hold ``projection`` (scenario with a horizon).
    out_dir : Path
        Folder to write into (created).

    Returns
    -------
    list of Path
        The files written.
    """
    if "projection" not in plan.extra_tables:
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = _township_names(plan)
    t = plan.extra_tables
    paths = [
        enrolment_chart(plan, out_dir / "projection_enrolment.png"),
        write_csv(by_school_table(t["projection"], names), out_dir / "projection_by_school.csv"),
    ]
    if "projection_flags" in t:
        paths.append(write_csv(flags_table(t["projection_flags"], names), out_dir / "projection_flags.csv"))
    if "township_places" in t:
        paths.append(write_csv(places_table(t["township_places"], names), out_dir / "township_places.csv"))
    if "peak_investments" in t:
        paths.append(write_csv(peaks_table(t["peak_investments"]), out_dir / "peak_investments.csv"))
    return paths


__all__ = ["enrolment_chart", "write_projection_outputs"]
