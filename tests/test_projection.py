"""Enrolment projection (planner/projection.py) and horizon plans (issue #10).

Cohort arithmetic is checked against numbers computed by hand; the plan tests use the tiny
county (tests/tiny_county.py) with one urban neighbourhood given a bulge of young children,
so that the peak year needs classrooms the target year does not (provable by hand below).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny_county import straight_line_travel, write_tiny_county

from planner.errors import ScenarioError
from planner.loader import load_county
from planner.plan.pipeline import plan_county
from planner.projection import ProjectionSettings, project_children, project_enrolment, settlement_pupils
from planner.report.projection import write_projection_outputs
from planner.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
AGE_COLS = [f"age_{a}" for a in range(15)]


def _settlements(rows: dict[str, tuple[str, list[float], int, int]]) -> pd.DataFrame:
    """id -> (area_type, ages 0..14, pupils_primary, pupils_junior)."""
    recs = []
    for sid, (area, ages, pp, pj) in rows.items():
        recs.append({"settlement_id": sid, "area_type": area, **dict(zip(AGE_COLS, ages, strict=True)),
                     "pupils_primary": pp, "pupils_junior": pj})  # fmt: skip
    return pd.DataFrame(recs).set_index("settlement_id")


def test_hand_made_cohorts_move_as_computed_by_hand() -> None:
    # rural R: age a holds a+1 children; urban U: 10 at every age
    st = _settlements({"R": ("rural", [a + 1 for a in range(15)], 38, 30), "U": ("urban", [10.0] * 15, 60, 30)})
    s = ProjectionSettings(births_trend_per_year=-0.10, migration_rural_per_year=0.10)
    ch = project_children(st, s, 2025, 2027)
    r1, u1, r2, u2 = ch[2026][0], ch[2026][1], ch[2027][0], ch[2027][1]
    # year 1: R ages (its age-6 cohort of 7 becomes 7 years old), 10 % of R leaves for U
    assert r1[7] == pytest.approx(7 * 0.9)  # 6.3
    assert u1[7] == pytest.approx(10 + 0.7)  # 10.7
    assert r1[0] == pytest.approx(1 * 0.9 * 0.9)  # births 1 × 0.9, then 10 % leave: 0.81
    assert u1[0] == pytest.approx(10 * 0.9 + 0.09)  # 9.09
    # year 2
    assert r2[8] == pytest.approx(6.3 * 0.9)  # 5.67
    assert u2[8] == pytest.approx(10.7 + 0.63)  # 11.33
    assert r2[0] == pytest.approx(1 * 0.81 * 0.9)  # births 1 × 0.9², then 10 % leave
    # the 14-year-olds have left: R's age 14 in year 1 is its base age 13 (14 children) × 0.9
    assert r1[14] == pytest.approx(14 * 0.9)
    p = project_enrolment(st, s, 2025, 2026).set_index(["settlement_id", "year", "stage"])
    # R primary children 2026 = 0.9 × (6+7+…+11) = 45.9; ratio 38 / (7+…+12 = 57)
    assert p.loc[("R", 2026, "primary"), "children"] == pytest.approx(45.9)
    assert p.loc[("R", 2026, "primary"), "pupils"] == pytest.approx(38 / 57 * 45.9)  # 30.6
    # U junior children 2026 = 3 × 10 + 0.1 × (R ages 11,12,13 after ageing = 12+13+14) = 33.9
    assert p.loc[("U", 2026, "junior"), "children"] == pytest.approx(33.9)
    assert p.loc[("U", 2026, "junior"), "pupils"] == pytest.approx(30 / 30 * 33.9)
    # the base year reproduces today's pupils exactly
    assert p.loc[("R", 2025, "primary"), "pupils"] == 38
    assert p.loc[("U", 2025, "junior"), "pupils"] == 30


def test_flat_births_and_no_migration_keep_enrolment_constant() -> None:
    st = _settlements(
        {"A": ("rural", [12.0] * 15, 60, 30), "B": ("urban", [40.0] * 15, 200, 100), "C": ("town", [7.0] * 15, 0, 0)}
    )
    s = ProjectionSettings(births_trend_per_year=0.0, migration_rural_per_year=0.0, migration_town_per_year=0.0)
    p = project_enrolment(st, s, 2025, 2035)
    base = p[p["year"] == 2025].set_index(["settlement_id", "stage"])
    for year, g in p.groupby("year"):
        g = g.set_index(["settlement_id", "stage"])
        np.testing.assert_allclose(g["children"], base["children"], err_msg=str(year))
        np.testing.assert_allclose(g["pupils"], base["pupils"], err_msg=str(year))
    assert base.loc[("B", "primary"), "pupils"] == 200


def test_migration_conserves_children_and_moves_them_to_the_county_seat() -> None:
    rng = np.random.default_rng(7)
    rows = {}
    for i, area in enumerate(["rural", "rural", "town", "urban", "urban", "rural"]):
        ages = rng.integers(5, 60, size=15).astype(float)
        rows[f"S{i}"] = (area, list(ages), int(ages[6:12].sum() * 0.8), int(ages[12:].sum() * 0.7))
    st = _settlements(rows)
    common = {"births_trend_per_year": 0.0}
    moving = project_children(
        st, ProjectionSettings(**common, migration_rural_per_year=0.05, migration_town_per_year=0.03), 2025, 2032
    )
    still = project_children(
        st, ProjectionSettings(**common, migration_rural_per_year=0.0, migration_town_per_year=0.0), 2025, 2032
    )
    urban = (st["area_type"] == "urban").to_numpy()
    for year in range(2025, 2033):
        # every age's county total is what ageing alone gives
        np.testing.assert_allclose(moving[year].sum(axis=0), still[year].sum(axis=0))
        if year > 2025:
            assert moving[year][urban].sum() > still[year][urban].sum()
            assert moving[year][~urban].sum() < still[year][~urban].sum()
    # urban settlements receive in proportion to their base children 0-14
    gain = moving[2026][urban].sum(axis=1) - still[2026][urban].sum(axis=1)
    base = st.loc[urban, AGE_COLS].sum(axis=1).to_numpy()
    np.testing.assert_allclose(gain / gain.sum(), base / base.sum())


@pytest.fixture(scope="module")
def queshan_settlements() -> pd.DataFrame:
    return load_county(ROOT / "geodata" / "queshan", check_network=False).settlements


def test_bundled_county_primary_enrolment_falls(queshan_settlements: pd.DataFrame) -> None:
    h = load_scenario(ROOT / "scenarios" / "horizon_2032.yaml").horizon
    assert h is not None and (h.first_year, h.last_year, h.target_year) == (2026, 2032, 2032)
    p = project_enrolment(queshan_settlements, h.projection, h.base_year, h.last_year)
    base = settlement_pupils(p, h.base_year)
    # the base year is today's data, settlement by settlement
    assert (base["pupils_primary"] == queshan_settlements["pupils_primary"].reindex(base.index)).all()
    assert (base["pupils_junior"] == queshan_settlements["pupils_junior"].reindex(base.index)).all()
    primary = p[p["stage"] == "primary"].groupby("year")["pupils"].sum()
    assert primary[2032] < 0.8 * primary[2025]  # the small cohorts born after 2017 reach school
    assert (primary.diff().dropna() < 0).all()  # falls every year
    # the county seat gains children from the villages
    ch = p[p["stage"] == "primary"].join(queshan_settlements["area_type"], on="settlement_id")
    share = ch.groupby(["year", "area_type"])["children"].sum().unstack()
    assert (share["urban"] / share.sum(axis=1))[2032] > (share["urban"] / share.sum(axis=1))[2025]


def test_horizon_settings_are_validated() -> None:
    bad = {"name": "x", "horizon": {"first_year": 2026, "last_year": 2032, "target_year": 2034}}
    with pytest.raises(ScenarioError, match=r"key horizon: .*target_year 2034 is outside the horizon 2026-2032"):
        scenario_from_dict(bad)
    bad = {"name": "x", "horizon": {"base_year": 2025, "first_year": 2024, "last_year": 2032, "target_year": 2030}}
    with pytest.raises(ScenarioError, match="first_year 2024 is before base_year 2025"):
        scenario_from_dict(bad)
    bad = {"name": "x", "horizon": {"first_year": 2026, "last_year": 2032, "target_year": 2030,
                                    "projection": {"migration_rural_per_year": 1.5}}}  # fmt: skip
    with pytest.raises(ScenarioError, match=r"horizon\.projection\.migration_rural_per_year"):
        scenario_from_dict(bad)


# --- plans over a horizon on the tiny county ----------------------------------------------

#: V1 (urban, P1's catchment): a bulge of 115 children aged 2-5, 10 aged 0-1, 50 per primary age
#: (enrolment ratio 1). Migration 0, births -5 %/yr. V1's primary pupils:
#:   2029 (t=4): base ages 2..7 = 4×115 + 2×50 = 560
#:   2034 (t=9): base ages 0..2 + births of 2026..2028 = 10 + 10 + 115 + 10×(0.95+0.95²+0.95³) = 162.1
#: P1 = V1 + V2 + V6 (≈ 225 more in 2029): ≈ 784 > 12 rooms × 45 = 540 in 2029, ≈ 387 < 540 in 2034,
#: and 2000 m² / 387 ≥ 4.5 m²: the target year needs no room at P1, the peak years do (E1 adds 6).
BULGE = {**{f"age_{a}": 10 for a in (0, 1)}, **{f"age_{a}": 115 for a in range(2, 6)}}


def _horizon(first: int, last: int, target: int) -> dict:
    return {
        "base_year": 2025, "first_year": first, "last_year": last, "target_year": target,
        "projection": {"births_trend_per_year": -0.05, "migration_rural_per_year": 0.0},
    }  # fmt: skip


@pytest.fixture(scope="module")
def bulge(tmp_path_factory: pytest.TempPathFactory):
    folder = write_tiny_county(tmp_path_factory.mktemp("hz") / "c")
    st = pd.read_csv(folder / "settlements.csv")
    for col, v in BULGE.items():
        st.loc[st["settlement_id"] == "V1", col] = v
    st.to_csv(folder / "settlements.csv", index=False)
    county = load_county(folder, check_network=False)
    travel, school_times = straight_line_travel(county)
    base = load_scenario(ROOT / "scenarios" / "combined.yaml").model_dump()
    plans = {}
    for key, h in {"horizon": _horizon(2026, 2034, 2034), "target_only": _horizon(2034, 2034, 2034)}.items():
        sc = scenario_from_dict({**base, "name": key, "horizon": h})
        plans[key] = plan_county(county, sc, travel, school_times, distance_method="straight_line")
    return county, plans


def _p1_load(plan) -> pd.Series:
    """P1's primary pupils per year under the plan's catchments (projection table)."""
    p = plan.extra_tables["projection"]
    return p[(p["school_id"] == "P1") & (p["stage"] == "primary")].set_index("year")["pupils"]


def test_capacity_holds_in_the_peak_year_not_only_the_target_year(bulge) -> None:
    county, plans = bulge
    h, t = plans["horizon"], plans["target_only"]
    cap_t = 45 * int(t.after_county.schools.loc["P1", "classrooms"])
    cap_h = 45 * int(h.after_county.schools.loc["P1", "classrooms"])
    load_t, load_h = _p1_load(t), _p1_load(h)
    # hand figures above
    sc = load_scenario(ROOT / "scenarios" / "combined.yaml").model_dump()
    settings = scenario_from_dict({**sc, "name": "h", "horizon": _horizon(2026, 2034, 2034)}).horizon.projection
    v1 = project_enrolment(county.settlements, settings, 2025, 2034).set_index(["settlement_id", "stage", "year"])
    assert v1.loc[("V1", "primary", 2029), "pupils"] == pytest.approx(560)
    assert v1.loc[("V1", "primary", 2034), "pupils"] == pytest.approx(135 + 10 * (0.95 + 0.95**2 + 0.95**3))
    assert load_t[2029] > 540 and load_t[2034] < 540 and 2000 / load_t[2034] >= 4.5
    # planned for the target year only, P1 overflows in the peak years
    assert load_t.max() > cap_t
    # planned for the horizon, every year fits (expansion and/or re-zoning)
    assert (load_h <= cap_h).all(), (load_h.to_dict(), cap_h)
    # so the two plans differ in at least one project or catchment
    proj = {tuple(r) for r in t.projects[["kind", "school_id", "item"]].itertuples(index=False)}
    proj_h = {tuple(r) for r in h.projects[["kind", "school_id", "item"]].itertuples(index=False)}
    catch = {tuple(r) for r in t.assignments[["settlement_id", "stage", "school_id"]].itertuples(index=False)}
    catch_h = {tuple(r) for r in h.assignments[["settlement_id", "stage", "school_id"]].itertuples(index=False)}
    assert proj != proj_h or catch != catch_h
    # an expansion of P1 made for the peak is reported as serving a passing peak
    peaks = h.extra_tables["peak_investments"]
    p1 = peaks[(peaks["school_id"] == "P1") & (peaks["kind"] == "expansion")]
    assert len(p1) == 1  # V1, V2, V6 have no other primary school within their caps
    assert bool(p1["peak_only"].iloc[0]) and int(p1["peak_year"].iloc[0]) == int(load_h.idxmax()) == 2029
    assert "E1" not in set(t.projects["item"])


def test_horizon_plan_is_judged_on_target_year_pupils(bulge) -> None:
    county, plans = bulge
    h = plans["horizon"]
    target = h.assignments.groupby("stage")["pupils"].sum()
    proj = h.extra_tables["projection"]
    pub = proj[(proj["year"] == 2034) & proj["school_id"].map(county.schools["ownership"]).ne("private")]
    # the model's demand is the 2034 projection, and the after-county holds those pupils
    assert target["primary"] == pub[pub["stage"] == "primary"]["pupils"].sum()
    after = h.after_county.schools
    public = after["ownership"].eq("public") & after["kind"].ne("special")
    assert int(after.loc[public, "pupils_primary"].sum()) == target["primary"]
    assert (
        int(county.schools.loc[county.schools["ownership"].eq("public"), "pupils_primary"].sum()) != target["primary"]
    )
    assert any("2034" in n and "base year 2025" in n for n in h.notes)
    # places per township add up to the schools' pupils each year
    tp = h.extra_tables["township_places"]
    by_year = proj[proj["school_id"].map(after["ownership"]).eq("public")].groupby("year")["pupils"].sum()
    assert (tp.groupby("year")["pupils"].sum() == by_year).all()


def test_projection_outputs_are_written_bilingual(bulge, tmp_path: Path) -> None:
    _county, plans = bulge
    paths = write_projection_outputs(plans["horizon"], tmp_path)
    names = {p.name for p in paths}
    assert {"projection_enrolment.png", "projection_by_school.csv", "township_places.csv"} <= names
    png = tmp_path / "projection_enrolment.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    wide = pd.read_csv(tmp_path / "projection_by_school.csv", encoding="utf-8-sig")
    assert "学校 school" in wide.columns and "2034" in wide.columns
    p1 = wide[(wide["学校代码 school_id"] == "P1") & (wide["学段 stage"] == "小学 primary")]
    assert int(p1["2029"].iloc[0]) == int(_p1_load(plans["horizon"])[2029])
    flags = pd.read_csv(tmp_path / "projection_flags.csv", encoding="utf-8-sig")
    assert "预警 flag" in flags.columns
    # TP1 (30 pupils today) is not "falling under 50"; nothing in the tiny county falls below 50
    assert "TP1" not in set(flags["学校代码 school_id"])
    peaks = pd.read_csv(tmp_path / "peak_investments.csv", encoding="utf-8-sig")
    e1 = peaks[peaks["方案 option"] == "E1"]
    assert list(e1["仅服务高峰 peak only"]) == ["是 yes"] and list(e1["原学位 places before"]) == [540]
    plain = dataclasses.replace(plans["target_only"], extra_tables={})
    assert write_projection_outputs(plain, tmp_path / "x") == []  # not a horizon plan: nothing written
