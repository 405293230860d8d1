"""Render the data contract (:mod:`planner.schema`) as ``docs/data.md``.

``python -m planner.schema_doc > docs/data.md`` regenerates the page; a test checks the
committed page equals the rendering, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from planner.parameters import Budget, CountyMeta, FundingShare, Issuer, NewSchoolOption, Parameters, UnitCosts
from planner.schema import PLAUSIBILITY, TABLES, FieldSpec, PlausibilityRule, TableSpec
from planner.templates import _rule

INTRO = """# The county data contract (数据规范)

This page is generated from `planner/schema.py` and `planner/parameters.py` by
`python -m planner.schema_doc > docs/data.md`; a test keeps it in step with the code.

A county folder holds:

- `county.gpkg`: GeoPackage with the layers `boundary`, `townships` and `roads` (any CRS; lon/lat
  layers are read in the folder's datum). It may also hold the point tables as point layers.
- `settlements`, `schools`, `teachers`, `candidate_sites`, `expansion_options`: each a layer of
  `county.gpkg`, a `<name>.csv` (UTF-8 with or without BOM, or GBK/GB18030) or a `<name>.xlsx` (first sheet;
  `planner template` writes blank ones), exactly one of these (a table given twice, e.g. `schools.csv` beside
  `schools.xlsx`, is an error naming both). Point tables outside the GeoPackage carry `lon` and `lat` columns.
  `candidate_sites` and `expansion_options` may be absent or empty. Old `.xls` workbooks and UTF-16 text are
  refused with how to re-save them.
- `parameters.yaml`: county metadata, datum, budgets and unit costs, the issuing unit and date of the
  budget justification (落款) and the funding shares (资金来源) (below).

CSV files and `parameters.yaml` may be UTF-8 (with or without BOM) or GBK / GB18030, what Excel and Notepad
on Chinese Windows save; anything else is refused with "save as CSV UTF-8" in the message.
Headers may be the code (`school_id`), the Chinese name (`学校代码`) or both (`学校代码 (school_id)`);
full-width brackets and spaces (`学校代码（school_id）`) are read as their ASCII forms. A column given twice
(under the same or another of its names) is an error naming both columns. Categorical values may be the code
or the Chinese label (`primary` or `小学`). Booleans: true/false, 1/0, yes/no, 是/否. Columns not listed here
are ignored (and logged). Numbers must be finite (`nan`, `inf`, `.inf` are refused, in tables and YAML);
counts are whole numbers up to 10¹².

## Coordinates

Lon/lat are WGS-84 / CGCS2000 unless `parameters.yaml` says `datum: gcj02` (AMap, Tencent) or
`datum: bd09` (Baidu): then every lon/lat input, tables and geographic GeoPackage layers alike, is
converted to WGS-84 on load (`planner/datum.py`). Everything is then projected to a metric CRS:
`metric_crs` if given (a CRS pyproj knows, projected, in metres; anything else is refused naming the key),
otherwise the CGCS2000 3-degree Gauss-Krüger zone of the county (EPSG:4534-4554; Queshan: EPSG:4547, central
meridian 114°E).

**Datum check.** Coordinates copied from AMap or Tencent (GCJ-02) or Baidu (BD-09) but declared WGS-84 are
off by a few hundred metres, all in the direction of that datum's shift. The loader re-reads the settlement
and school points in each datum and compares the median distance to the nearest road: when another datum puts
them at most half as far from the roads and at least 50 m closer, the load stops naming the likely datum
(at most 0.8 times and 25 m closer: a warning). This sees the shift even when no point falls outside the
county. It compares the points with the roads, so it cannot see a county whose roads were taken from the
same wrong datum.

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
10. The county outline is a valid polygon (a self-intersecting one is refused, not silently repaired) and its
    `adcode` equals `county.adcode` of `parameters.yaml`; `metric_crs` is a known metric CRS; the datum check
    above.
11. Every derived quantity is within its plausible range (next section).
12. The road network reaches every school, settlement and candidate site (`planner/network.py`).

## Plausibility (合理性检查)

Each quantity below is computed per school, settlement or parameter. Outside the **error** range the load
stops (exit 2) naming the file, row, identifier and field; outside the **usual** range only, it is a
borderline value: `planner check` and `planner run` list it as a warning under the summary, and `--strict`
(on `check`, `assess`, `run`, `sweep`) makes it an error. The bundled county, `/work/data/xiping` and every
scenario give no warning. Bounds are inclusive; — is no bound.
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


def _bound(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.0e}".replace("e+0", "e").replace("e+", "e") if x >= 1e5 else f"{x:g}"


def _plausibility(rules: tuple[PlausibilityRule, ...]) -> list[str]:
    lines = [
        "| rule | quantity | 中文 | unit | error below | usual range | error above | checked on | reason |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rules:
        usual = f"{_bound(r.warn_low)} – {_bound(r.warn_high)}"
        lines.append(
            f"| `{r.key}` | {r.what} | {r.zh} | {r.unit} | {_bound(r.error_low)} | {usual} | "
            f"{_bound(r.error_high)} | `{r.table}.{r.field}` | {r.reason.replace('|', '/')} |"
        )
    lines.append("")
    return lines


def render() -> str:
    """The whole ``docs/data.md`` page."""
    lines = [INTRO]
    lines += _plausibility(PLAUSIBILITY)
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
