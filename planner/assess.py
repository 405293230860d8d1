"""The assessment engine: the national standard (教督〔2017〕6号), exactly.

Two steps, so that the optimiser can assess "after" states with the same code:

1. :func:`school_parts` turns a :class:`~planner.county.County` into one row per school
   part (school × stage): pupils, classes, teachers by category and the resources of the
   7 indicators, a nine-year school's school totals split between its parts by pupils.
2. :func:`assess_parts` is a pure function of that table (and the standards, and an
   optional rotation plan): indicators, school compliance (6 of 7 met, the other ≥ 85%),
   the enrolment-weighted CV per stage and indicator, and the government-guarantee items
   the data can show. It re-evaluates the scope (teaching points under 50 pupils) from the
   parts' pupils, because a plan can change them.

:func:`assess` is ``assess_parts(school_parts(county))``. Every formula, scope rule and
split rule is in ``docs/assessment.md``.

Decisions (met or not, ≥ 85%, CV ≤ threshold, class size, staffing, shares) are taken in
exact rational arithmetic (:class:`fractions.Fraction`) on the stored input values and
the thresholds as written in decimal in the standards YAML; nothing is rounded. Values
are reported as floats (each the correctly rounded exact value).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from planner.county import County
from planner.schema import STAGE_ZH, STAGES
from planner.standards import EDUCATION_ORDER, INDICATORS, INDICATORS_BY_KEY, Standards, load_standards

log = logging.getLogger(__name__)

#: Stages a school of each kind teaches (special schools: the stages it has pupils in).
STAGES_OF_KIND: dict[str, tuple[str, ...]] = {
    "primary": ("primary",),
    "teaching_point": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
}

#: Why a part is not assessed: code -> (中文, English).
EXCLUSIONS: dict[str, tuple[str, str]] = {
    "special": ("特殊教育学校不参评", "special-education school, not assessed"),
    "small_teaching_point": ("不足50人的教学点不参评", "teaching point under the minimum pupils, not assessed"),
    "no_pupils": ("该学段无在校生", "no pupils in this stage"),
}

#: Teacher categories of a rotation plan (exclusive, in this order of precedence).
ROTATION_CATEGORIES: dict[str, str] = {
    "backbone": "县级及以上骨干教师",
    "pe_art": "体育、艺术教师",
    "above_required": "高于规定学历教师",
    "other": "其他教师",
}

#: Resource columns split between a nine-year school's parts by pupils: part column -> school-total column.
SPLIT_RESOURCES: dict[str, str] = {
    "floor_area_m2": "school_floor_area_m2",
    "sports_area_m2": "school_sports_area_m2",
    "equipment_value_yuan": "school_equipment_value_yuan",
    "multimedia_rooms": "school_multimedia_rooms",
}

#: Columns of the school-parts table, in order.
PART_COLUMNS: tuple[str, ...] = (
    "school_id", "name_zh", "kind", "ownership", "is_boarding", "area_type", "township_id", "stage",
    "included", "exclusion",
    "pupils", "classes", "school_pupils", "share", "catchment_pupils",
    "teachers", "teachers_above_required", "backbone_teachers", "pe_art_teachers", "teachers_eligible",
    "floor_area_m2", "sports_area_m2", "equipment_value_yuan", "multimedia_rooms",
    "school_floor_area_m2", "school_sports_area_m2", "school_equipment_value_yuan", "school_multimedia_rooms",
    "music_rooms", "music_rooms_area_m2", "art_rooms", "art_rooms_area_m2",
)  # fmt: skip

_NUMERIC = (
    "pupils", "classes", "catchment_pupils", "teachers", "teachers_above_required", "backbone_teachers",
    "pe_art_teachers", "teachers_eligible", "school_floor_area_m2", "school_sports_area_m2",
    "school_equipment_value_yuan", "school_multimedia_rooms", "floor_area_m2", "sports_area_m2",
    "equipment_value_yuan", "multimedia_rooms", "music_rooms", "music_rooms_area_m2", "art_rooms",
    "art_rooms_area_m2",
)  # fmt: skip

_TABLES = ("summary", "indicators", "schools", "balance", "guarantee")


# --------------------------------------------------------------------------- exact arithmetic


def _q(x: Any) -> Fraction:
    """Exact rational of a stored number (ints exactly; floats as the binary value stored)."""
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    return Fraction(float(x))


def _qd(x: float) -> Fraction:
    """Exact rational of a threshold as written in decimal (4.2 -> 21/5)."""
    return Fraction(repr(float(x)))


def _pct_floor(r: Fraction) -> str:
    """Percentage truncated (not rounded) to one decimal, so 84.99% never shows as 85.0%."""
    return f"{math.floor(r * 1000) / 10:.1f}%"


def _fmt_cv(cv: float, limit: float) -> str:
    for digits in (2, 3, 4, 6):
        a, b = f"{cv:.{digits}f}", f"{limit:.{digits}f}"
        if a != b:
            return a
    return f"{cv:.6f}"


# --------------------------------------------------------------------------- the Assessment


class Assessment:
    """Result of :func:`assess_parts`: read-only tables (pandas DataFrames).

    Every table property returns a shallow copy (pandas copy-on-write), so a caller can
    never change the assessment it was given.

    Attributes
    ----------
    standards : Standards
        Thresholds used.
    county_name_zh : str
        County name for report titles ("" when unknown).
    synthetic : bool
        Whether the county data is generated (reports say so).
    parts : DataFrame
        The school-parts table assessed, with ``included`` and ``exclusion`` as
        re-evaluated by the engine.
    indicators : DataFrame
        Long form: one row per assessed part × indicator (stage, school, indicator,
        pupils, resource, value, standard, ratio, met, shortfall, shortfall_whole).
    schools : DataFrame
        One row per part (assessed or not), primary parts first: met count, missed indicators, passes, reason
        in Chinese and English.
    balance : DataFrame
        One row per stage × indicator: schools, pupils, county mean X̄, S, CV, threshold, met.
    guarantee : DataFrame
        Government-guarantee items, one row per item × school (or part, or county).
    summary : DataFrame
        One row per stage: whether the county passes resource allocation, and why not
        (``verdict_zh``, ``verdict_en``).
    """

    __slots__ = ("_frozen", "_tables", "county_name_zh", "standards", "synthetic")

    def __init__(
        self,
        *,
        standards: Standards,
        tables: Mapping[str, pd.DataFrame],
        county_name_zh: str = "",
        synthetic: bool = False,
    ) -> None:
        missing = [t for t in ("parts", *_TABLES) if t not in tables]
        if missing:
            raise ValueError(f"Assessment needs tables {missing}")
        object.__setattr__(self, "standards", standards)
        object.__setattr__(self, "_tables", {k: v.copy() for k, v in tables.items()})
        object.__setattr__(self, "county_name_zh", county_name_zh)
        object.__setattr__(self, "synthetic", synthetic)
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Assessment is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Assessment is immutable")

    def _get(self, name: str) -> pd.DataFrame:
        return self._tables[name].copy(deep=False)

    @property
    def parts(self) -> pd.DataFrame:
        """The assessed school-parts table."""
        return self._get("parts")

    @property
    def indicators(self) -> pd.DataFrame:
        """One row per assessed part × indicator."""
        return self._get("indicators")

    @property
    def schools(self) -> pd.DataFrame:
        """Compliance per school part."""
        return self._get("schools")

    @property
    def balance(self) -> pd.DataFrame:
        """CV per stage × indicator."""
        return self._get("balance")

    @property
    def guarantee(self) -> pd.DataFrame:
        """Government-guarantee items."""
        return self._get("guarantee")

    @property
    def summary(self) -> pd.DataFrame:
        """One line per stage."""
        return self._get("summary")

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name (summary, indicators, schools, balance, guarantee)."""
        return {name: self._get(name) for name in _TABLES}

    def passes(self, stage: str) -> bool:
        """Whether the county passes resource allocation at ``stage``."""
        s = self._tables["summary"]
        return bool(s.loc[s["stage"] == stage, "passes"].iloc[0])

    def __repr__(self) -> str:
        lines = "; ".join(self._tables["summary"]["verdict_en"])
        return f"Assessment({self.county_name_zh or 'county'}: {lines})"


# --------------------------------------------------------------------------- step 1: parts


def teacher_categories(teachers: pd.DataFrame, standards: Standards | None = None) -> pd.DataFrame:
    """Classify each full-time teacher for indicators 1-3 and rotation eligibility.

    Parameters
    ----------
    teachers : DataFrame
        The roster (``planner.schema.TEACHERS``): school_id, stage, education,
        backbone_level, subject, years_at_school.
    standards : Standards, optional
        Defaults to the national standard.

    Returns
    -------
    DataFrame
        Same index; columns ``school_id``, ``stage``, ``above_required`` (education at or
        above the stage's minimum: college for primary, bachelor for junior),
        ``backbone`` (county level or higher), ``pe_art`` (subject pe, music or art),
        ``eligible`` (years_at_school ≥ the rotation eligibility years) — all bool — and
        ``category``, the exclusive rotation category (backbone > pe_art >
        above_required > other).
    """
    std = standards or load_standards()
    tc = std.teacher_categories
    rank = {e: i for i, e in enumerate(EDUCATION_ORDER)}
    edu = teachers["education"].map(rank)
    need = teachers["stage"].map({s: rank[tc.qualification_min[s]] for s in STAGES})
    out = pd.DataFrame(index=teachers.index)
    out["school_id"] = teachers["school_id"].to_numpy()
    out["stage"] = teachers["stage"].to_numpy()
    out["above_required"] = (edu >= need).to_numpy(dtype=bool)
    out["backbone"] = teachers["backbone_level"].isin(tc.backbone_levels).to_numpy()
    out["pe_art"] = teachers["subject"].isin(tc.pe_art_subjects).to_numpy()
    out["eligible"] = (teachers["years_at_school"] >= std.guarantee.rotation_eligible_years).to_numpy()
    out["category"] = [
        rotation_category(b, p, q)
        for b, p, q in zip(out["backbone"], out["pe_art"], out["above_required"], strict=True)
    ]
    return out


def rotation_category(backbone: bool, pe_art: bool, above_required: bool) -> str:
    """The exclusive rotation category of a teacher: backbone > pe_art > above_required > other."""
    if backbone:
        return "backbone"
    if pe_art:
        return "pe_art"
    return "above_required" if above_required else "other"


def split_school_resources(parts: pd.DataFrame) -> pd.DataFrame:
    """Recompute each part's share of its school's totals from the parts' pupils.

    A school total (floor area, sports area, equipment, multimedia rooms) is split
    between the parts of one school in proportion to their pupils:
    ``part amount = school total × part pupils / school pupils``. A single-stage school's
    part gets the whole total. When a school has no pupils at all its parts get 0 (they
    are not assessed). Call this again after changing the pupils of a nine-year school's
    parts (e.g. re-zoning in an "after" state).

    Parameters
    ----------
    parts : DataFrame
        School-parts table with ``school_id``, ``pupils`` and the ``school_*`` total columns.

    Returns
    -------
    DataFrame
        A copy with ``school_pupils``, ``share`` and the four split columns recomputed.
    """
    out = parts.copy()
    pupils = out["pupils"].astype(float)
    total = pupils.groupby(out["school_id"]).transform("sum")
    out["school_pupils"] = total.to_numpy()
    out["share"] = np.where(total > 0, pupils / total.where(total > 0, 1.0), 0.0)
    for col, school_col in SPLIT_RESOURCES.items():
        out[col] = out[school_col].astype(float) * out["share"]  # share 1.0 keeps the total exactly
    return out


def school_parts(county: County, standards: Standards | None = None) -> pd.DataFrame:
    """One row per school part (school × stage), assessed or not.

    Parameters
    ----------
    county : County
        Validated county.
    standards : Standards, optional
        Defaults to the national standard (teacher categories and scope).

    Returns
    -------
    DataFrame
        Columns :data:`PART_COLUMNS`, RangeIndex, parts in school order then primary
        before junior. Primary schools and teaching points have a primary part, junior
        schools a junior part, nine-year schools both; special-education schools one
        part per stage they have pupils in (a primary part when none), excluded.
        Teachers are counted in the part of their own ``stage``; floor area, sports area,
        equipment and multimedia rooms are split by pupils
        (:func:`split_school_resources`); music and art rooms stay school totals (the
        guarantee items are per school). ``catchment_pupils`` are the pupils of the
        settlements whose current catchment school for the stage is this school.
    """
    std = standards or load_standards()
    s = county.schools
    area_type = s["settlement_id"].map(county.settlements["area_type"]).fillna("")
    rows = []
    for pos, (sid, row) in enumerate(s.iterrows()):
        kind = row["kind"]
        if kind == "special":
            stages = tuple(st for st in STAGES if row[f"pupils_{st}"] > 0) or ("primary",)
        else:
            stages = STAGES_OF_KIND[kind]
        for stage in stages:
            rows.append(
                {
                    "_pos": pos, "school_id": str(sid), "name_zh": row["name_zh"], "kind": kind,
                    "ownership": row["ownership"], "is_boarding": bool(row["is_boarding"]),
                    "area_type": area_type.loc[sid], "township_id": row["township_id"], "stage": stage,
                    "pupils": int(row[f"pupils_{stage}"]), "classes": int(row[f"classes_{stage}"]),
                    "school_floor_area_m2": float(row["floor_area_m2"]),
                    "school_sports_area_m2": float(row["sports_area_m2"]),
                    "school_equipment_value_yuan": float(row["equipment_value_yuan"]),
                    "school_multimedia_rooms": int(row["multimedia_rooms"]),
                    "music_rooms": int(row["music_rooms"]), "music_rooms_area_m2": float(row["music_rooms_area_m2"]),
                    "art_rooms": int(row["art_rooms"]), "art_rooms_area_m2": float(row["art_rooms_area_m2"]),
                }
            )  # fmt: skip
    parts = pd.DataFrame(rows)

    cats = teacher_categories(county.teachers, std)
    flags = cats[["above_required", "backbone", "pe_art", "eligible"]].astype(int)
    flags["teachers"] = 1
    counts = flags.groupby([cats["school_id"].astype(str), cats["stage"]]).sum()
    counts = counts.rename(
        columns={"above_required": "teachers_above_required", "backbone": "backbone_teachers",
                 "pe_art": "pe_art_teachers", "eligible": "teachers_eligible"}
    )  # fmt: skip
    key = pd.MultiIndex.from_arrays([parts["school_id"], parts["stage"]])
    for col in ("teachers", "teachers_above_required", "backbone_teachers", "pe_art_teachers", "teachers_eligible"):
        parts[col] = counts[col].reindex(key).fillna(0).astype(int).to_numpy()
    orphan = counts.index.difference(key)
    if len(orphan):
        log.warning("%d teachers' (school, stage) have no school part and are not counted, e.g. %s",
                    int(counts.loc[orphan, "teachers"].sum()), orphan[0])  # fmt: skip

    st = county.settlements
    catch = np.zeros(len(parts), dtype=int)
    for stage in STAGES:
        by_school = st.groupby(st[f"school_{stage}_id"].astype(str))[f"pupils_{stage}"].sum()
        mask = (parts["stage"] == stage).to_numpy()
        catch[mask] = parts.loc[mask, "school_id"].map(by_school).fillna(0).astype(int).to_numpy()
    parts["catchment_pupils"] = catch

    parts = split_school_resources(parts.assign(school_pupils=0, share=0.0, **dict.fromkeys(SPLIT_RESOURCES, 0.0)))
    inc, exc = _scope(parts, std)
    parts["included"] = inc
    parts["exclusion"] = exc
    parts["_order"] = parts["stage"].map({st: i for i, st in enumerate(STAGES)})
    parts = parts.sort_values(["_pos", "_order"], kind="stable")
    return parts[list(PART_COLUMNS)].reset_index(drop=True)


def _scope(parts: pd.DataFrame, std: Standards) -> tuple[np.ndarray, np.ndarray]:
    """Included flag and exclusion code per part, from kind and pupils."""
    kind = parts["kind"].to_numpy()
    pupils = parts["pupils"].to_numpy(dtype=float)
    exc = np.select(
        [kind == "special", (kind == "teaching_point") & (pupils < std.scope.teaching_point_min_pupils), pupils <= 0],
        ["special", "small_teaching_point", "no_pupils"],
        "",
    )
    return exc == "", exc


# --------------------------------------------------------------------------- step 2: assess


def _check_parts(parts: pd.DataFrame) -> None:
    need = [c for c in PART_COLUMNS if c not in ("included", "exclusion")]
    missing = [c for c in need if c not in parts.columns]
    if missing:
        raise ValueError(f"school-parts table lacks columns: {', '.join(missing)}")
    for col in _NUMERIC:
        v = pd.to_numeric(parts[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (v < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"school-parts table: {col} of {parts['school_id'].iloc[i]} {parts['stage'].iloc[i]} "
                f"must be a finite number ≥ 0 (got {parts[col].iloc[i]!r})"
            )
    dup = parts.duplicated(["school_id", "stage"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValueError(f"school-parts table: {parts['school_id'].iloc[i]} {parts['stage'].iloc[i]} appears twice")
    bad_stage = ~parts["stage"].isin(STAGES)
    if bad_stage.any():
        raise ValueError(f"school-parts table: unknown stage {parts.loc[bad_stage, 'stage'].iloc[0]!r}")


def _part_resource(r: pd.Series, resource: str, pupils: Fraction) -> Fraction:
    """Exact resource of one part: a school total split by pupils is ``total × pupils / school pupils``.

    The float split column (:func:`split_school_resources`) can sit a rounding error below the exact
    share, so a nine-year school bought exactly to the standard would read as short of it; the exact
    share keeps ``value = school total / school pupils`` for every part of the school (DOMAIN.md §1.1).
    """
    school_col = SPLIT_RESOURCES.get(resource)
    if school_col is None or school_col not in r.index or not float(r["school_pupils"]) > 0:
        return _q(r[resource])
    return _q(r[school_col]) * pupils / _q(r["school_pupils"])


def _indicator_rows(p: pd.DataFrame, std: Standards) -> tuple[pd.DataFrame, dict[tuple[int, str], Fraction]]:
    """Long indicator table of the assessed parts, and the exact ratio per (part row, indicator)."""
    rows = []
    exact: dict[tuple[int, str], Fraction] = {}
    assessed = p[p["included"]]
    for stage in STAGES:
        sp = assessed[assessed["stage"] == stage]
        for i, r in sp.iterrows():
            pupils = _q(r["pupils"])
            for ind in INDICATORS:
                standard = std.threshold(stage, ind.key)
                sq = _qd(standard)
                res = _part_resource(r, ind.resource, pupils)
                value = res * ind.per_pupils / pupils
                ratio = value / sq
                need = sq * pupils / ind.per_pupils
                short = max(Fraction(0), need - res)
                exact[(int(i), ind.key)] = ratio
                rows.append(
                    {
                        "stage": stage, "school_id": r["school_id"], "name_zh": r["name_zh"], "kind": r["kind"],
                        "ownership": r["ownership"], "pupils": int(r["pupils"]),
                        "indicator": ind.key, "number": ind.number, "indicator_zh": ind.zh, "unit": ind.unit_zh,
                        "resource": float(r[ind.resource]), "resource_unit": ind.resource_unit_zh,
                        "value": float(value), "standard": standard, "ratio": float(ratio),
                        "met": value >= sq, "shortfall": float(short),
                        "shortfall_whole": math.ceil(short) if ind.discrete else pd.NA,
                    }
                )  # fmt: skip
    cols = ["stage", "school_id", "name_zh", "kind", "ownership", "pupils", "indicator", "number", "indicator_zh",
            "unit", "resource", "resource_unit", "value", "standard", "ratio", "met", "shortfall",
            "shortfall_whole"]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols)
    df["shortfall_whole"] = df["shortfall_whole"].astype("Int64")
    df["met"] = df["met"].astype(bool)
    return df, exact


def _compliance(p: pd.DataFrame, exact: dict[tuple[int, str], Fraction], std: Standards) -> pd.DataFrame:
    rule = std.school_rule
    floor = _qd(rule.floor_share)
    floor_txt = f"{float(rule.floor_share) * 100:g}%"
    rows = []
    for i, r in p.iterrows():
        base = {"school_id": r["school_id"], "name_zh": r["name_zh"], "kind": r["kind"], "ownership": r["ownership"],
                "stage": r["stage"], "stage_zh": STAGE_ZH[r["stage"]], "pupils": int(r["pupils"])}  # fmt: skip
        if not r["included"]:
            zh, en = EXCLUSIONS[r["exclusion"]]
            rows.append({**base, "assessed": False, "exclusion": r["exclusion"], "n_met": pd.NA, "missed": "",
                         "worst_ratio": np.nan, "passes": pd.NA, "reason_zh": f"不参评：{zh}",
                         "reason_en": f"not assessed: {en}"})  # fmt: skip
            continue
        ratios = {ind.key: exact[(int(i), ind.key)] for ind in INDICATORS}
        missed = [k for k, q in ratios.items() if q < 1]
        n_met = len(INDICATORS) - len(missed)
        low = [k for k in missed if ratios[k] < floor]
        passes = n_met >= rule.min_met and not low
        zh_parts, en_parts = [], []
        if not missed:
            zh_parts.append(f"{len(INDICATORS)}项全部达标")
            en_parts.append(f"all {len(INDICATORS)} indicators met")
        elif passes:
            detail_zh = "、".join(f"{INDICATORS_BY_KEY[k].zh}达到标准的{_pct_floor(ratios[k])}" for k in missed)
            detail_en = ", ".join(f"{INDICATORS_BY_KEY[k].en} at {_pct_floor(ratios[k])} of standard" for k in missed)
            zh_parts.append(f"达标{n_met}项；{detail_zh}（不低于{floor_txt}）")
            en_parts.append(f"{n_met} met; {detail_en} (≥ {floor_txt})")
        else:
            if n_met < rule.min_met:
                lst_zh = "、".join(f"{INDICATORS_BY_KEY[k].zh} {_pct_floor(ratios[k])}" for k in missed)
                lst_en = ", ".join(f"{INDICATORS_BY_KEY[k].en} {_pct_floor(ratios[k])}" for k in missed)
                zh_parts.append(f"{len(missed)}项未达标（至少须{rule.min_met}项达标）：{lst_zh}")
                en_parts.append(f"{len(missed)} indicators missed (at least {rule.min_met} must be met): {lst_en}")
            else:  # enough met, but a missed one is below the floor
                lst_zh = "、".join(f"{INDICATORS_BY_KEY[k].zh}仅达标准的{_pct_floor(ratios[k])}" for k in low)
                lst_en = ", ".join(f"{INDICATORS_BY_KEY[k].en} only {_pct_floor(ratios[k])} of standard" for k in low)
                zh_parts.append(f"{lst_zh}（低于{floor_txt}）")
                en_parts.append(f"{lst_en} (below {floor_txt})")
        worst = min((ratios[k] for k in missed), default=None)
        rows.append({**base, "assessed": True, "exclusion": "", "n_met": n_met, "missed": ";".join(missed),
                     "worst_ratio": float(worst) if worst is not None else np.nan, "passes": passes,
                     "reason_zh": ("达标：" if passes else "未达标：") + "；".join(zh_parts),
                     "reason_en": ("passes: " if passes else "fails: ") + "; ".join(en_parts)})  # fmt: skip
    df = pd.DataFrame(rows)
    df["n_met"] = df["n_met"].astype("Int64")
    df["passes"] = df["passes"].astype("boolean")
    # stage first (小学 then 初中), parts order within a stage, as in the indicator table
    order = df["stage"].map({st: i for i, st in enumerate(STAGES)})
    return df.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


def _cv_exact(resources: Iterable[Fraction], pupils: Iterable[Fraction]) -> tuple[Fraction, Fraction, Fraction] | None:
    """(Σ R, Σ P, CV²) exactly; None when Σ R = 0 (CV undefined).

    With X_i = k R_i / P_i and X̄ = k ΣR / P, the official CV² = Σ P_i (X_i − X̄)² / P / X̄²
    equals P · Σ(R_i² / P_i) / (ΣR)² − 1 (the per-100 factor k cancels).
    """
    r = list(resources)
    pp = list(pupils)
    sr, sp = sum(r, Fraction(0)), sum(pp, Fraction(0))
    if sr == 0:
        return None
    sq = sum((ri * ri / pi for ri, pi in zip(r, pp, strict=True)), Fraction(0))
    return sr, sp, sp * sq / (sr * sr) - 1


def _balance(p: pd.DataFrame, std: Standards) -> pd.DataFrame:
    rows = []
    assessed = p[p["included"]]
    for stage in STAGES:
        sp = assessed[assessed["stage"] == stage]
        pupils = [_q(x) for x in sp["pupils"]]
        limit = std.cv_max[stage]
        for ind in INDICATORS:
            standard = std.threshold(stage, ind.key)
            res = [_q(x) for x in sp[ind.resource]]
            out = _cv_exact(res, pupils) if len(sp) else None
            rec = {"stage": stage, "stage_zh": STAGE_ZH[stage], "indicator": ind.key, "number": ind.number,
                   "indicator_zh": ind.zh, "unit": ind.unit_zh, "n_schools": len(sp),
                   "pupils": int(sum(pupils)), "resource_total": float(sum(res, Fraction(0)))}  # fmt: skip
            if out is None:
                rec.update(mean=0.0 if len(sp) else np.nan, std=np.nan, cv=np.nan, threshold=limit, met=False)
            else:
                sr, sp_, cv2 = out
                mean = sr * ind.per_pupils / sp_
                cv = math.sqrt(float(cv2))
                rec.update(mean=float(mean), std=cv * float(mean), cv=cv, threshold=limit, met=cv2 <= _qd(limit) ** 2)
            rec["standard"] = standard
            rec["mean_ratio"] = rec["mean"] / standard if rec["mean"] == rec["mean"] else np.nan
            rows.append(rec)
    df = pd.DataFrame(rows)
    df["met"] = df["met"].astype(bool)
    return df


def _g(item: str, item_zh: str, scope: str, **kw: Any) -> dict[str, Any]:
    rec = {"item": item, "item_zh": item_zh, "scope": scope, "school_id": "", "name_zh": "", "kind": "",
           "stage": "", "value": np.nan, "limit": np.nan, "met": True, "gap": 0.0, "gap_whole": pd.NA,
           "unit": "", "pupils_affected": 0, "flag": "", "detail_zh": ""}  # fmt: skip
    rec.update(kw)
    return rec


def _guarantee(p: pd.DataFrame, std: Standards, rotation: pd.DataFrame | None, eligible: int | None) -> pd.DataFrame:
    g = std.guarantee
    rows: list[dict[str, Any]] = []
    ps = p[p["kind"] != "special"]

    # school size (per school)
    first = ps.groupby("school_id", sort=False).first()
    totals = ps.groupby("school_id", sort=False)[["pupils", "classes"]].sum()
    for sid, r in first.iterrows():
        pupils = int(totals.loc[sid, "pupils"])
        limit = g.school_size_max.nine_year if r["kind"] == "nine_year" else g.school_size_max.single_stage
        over = max(0, pupils - limit)
        rows.append(_g("school_size", "学校规模", "school", school_id=sid, name_zh=r["name_zh"], kind=r["kind"],
                       value=float(pupils), limit=float(limit), met=pupils <= limit, gap=float(over), gap_whole=over,
                       unit="人", pupils_affected=pupils if over else 0,
                       detail_zh=f"在校生{pupils}人，超过上限{over}人" if over else ""))  # fmt: skip

    # class size (per part, by average class size)
    for _, r in ps[ps["pupils"] > 0].iterrows():
        stage, pupils, classes = r["stage"], _q(r["pupils"]), _q(r["classes"])
        limit = g.class_size_max[stage]
        common = {"school_id": r["school_id"], "name_zh": r["name_zh"], "kind": r["kind"], "stage": stage,
                  "limit": float(limit), "unit": "人/班"}  # fmt: skip
        if classes == 0:
            rows.append(_g("class_size", "班额", "part", **common, met=False, pupils_affected=int(pupils),
                           detail_zh="有在校生但班级数为0"))  # fmt: skip
            continue
        avg = pupils / classes
        met = avg <= _qd(limit)
        flag = ("very_large_class" if avg >= g.very_large_class_min
                else "large_class" if avg >= g.large_class_min else "")  # fmt: skip
        over = max(Fraction(0), pupils - _qd(limit) * classes)
        extra = max(0, math.ceil(pupils / _qd(limit)) - int(classes))
        label = {"very_large_class": "超大班额", "large_class": "大班额", "": ""}[flag]
        rows.append(_g("class_size", "班额", "part", **common, value=float(avg), met=met, gap=float(over),
                       gap_whole=extra, pupils_affected=int(pupils) if not met else 0, flag=flag,
                       detail_zh=(f"平均班额{float(avg):.1f}人，超出{float(over):g}人，需增{extra}个班"
                                  + (f"（{label}）" if label else "")) if not met else ""))  # fmt: skip

    # music and art rooms (per school)
    per = g.classes_per_special_room
    for sid, r in first.iterrows():
        classes = int(totals.loc[sid, "classes"])
        if classes <= 0:
            continue
        required = math.ceil(classes / per)
        for item, zh, n_col, a_col, min_area in (
            ("music_rooms", "音乐专用教室", "music_rooms", "music_rooms_area_m2", g.music_room_min_area_m2),
            ("art_rooms", "美术专用教室", "art_rooms", "art_rooms_area_m2", g.art_room_min_area_m2),
        ):
            n, area = int(r[n_col]), _q(r[a_col])
            ok_area = n > 0 and area / n >= _qd(min_area)
            compliant = n if ok_area else 0
            short = max(0, required - compliant)
            detail = ""
            if n > 0 and not ok_area:
                detail = f"{n}间，平均{float(area / n):.1f}m²，低于{min_area:g}m²，不计入"
            if short:
                detail = (detail + "；" if detail else "") + f"{classes}个班需{required}间，缺{short}间"
            rows.append(_g(item, zh, "school", school_id=sid, name_zh=r["name_zh"], kind=r["kind"],
                           value=float(compliant), limit=float(required), met=short == 0, gap=float(short),
                           gap_whole=short, unit="间", pupils_affected=int(totals.loc[sid, "pupils"]) if short else 0,
                           detail_zh=detail))  # fmt: skip

    # staffing norm (per part)
    for _, r in ps[ps["pupils"] > 0].iterrows():
        stage = r["stage"]
        norm = g.staffing_pupils_per_post[stage]
        required = _q(r["pupils"]) / _qd(norm)
        teachers = _q(r["teachers"])
        short = max(Fraction(0), required - teachers)
        surplus = max(Fraction(0), teachers - required)
        rows.append(_g("staffing", "教师编制（生师比）", "part", school_id=r["school_id"], name_zh=r["name_zh"],
                       kind=r["kind"], stage=stage, value=float(teachers), limit=float(required),
                       met=teachers >= required, gap=float(short), gap_whole=math.ceil(short), unit="人",
                       pupils_affected=int(r["pupils"]) if short else 0,
                       detail_zh=f"按1:{norm:g}需{float(required):.1f}人，"
                       + (f"缺{float(short):.1f}人" if short else f"富余{float(surplus):.1f}人")))  # fmt: skip

    # catchment enrolment share (public urban/town non-boarding parts, and county per stage)
    cs = ps[(ps["ownership"] == "public") & ~ps["is_boarding"].astype(bool) & ps["area_type"].isin(["urban", "town"])
            & (ps["pupils"] > 0)]  # fmt: skip
    for stage in STAGES:
        limit = g.catchment_share_min[stage]
        sub = cs[cs["stage"] == stage]
        for _, r in sub.iterrows():
            pupils, catch = _q(r["pupils"]), min(_q(r["catchment_pupils"]), _q(r["pupils"]))
            share = catch / pupils
            short = max(0, math.ceil(_qd(limit) * pupils - catch))
            rows.append(_g("catchment_share", "就近划片入学比例", "part", school_id=r["school_id"],
                           name_zh=r["name_zh"], kind=r["kind"], stage=stage, value=float(share), limit=limit,
                           met=share >= _qd(limit), gap=float(short), gap_whole=short, unit="比例",
                           pupils_affected=int(pupils - catch),
                           detail_zh=f"划片学生{int(catch)}人/在校生{int(pupils)}人"))  # fmt: skip
        if len(sub):
            pupils = sum((_q(x) for x in sub["pupils"]), Fraction(0))
            catch = sum((min(_q(a), _q(b)) for a, b in zip(sub["catchment_pupils"], sub["pupils"], strict=True)),
                        Fraction(0))  # fmt: skip
            share = catch / pupils
            short = max(0, math.ceil(_qd(limit) * pupils - catch))
            rows.append(_g("catchment_share", "就近划片入学比例", "county", stage=stage, name_zh="全县城镇公办学校",
                           value=float(share), limit=limit, met=share >= _qd(limit), gap=float(short),
                           gap_whole=short, unit="比例", pupils_affected=int(pupils - catch),
                           detail_zh=f"{len(sub)}所城区和镇区公办非寄宿学校："
                           f"划片学生{int(catch)}人/在校生{int(pupils)}人"))  # fmt: skip

    # rotation plan (county)
    if rotation is not None:
        rows += _rotation_rows(p, std, rotation, eligible)

    df = pd.DataFrame(rows, columns=list(_g("", "", "").keys()))
    df["gap_whole"] = df["gap_whole"].astype("Int64")
    df["pupils_affected"] = df["pupils_affected"].astype("Int64")
    df["met"] = df["met"].astype(bool)
    return df


def _check_rotation(rotation: pd.DataFrame) -> pd.DataFrame:
    need = ["from_school_id", "to_school_id", "category", "count"]
    missing = [c for c in need if c not in rotation.columns]
    if missing:
        raise ValueError(f"rotation plan lacks columns: {', '.join(missing)}")
    bad = ~rotation["category"].isin(list(ROTATION_CATEGORIES))
    if bad.any():
        raise ValueError(
            f"rotation plan: unknown category {rotation.loc[bad, 'category'].iloc[0]!r} "
            f"(known: {', '.join(ROTATION_CATEGORIES)})"
        )
    count = pd.to_numeric(rotation["count"], errors="coerce")
    badc = count.isna() | (count < 0) | (count != np.floor(count))
    if badc.any():
        got = rotation.loc[badc, "count"].iloc[0]
        raise ValueError(f"rotation plan: count must be a whole number ≥ 0 (got {got!r})")
    same = rotation["from_school_id"].astype(str) == rotation["to_school_id"].astype(str)
    if same.any():
        raise ValueError(f"rotation plan: a move from {rotation.loc[same, 'from_school_id'].iloc[0]} to itself")
    return rotation.assign(count=count.astype(int))


def _rotation_rows(p: pd.DataFrame, std: Standards, rotation: pd.DataFrame, eligible: int | None) -> list[dict]:
    g = std.guarantee
    rot = _check_rotation(rotation)
    if "eligible" in rot.columns:
        rot = rot[rot["eligible"].astype(bool)]
    pool = eligible
    if pool is None:
        pub = p[(p["ownership"] == "public") & (p["kind"] != "special")]
        pool = int(pub["teachers_eligible"].sum())
    moved = int(rot["count"].sum())
    backbone = int(rot.loc[rot["category"] == "backbone", "count"].sum())
    rows = []
    lim = _qd(g.rotation_min_share)
    if pool > 0:
        share = Fraction(moved, pool)
        short = max(0, math.ceil(lim * pool) - moved)
        rows.append(_g("rotation_share", "交流轮岗教师比例", "county", value=float(share),
                       limit=g.rotation_min_share, met=share >= lim, gap=float(short), gap_whole=short, unit="比例",
                       detail_zh=f"交流{moved}人/符合条件{pool}人"
                       f"（本校连续任教满{g.rotation_eligible_years}年的公办学校专任教师）"))  # fmt: skip
    else:
        rows.append(_g("rotation_share", "交流轮岗教师比例", "county", limit=g.rotation_min_share, met=True,
                       unit="比例", detail_zh="无符合交流条件的教师"))  # fmt: skip
    blim = _qd(g.rotation_backbone_min_share)
    if moved > 0:
        bshare = Fraction(backbone, moved)
        short = max(0, math.ceil(blim * moved) - backbone)
        rows.append(_g("rotation_backbone_share", "骨干教师占交流轮岗教师比例", "county", value=float(bshare),
                       limit=g.rotation_backbone_min_share, met=bshare >= blim, gap=float(short), gap_whole=short,
                       unit="比例", detail_zh=f"骨干教师{backbone}人/交流{moved}人"))  # fmt: skip
    else:
        rows.append(_g("rotation_backbone_share", "骨干教师占交流轮岗教师比例", "county",
                       limit=g.rotation_backbone_min_share, met=False, unit="比例",
                       detail_zh="方案中无交流教师"))  # fmt: skip
    return rows


def _summary(schools: pd.DataFrame, balance: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for stage in STAGES:
        zh, en = STAGE_ZH[stage], stage.capitalize()
        sc = schools[(schools["stage"] == stage) & schools["assessed"]]
        n = len(sc)
        failing = int((~sc["passes"].astype(bool)).sum())
        b = balance[balance["stage"] == stage]
        over = b[~b["met"]]
        limit = float(b["threshold"].iloc[0]) if len(b) else np.nan
        cv_zh = "、".join(
            f"{r.indicator_zh} {_fmt_cv(r.cv, r.threshold)} > {r.threshold:.2f}"
            if r.cv == r.cv
            else f"{r.indicator_zh} 无法计算（全县无此项资源）"
            for r in over.itertuples()
        )
        cv_en = ", ".join(
            f"{INDICATORS_BY_KEY[r.indicator].en} {_fmt_cv(r.cv, r.threshold)} > {r.threshold:.2f}"
            if r.cv == r.cv
            else f"{INDICATORS_BY_KEY[r.indicator].en} undefined (no resource in the county)"
            for r in over.itertuples()
        )
        passes = n > 0 and failing == 0 and over.empty
        if n == 0:
            vzh, ven = f"{zh}：无参评学校", f"{en}: no school assessed"
        elif passes:
            vzh = f"{zh}：通过 — 全部{n}所学校达标；{len(b)}项差异系数均不超过{limit:.2f}"
            ven = f"{en}: passes — all {n} schools meet the school rule; all {len(b)} CVs ≤ {limit:.2f}"
        else:
            why_zh, why_en = [], []
            if failing:
                why_zh.append(f"{failing}所学校未达标（共{n}所）")
                why_en.append(f"{failing} of {n} schools below the school rule")
            if not over.empty:
                why_zh.append(f"差异系数超标：{cv_zh}")
                why_en.append(f"CV over threshold: {cv_en}")
            vzh = f"{zh}：未通过 — " + "；".join(why_zh)
            ven = f"{en}: fails — " + "; ".join(why_en)
        rows.append({"stage": stage, "stage_zh": zh, "schools_assessed": n, "schools_passing": n - failing,
                     "schools_failing": failing, "cv_over": len(over), "cv_threshold": limit,
                     "passes": passes, "verdict_zh": vzh, "verdict_en": ven})  # fmt: skip
    return pd.DataFrame(rows)


def assess_parts(
    parts: pd.DataFrame,
    standards: Standards | None = None,
    rotation: pd.DataFrame | None = None,
    *,
    eligible_teachers: int | None = None,
    county_name_zh: str = "",
    synthetic: bool = False,
) -> Assessment:
    """Assess a school-parts table: a pure function of its arguments.

    Parameters
    ----------
    parts : DataFrame
        As returned by :func:`school_parts` (columns :data:`PART_COLUMNS`; ``included``
        and ``exclusion`` are ignored and re-evaluated from ``kind`` and ``pupils``).
        The split columns (``floor_area_m2`` …) are taken as given; after changing the
        pupils of a nine-year school's parts call :func:`split_school_resources` first.
    standards : Standards, optional
        Defaults to the national standard.
    rotation : DataFrame, optional
        A rotation plan: one row per move group with ``from_school_id``,
        ``to_school_id``, ``category`` (a key of :data:`ROTATION_CATEGORIES`) and
        ``count``; optional ``eligible`` (bool; rows with False are redeployments, not
        rotation, and are not counted). Adds the rotation-share guarantee items.
    eligible_teachers : int, optional
        Teachers eligible for rotation (the pool the 10% applies to). Default: the sum
        of ``teachers_eligible`` over public, non-special parts — pass the baseline figure
        when assessing an after-state whose moved teachers' years were reset.
    county_name_zh : str
        County name for report titles.
    synthetic : bool
        Whether the data is generated (reports say so).

    Returns
    -------
    Assessment
    """
    std = standards or load_standards()
    _check_parts(parts)
    p = parts.reset_index(drop=True).copy()
    inc, exc = _scope(p, std)
    p["included"] = inc
    p["exclusion"] = exc
    indicators, exact = _indicator_rows(p, std)
    schools = _compliance(p, exact, std)
    balance = _balance(p, std)
    guarantee = _guarantee(p, std, rotation, eligible_teachers)
    summary = _summary(schools, balance)
    return Assessment(
        standards=std,
        tables={
            "parts": p,
            "indicators": indicators,
            "schools": schools,
            "balance": balance,
            "guarantee": guarantee,
            "summary": summary,
        },
        county_name_zh=county_name_zh,
        synthetic=synthetic,
    )


def assess(county: County, standards: Standards | None = None, rotation: pd.DataFrame | None = None) -> Assessment:
    """Assess a county against the standard: ``assess_parts(school_parts(county))``.

    Parameters
    ----------
    county : County
        Validated county (:func:`planner.loader.load_county`).
    standards : Standards, optional
        Defaults to the national standard (:func:`planner.standards.load_standards`).
    rotation : DataFrame, optional
        Rotation plan (see :func:`assess_parts`).

    Returns
    -------
    Assessment
    """
    std = standards or load_standards()
    return assess_parts(
        school_parts(county, std), std, rotation, county_name_zh=county.name_zh, synthetic=county.synthetic
    )


__all__ = [
    "EXCLUSIONS",
    "PART_COLUMNS",
    "ROTATION_CATEGORIES",
    "STAGES_OF_KIND",
    "Assessment",
    "assess",
    "assess_parts",
    "school_parts",
    "split_school_resources",
    "teacher_categories",
]
