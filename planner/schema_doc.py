"""Render the data contract (:mod:`planner.schema`) as ``docs/data.md``.

``python -m planner.schema_doc > docs/data.md`` regenerates the page; a test checks the
committed page equals the rendering, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from planner.parameters import Budget, CountyMeta, FundingShare, Issuer, NewSchoolOption, Parameters, UnitCosts
from planner.schema import TABLES, FieldSpec, TableSpec
from planner.templates import _rule

INTRO = """# The county data contract (数据规范)

This page is generated from `planner/schema.py` and `planner/parameters.py` by
`python -m planner.schema_doc > docs/data.md`; a test keeps it in step with the code.

A county folder holds:

- `county.gpkg`: GeoPackage with the layers `boundary`, `townships` and `roads` (any CRS; lon/lat
  layers are read in the folder's datum). It may also hold the point tables as point layers.
- `settlements`, `schools`, `teachers`, `candidate_sites`, `expansion_options`: each a layer of
  `county.gpkg`, a `<name>.csv` (UTF-8, BOM allowed) or a `<name>.xlsx` (first sheet; `planner template`
  writes blank ones). Point tables outside the GeoPackage carry `lon` and `lat` columns.
  `candidate_sites` and `expansion_options` may be absent or empty.
- `parameters.yaml`: county metadata, datum, budgets and unit costs, the issuing unit and date of the
  budget justification (落款) and the funding shares (资金来源) (below).

Headers may be the code (`school_id`), the Chinese name (`学校代码`) or both (`学校代码 (school_id)`).
Categorical values may be the code or the Chinese label (`primary` or `小学`). Booleans: true/false,
1/0, yes/no, 是/否. Columns not listed here are ignored (and logged).

## Coordinates

Lon/lat are WGS-84 / CGCS2000 unless `parameters.yaml` says `datum: gcj02` (AMap, Tencent) or
`datum: bd09` (Baidu): then every lon/lat input, tables and geographic GeoPackage layers alike, is
converted to WGS-84 on load (`planner/datum.py`). Everything is then projected to a metric CRS:
`metric_crs` if given, otherwise the CGCS2000 3-degree Gauss-Krüger zone of the county (EPSG:4534-4554;
Queshan: EPSG:4547, central meridian 114°E).

## Rules checked on load (each failure is one message naming file, row, field and rule)

1. The folder, `parameters.yaml`, every required table and GeoPackage layer exist; YAML parses; every key
   is known and of the right type and range.
2. Every required column is present; every cell has its type (number, whole number, true/false, one of the
   listed codes), is non-empty where required, and respects its minimum.
3. Identifiers are unique; every reference (township, settlement, school) exists.
4. Tables other than `candidate_sites` and `expansion_options` have at least one row; the boundary layer has
   exactly one polygon; layers have a CRS and a geometry of the right type.
5. Lon/lat are degrees (projected metres are rejected; swapped lon/lat are recognised) and every point lies in
   the county (200 m slack); township polygons touch the county.
6. A settlement with pupils of a stage names its current catchment school, which must be a public school
   teaching that stage; pupils of a stage do not exceed the resident children of its ages (6-11, 12-14).
7. A public school's enrolment of each stage equals the pupils of the settlements in its catchment (private
   and special schools have no catchment).
8. Schools teach only their stages (a primary school or teaching point has no junior pupils or classes, a junior
   school no primary ones); classes > 0 where pupils > 0; boarding places only at boarding schools; music/art
   room areas only where there are rooms.
9. Teachers teach a stage their school has; no school lists more full-time teachers than staff.
10. The road network reaches every school, settlement and candidate site (`planner/network.py`).
"""


def _fmt_field(f: FieldSpec) -> str:
    desc = f.description.replace("|", "\\|")
    return f"| `{f.name}` | {f.zh} | {f.unit or ''} | {desc} | {_rule(f)} |"


def _table(spec: TableSpec) -> list[str]:
    where = "GeoPackage layer" if spec.gpkg_only else "table or layer"
    geom = f", geometry {spec.geometry}" if spec.geometry else ""
    lines = [
        f"## `{spec.name}` — {spec.zh}",
        "",
        f"{spec.description} ({where}{geom}.)",
        "",
        "| field | 中文 | unit | meaning | rule |",
        "|---|---|---|---|---|",
    ]
    fields = [f for f in spec.fields if not f.name.startswith("age_")]
    ages = [f for f in spec.fields if f.name.startswith("age_")]
    insert_at = len(fields)
    if ages:
        insert_at = next(i for i, f in enumerate(fields) if f.name == "population") + 1
    for i, f in enumerate(fields):
        lines.append(_fmt_field(f))
        if ages and i == insert_at - 1:
            lines.append(
                f"| `age_0` … `age_14` | 0-14岁儿童数 | persons | Resident children by completed year of age "
                f"(for projections). | {_rule(ages[0])} |"
            )
    lines.append("")
    return lines


def _model(title: str, model: type, prefix: str) -> list[str]:
    lines = [f"### {title}", "", "| key | type | meaning |", "|---|---|---|"]
    for name, info in model.model_fields.items():
        ann = getattr(info.annotation, "__name__", str(info.annotation)).replace("|", "\\|")
        lines.append(f"| `{prefix}{name}` | {ann} | {(info.description or '').replace('|', '/')} |")
    lines.append("")
    return lines


def render() -> str:
    """The whole ``docs/data.md`` page."""
    lines = [INTRO]
    for spec in TABLES:
        lines += _table(spec)
    lines += ["## `parameters.yaml`", ""]
    lines += _model("Top level", Parameters, "")
    lines += _model("county", CountyMeta, "county.")
    lines += _model("budget", Budget, "budget.")
    lines += _model("unit_costs", UnitCosts, "unit_costs.")
    lines += _model("new_school_options (list)", NewSchoolOption, "new_school_options[].")
    lines += _model("issuer", Issuer, "issuer.")
    lines += _model("funding (list)", FundingShare, "funding[].")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
