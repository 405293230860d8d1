"""Catchment polygons, plan layers and the GeoPackage, on the tiny county's real plan."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from tiny_county import tiny_plan

from planner.adjacency import settlement_cells
from planner.errors import DataError
from planner.report.geometry import STAGES, catchment_polygons, county_area, current_assignments
from planner.report.geopackage import field_aliases, read_layers, style_for, write_geopackage
from planner.report.layers import LAYER_NAMES, plan_layers
from planner.report.marginal import cost_to_meet

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    county, plan = tiny_plan(tmp_path_factory.mktemp("geo"))
    return county, plan, plan_layers(plan, county)


def _check_partition(county, polys) -> None:
    """Union covers the boundary (rel. 1e-6), pairwise overlaps below 1e-3 m², nothing outside."""
    area = county_area(county)
    geoms = polys.geometry.to_numpy()
    union = shapely.union_all(geoms)
    assert union.area == pytest.approx(area.area, rel=1e-6)
    assert shapely.difference(area, union).area < 1e-6 * area.area
    assert shapely.difference(union, area).area < 1e-6 * area.area
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])).sum()
    assert overlap < 1e-3  # m², against a county of ~100 km²
    assert polys["area_km2"].sum() == pytest.approx(area.area / 1e6, rel=1e-6)
    np.testing.assert_allclose(polys["area_km2"], shapely.area(geoms) / 1e6)


def _nearest_assigned(county, assigned: set[str], sid: str) -> str:
    pts = county.settlements.geometry
    d = {o: pts[sid].distance(pts[o]) for o in assigned}
    return min(d, key=lambda o: (d[o], o))


def test_catchments_partition_county_and_hold_their_settlements(tiny) -> None:
    county, plan, layers = tiny
    before = current_assignments(county)
    for stage in STAGES:
        for when, assign in (("before", before), ("after", plan.assignments)):
            polys = layers[f"catchments_{when}_{stage}"]
            _check_partition(county, polys)
            a = assign[assign["stage"] == stage].set_index("settlement_id")
            # one polygon per school that has settlements, pupils = sum of its settlements' pupils
            assert sorted(polys["school_id"]) == sorted(a["school_id"].unique())
            by_school = polys.set_index("school_id")
            np.testing.assert_array_equal(
                by_school["pupils"].sort_index(), a.groupby("school_id")["pupils"].sum().sort_index()
            )
            pts = county.settlements.geometry
            for sid in county.settlements.index:
                school = a.loc[sid, "school_id"] if sid in a.index else a.loc[
                    _nearest_assigned(county, set(a.index), sid), "school_id"]  # fmt: skip
                assert by_school.loc[school, "geometry"].covers(pts[sid]), (stage, when, sid, school)
            assert by_school["n_settlements"].sum() == len(county.settlements)
            assert by_school["n_filled"].sum() == len(county.settlements) - len(a)


def test_rezoning_moves_exactly_one_cell(tiny) -> None:
    county, _, _ = tiny
    before = current_assignments(county)
    moved = before.copy()
    pick = moved[(moved["stage"] == "primary") & (moved["school_id"] != "P1")].iloc[0]
    moved.loc[pick.name, "school_id"] = "P1"
    cells = settlement_cells(county)
    old = catchment_polygons(county, before, "primary", cells=cells).set_index("school_id")
    new = catchment_polygons(county, moved, "primary", cells=cells).set_index("school_id")
    _check_partition(county, new.reset_index())
    cell_km2 = cells.geometry[pick["settlement_id"]].area / 1e6
    assert new.loc["P1", "area_km2"] == pytest.approx(old.loc["P1", "area_km2"] + cell_km2, rel=1e-9)
    assert new.loc["P1", "pupils"] == old.loc["P1", "pupils"] + pick["pupils"]
    assert new.loc["P1", "geometry"].covers(county.settlements.geometry[pick["settlement_id"]])


def test_settlements_at_one_point_share_one_cell(tiny) -> None:
    county, _, _ = tiny
    s = county.settlements.copy()
    s.loc["V5", "geometry"] = s.loc["V4", "geometry"]  # V4 (N1, 60 pupils) and V5 (N1, 40) at one point
    from dataclasses import replace

    c2 = replace(county, settlements=s)
    a = current_assignments(c2)
    a.loc[(a["settlement_id"] == "V5") & (a["stage"] == "primary"), "school_id"] = "P1"
    polys = catchment_polygons(c2, a, "primary").set_index("school_id")
    _check_partition(c2, polys.reset_index())
    # the shared cell goes to N1 (more pupils there), the pupils still count where they are zoned
    assert polys.loc["N1", "geometry"].covers(s.loc["V4", "geometry"])
    assert polys.loc["P1", "pupils"] == a[(a["school_id"] == "P1") & (a["stage"] == "primary")]["pupils"].sum()


def test_layers_match_the_plan(tiny) -> None:
    county, plan, layers = tiny
    assert list(layers) == list(LAYER_NAMES)
    for name, gdf in layers.items():
        assert str(gdf.crs) == str(county.crs), name
    schools = layers["schools"].set_index("school_id")
    ids = set(county.schools.index) | set(plan.after_county.schools.index)
    assert set(schools.index) == ids
    expanded = set(plan.projects.loc[plan.projects["kind"] == "expansion", "school_id"])
    assert set(schools.index[schools["status"] == "expanded"]) == expanded
    # passes before/after = the assessment engine's verdict for each assessed part
    for when, assessment in (("before", plan.before), ("after", plan.after)):
        for r in assessment.schools.itertuples(index=False):
            got = schools.loc[r.school_id, f"passes_{r.stage}_{when}"]
            if bool(r.assessed):
                assert bool(got) == bool(r.passes), (r.school_id, r.stage, when)
            else:
                assert pd.isna(got)
    # compliance after: pass only if every assessed part passes
    for sid, row in schools.iterrows():
        parts = plan.after.schools[(plan.after.schools["school_id"] == sid) & plan.after.schools["assessed"]]
        want = "not_assessed" if parts.empty else ("pass" if parts["passes"].astype(bool).all() else "fail")
        assert row["compliance_after"] == want, sid
    flows = layers["teacher_flows"]
    assert int(flows["count"].sum()) == len(plan.exchange_list) == int(plan.flows["count"].sum())
    for f in flows.itertuples(index=False):
        a = county.schools.geometry[f.from_school_id]
        b = plan.after_county.schools.geometry[f.to_school_id]
        assert f.geometry.coords[0] == (a.x, a.y) and f.geometry.coords[-1] == (b.x, b.y)
    settle = layers["settlements"].set_index("settlement_id")
    for r in plan.assignments.itertuples(index=False):
        assert settle.loc[r.settlement_id, f"{r.stage}_after"] == r.school_id
        assert bool(settle.loc[r.settlement_id, f"changed_{r.stage}"]) == (r.school_id != r.current_school_id)


def test_geopackage_reads_back_with_styles(tiny, tmp_path: Path) -> None:
    county, plan, layers = tiny
    path = write_geopackage(layers, tmp_path / "plan.gpkg")
    back = read_layers(path)
    assert list(back) == list(LAYER_NAMES)
    for name in LAYER_NAMES:
        assert len(back[name]) == len(layers[name]), name
        assert back[name].crs.equals(county.crs), name
    assert len(back["settlements"]) == len(county.settlements)
    assert len(back["new_sites"]) == len(county.candidate_sites)
    for stage in STAGES:
        a = plan.assignments[plan.assignments["stage"] == stage]
        cat = back[f"catchments_after_{stage}"]
        assert len(cat) == a["school_id"].nunique()
        assert int(cat["pupils"].sum()) == int(a["pupils"].sum())
    assert int(back["teacher_flows"]["count"].sum()) == len(plan.exchange_list)
    # QGIS default styles: one per layer in layer_styles, valid QML, also written beside the file
    with closing(sqlite3.connect(path)) as con:
        rows = con.execute('SELECT f_table_name, "styleQML", "useAsDefault" FROM layer_styles').fetchall()
    assert sorted(r[0] for r in rows) == sorted(n for n in LAYER_NAMES if style_for(n) is not None)
    assert {n for n in LAYER_NAMES if style_for(n) is None} == {"projects", "unmet"}  # QGIS's default symbols
    for name, qml, default in rows:
        assert default == 1
        root = ET.fromstring(qml)
        assert root.tag == "qgis" and root.find("renderer-v2") is not None, name
        assert (tmp_path / "plan_styles" / f"{name}.qml").read_text("utf-8") == qml


def test_read_layers_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"plan\.gpkg"):
        read_layers(tmp_path / "plan.gpkg")


def test_geopackage_fields_carry_chinese_aliases(tiny, tmp_path: Path) -> None:
    """Aliases in the GeoPackage schema extension's gpkg_data_columns (``name``), which GDAL reads as each field's
    alternative name and QGIS shows as its alias; registered in gpkg_extensions as GDAL registers it."""
    _, _, layers = tiny
    path = write_geopackage(layers, tmp_path / "plan.gpkg")
    with closing(sqlite3.connect(path)) as con:
        rows = con.execute("SELECT table_name, column_name, name, description FROM gpkg_data_columns").fetchall()
        ext = con.execute("SELECT table_name, column_name, extension_name, scope FROM gpkg_extensions "
                          "WHERE extension_name = 'gpkg_schema'").fetchall()  # fmt: skip
    assert ext == [("gpkg_data_columns", None, "gpkg_schema", "read-write")]
    by_layer: dict[str, dict[str, str]] = {}
    for table, col, alias, desc in rows:
        assert desc == col
        by_layer.setdefault(table, {})[col] = alias
    assert set(by_layer) == set(LAYER_NAMES)
    for name, gdf in layers.items():
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        got = by_layer[name]
        assert set(got) <= set(cols), name
        assert len(set(got.values())) == len(got), name  # unique within a layer (the table's constraint)
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in a) for a in got.values()), name
        assert got == field_aliases(cols, name)
    assert by_layer["schools"]["name_zh"] == "名称"
    assert by_layer["settlements"]["changed"] == "学区调整"
    assert by_layer["projects"]["cost_yuan"] == "费用（元）" and by_layer["projects"]["kind_zh"] == "项目类型"
    assert by_layer["unmet"]["binds_zh"] == "制约因素" and by_layer["unmet"]["item_zh"] == "未达标事项"
    # the metadata table is not read back as a layer, and every layer still reads
    assert list(read_layers(path)) == list(LAYER_NAMES)


def test_projects_and_unmet_layers_match_the_plan(tiny) -> None:
    county, plan, layers = tiny
    proj = layers["projects"]
    assert len(proj) == len(plan.projects)
    assert proj["cost_yuan"].sum() == pytest.approx(plan.projects["cost_yuan"].sum())
    assert list(proj["school_id"]) == list(plan.projects["school_id"])
    pts = plan.after_county.schools.geometry
    for r in proj.itertuples(index=False):
        assert r.geometry.equals(pts[r.school_id])
    # an expansion serves what it adds: classrooms (班额) and floor area here, no sports ground
    e = plan.projects[plan.projects["kind"] == "expansion"].iloc[0]
    serves = proj.loc[proj["kind"] == "expansion", "serves_zh"].iloc[0]
    assert ("生均体育运动场馆面积" in serves) == (e["added_sports_area_m2"] > 0)
    assert ("班额" in serves) == (e["added_classrooms"] > 0)
    unmet = layers["unmet"]
    u = plan.extra_tables["unmet"]
    assert len(unmet) == len(u) and list(unmet["item"]) == list(u["item"])
    costs = cost_to_meet(plan, county)
    priced = unmet[unmet["cost_kind"] != "not_priced"]
    assert priced["cost_yuan"].sum() == pytest.approx(costs.loc[costs["cost_kind"] != "not_priced", "cost_yuan"].sum())
    for r in unmet.itertuples(index=False):
        where = r.settlement_id or r.school_id
        if where:
            geo = county.settlements.geometry if r.settlement_id else plan.after_county.schools.geometry
            assert r.geometry.equals(geo[where]), where
        else:  # a county-wide item (the rotation shares) has no place
            assert r.geometry is None or r.geometry.is_empty


def test_an_expansion_of_sports_ground_only_serves_sports_area(tiny) -> None:
    """The standard a project serves is read from what it adds (J009 of the bundled county added only sports ground
    but was labelled as serving floor area)."""
    from dataclasses import replace

    from planner.report.projects import project_lines

    county, plan, _ = tiny
    e = plan.projects[plan.projects["kind"] == "expansion"].iloc[[0]].copy()
    e["added_classrooms"], e["added_floor_area_m2"], e["added_sports_area_m2"] = 0, 0.0, 3710.0
    e["serves"] = "生均教学及辅助用房面积 floor area per pupil"  # the model's label
    lines = project_lines(replace(plan, projects=e.reset_index(drop=True)), county)
    assert lines["serves_zh"].tolist() == ["生均体育运动场馆面积"]
    assert lines["content_zh"].iloc[0].endswith("运动场馆3,710㎡") and "校舍" not in lines["content_zh"].iloc[0]
