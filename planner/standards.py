"""The national standard (教督〔2017〕6号) as data, with provincial overrides.

The thresholds live in ``planner/data/standards.yaml`` (package data). A province, or a
scenario that demands stricter targets, overrides any of them with a YAML file of the
same shape holding only the keys it changes::

    indicators:
      floor_area: {primary: 5.0}
    guarantee:
      rotation_min_share: 0.20

:func:`load_standards` merges the override into the national file and validates the
result with pydantic; an unknown key or a value of the wrong type is reported in one
line naming the file and the key (:class:`StandardsError`).

What each indicator measures (names, units, which resource column of the school-parts
table it counts) is fixed in code (:data:`INDICATORS`); only thresholds are data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from planner.errors import PlannerError
from planner.schema import STAGES, TEACHERS

#: Name of the bundled national standard inside the ``planner.data`` package.
NATIONAL_FILE = "standards.yaml"

Stage = Literal["primary", "junior"]
Education = Literal["secondary", "college", "bachelor", "master"]
BackboneLevel = Literal["none", "school", "county", "city", "province", "national"]

#: Qualification levels from lowest to highest (codes of ``teachers.education``).
EDUCATION_ORDER: tuple[str, ...] = ("secondary", "college", "bachelor", "master")


class StandardsError(PlannerError):
    """A standards file is unreadable, has an unknown key, or a value of the wrong type."""

    exit_code = 2


@dataclass(frozen=True)
class Indicator:
    """One of the 7 resource-allocation indicators (DOMAIN.md §1.1).

    Attributes
    ----------
    key : str
        Code used in tables and in the standards YAML (``floor_area``).
    number : int
        Position 1-7 in the national list.
    zh, en : str
        Full Chinese name and short English name.
    resource : str
        Column of the school-parts table holding the resource counted
        (``floor_area_m2``).
    per_pupils : int
        The value is ``resource / pupils × per_pupils`` (100 for "per 100 pupils", 1 for
        "per pupil").
    unit_zh, unit_en : str
        Unit of the indicator value.
    resource_unit_zh, resource_unit_en : str
        Physical unit of the resource, which is also the unit of the shortfall.
    discrete : bool
        Whether the resource comes in whole units (teachers, rooms), so the shortfall is
        also reported rounded up to whole units.
    """

    key: str
    number: int
    zh: str
    en: str
    resource: str
    per_pupils: int
    unit_zh: str
    unit_en: str
    resource_unit_zh: str
    resource_unit_en: str
    discrete: bool


INDICATORS: tuple[Indicator, ...] = (
    Indicator("above_required", 1, "每百名学生拥有高于规定学历教师数", "above-required teachers per 100 pupils",
              "teachers_above_required", 100, "人/百名学生", "persons per 100 pupils", "人", "teachers", True),
    Indicator("backbone", 2, "每百名学生拥有县级及以上骨干教师数", "county-level+ backbone teachers per 100 pupils",
              "backbone_teachers", 100, "人/百名学生", "persons per 100 pupils", "人", "teachers", True),
    Indicator("pe_art", 3, "每百名学生拥有体育、艺术专任教师数", "PE and art teachers per 100 pupils",
              "pe_art_teachers", 100, "人/百名学生", "persons per 100 pupils", "人", "teachers", True),
    Indicator("floor_area", 4, "生均教学及辅助用房面积", "teaching and auxiliary floor area per pupil",
              "floor_area_m2", 1, "m²/生", "m² per pupil", "m²", "m²", False),
    Indicator("sports_area", 5, "生均体育运动场馆面积", "sports ground and hall area per pupil",
              "sports_area_m2", 1, "m²/生", "m² per pupil", "m²", "m²", False),
    Indicator("equipment", 6, "生均教学仪器设备值", "teaching equipment value per pupil",
              "equipment_value_yuan", 1, "元/生", "yuan per pupil", "元", "yuan", False),
    Indicator("multimedia", 7, "每百名学生拥有网络多媒体教室数", "networked multimedia classrooms per 100 pupils",
              "multimedia_rooms", 100, "间/百名学生", "rooms per 100 pupils", "间", "rooms", True),
)  # fmt: skip
INDICATORS_BY_KEY: dict[str, Indicator] = {i.key: i for i in INDICATORS}

PosFloat = Annotated[float, Field(strict=True, gt=0)]
Share = Annotated[float, Field(strict=True, gt=0, le=1)]
PosInt = Annotated[int, Field(strict=True, gt=0)]

_SUBJECTS = tuple(TEACHERS.field("subject").choices)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageValues(_Strict):
    """One positive number per stage."""

    primary: PosFloat
    junior: PosFloat

    def __getitem__(self, stage: str) -> float:
        return float(getattr(self, stage))


class StageShares(_Strict):
    """One share in (0, 1] per stage."""

    primary: Share
    junior: Share

    def __getitem__(self, stage: str) -> float:
        return float(getattr(self, stage))


class IndicatorThresholds(_Strict):
    """Per-stage standard of each of the 7 indicators (see :data:`INDICATORS` for units)."""

    above_required: StageValues
    backbone: StageValues
    pe_art: StageValues
    floor_area: StageValues
    sports_area: StageValues
    equipment: StageValues
    multimedia: StageValues


class SchoolRule(_Strict):
    """At least ``min_met`` indicators met; every other one at least ``floor_share`` of its standard."""

    min_met: Annotated[int, Field(strict=True, ge=0, le=len(INDICATORS))]
    floor_share: Share


class Scope(_Strict):
    """Which schools are assessed."""

    teaching_point_min_pupils: Annotated[int, Field(strict=True, ge=0)]


class StageEducation(_Strict):
    """Lowest qualification that counts as above-required, per stage."""

    primary: Education
    junior: Education

    def __getitem__(self, stage: str) -> str:
        return str(getattr(self, stage))


class TeacherCategories(_Strict):
    """How the teacher roster is classified for indicators 1-3."""

    qualification_min: StageEducation
    backbone_levels: tuple[BackboneLevel, ...]
    pe_art_subjects: tuple[str, ...]

    @field_validator("pe_art_subjects")
    @classmethod
    def _known_subjects(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in v if s not in _SUBJECTS]
        if bad:
            raise ValueError(f"unknown subject {bad[0]!r} (known: {', '.join(_SUBJECTS)})")
        return v


class SchoolSize(_Strict):
    """Largest enrolment per school."""

    single_stage: PosInt
    nine_year: PosInt


class Guarantee(_Strict):
    """Government-guarantee items the data can show (DOMAIN.md §1.2)."""

    school_size_max: SchoolSize
    class_size_max: StageValues
    large_class_min: PosInt
    very_large_class_min: PosInt
    classes_per_special_room: PosInt
    music_room_min_area_m2: PosFloat
    art_room_min_area_m2: PosFloat
    rotation_min_share: Share
    rotation_backbone_min_share: Share
    rotation_eligible_years: Annotated[int, Field(strict=True, ge=0)]
    staffing_pupils_per_post: StageValues
    catchment_share_min: StageShares

    @model_validator(mode="after")
    def _class_levels(self) -> Guarantee:
        if self.very_large_class_min <= self.large_class_min:
            raise ValueError("very_large_class_min must be greater than large_class_min")
        return self


class Standards(_Strict):
    """All thresholds of the assessment; frozen.

    Attributes
    ----------
    source : str
        What the numbers are (national standard, or the override's own label).
    indicators : IndicatorThresholds
    school_rule : SchoolRule
    cv_max : StageValues
    scope : Scope
    teacher_categories : TeacherCategories
    guarantee : Guarantee
    """

    source: str
    indicators: IndicatorThresholds
    school_rule: SchoolRule
    cv_max: StageValues
    scope: Scope
    teacher_categories: TeacherCategories
    guarantee: Guarantee

    def threshold(self, stage: str, indicator: str) -> float:
        """Standard of ``indicator`` (a key of :data:`INDICATORS_BY_KEY`) at ``stage``."""
        if stage not in STAGES:
            raise KeyError(f"unknown stage {stage!r}")
        return getattr(self.indicators, indicator)[stage]

    def table(self) -> list[tuple[str, str, str, object]]:
        """Every threshold as (key, 中文, unit, value) rows, for reports."""
        rows: list[tuple[str, str, str, object]] = [("source", "标准来源", "", self.source)]
        for ind in INDICATORS:
            for stage in STAGES:
                rows.append((f"indicators.{ind.key}.{stage}", f"{ind.zh}（{_STAGE_ZH[stage]}）", ind.unit_zh,
                             self.threshold(stage, ind.key)))  # fmt: skip
        rows.append(("school_rule.min_met", "每校至少达标指标数", "项", self.school_rule.min_met))
        rows.append(("school_rule.floor_share", "余项不低于标准的比例", "", self.school_rule.floor_share))
        for stage in STAGES:
            rows.append((f"cv_max.{stage}", f"差异系数上限（{_STAGE_ZH[stage]}）", "", self.cv_max[stage]))
        rows.append(("scope.teaching_point_min_pupils", "参评教学点最少学生数", "人",
                     self.scope.teaching_point_min_pupils))  # fmt: skip
        tc = self.teacher_categories
        for stage in STAGES:
            rows.append((f"teacher_categories.qualification_min.{stage}",
                         f"高于规定学历的最低学历（{_STAGE_ZH[stage]}）", "", tc.qualification_min[stage]))  # fmt: skip
        rows.append(("teacher_categories.backbone_levels", "计入的骨干教师级别", "", ", ".join(tc.backbone_levels)))
        rows.append(("teacher_categories.pe_art_subjects", "计入的体育艺术学科", "", ", ".join(tc.pe_art_subjects)))
        g = self.guarantee
        for key, zh, unit in (
            ("school_size_max.single_stage", "学校规模上限（小学、初中）", "人"),
            ("school_size_max.nine_year", "学校规模上限（九年一贯制）", "人"),
            ("class_size_max.primary", "班额上限（小学）", "人"),
            ("class_size_max.junior", "班额上限（初中）", "人"),
            ("large_class_min", "大班额（人及以上）", "人"),
            ("very_large_class_min", "超大班额（人及以上）", "人"),
            ("classes_per_special_room", "每多少个班配音乐、美术教室各1间", "班"),
            ("music_room_min_area_m2", "音乐教室最小面积", "m²"),
            ("art_room_min_area_m2", "美术教室最小面积", "m²"),
            ("rotation_min_share", "交流轮岗教师占符合条件教师比例下限", ""),
            ("rotation_backbone_min_share", "骨干教师占交流轮岗教师比例下限", ""),
            ("rotation_eligible_years", "符合交流条件的本校任教年限", "年"),
            ("staffing_pupils_per_post.primary", "编制标准 生师比（小学）", "生/编"),
            ("staffing_pupils_per_post.junior", "编制标准 生师比（初中）", "生/编"),
            ("catchment_share_min.primary", "就近划片入学比例下限（小学）", ""),
            ("catchment_share_min.junior", "就近划片入学比例下限（初中）", ""),
        ):
            value: Any = g
            for part in key.split("."):
                value = getattr(value, part)
            rows.append((f"guarantee.{key}", zh, unit, value))
        return rows


_STAGE_ZH = {"primary": "小学", "junior": "初中"}


def _read_yaml(text: str, label: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise StandardsError(f"{label}: not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StandardsError(f"{label}: must be a mapping of keys to values, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it, mappings merged key by key (YAML overrides, ``extends``)."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at the mapping that holds ``loc[-1]``."""
    model: Any = Standards
    for part in loc[:-1]:
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return []
        model = fields[part].annotation
    fields = getattr(model, "model_fields", None)
    return list(fields) if fields else []


def _one_line(exc: ValidationError, label: str) -> StandardsError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc)
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return StandardsError(f"{label}: unknown key {key}{hint}")
    if err["type"] == "missing":
        return StandardsError(f"{label}: key {key} is missing")
    msg = str(err["msg"]).removeprefix("Value error, ")
    got = err.get("input")
    shown = "" if isinstance(got, dict) else f" (got {got!r})"
    return StandardsError(f"{label}: key {key}: {msg}{shown}")


def national_standards_text() -> str:
    """Text of the bundled national standard file."""
    return resources.files("planner").joinpath("data", NATIONAL_FILE).read_text(encoding="utf-8")


@functools.cache
def _national() -> Standards:
    """The bundled national standard, parsed once (Standards is frozen, so sharing is safe)."""
    label = f"planner/data/{NATIONAL_FILE}"
    try:
        return Standards.model_validate(_read_yaml(national_standards_text(), label))
    except ValidationError as exc:
        raise _one_line(exc, label) from None


def load_standards(override_path: str | Path | None = None) -> Standards:
    """The national standard, optionally overridden by a provincial YAML file.

    Parameters
    ----------
    override_path : str or Path, optional
        YAML file with the same keys as ``planner/data/standards.yaml``; only the keys it
        holds replace the national values (mappings are merged key by key, other values
        are replaced).

    Returns
    -------
    Standards
        Frozen, validated thresholds.

    Raises
    ------
    StandardsError
        One line naming the file and the key: unreadable file, invalid YAML, unknown key,
        missing key, or a value of the wrong type or out of range.
    """
    if override_path is None:
        return _national()
    base = _read_yaml(national_standards_text(), f"planner/data/{NATIONAL_FILE}")
    path = Path(override_path)
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:  # a GBK file too: one line, not an internal error
        why = getattr(exc, "strerror", None) or "not UTF-8 text; save it as UTF-8"
        raise StandardsError(f"{path}: cannot read standards override ({why})") from None
    override = _read_yaml(text, label)
    data = deep_merge(base, override)
    if "source" not in override:
        data["source"] = f"{base.get('source', '')} + override {path.name}"
    try:
        return Standards.model_validate(data)
    except ValidationError as exc:
        raise _one_line(exc, label) from None


__all__ = [
    "EDUCATION_ORDER",
    "INDICATORS",
    "INDICATORS_BY_KEY",
    "Indicator",
    "Standards",
    "StandardsError",
    "deep_merge",
    "load_standards",
    "national_standards_text",
]
