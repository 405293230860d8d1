"""Synthetic counties of 驻马店市: targets from population and area, generated once into a cache."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from planner.loader import load_county
from planner.synth.prefecture import (
    BUNDLED_QUESHAN,
    RESIDENT_POPULATION_2011,
    ZHUMADIAN_ADCODES,
    population_factor,
    prefecture_dir,
    prefecture_profile,
)
from planner.synth.profile import QUESHAN, QUESHAN_AREA_KM2


def test_every_county_has_a_population_and_queshan_is_the_bundled_county() -> None:
    assert set(ZHUMADIAN_ADCODES) == set(RESIDENT_POPULATION_2011) and len(ZHUMADIAN_ADCODES) == 10
    assert prefecture_profile("411725", 1234.0) is QUESHAN
    assert prefecture_dir("411725") == BUNDLED_QUESHAN


def test_people_follow_population_and_villages_follow_area() -> None:
    # 上蔡县: 106.80 / 41.60 万 residents; an area of 1.5 × Queshan's
    p = prefecture_profile("411722", 1.5 * QUESHAN_AREA_KM2, {"name_zh": "上蔡县"})
    f = 106.80 / 41.60
    assert population_factor("411722") == pytest.approx(f)
    assert p.population == round(QUESHAN.population * f)
    assert p.pupils_primary == round(QUESHAN.pupils_primary * f)
    assert p.staff_junior_stage == round(QUESHAN.staff_junior_stage * f)
    assert p.factor == pytest.approx(f)  # budgets follow the pupils
    assert p.n_villages == round(QUESHAN.n_villages * 1.5)
    assert p.n_towns == p.n_central_primary == round(QUESHAN.n_towns * 1.5)
    assert p.n_teaching_points == round(QUESHAN.n_teaching_points * 1.5)
    assert (p.adcode, p.name_zh) == ("411722", "上蔡县")


def test_generated_county_is_valid_synthetic_and_cached(tmp_path: Path) -> None:
    folder = prefecture_dir("411728", root=tmp_path)  # 遂平县, the smallest
    params = yaml.safe_load((folder / "parameters.yaml").read_text("utf-8"))
    assert params["synthetic"] is True and params["county"]["adcode"] == "411728"
    assert "Prefecture assumptions" in (folder / "README.md").read_text("utf-8")
    county = load_county(folder, check_network=False)
    schools = pd.read_csv(folder / "schools.csv")
    comp = schools[schools["kind"] != "special"]
    f = population_factor("411728")
    assert int(comp["pupils_primary"].sum()) == round(QUESHAN.pupils_primary * f)
    assert int(comp["pupils_junior"].sum()) == round(QUESHAN.pupils_junior * f)
    assert len(county.settlements) > 1000
    # a second call serves the cache: same folder, files untouched
    mtime = (folder / "schools.csv").stat().st_mtime_ns
    assert prefecture_dir("411728", root=tmp_path) == folder
    assert (folder / "schools.csv").stat().st_mtime_ns == mtime
    assert not list(folder.parent.glob(".*partial-*"))
