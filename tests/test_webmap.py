"""The offline HTML map: built from a real plan on the tiny county, loaded in headless Chromium
with the network cut off.

The page must load with no console error and no request leaving it, list and toggle every
layer it was given, fit the county in view, and show a clicked school's indicators before
and after — numbers checked against the school's own resources (floor area / pupils,
equipment value / pupils) and against the assessment engine.
"""

from __future__ import annotations

import json
import re
import shutil
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString
from tiny_county import tiny_plan

from planner.report.webmap import DETAIL_COLUMNS, school_details_table, write_web_map
from planner.standards import load_standards

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# --------------------------------------------------------------------------- fixtures


def _catchments(county, assignments: pd.DataFrame, stage: str, column: str) -> gpd.GeoDataFrame:
    """Voronoi cells of the settlements, clipped to the county, dissolved by school (test-made catchments)."""
    boundary = county.boundary.geometry.iloc[0]
    pts = county.settlements.geometry
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(pts)), extend_to=boundary.buffer(1000))
    by_point = {}
    for cell in cells.geoms:
        hit = [sid for sid, p in pts.items() if cell.contains(p)]
        by_point[hit[0]] = cell.intersection(boundary)
    a = assignments[assignments["stage"] == stage]
    rows = []
    for school, g in a.groupby(column):
        rows.append(
            {
                "school_id": school,
                "name_zh": county.schools.loc[school, "name_zh"],
                "pupils": int(g["pupils"].sum()),
                "geometry": shapely.union_all([by_point[s] for s in g["settlement_id"]]),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=county.crs)


def _passes_after(plan) -> pd.Series:
    s = plan.after.schools
    s = s[s["assessed"]]
    return s.groupby("school_id")["passes"].all().astype(bool)


def _layers(county, plan) -> dict[str, gpd.GeoDataFrame]:
    after = plan.after_county.schools
    expanded = set(plan.projects.loc[plan.projects["kind"] == "expansion", "school_id"])
    schools = after[["school_id", "name_zh", "kind", "geometry"]].copy()
    schools["status"] = [
        "new" if sid not in county.schools.index else "expanded" if sid in expanded else "existing"
        for sid in schools["school_id"]
    ]
    schools["passes_after"] = schools["school_id"].map(_passes_after(plan)).astype("boolean")
    flows = plan.flows.copy()
    pts = after.geometry
    flows_gdf = gpd.GeoDataFrame(
        flows[["from_school_id", "to_school_id", "stage", "category", "count"]],
        geometry=[LineString([pts[f], pts[t]])
                  for f, t in zip(flows["from_school_id"], flows["to_school_id"], strict=True)],
        crs=county.crs,
    )  # fmt: skip
    layers = {
        "townships": county.townships[["township_id", "name_zh", "geometry"]],
        "settlements": county.settlements[["settlement_id", "name_zh", "population", "geometry"]],
        "schools": schools,
        "new_sites": county.candidate_sites[["site_id", "name_zh", "geometry"]],
        "teacher_flows": flows_gdf,
        "roads": county.roads[["road_id", "name_zh", "geometry"]],  # an unknown layer name: default style
    }
    for stage in ("primary", "junior"):
        layers[f"catchments_before_{stage}"] = _catchments(county, plan.assignments, stage, "current_school_id")
        layers[f"catchments_after_{stage}"] = _catchments(county, plan.assignments, stage, "school_id")
    return layers


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("webmap")
    county, plan = tiny_plan(tmp, weights={"cv_worse": 0})  # a plan that re-zones V3 (tiny_plan)
    layers = _layers(county, plan)
    details = school_details_table(plan.before, plan.after)
    path = write_web_map(
        layers, tmp / "map" / "index.html", title="测试县 学区与教师交流 <test> & map", school_details=details,
        note="合成数据 synthetic data · 直线距离 straight-line distances",
    )  # fmt: skip
    return county, plan, layers, details, path


def _payload(path: Path) -> dict:
    text = path.read_text("utf-8")
    m = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', text, re.S)
    assert m is not None
    return json.loads(m.group(1))


# --------------------------------------------------------------------------- without a browser


def test_school_details_table_matches_both_assessments(tiny) -> None:
    _, plan, _, details, _ = tiny
    assert list(details.columns) == list(DETAIL_COLUMNS)
    bi, ai = plan.before.indicators, plan.after.indicators
    keys = ["school_id", "stage", "indicator"]
    union = pd.concat([bi[keys], ai[keys]]).drop_duplicates()
    assert len(details) == len(union)
    assert not details.duplicated(keys).any()
    d = details.set_index(keys)
    for side, ind in (("before", bi), ("after", ai)):
        for r in ind.itertuples(index=False):
            row = d.loc[(r.school_id, r.stage, r.indicator)]
            assert row[f"value_{side}"] == r.value
            assert bool(row[f"met_{side}"]) == bool(r.met)
            assert row["threshold"] == r.standard
    # P1 (primary only, no split): floor area per pupil = floor area / pupils, by hand
    county = tiny[0]
    p1 = d.loc[("P1", "primary", "floor_area")]
    assert p1["value_before"] == pytest.approx(2000.0 / 500)
    after = plan.after_county.schools.loc["P1"]
    assert p1["value_after"] == pytest.approx(after["floor_area_m2"] / after["pupils_primary"])
    assert p1["threshold"] == load_standards().threshold("primary", "floor_area")
    # parts never assessed (the special school) have no rows; the teaching point under 50 pupils neither
    assert "X1" not in set(details["school_id"])
    assert county.schools.loc["TP1", "pupils_primary"] < 50
    assert "TP1" not in set(details["school_id"])
    # part compliance is the engine's, repeated on each of the part's 7 rows
    s = plan.after.schools.set_index(["school_id", "stage"])
    for (sid, stage), g in details.groupby(["school_id", "stage"]):
        assert len(g) == 7
        assert g["passes_after"].nunique() == 1
        assert bool(g["passes_after"].iloc[0]) == bool(s.loc[(sid, stage), "passes"])


def test_page_is_self_contained_and_small(tiny) -> None:
    _, _, layers, _, path = tiny
    text = path.read_text("utf-8")
    # no external resource of any kind: the only URL is the SVG namespace name
    urls = set(re.findall(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s"'<>)]*""", text))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert not re.search(r"""\b(?:src|href)\s*=""", text)
    assert "@import" not in text
    assert re.findall(r"url\(([a-z/:]+)", text) in ([], ["data:font/woff"])  # only the embedded font subset
    # the title is escaped in HTML and kept verbatim in the data
    assert "<title>测试县 学区与教师交流 &lt;test&gt; &amp; map</title>" in text
    payload = _payload(path)
    assert payload["title"] == "测试县 学区与教师交流 <test> & map"
    # every layer is in the page, in WGS-84 with at most 5 decimals, one feature per row
    names = {lyr["name"] for lyr in payload["layers"]}
    assert names == set(layers)
    for lyr in payload["layers"]:
        assert len(lyr["features"]) == len(layers[lyr["name"]])
        if not len(layers[lyr["name"]]):
            continue  # e.g. no teacher flows: the tiny county's schools have one teacher per subject
        coords = re.findall(r"-?\d+\.\d+", json.dumps([f["geometry"] for f in lyr["features"]]))
        assert coords and all(len(c.split(".")[1]) <= 5 for c in coords)
    lon, lat = payload["bounds"][0::2], payload["bounds"][1::2]
    assert 113.94 < lon[0] < lon[1] < 114.06 and 32.74 < lat[0] < lat[1] < 32.86
    # the rounded WGS-84 points are within 2 m of the projected originals
    feats = next(x for x in payload["layers"] if x["name"] == "schools")["features"]
    xy = np.array([f["geometry"]["coordinates"] for f in feats])
    sch = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:4326").to_crs(layers["schools"].crs)
    assert sch.distance(layers["schools"].geometry.reset_index(drop=True)).max() < 2.0  # 1e-5° is at most 1.1 m
    assert path.stat().st_size < 200_000


def test_neighbouring_catchments_get_different_colours(tiny) -> None:
    _, _, layers, _, path = tiny
    colors = _payload(path)["catchment_colors"]
    for name, gdf in layers.items():
        if not name.startswith("catchments"):
            continue
        assert set(gdf["school_id"]) <= set(colors)
        for i, a in gdf.iterrows():
            for j, b in gdf.iterrows():
                if i < j and a.geometry.buffer(1).intersects(b.geometry):
                    assert colors[a["school_id"]] != colors[b["school_id"]], (name, a["school_id"], b["school_id"])


def test_details_are_truncated_never_rounded_up(tmp_path: Path) -> None:
    """A value 0.1% under the standard must not display as the standard."""
    gdf = gpd.GeoDataFrame(
        {"school_id": ["S1"], "name_zh": ["甲校"], "kind": ["primary"], "status": ["existing"],
         "passes_after": [False]},
        geometry=gpd.points_from_xy([500000.0], [3630000.0]), crs="EPSG:4547",
    )  # fmt: skip
    details = pd.DataFrame(
        {"school_id": ["S1", "S1"], "stage": ["primary"] * 2, "indicator_en": ["a", "b"],
         "unit_en": ["m² per pupil", "yuan per pupil"], "value_before": [4.4999, 1999.99],
         "value_after": [0.29, 2000.0], "threshold": [4.5, 2000.0], "met_before": [False, False],
         "met_after": [True, True], "ratio_before": [4.4999 / 4.5, 1999.99 / 2000], "ratio_after": [0.29, 1.0]}
    )  # fmt: skip
    payload = _payload(write_web_map({"schools": gdf}, tmp_path / "m.html", title="t", school_details=details))
    rows = payload["details"]["S1"][0]["rows"]
    got = [(r["before"], r["after"], r["threshold"]) for r in rows]
    assert got == [("4.49", "0.29", "4.5"), ("1,999", "2,000", "2,000")]
    assert [(r["pct_before"], r["pct_after"]) for r in rows] == [("99.9%", "29.0%"), ("99.9%", "100.0%")]


def test_bad_layers_are_reported_in_one_line(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame({"a": [1]}, geometry=gpd.points_from_xy([0.0], [0.0]))
    with pytest.raises(ValueError, match="layer 'schools' has no CRS"):
        write_web_map({"schools": pts}, tmp_path / "m.html", title="t")
    with pytest.raises(ValueError, match="layer 'x' is a DataFrame"):
        write_web_map({"x": pd.DataFrame({"a": [1]})}, tmp_path / "m.html", title="t")
    with pytest.raises(ValueError, match="school_details lacks columns: value_before"):
        write_web_map({"schools": pts.set_crs(4326)}, tmp_path / "m.html", title="t",
                      school_details=pd.DataFrame(columns=["school_id", "stage"]))  # fmt: skip


# --------------------------------------------------------------------------- in headless Chromium

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """Headless Chromium (Debian's), offline, with a fresh profile."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (CI installs Debian's chromium in .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, offline=True, viewport={"width": 1280, "height": 800},
        )  # fmt: skip
        yield ctx
        ctx.close()


def _open(ctx, path: Path) -> tuple[object, list[str], list[str]]:
    """Open the map in a new tab; every request is recorded and any non-file one aborted."""
    errors: list[str] = []
    requests: list[str] = []
    pg = ctx.new_page()

    def route(r) -> None:
        requests.append(r.request.url)
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            r.abort()

    pg.route("**/*", route)
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    pg.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    pg.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    pg.goto(path.as_uri())
    pg.wait_for_selector("body[data-ready='1']", timeout=10_000)
    return pg, errors, requests


@pytest.fixture(scope="module")
def page(browser, tiny):
    """The map page open in headless Chromium; yields (page, console errors, requests)."""
    pg, errors, requests = _open(browser, tiny[-1])
    yield pg, errors, requests
    pg.close()


def test_page_loads_offline_with_no_error_and_no_request_out(page, tiny) -> None:
    pg, errors, requests = page
    assert errors == []
    assert requests == [tiny[-1].as_uri()]  # the page itself, nothing else
    assert pg.title() == "测试县 学区与教师交流 <test> & map"
    assert "合成数据 synthetic data" in pg.inner_text("#note")


def test_every_layer_is_drawn_listed_and_toggleable(page, tiny) -> None:
    pg, errors, _ = page
    layers = tiny[2]
    for name, gdf in layers.items():
        drawn = pg.locator(f"#viewport > g.layer[data-layer='{name}'] > [data-fid]").count()
        assert drawn == len(gdf), name
        box = pg.locator(f"#layer-list input[data-layer='{name}']")
        assert box.count() == 1, name
        assert f"({len(gdf)})" in pg.locator(f"#layer-list li:has(input[data-layer='{name}'])").inner_text()
        group = pg.locator(f"#viewport > g.layer[data-layer='{name}']")
        was = box.is_checked()
        for _ in range(2):
            box.click()
            now = box.is_checked()
            assert now != was
            shown = group.evaluate("g => getComputedStyle(g).display !== 'none'")
            assert shown == now, name
            legend = pg.inner_text("#legend")
            # a layer with nothing to draw (no teacher flows on the tiny county) has no legend entry
            assert (legend.count(_label(tiny[-1], name)) > 0) == (now and len(gdf) > 0), name
            was = now
    # default view: after-catchments of primary on, before off
    assert pg.locator("#layer-list input[data-layer='catchments_after_primary']").is_checked()
    assert not pg.locator("#layer-list input[data-layer='catchments_before_primary']").is_checked()
    assert errors == []


def _label(path: Path, name: str) -> str:
    lyr = next(x for x in _payload(path)["layers"] if x["name"] == name)
    return (lyr["zh"] + " " + lyr["en"]).strip()


def test_the_county_fits_the_view_and_zoom_works(page) -> None:
    pg, errors, _ = page
    if pg.locator("#panel").is_visible():  # left open by another test
        pg.click("#panel-close")
    pg.click("#fit")
    svg = pg.locator("#map").bounding_box()
    town = pg.locator("#viewport > g.layer[data-layer='townships']").bounding_box()
    assert town is not None and svg is not None
    assert town["x"] >= svg["x"] - 1 and town["y"] >= svg["y"] - 1
    assert town["x"] + town["width"] <= svg["x"] + svg["width"] + 1
    assert town["y"] + town["height"] <= svg["y"] + svg["height"] + 1
    # fitted: the county fills most of the limiting side (the square county is limited by height)
    assert town["height"] > 0.8 * svg["height"] or town["width"] > 0.8 * svg["width"]
    pg.click("#zoom-in")
    bigger = pg.locator("#viewport > g.layer[data-layer='townships']").bounding_box()
    assert bigger["width"] == pytest.approx(town["width"] * 1.5, rel=0.02)
    label = pg.inner_text("#scalebar-label")
    assert re.fullmatch(r"\d+(\.\d+)? k?m", label)
    # wheel zooms in around the cursor; a drag pans and does not count as a click
    pg.click("#fit")
    pg.mouse.move(svg["x"] + svg["width"] / 2, svg["y"] + svg["height"] / 2)
    pg.mouse.wheel(0, -200)
    pg.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    wheeled = pg.locator("#viewport > g.layer[data-layer='townships']").bounding_box()
    assert wheeled["width"] > town["width"] * 1.2
    pg.mouse.down()
    pg.mouse.move(svg["x"] + svg["width"] / 2 + 100, svg["y"] + svg["height"] / 2 + 40, steps=5)
    pg.mouse.up()
    pg.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    dragged = pg.locator("#viewport > g.layer[data-layer='townships']").bounding_box()
    assert dragged["x"] - wheeled["x"] == pytest.approx(100, abs=2)
    assert dragged["y"] - wheeled["y"] == pytest.approx(40, abs=2)
    assert not pg.locator("#panel").is_visible()
    pg.click("#fit")
    assert errors == []


def _cell_value(text: str) -> str:
    return text.split()[0]


def _trunc2(x: float) -> str:
    """x truncated to 2 decimals, as a planner reads it off the page."""
    return str(Decimal(repr(float(x))).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


def test_clicking_a_school_shows_its_indicators_before_and_after(page, tiny) -> None:
    pg, errors, _ = page
    county, plan, _, _, _ = tiny
    std = load_standards()
    pg.click("#fit")
    pg.locator("#viewport g.layer[data-layer='schools'] [data-school-id='P1']").click()
    panel = pg.locator("#panel")
    assert panel.is_visible()
    assert "城关小学" in panel.inner_text()
    part = panel.locator("section.school-part[data-stage='primary']")
    assert part.locator("tr[data-indicator-number]").count() == 7
    # indicator 4, floor area per pupil, by hand from the school's own rows (truncated to 2 decimals)
    before = county.schools.loc["P1"]
    after = plan.after_county.schools.loc["P1"]
    cells = part.locator("tr[data-indicator-number='4'] td").all_inner_texts()
    fb = before["floor_area_m2"] / before["pupils_primary"]
    fa = after["floor_area_m2"] / after["pupils_primary"]
    assert _cell_value(cells[1]) == _trunc2(fb)
    assert _cell_value(cells[2]) == _trunc2(fa)
    limit = std.threshold("primary", "floor_area")
    assert cells[3] == f"{limit:,g}"
    assert ("✓" in cells[1]) == (fb >= limit) and ("✘" in cells[1]) == (fb < limit)
    assert ("✓" in cells[2]) == (fa >= limit) and ("✘" in cells[2]) == (fa < limit)
    # indicator 6, equipment value per pupil (whole yuan)
    cells = part.locator("tr[data-indicator-number='6'] td").all_inner_texts()
    eb = before["equipment_value_yuan"] / before["pupils_primary"]
    ea = after["equipment_value_yuan"] / after["pupils_primary"]
    assert _cell_value(cells[1]) == f"{int(eb):,}" and _cell_value(cells[2]) == f"{int(ea):,}"
    # every row agrees with the engine's met / not met on both sides
    ind = {(s, r.indicator): r for s, a in (("before", plan.before), ("after", plan.after))
           for r in a.indicators.itertuples() if r.school_id == "P1" and r.stage == "primary"}  # fmt: skip
    for n in range(1, 8):
        cells = part.locator(f"tr[data-indicator-number='{n}'] td").all_inner_texts()
        key = next(k for k in ("above_required", "backbone", "pe_art", "floor_area", "sports_area", "equipment",
                               "multimedia") if ind[("before", k)].number == n)  # fmt: skip
        for col, side in ((1, "before"), (2, "after")):
            assert ("✓" in cells[col]) == bool(ind[(side, key)].met), (n, side)
    # the part's verdict before and after is the engine's
    s = {side: a.schools.set_index(["school_id", "stage"]).loc[("P1", "primary"), "passes"]
         for side, a in (("before", plan.before), ("after", plan.after))}  # fmt: skip
    verdict = part.locator(".verdict").inner_text()
    want = [("达标 passes" if bool(s[side]) else "未达标 fails") for side in ("before", "after")]
    assert verdict == f"规划前 before: {want[0]} → 规划后 after: {want[1]}"
    # a school with no assessed part says so instead of showing an empty table
    pg.click("#panel-close")
    assert not panel.is_visible()
    pg.locator("#viewport g.layer[data-layer='schools'] [data-school-id='X1']").click()
    assert "no indicators" in panel.inner_text()
    assert errors == []


def test_chinese_renders_with_the_embedded_font(browser, tiny) -> None:
    """Chromium draws the Chinese text with the font inlined in the page (this machine may have no CJK font)."""
    from planner.report.fonts import FONT_FAMILY, FONT_PATH

    if not FONT_PATH.is_file():
        pytest.skip("the bundled CJK font is not in this checkout")
    # a tab of its own: the DevTools CSS domain re-reads the page source, which a file: page refuses (console noise)
    pg, errors, _ = _open(browser, tiny[-1])
    assert pg.evaluate("document.fonts.ready.then(() => document.fonts.check('14px PlannerCJK', '城关小学'))")
    assert errors == []
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    for selector in ("#title", "#layer-list li", "#legend .group", "#viewport text.township-label", "#fit"):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        assert {f["familyName"] for f in used} == {FONT_FAMILY}, (selector, used)
        assert all(f["isCustomFont"] for f in used), (selector, used)  # the @font-face in the page, not a system font
    cdp.detach()
    pg.close()


# --------------------------------------------------------------------------- the plan's own layers


@pytest.fixture(scope="module")
def plan_page(browser, tiny, tmp_path_factory: pytest.TempPathFactory):
    """The map of the tiny plan's own layers (planner.report.layers), with its candidate site marked built, so both
    kinds of site are drawn; yields (page, errors, layers)."""
    from planner.report.layers import plan_layers

    county, plan, *_ = tiny
    layers = plan_layers(plan, county)
    sites = layers["new_sites"].copy()
    assert len(sites) >= 1
    sites = pd.concat([sites, sites.iloc[[0]].assign(site_id="C9", name_zh="第二校址")], ignore_index=True)
    sites["built"] = [True] + [False] * (len(sites) - 1)
    layers = {**layers, "new_sites": gpd.GeoDataFrame(sites, geometry="geometry", crs=county.crs)}
    path = write_web_map(layers, tmp_path_factory.mktemp("planmap") / "map.html", title="测试县统筹方案")
    pg, errors, _ = _open(browser, path)
    yield pg, errors, layers
    pg.close()


def test_flows_start_off_sites_built_or_not_and_rezoned_villages_marked(plan_page) -> None:
    pg, errors, layers = plan_page
    assert not pg.locator("#layer-list input[data-layer='teacher_flows']").is_checked()
    assert pg.locator("#viewport > g.layer[data-layer='teacher_flows']").evaluate(
        "g => getComputedStyle(g).display") == "none"  # fmt: skip
    for name in ("projects", "unmet"):  # listed, off at first
        assert not pg.locator(f"#layer-list input[data-layer='{name}']").is_checked()
    sites = layers["new_sites"]
    assert pg.locator("g.layer[data-layer='new_sites'] g.site.built").count() == int(sites["built"].sum())
    assert pg.locator("g.layer[data-layer='new_sites'] g.site.unbuilt").count() == int((~sites["built"]).sum())
    n = int(layers["settlements"]["changed"].sum())
    assert n > 0
    assert pg.locator("g.layer[data-layer='settlements'] circle.rezoned").count() == n
    legend = pg.inner_text("#legend")
    assert "规划新建学校校址 site built (1)" in legend
    assert f"备选校址（未使用） candidate site not used ({len(sites) - 1})" in legend
    assert f"调整学区的居民点 re-zoned ({n})" in legend
    assert "教师交流" not in legend  # flows are off
    assert errors == []


def test_legend_screenshot_shows_the_site_and_rezoning_symbols(plan_page, tmp_path: Path) -> None:
    """The legend as drawn: its pixels hold the built-site purple and the re-zoned ring's purple, and the grey outline
    of an unused site; the same legend without those layers holds none of the purple."""
    import io

    from PIL import Image

    pg, errors, _ = plan_page

    def colours() -> dict[str, int]:
        px = np.asarray(Image.open(io.BytesIO(pg.locator("#legend").screenshot())).convert("RGB"), dtype=int)

        def near(rgb: tuple[int, int, int], tol: int = 24) -> int:
            return int((np.abs(px - np.array(rgb)) <= tol).all(axis=2).sum())

        return {"built": near((0x6A, 0x1B, 0x9A)), "ring": near((0x6A, 0x3D, 0x9A), 16),
                "grey": near((0x8E, 0x8E, 0x8E))}  # fmt: skip

    shown = colours()
    assert shown["built"] >= 20 and shown["ring"] >= 10 and shown["grey"] >= 10, shown
    for name in ("new_sites", "settlements"):
        pg.locator(f"#layer-list input[data-layer='{name}']").click()
    hidden = colours()
    assert hidden["built"] == 0 and hidden["ring"] == 0, hidden
    for name in ("new_sites", "settlements"):
        pg.locator(f"#layer-list input[data-layer='{name}']").click()
    assert errors == []
