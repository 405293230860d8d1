"""The county data contract: every input table, its fields, units and rules.

This module is the single source of truth for what a county folder holds. The loader
(:mod:`planner.county`), the validation messages, the blank Excel templates
(``planner template``) and ``docs/data.md`` are all driven by the specs below, so a
field is described once.

A county folder holds

``county.gpkg``
    GeoPackage with the polygon and line layers ``boundary``, ``townships`` and
    ``roads``. It may also hold the point tables below as point layers.
``settlements``, ``schools``, ``teachers``, ``candidate_sites``, ``expansion_options``
    Tables, each either a layer of ``county.gpkg``, a ``<name>.csv`` (UTF-8) or a
    ``<name>.xlsx`` (first sheet). Point tables outside the GeoPackage carry ``lon`` and
    ``lat`` columns.
``parameters.yaml``
    County metadata, coordinate datum, budgets and unit costs
    (see :mod:`planner.parameters`).

Categorical values may be written as the English code or the Chinese label
(``primary`` or ``小学``); the loader normalises them to the code. Column headers may be
the code (``school_id``), the Chinese label (``学校代码``) or both as the templates write
them (``学校代码 (school_id)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["str", "int", "float", "bool", "category"]

#: Stages of compulsory education handled by the planner.
STAGES: tuple[str, str] = ("primary", "junior")
STAGE_ZH: dict[str, str] = {"primary": "小学", "junior": "初中"}


@dataclass(frozen=True)
class FieldSpec:
    """One column of an input table.

    Parameters
    ----------
    name : str
        Column code, used in code and in CSV headers.
    zh : str
        Chinese header used in templates and reports.
    kind : {"str", "int", "float", "bool", "category"}
        Value type. ``int`` values must be whole numbers.
    unit : str
        Physical unit, empty when dimensionless.
    description : str
        What the field means, in English (the Chinese label is ``zh``).
    required : bool
        Whether the column must be present.
    nullable : bool
        Whether a cell may be empty.
    minimum : float or None
        Smallest allowed value for numeric fields.
    unique : bool
        Whether values must be unique (identifiers).
    choices : dict
        For ``category`` fields: code -> Chinese label.
    references : str or None
        ``"table.field"`` this value must exist in (foreign key).
    default : object
        Value used when an optional column is absent.
    """

    name: str
    zh: str
    kind: Kind
    unit: str = ""
    description: str = ""
    required: bool = True
    nullable: bool = False
    minimum: float | None = None
    unique: bool = False
    choices: dict[str, str] = field(default_factory=dict)
    references: str | None = None
    default: object = None


@dataclass(frozen=True)
class TableSpec:
    """An input table: its name, geometry type and fields."""

    name: str
    zh: str
    description: str
    fields: tuple[FieldSpec, ...]
    geometry: Literal["Point", "Polygon", "LineString", None]
    id_field: str | None
    #: Where it lives: only in the GeoPackage, or table-or-layer.
    gpkg_only: bool = False

    def field(self, name: str) -> FieldSpec:
        """Return the spec of field ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _id(name: str, zh: str, what: str) -> FieldSpec:
    return FieldSpec(name, zh, "str", description=f"Unique identifier of the {what}.", unique=True)


def _count(name: str, zh: str, description: str, unit: str = "", required: bool = True) -> FieldSpec:
    return FieldSpec(name, zh, "int", unit=unit, description=description, minimum=0, required=required, default=0)


def _amount(name: str, zh: str, unit: str, description: str, required: bool = True) -> FieldSpec:
    return FieldSpec(name, zh, "float", unit=unit, description=description, minimum=0, required=required, default=0.0)


LON = FieldSpec(
    "lon", "经度", "float", "degree", "Longitude in the datum of parameters.yaml (default WGS-84/CGCS2000)."
)
LAT = FieldSpec("lat", "纬度", "float", "degree", "Latitude in the datum of parameters.yaml.")

AREA_TYPES = {"urban": "城区", "town": "镇区", "rural": "乡村"}

BOUNDARY = TableSpec(
    name="boundary",
    zh="县界",
    description="The county boundary: one (multi)polygon.",
    geometry="Polygon",
    id_field=None,
    gpkg_only=True,
    fields=(
        FieldSpec("adcode", "行政区划代码", "str", description="Six-digit administrative code."),
        FieldSpec("name_zh", "名称", "str", description="County name."),
    ),
)

TOWNSHIPS = TableSpec(
    name="townships",
    zh="乡镇街道",
    description="Township-level units (镇, 乡, 街道) partitioning the county.",
    geometry="Polygon",
    id_field="township_id",
    gpkg_only=True,
    fields=(
        _id("township_id", "乡镇代码", "township"),
        FieldSpec("name_zh", "乡镇名称", "str", description="Name of the township unit."),
        FieldSpec(
            "kind",
            "类型",
            "category",
            description="Town, township or urban sub-district.",
            choices={"town": "镇", "township": "乡", "subdistrict": "街道"},
        ),
    ),
)

ROADS = TableSpec(
    name="roads",
    zh="道路",
    description="Road centre lines. Lines need not be noded; the network builder nodes them.",
    geometry="LineString",
    id_field="road_id",
    gpkg_only=True,
    fields=(
        _id("road_id", "道路编号", "road segment"),
        FieldSpec(
            "road_class",
            "道路等级",
            "category",
            description="Administrative class; sets the default speed by travel mode.",
            choices={
                "national": "国道",
                "provincial": "省道",
                "county": "县道",
                "township": "乡道",
                "village": "村道",
                "urban": "城市道路",
            },
        ),
        FieldSpec("name_zh", "道路名称", "str", description="Road name.", required=False, nullable=True, default=""),
        FieldSpec(
            "speed_kmh",
            "限速",
            "float",
            unit="km/h",
            description="Motor-vehicle speed, overriding the class default when given.",
            required=False,
            nullable=True,
            minimum=1,
        ),
    ),
)

AGE_FIELDS = tuple(
    _count(f"age_{a}", f"{a}岁儿童数", f"Resident children aged {a} (completed years).", "persons") for a in range(15)
)

SETTLEMENTS = TableSpec(
    name="settlements",
    zh="居民点",
    description=(
        "Villages (村) and urban neighbourhoods (社区): where pupils live. Pupils are those "
        "enrolled in the county's public schools by catchment; children by age include all "
        "residents (for projections)."
    ),
    geometry="Point",
    id_field="settlement_id",
    fields=(
        _id("settlement_id", "居民点代码", "settlement"),
        FieldSpec("name_zh", "居民点名称", "str", description="Village or neighbourhood name."),
        FieldSpec(
            "township_id",
            "所属乡镇代码",
            "str",
            description="Township it belongs to.",
            references="townships.township_id",
        ),
        FieldSpec(
            "kind",
            "类型",
            "category",
            description="Village or urban neighbourhood.",
            choices={"village": "村", "neighbourhood": "社区"},
        ),
        FieldSpec(
            "area_type",
            "城乡类型",
            "category",
            description="Urban (county seat), town seat or rural; sets default distance caps.",
            choices=AREA_TYPES,
        ),
        LON,
        LAT,
        _count("population", "常住人口", "Resident population.", "persons"),
        *AGE_FIELDS,
        _count(
            "pupils_primary",
            "小学在校生",
            "Primary pupils living here and enrolled in a public school by catchment.",
            "pupils",
        ),
        _count(
            "pupils_junior",
            "初中在校生",
            "Junior pupils living here and enrolled in a public school by catchment.",
            "pupils",
        ),
        FieldSpec(
            "school_primary_id",
            "现小学划片学校",
            "str",
            description="Current primary catchment school; required when pupils_primary > 0.",
            nullable=True,
            references="schools.school_id",
            default="",
        ),
        FieldSpec(
            "school_junior_id",
            "现初中划片学校",
            "str",
            description="Current junior catchment school; required when pupils_junior > 0.",
            nullable=True,
            references="schools.school_id",
            default="",
        ),
    ),
)

SCHOOL_KINDS = {
    "primary": "小学",
    "teaching_point": "教学点",
    "junior": "初中",
    "nine_year": "九年一贯制学校",
    "special": "特殊教育学校",
}

SCHOOLS = TableSpec(
    name="schools",
    zh="学校",
    description=(
        "Every compulsory-stage school: primary schools, teaching points, junior schools, "
        "nine-year schools and special-education schools, public and private. Areas, "
        "equipment and rooms are school totals; for a nine-year school they are split "
        "between its primary and junior parts by the assessment engine (docs/assessment.md)."
    ),
    geometry="Point",
    id_field="school_id",
    fields=(
        _id("school_id", "学校代码", "school"),
        FieldSpec("name_zh", "学校名称", "str", description="School name."),
        FieldSpec(
            "township_id",
            "所属乡镇代码",
            "str",
            description="Township it stands in.",
            references="townships.township_id",
        ),
        FieldSpec(
            "settlement_id",
            "所在居民点代码",
            "str",
            description="Settlement it stands in.",
            references="settlements.settlement_id",
        ),
        FieldSpec("kind", "学校类型", "category", description="Type of school.", choices=SCHOOL_KINDS),
        FieldSpec(
            "ownership",
            "办学性质",
            "category",
            description="Public or private (民办).",
            choices={"public": "公办", "private": "民办"},
        ),
        FieldSpec("is_boarding", "是否寄宿制", "bool", description="Boarding school (寄宿制)."),
        _count("boarding_places", "寄宿床位", "Boarding places.", "places"),
        LON,
        LAT,
        _count("pupils_primary", "小学在校生", "Enrolled primary pupils (grades 1-6).", "pupils"),
        _count("pupils_junior", "初中在校生", "Enrolled junior pupils (grades 7-9).", "pupils"),
        _count("classes_primary", "小学班级数", "Primary classes.", "classes"),
        _count("classes_junior", "初中班级数", "Junior classes.", "classes"),
        _count("classrooms", "普通教室数", "Ordinary classrooms: the most classes the buildings hold.", "rooms"),
        _count("staff_total", "教职工总数", "All staff on the payroll (教职工), teaching or not.", "persons"),
        _amount("floor_area_m2", "教学及辅助用房面积", "m2", "Teaching and auxiliary floor area (教学及辅助用房)."),
        _amount("sports_area_m2", "体育运动场馆面积", "m2", "Sports ground and hall area."),
        _amount("equipment_value_yuan", "教学仪器设备值", "yuan", "Value of teaching equipment."),
        _count("multimedia_rooms", "网络多媒体教室数", "Networked multimedia classrooms.", "rooms"),
        _count("music_rooms", "音乐专用教室数", "Music rooms.", "rooms"),
        _amount("music_rooms_area_m2", "音乐教室总面积", "m2", "Total floor area of the music rooms."),
        _count("art_rooms", "美术专用教室数", "Art rooms.", "rooms"),
        _amount("art_rooms_area_m2", "美术教室总面积", "m2", "Total floor area of the art rooms."),
    ),
)

TEACHERS = TableSpec(
    name="teachers",
    zh="专任教师",
    description=(
        "One row per full-time teacher (专任教师), anonymised. Categories for the standard "
        "(above-required qualification, backbone, PE/art) and rotation eligibility are "
        "derived from these fields."
    ),
    geometry=None,
    id_field="teacher_id",
    fields=(
        _id("teacher_id", "教师编号", "teacher (anonymised)"),
        FieldSpec(
            "school_id",
            "任教学校代码",
            "str",
            description="School the teacher works at.",
            references="schools.school_id",
        ),
        FieldSpec(
            "stage",
            "任教学段",
            "category",
            description="Stage taught (matters for nine-year schools).",
            choices=dict(STAGE_ZH),
        ),
        FieldSpec(
            "education",
            "最高学历",
            "category",
            description="Highest qualification. Above-required: college (专科)+ for primary, bachelor (本科)+ for junior.",  # noqa: E501
            choices={"secondary": "中专及以下", "college": "专科", "bachelor": "本科", "master": "研究生"},
        ),
        FieldSpec(
            "backbone_level",
            "骨干教师级别",
            "category",
            description="Highest backbone-teacher title; county level or higher counts for the standard.",
            choices={
                "none": "无",
                "school": "校级",
                "county": "县级",
                "city": "市级",
                "province": "省级",
                "national": "国家级",
            },
        ),
        FieldSpec(
            "subject",
            "任教学科",
            "category",
            description="Main subject; pe, music and art teachers are the PE/art specialists of indicator 3.",
            choices={
                "chinese": "语文",
                "math": "数学",
                "english": "英语",
                "science": "科学",
                "moral": "道德与法治",
                "history": "历史",
                "geography": "地理",
                "physics": "物理",
                "chemistry": "化学",
                "biology": "生物",
                "it": "信息技术",
                "pe": "体育",
                "music": "音乐",
                "art": "美术",
                "other": "其他",
            },
        ),
        _count(
            "years_at_school",
            "在本校任教年限",
            "Consecutive years at the current school (rotation eligibility: 6 or more).",
            "years",
        ),
    ),
)

CANDIDATE_SITES = TableSpec(
    name="candidate_sites",
    zh="新建学校备选地块",
    description="Land parcels where a new school may be built; size options and costs are in parameters.yaml.",
    geometry="Point",
    id_field="site_id",
    fields=(
        _id("site_id", "地块编号", "candidate site"),
        FieldSpec("name_zh", "地块名称", "str", description="Parcel name."),
        FieldSpec(
            "township_id",
            "所属乡镇代码",
            "str",
            description="Township of the parcel.",
            references="townships.township_id",
        ),
        FieldSpec(
            "stage",
            "拟建学段",
            "category",
            description="What may be built here.",
            choices={"primary": "小学", "junior": "初中", "nine_year": "九年一贯制"},
        ),
        LON,
        LAT,
        _amount("land_area_m2", "用地面积", "m2", "Parcel area."),
        _count("max_classes", "最大班级数", "Largest school (in classes) the parcel can hold.", "classes"),
        _amount("land_cost_yuan", "土地费用", "yuan", "Land acquisition cost, paid once if any school is built here."),
    ),
)

EXPANSION_OPTIONS = TableSpec(
    name="expansion_options",
    zh="改扩建方案",
    description="Ways to expand an existing school (new teaching block, sports ground), each with its cost.",
    geometry=None,
    id_field="option_id",
    fields=(
        _id("option_id", "方案编号", "expansion option"),
        FieldSpec("school_id", "学校代码", "str", description="School expanded.", references="schools.school_id"),
        FieldSpec(
            "description_zh", "方案说明", "str", description="What is built.", required=False, nullable=True, default=""
        ),
        _count("added_classrooms", "新增普通教室", "Ordinary classrooms added.", "rooms"),
        _amount("added_floor_area_m2", "新增教学及辅助用房面积", "m2", "Teaching and auxiliary floor area added."),
        _amount("added_sports_area_m2", "新增体育场馆面积", "m2", "Sports ground and hall area added."),
        _amount("cost_yuan", "投资估算", "yuan", "Capital cost."),
    ),
)

#: All tables in load order (references point backwards except settlement↔school).
TABLES: tuple[TableSpec, ...] = (
    BOUNDARY,
    TOWNSHIPS,
    ROADS,
    SETTLEMENTS,
    SCHOOLS,
    TEACHERS,
    CANDIDATE_SITES,
    EXPANSION_OPTIONS,
)
TABLES_BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}
