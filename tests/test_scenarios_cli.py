"""Every scenario in scenarios/ runs from the CLI on the bundled county; compare covers them all.

Each solve is limited to 20 s (the combined plan) or 10 s (the others) and takes the start heuristic's
plan (``--start-only``: HiGHS's full MIP can overrun its limit by minutes on this county), so plans
are "feasible, gap X%" or optimal; what is checked holds for any plan: the run directory is complete, its status is the
solver's own, and the comparison's numbers equal the runs' own tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from run_checks import compare_and_check

from planner.cli import main

#: one worker runs the module (its fixture is one long solve or run set, not repeated per worker)
pytestmark = pytest.mark.xdist_group("scenarios_cli")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module")
def all_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    base = tmp_path_factory.mktemp("scenarios")
    runs = []
    for path in SCENARIOS:
        out = base / "runs" / path.stem
        # the ±10% budget re-solves and the maps only for the combined plan (they double a run's time); the
        # other scenarios get half the time limit (the rules checked hold for any plan)
        quick = [] if path.stem == "combined" else ["--no-marginal", "--no-maps"]
        limit = "20" if path.stem == "combined" else "10"
        code = main(["run", str(path), "--data", str(ROOT / "geodata" / "queshan"), "--out", str(out),
                     "--time-limit", limit, "--start-only", "-q", *quick])  # fmt: skip
        assert code == 0, path.name
        runs.append(out)
    return base, runs


def test_every_scenario_runs(all_runs: tuple[Path, list[Path]]) -> None:
    _, runs = all_runs
    assert len(runs) >= 8
    for run in runs:
        manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["solver"]["status"] in ("optimal", "feasible")
        assert manifest["scenario"]["name"] == run.name
        for f in ("plan/assignments.csv", "plan/projects.csv", "after/self_assessment.xlsx", "before/summary.csv"):
            assert (run / f).exists(), f"{run.name}: {f}"
        # what the objective is made of: the failing-schools group is the inspectors' count of parts failing the
        # school rule after the plan among the parts assessed before and after it, plus the new schools it opens
        # that fail (西平, strict distance, 10 s: C03's primary at 33 pupils), plus at most the parts the plan takes
        # out of the assessment (a teaching point re-zoned below 50 pupils: the model keeps today's scope)
        terms = manifest["objective_terms"]
        before = pd.read_csv(run / "before" / "schools.csv", encoding="utf-8-sig").set_index(["school_id", "stage"])
        after = pd.read_csv(run / "after" / "schools.csv", encoding="utf-8-sig").set_index(["school_id", "stage"])
        was = before["assessed"].reindex(after.index).fillna(False).astype(bool)
        scoped = after[after["assessed"].astype(bool) & was]
        opened = after[~after.index.isin(before.index) & after["assessed"].astype(bool)]
        failing = int((~scoped["passes"].astype(bool)).sum()) + int((~opened["passes"].astype(bool)).sum())
        left_scope = int((was & ~after["assessed"].astype(bool)).sum())
        counted = terms["failing"] / manifest["scenario"]["weights"]["failing_school"]
        if manifest["scenario"]["objective"] == "min_cost_to_pass":  # the cost is the objective; passes are rows
            assert counted == 0, run.name
        else:
            assert failing - 1e-9 <= counted <= failing + left_scope + 1e-9, (run.name, counted, failing, left_scope)
        # the plan lists every part the re-zoning takes across the assessment's scope line, and only those
        both = after.index.intersection(before.index)
        flipped = both[before.loc[both, "assessed"].astype(bool) != after.loc[both, "assessed"].astype(bool)]
        listed = pd.read_csv(run / "plan" / "scope_changes.csv", encoding="utf-8-sig")
        assert sorted(zip(listed["school_id"], listed["stage"], strict=True)) == sorted(flipped), run.name
        for r in listed.itertuples(index=False):
            assert (r.pupils_after >= 50) == (r.change == "enters") and (r.pupils_before >= 50) != (
                r.change == "enters"
            )
            assert r.pupils_after == after.loc[(r.school_id, r.stage), "pupils"]
        assert sum("评估范围变化" in n for n in manifest["notes"]) == listed["change"].nunique(), run.name
        # the manifest's 就近入学 read-out: pupils re-zoned per stage, as the assignments table counts them
        a = pd.read_csv(run / "plan" / "assignments.csv", encoding="utf-8-sig")
        moved = a[a["school_id"] != a["current_school_id"]]
        for rec in manifest["rezoning"]:
            rows = moved if rec["stage"] == "all" else moved[moved["stage"] == rec["stage"]]
            assert rec["pupils_rezoned"] == int(rows["pupils"].sum()), (run.name, rec)
            grow = rows["time_min"] - rows["current_time_min"]
            far = rows["current_within_cap"].astype(bool) & (grow > 15)
            assert rec["pupils_longer_15_within_cap"] == int(rows.loc[far, "pupils"].sum())


def test_every_scenario_keeps_the_plan_rules(all_runs: tuple[Path, list[Path]]) -> None:
    """Issue #16 on every scenario, from each run's own files and the county's tables (no model code)."""
    _, runs = all_runs
    data = ROOT / "geodata" / "queshan"
    teachers = pd.read_csv(data / "teachers.csv", dtype=str)
    schools = pd.read_csv(data / "schools.csv", dtype=str).set_index("school_id")
    area = schools["settlement_id"].map(pd.read_csv(data / "settlements.csv", dtype=str).set_index("settlement_id")
                                        ["area_type"])  # fmt: skip
    rural = set(area.index[area == "rural"])
    have = teachers.groupby(["school_id", "stage", "subject"]).size()
    checked = 0
    for run in runs:
        # 就近入学: no re-zoned trip more than 15 minutes longer while today's school is within the cap
        a = pd.read_csv(run / "plan" / "assignments.csv", encoding="utf-8-sig")
        moved = a[a["school_id"] != a["current_school_id"]]
        grow = moved["time_min"] - moved["current_time_min"]
        assert not (moved["current_within_cap"].astype(bool) & (grow > 15 + 1e-6)).any(), run.name
        # teacher exchange: no school-subject emptied; no more teachers out of rural schools than into them
        ex = pd.read_csv(run / "plan" / "exchange_list.csv", encoding="utf-8-sig", dtype=str)
        ex = ex[ex["kind"] != "itinerant"]
        where = teachers.set_index("teacher_id")["school_id"].copy()
        where.loc[ex["teacher_id"].to_numpy()] = ex["to_school_id"].to_numpy()
        after = teachers.assign(school_id=teachers["teacher_id"].map(where)).groupby(["school_id", "stage",
                                                                                      "subject"]).size()  # fmt: skip
        projects = pd.read_csv(run / "plan" / "projects.csv", encoding="utf-8-sig", dtype=str)
        closed = set(projects.loc[projects["kind"] == "closure", "school_id"])  # a closed school keeps nobody
        emptied = (after.reindex(have.index, fill_value=0) == 0) & ~have.index.get_level_values(0).isin(closed)
        assert not emptied.any(), (run.name, list(have.index[emptied.to_numpy()])[:5])
        into = int((ex["to_school_id"].isin(rural) & ~ex["from_school_id"].isin(rural)).sum())
        out = int((ex["from_school_id"].isin(rural) & ~ex["to_school_id"].isin(rural)).sum())
        assert into >= out, (run.name, into, out)
        checked += 1
    assert checked == len(runs) >= 8


def test_baseline_changes_nothing(all_runs: tuple[Path, list[Path]]) -> None:
    _, runs = all_runs
    base = next(r for r in runs if r.name == "baseline")
    assert pd.read_csv(base / "plan" / "projects.csv", encoding="utf-8-sig").empty
    assert not pd.read_csv(base / "plan" / "assignments.csv", encoding="utf-8-sig")["changed"].any()
    before = pd.read_csv(base / "before" / "indicators.csv", encoding="utf-8-sig")
    after = pd.read_csv(base / "after" / "indicators.csv", encoding="utf-8-sig")
    pd.testing.assert_series_equal(before["met"], after["met"])


def test_compare_over_all_scenarios(all_runs: tuple[Path, list[Path]]) -> None:
    base, runs = all_runs
    compare_and_check(runs, base / "comparison")


def test_combined_run_hands_in_every_document(all_runs: tuple[Path, list[Path]]) -> None:
    """The bundled county's combined run: every hand-in file read back against the run's own tables."""
    import shapely
    from docx import Document
    from openpyxl import load_workbook

    from planner.loader import load_county
    from planner.report.geometry import county_area
    from planner.report.geopackage import read_layers

    _, runs = all_runs
    run = next(r for r in runs if r.name == "combined")
    county = load_county(ROOT / "geodata" / "queshan")
    projects = pd.read_csv(run / "plan" / "projects.csv", encoding="utf-8-sig")
    flows = pd.read_csv(run / "plan" / "teacher_flows.csv", encoding="utf-8-sig")
    assign = pd.read_csv(run / "plan" / "assignments.csv", encoding="utf-8-sig")

    # GeoPackage: layers and counts; after-catchments partition the county with no overlaps
    layers = read_layers(run / "gis" / "plan.gpkg")
    assert len(layers["settlements"]) == len(county.settlements)
    assert len(layers["townships"]) == len(county.townships)
    assert layers["teacher_flows"]["count"].sum() == flows["count"].sum()
    area = county_area(county)
    for stage in ("primary", "junior"):
        polys = layers[f"catchments_after_{stage}"].to_crs(county.crs)
        assert set(polys["school_id"]) == set(assign.loc[assign["stage"] == stage, "school_id"])
        geoms = polys.geometry.to_numpy()
        union = shapely.union_all(geoms)
        assert union.area == pytest.approx(area.area, rel=1e-6)
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        pairs = left < right
        overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])).sum()
        assert overlap < 1.0  # m², against a county of 1,630 km²

    # workbook: the project list's total is the plan's capital cost
    ws = load_workbook(run / "plan_workbook.xlsx", read_only=True)["项目清单 Projects"]
    rows = list(ws.iter_rows(values_only=True))
    cost_col = next(i for i, h in enumerate(rows[0]) if h and "金额" in str(h))
    body = [r for r in rows[1:] if r[0] != "合计 Total"]
    assert len(body) == len(projects)
    assert sum(float(r[cost_col]) for r in body) == pytest.approx(projects["cost_yuan"].sum())

    # budget justification: the docx's project annex (附件1) has every project and the plan's total
    from planner.report.justification import ANNEX_PROJECT_HEADER

    doc = Document(str(run / "budget_justification.docx"))
    table = next(t for t in doc.tables if [c.text for c in t.rows[0].cells] == list(ANNEX_PROJECT_HEADER))
    header = [c.text for c in table.rows[0].cells]
    money = header.index("金额(元)")
    assert len(table.rows) - 2 == len(projects)
    total = float(table.rows[-1].cells[money].text.replace(",", ""))
    assert total == pytest.approx(projects["cost_yuan"].sum(), abs=0.01)
    marginal = pd.read_csv(run / "plan" / "marginal_budget.csv", encoding="utf-8-sig")
    assert len(marginal) == 3
    # the plan keeps the run's limit (20 s); each re-solve a third of it by default (report.marginal_time_limit_s),
    # and −10% (solved last) also what +10% left unused of its third
    limits = marginal.set_index("label")["time_limit_s"]
    assert limits["0%"] == pytest.approx(20) and limits["+10%"] == pytest.approx(20 / 3)
    left = 2 * 20 / 3 - marginal.set_index("label").loc["+10%", "wall_s"]
    assert limits["-10%"] == pytest.approx(max(20 / 3, left))

    # static maps at print resolution; the offline page fetches nothing
    import matplotlib.pyplot as plt

    for name in ("catchments_primary", "catchments_junior", "teacher_flows"):
        img = plt.imread(run / "maps" / f"{name}.png")
        assert min(img.shape[:2]) >= 1000, name
        assert (run / "maps" / f"{name}.pdf").stat().st_size > 0
    page = (run / "map.html").read_text(encoding="utf-8")
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
