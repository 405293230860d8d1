"""Static maps of the tiny county's real plan: files, print size, embedded CJK font, no missing glyphs."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import pytest
from PIL import Image
from tiny_county import tiny_plan

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from planner.report.fonts import FONT_FAMILY, cjk_rc_params, use_cjk_font
from planner.report.geopackage import read_layers, write_geopackage
from planner.report.layers import plan_layers
from planner.report.maps import DPI, map_grid, write_maps

ROOT = Path(__file__).resolve().parents[1]
CJK_TEXT = "确山县 小学学区划片 调整前后 达标 未达标 新建学校 ㎡ ≥ 北"


def _glyph_warnings(records: list[warnings.WarningMessage]) -> list[str]:
    msgs = [str(w.message) for w in records]
    return [m for m in msgs if "missing from" in m or ("Glyph" in m and "missing" in m)]


@pytest.fixture(scope="module")
def maps(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("maps")
    county, plan = tiny_plan(tmp)
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
    return files, grid, records


def test_maps_are_print_quality_png_and_pdf(maps) -> None:
    files, grid, _ = maps
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
                # printable at 200 dpi: at least 10 inches wide (A4 landscape is 11.7 in)
                assert w / dpi[0] >= 10 and h / dpi[1] >= 8, (p.name, im.size)
                if p.stem.startswith("catchments"):  # two panels side by side: landscape
                    assert w > 1.5 * h
        else:
            data = p.read_bytes()
            assert data.startswith(b"%PDF")
            assert b"WenQuanYi" in data  # the CJK font is embedded, not substituted
    with Image.open(grid) as im:
        assert im.info["dpi"][0] == pytest.approx(DPI, abs=1)
        assert im.size[0] >= 2 * 4 * DPI  # two panels of ≥ 4 inches


def test_map_text_renders_without_missing_glyphs(maps) -> None:
    _, _, records = maps
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
