"""Static maps of the tiny county's real plan: files, A3/A4 pages, embedded CJK font, no missing glyphs, labels that
do not overlap, a legend of only what is drawn, a Chinese footer, teacher flows netted township to township."""

from __future__ import annotations

import itertools
import re
import warnings
from pathlib import Path

import geopandas as gpd
import matplotlib
import pandas as pd
import pytest
import shapely
from PIL import Image
from tiny_county import tiny_plan

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from planner.report.fonts import FONT_FAMILY, cjk_rc_params, use_cjk_font
from planner.report.geopackage import read_layers, write_geopackage
from planner.report.layers import plan_layers
from planner.report.maps import (
    DPI,
    PAGE_SIZES_IN,
    catchment_figure,
    flow_figure,
    map_grid,
    township_flows,
    write_maps,
)

ROOT = Path(__file__).resolve().parents[1]
CJK_TEXT = "确山县 小学学区划片 调整前后 达标 未达标 新建学校 ㎡ ≥ 北"


def _glyph_warnings(records: list[warnings.WarningMessage]) -> list[str]:
    msgs = [str(w.message) for w in records]
    return [m for m in msgs if "missing from" in m or ("Glyph" in m and "missing" in m)]


@pytest.fixture(scope="module")
def maps(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("maps")
    county, plan = tiny_plan(tmp, weights={"cv_worse": 0})  # a plan that re-zones V3 (tiny_plan)
    layers = plan_layers(plan, county)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        files = write_maps(layers, tmp / "maps", title_zh=f"{county.name_zh} 统筹方案", synthetic=county.synthetic,
                           data_source=county.parameters.data_source)  # fmt: skip
        gpkg = write_geopackage(layers, tmp / "plan.gpkg")
        # run B: the same layers with one school marked new and one closed, to draw every marker kind
        schools = layers["schools"].copy()
        schools.loc[schools.index[0], "status"] = "new"
        schools.loc[schools.index[1], "status"] = "closed"
        run_b = {**layers, "schools": schools}
        grid = map_grid({"方案一 run A": read_layers(gpkg), "方案二 run B": run_b}, tmp / "grid.png")
    return files, grid, records, layers, run_b


def _legend(fig) -> list[str]:
    return [t.get_text() for lg in fig.legends for t in lg.get_texts()] + [
        t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()
    ]


def _labels_overlap(fig) -> list[tuple[str, str]]:
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        anns = [t for t in ax.texts if t.__class__.__name__ == "Annotation" and t.get_text()]
        boxes = [(a.get_text(), a.get_window_extent(renderer)) for a in anns]
        out += [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]
    return out


def test_maps_are_print_quality_png_and_pdf(maps) -> None:
    files, grid, *_ = maps
    names = sorted(p.name for p in files)
    assert names == sorted(f"{s}.{ext}" for s in ("catchments_primary", "catchments_junior", "teacher_flows")
                           for ext in ("png", "pdf"))  # fmt: skip
    for p in files:
        assert p.stat().st_size > 10_000, p
        if p.suffix == ".png":
            with Image.open(p) as im:
                dpi = im.info["dpi"]
                assert dpi[0] == pytest.approx(DPI, abs=1) and DPI >= 200
                w, h = im.size
                # the catchment maps on A3 landscape (two panels), the flow map on A4 landscape
                page = PAGE_SIZES_IN["A3" if p.stem.startswith("catchments") else "A4"]
                assert (w / dpi[0], h / dpi[1]) == pytest.approx(page, abs=0.02), (p.name, im.size)
        else:
            data = p.read_bytes()
            assert data.startswith(b"%PDF")
            assert b"WenQuanYi" in data  # the CJK font is embedded, not substituted
            box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
            assert box is not None
            mm = [float(v) / 72 * 25.4 for v in box.groups()]
            want = (420, 297) if p.stem.startswith("catchments") else (297, 210)
            assert mm == pytest.approx(want, abs=1), p.name
    with Image.open(grid) as im:
        assert im.info["dpi"][0] == pytest.approx(DPI, abs=1)
        assert im.size[0] >= 2 * 4 * DPI  # two panels of ≥ 4 inches


def test_map_text_renders_without_missing_glyphs(maps) -> None:
    _, _, records, *_ = maps
    assert _glyph_warnings(records) == []


def test_chinese_labels_have_every_glyph(tmp_path: Path) -> None:
    family = use_cjk_font(set_default=False)
    assert family == FONT_FAMILY
    with matplotlib.rc_context(cjk_rc_params()), warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title(CJK_TEXT)
        ax.text(0.5, 0.5, "学区 catchment −1", ha="center")
        fig.savefig(tmp_path / "zh.png", dpi=50)
        fig.savefig(tmp_path / "zh.pdf")
        plt.close(fig)
    assert _glyph_warnings(records) == []


def test_glyph_check_catches_a_font_without_chinese(tmp_path: Path) -> None:
    """The warning the tests look for does appear when the font lacks Chinese (so the checks above can fail)."""
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}), warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title(CJK_TEXT)
        fig.savefig(tmp_path / "boxes.png", dpi=50)
        plt.close(fig)
    assert _glyph_warnings(records)


def test_legend_lists_only_what_is_drawn(maps) -> None:
    *_, layers, run_b = maps
    with matplotlib.rc_context(cjk_rc_params()):
        fig = catchment_figure(layers, "primary", "测试县统筹方案 小学学区划片调整前后", "数据来源：x")
        legend = _legend(fig)
        plt.close(fig)
        # the tiny plan expands 城关小学 and builds and closes nothing
        assert "改扩建学校" in legend and "新建学校" not in legend and "撤并学校" not in legend
        assert not any("调整学区" in t for t in legend)  # no primary settlement is re-zoned in the tiny plan
        fig = catchment_figure(run_b, "primary", "t", "数据来源：x")
        legend_b = _legend(fig)
        plt.close(fig)
        assert "新建学校" in legend_b and "撤并学校" in legend_b
        # junior: one settlement is re-zoned, and the legend says how many
        n = int(layers["settlements"]["changed_junior"].sum())
        assert n > 0
        fig = catchment_figure(layers, "junior", "t", "数据来源：x")
        assert f"调整学区的居民点（{n}个）" in _legend(fig)
        plt.close(fig)


def test_footer_is_chinese_with_source_and_crs(maps) -> None:
    from planner.report.maps import _footer

    *_, layers, _ = maps
    foot = _footer(True, "hand-made test county", layers)
    assert foot.startswith("数据来源：合成数据") and "坐标系：EPSG:" in foot
    words = {w for w in re.findall(r"[A-Za-z]+", foot) if w != "EPSG"}
    assert words == set(), words


def test_labels_never_overlap_even_when_townships_crowd(maps) -> None:
    *_, layers, _ = maps
    towns = layers["townships"]
    # three more townships drawn over the first one: their names start at the same point
    crowd = pd.concat([towns, *[towns.iloc[[0]].assign(township_id=f"X{i}", name_zh=f"重叠街道{i}") for i in range(3)]])
    crowded = {**layers, "townships": gpd.GeoDataFrame(crowd, geometry="geometry", crs=towns.crs)}
    with matplotlib.rc_context(cjk_rc_params()):
        fig = catchment_figure(crowded, "primary", "t", "数据来源：x")
        names = {t.get_text() for ax in fig.axes for t in ax.texts}
        assert {"重叠街道0", "重叠街道1", "重叠街道2"} <= names
        assert _labels_overlap(fig) == []
        plt.close(fig)


def _flow_layers() -> dict[str, gpd.GeoDataFrame]:
    """Four townships (A, B subdistricts; C, D towns), one school each, and hand-made flows."""
    sq = [shapely.box(x, 0, x + 1000, 1000) for x in (0, 1000, 2000, 3000)]
    crs = "EPSG:4547"
    kinds = ["subdistrict", "subdistrict", "town", "town"]
    towns = gpd.GeoDataFrame({"township_id": ["A", "B", "C", "D"], "name_zh": ["甲街道", "乙街道", "丙镇", "丁镇"],
                              "kind": kinds}, geometry=sq, crs=crs)  # fmt: skip
    schools = gpd.GeoDataFrame({"school_id": ["s1", "s2", "s3", "s4"], "township_id": ["A", "B", "C", "D"]},
                               geometry=[g.centroid for g in sq], crs=crs)  # fmt: skip
    pairs = [("s1", "s3", 5), ("s3", "s1", 2), ("s2", "s3", 1), ("s1", "s2", 4), ("s3", "s4", 3), ("s4", "s3", 3)]
    pts = dict(zip(schools["school_id"], schools.geometry, strict=True))
    flows = gpd.GeoDataFrame({"from_school_id": [a for a, _, _ in pairs], "to_school_id": [b for _, b, _ in pairs],
                              "count": [n for *_, n in pairs], "category": "other"},
                             geometry=[shapely.LineString([pts[a], pts[b]]) for a, b, _ in pairs], crs=crs)  # fmt: skip
    return {"townships": towns, "schools": schools, "teacher_flows": flows}


def test_teacher_flows_are_netted_between_townships() -> None:
    layers = _flow_layers()
    g = township_flows(layers).set_index(["from_node", "to_node"])
    # 城区 (A and B as one node) -> 丙镇: 5 - 2 + 1 = 4 net; within 城区: 4; 丙镇 <-> 丁镇 cancel out
    assert g.loc[("urban", "C"), "count"] == 4 and g.loc[("urban", "C"), "gross"] == 8
    assert g.loc[("urban", "C"), "direction"] == "urban_rural"
    assert g.loc[("urban", "urban"), "count"] == 4
    assert len(g) == 2
    assert int(g["gross"].sum()) == int(layers["teacher_flows"]["count"].sum()) - 6  # the cancelled pair's 6 moves
    with matplotlib.rc_context(cjk_rc_params()):
        fig = flow_figure(layers, "t", "数据来源：x")
        legend = _legend(fig)
        assert "城区→乡镇" in legend and "乡镇→城区" not in legend and "乡镇之间" not in legend
        assert "乡镇内交流" in legend
        assert _labels_overlap(fig) == []
        plt.close(fig)
