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


# --------------------------------------------------------------------------- plausibility


@dataclass(frozen=True)
class PlausibilityRule:
    """A range a derived quantity of the data must lie in.

    Values outside ``[error_low, error_high]`` are errors (the load stops, exit 2); values
    inside it but outside ``[warn_low, warn_high]`` are borderline: warnings listed in the
    summary of ``planner check`` / ``run``, errors under ``--strict``. ``None`` means no
    bound on that side. The ranges are wide on purpose: a real county never comes near
    the error bounds, while the slips they catch (万元 typed for yuan, 亩 for m², a digit
    too many) land orders of magnitude outside.

    Parameters
    ----------
    key : str
        Identifier, used by :mod:`planner.plausibility` to compute the quantity.
    table : str
        Table (or ``parameters``) whose rows are checked.
    field : str
        Field blamed in the message.
    what : str
        The quantity, in English.
    zh : str
        The quantity, in Chinese.
    unit : str
        Its unit.
    error_low, warn_low, warn_high, error_high : float or None
        The bounds (inclusive: a value equal to a bound passes).
    reason : str
        Why the range is plausible, and which slip it catches.
    """

    key: str
    table: str
    field: str
    what: str
    zh: str
    unit: str
    error_low: float | None
    warn_low: float | None
    warn_high: float | None
    error_high: float | None
    reason: str


PLAUSIBILITY: tuple[PlausibilityRule, ...] = (
    PlausibilityRule(
        "pupils_per_class_primary",
        "schools",
        "pupils_primary",
        "primary pupils per primary class",
        "小学班额",
        "pupils/class",
        1,
        2,
        75,
        120,
        "The standard class is 45 (primary) / 50 (junior); 超大班额 (> 66) was eliminated nationally by 2020 and "
        "multi-grade teaching points have 2-10. A class with no pupil, or more than 120, is a wrong count "
        "(classes and pupils swapped, a digit too many).",
    ),
    PlausibilityRule(
        "pupils_per_class_junior",
        "schools",
        "pupils_junior",
        "junior pupils per junior class",
        "初中班额",
        "pupils/class",
        1,
        2,
        75,
        120,
        "As for primary classes.",
    ),
    PlausibilityRule(
        "classes_per_classroom",
        "schools",
        "classrooms",
        "classes per ordinary classroom",
        "班级数/普通教室数",
        "classes/room",
        0.02,
        0.1,
        1.2,
        2,
        "Every class needs a room: more than 2 classes per classroom (or classes with no classroom) is not a "
        "school that exists (even two-shift schooling is 2); more than 50 rooms per class is a room count "
        "entered as an area.",
    ),
    PlausibilityRule(
        "pupils_per_staff",
        "schools",
        "staff_total",
        "pupils per staff member (教职工)",
        "生师比（按教职工）",
        "pupils/person",
        None,
        0.5,
        40,
        100,
        "The staffing norm is 19 (primary) / 13.5 (junior) pupils per staff member and rural schools have "
        "fewer; a school with pupils and no staff, or over 100 pupils each, has a wrong count (the 10¹²-pupil "
        "slip lands here too).",
    ),
    PlausibilityRule(
        "pupils_per_teacher",
        "schools",
        "school_id",
        "pupils per full-time teacher listed in the teachers table",
        "生师比（按专任教师名单）",
        "pupils/teacher",
        None,
        None,
        150,
        1000,
        "Every school with pupils has teachers in the teachers table; none, or over 1,000 pupils per listed "
        "teacher, is a teachers table that misses the school (a wrong school_id). The range is wider than "
        "for staff because a partial teacher list is allowed.",
    ),
    PlausibilityRule(
        "floor_area_per_pupil",
        "schools",
        "floor_area_m2",
        "teaching and auxiliary floor area per pupil",
        "生均教学及辅助用房面积",
        "m2/pupil",
        0.2,
        1,
        500,
        5000,
        "The standard asks 4.5 (primary) / 5.8 (junior) m² per pupil; small rural schools reach 50, and a "
        "village school left with 1-3 pupils in a 300-600 m² building a few hundred. Below 0.2 m² is an area "
        "entered in 亩 (1 亩 = 666.7 m²) or a missing digit; above 5,000 a pupil count entered too small.",
    ),
    PlausibilityRule(
        "sports_area_per_pupil",
        "schools",
        "sports_area_m2",
        "sports ground and hall area per pupil",
        "生均体育运动场馆面积",
        "m2/pupil",
        0.05,
        0.5,
        2000,
        20_000,
        "The standard asks 7.5 (primary) / 10.2 (junior) m²; a teaching point's yard can give 300 and a "
        "village school with one pupil left 2,000. Below 0.05 m² is 亩 typed for m², above 20,000 (2 ha a "
        "pupil) a pupil count entered too small. 0 (no ground at all) is allowed.",
    ),
    PlausibilityRule(
        "equipment_per_pupil",
        "schools",
        "equipment_value_yuan",
        "teaching equipment value per pupil",
        "生均教学仪器设备值",
        "yuan/pupil",
        20,
        100,
        50_000,
        500_000,
        "The standard asks 2,000 (primary) / 2,500 (junior) yuan; below 20 yuan is a value entered in 万元 "
        "(10,000 yuan) instead of yuan; above 500,000 a value in 分 or a digit too many. 0 is allowed.",
    ),
    PlausibilityRule(
        "music_room_area",
        "schools",
        "music_rooms_area_m2",
        "floor area per music room",
        "音乐教室间均面积",
        "m2/room",
        10,
        40,
        300,
        2000,
        "A music room is built to 96 m² (73-112 m² in practice); below 10 m² is 亩 typed for m², above 2,000 a "
        "whole building's area.",
    ),
    PlausibilityRule(
        "art_room_area",
        "schools",
        "art_rooms_area_m2",
        "floor area per art room",
        "美术教室间均面积",
        "m2/room",
        10,
        40,
        300,
        2000,
        "An art room is built to 90 m²; as for music rooms.",
    ),
    PlausibilityRule(
        "school_settlement_km",
        "schools",
        "settlement_id",
        "distance from a school to the settlement it stands in",
        "学校与所在居民点距离",
        "km",
        None,
        None,
        3,
        10,
        "A school stands in (or next to) its settlement; a village spans 1-3 km. Ten km away is a wrong "
        "settlement_id or wrong coordinates.",
    ),
    PlausibilityRule(
        "school_township_km",
        "schools",
        "township_id",
        "distance from a school to its township's polygon",
        "学校与所属乡镇距离",
        "km",
        None,
        None,
        0.3,
        2,
        "A school lies inside its township; 300 m covers digitising slack along the border, beyond 2 km it is "
        "in another township (wrong township_id or wrong coordinates).",
    ),
    PlausibilityRule(
        "settlement_township_km",
        "settlements",
        "township_id",
        "distance from a settlement to its township's polygon",
        "居民点与所属乡镇距离",
        "km",
        None,
        None,
        0.3,
        2,
        "As for schools.",
    ),
    PlausibilityRule(
        "children_per_resident",
        "settlements",
        "population",
        "children aged 0-14 per resident",
        "0-14岁儿童占常住人口比例",
        "share",
        None,
        None,
        0.6,
        1,
        "Children aged 0-14 are 10-25% of China's residents (at most about half of a small village): more "
        "children than residents is a wrong population (or the ages hold pupils of the whole township).",
    ),
    PlausibilityRule(
        "capital_budget",
        "parameters",
        "budget.capital_yuan",
        "capital budget",
        "资本性预算",
        "yuan",
        1e6,
        1e7,
        1e10,
        1e11,
        "A county's compulsory-school building programme is 10⁷-10⁹ yuan; a positive budget under 1 million "
        "(100 万) is an amount typed in 万元, above 10¹¹ (1,000 亿) one typed in 分. 0 (no capital money) is allowed.",
    ),
    PlausibilityRule(
        "recurrent_budget",
        "parameters",
        "budget.recurrent_yuan_per_year",
        "recurrent budget",
        "年度经常性预算",
        "yuan/year",
        1e4,
        1e5,
        1e9,
        1e10,
        "It pays new teachers (about 10⁵ yuan each a year) and rotation allowances: a positive budget under "
        "10,000 yuan is an amount typed in 万元. 0 is allowed.",
    ),
    PlausibilityRule(
        "building_cost",
        "parameters",
        "unit_costs.building_yuan_per_m2",
        "building cost",
        "建安单价",
        "yuan/m2",
        200,
        1000,
        10_000,
        50_000,
        "School buildings cost 2,500-5,000 yuan/m² in 2024; under 200 is 万元 typed for yuan.",
    ),
    PlausibilityRule(
        "sports_ground_cost",
        "parameters",
        "unit_costs.sports_ground_yuan_per_m2",
        "sports ground cost",
        "运动场单价",
        "yuan/m2",
        10,
        50,
        2000,
        10_000,
        "A plastic track and courts cost 200-600 yuan/m², a hall more.",
    ),
    PlausibilityRule(
        "room_fitting_cost",
        "parameters",
        "unit_costs.*_room_yuan",
        "cost of fitting out one room",
        "专用教室配置单价",
        "yuan/room",
        1000,
        5000,
        1e6,
        1e7,
        "A multimedia set costs about 4 万元, a music or art room 8-15 万元; under 1,000 yuan is 万元 typed for yuan.",
    ),
    PlausibilityRule(
        "teacher_cost",
        "parameters",
        "unit_costs.teacher_hire_yuan_per_year",
        "cost of one new teacher a year",
        "新增教师年人均成本",
        "yuan/year",
        5000,
        30_000,
        300_000,
        2e6,
        "Salary and on-costs are 6-15 万元 a year; under 5,000 is 万元 typed for yuan.",
    ),
    PlausibilityRule(
        "rotation_allowance",
        "parameters",
        "unit_costs.rotation_allowance_yuan_per_year",
        "rotation allowance per teacher a year",
        "交流轮岗年补贴",
        "yuan/year",
        None,
        None,
        1e5,
        1e6,
        "Allowances are a few thousand to 2 万元 a year; above 10⁶ is more than ten salaries.",
    ),
    PlausibilityRule(
        "new_school_cost_per_class",
        "parameters",
        "new_school_options[].cost_yuan",
        "new-school cost per class",
        "新建学校每班投资",
        "yuan/class",
        1e5,
        5e5,
        1e7,
        1e8,
        "A new school costs 150-300 万元 per class (land excluded); under 10 万 is 万元 typed for yuan.",
    ),
)
PLAUSIBILITY_BY_KEY: dict[str, PlausibilityRule] = {r.key: r for r in PLAUSIBILITY}
