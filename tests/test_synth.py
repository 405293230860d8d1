"""The synthetic-data generator and the bundled county 确山县 (geodata/queshan).

The committed folder must be exactly what the documented command writes, hit the
published 2023 totals (DOMAIN.md §4) and keep every consistency rule of the data contract.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner.synth import QUESHAN, baseline_statistics, build_county, generate_county
from planner.synth.geo import read_boundary_feature
from planner.synth.people import adjust_to_total, largest_remainder
from planner.synth.profile import QUESHAN_SUBDISTRICTS, QUESHAN_TOWNS

ROOT = Path(__file__).resolve().parents[1]
QUESHAN_DIR = ROOT / "geodata" / "queshan"
SOURCE = QUESHAN_DIR / "source" / "boundary_411725_gcj02.geojson"


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    read = {"dtype": {"school_primary_id": str, "school_junior_id": str, "township_id": str}, "keep_default_na": False}
    return {
        "settlements": pd.read_csv(QUESHAN_DIR / "settlements.csv", **read),
        "schools": pd.read_csv(QUESHAN_DIR / "schools.csv", **read),
        "teachers": pd.read_csv(QUESHAN_DIR / "teachers.csv"),
        "candidate_sites": pd.read_csv(QUESHAN_DIR / "candidate_sites.csv", dtype={"township_id": str}),
        "expansion_options": pd.read_csv(QUESHAN_DIR / "expansion_options.csv"),
    }


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    gpkg = QUESHAN_DIR / "county.gpkg"
    return {name: gpd.read_file(gpkg, layer=name) for name in ("boundary", "townships", "roads")}


# --------------------------------------------------------------------------- reproducibility


def test_committed_folder_regenerates_byte_for_byte(tmp_path: Path) -> None:
    generate_county("411725", tmp_path, scale=1.0, seed=20231, boundary_path=SOURCE)
    assert _files(tmp_path) == _files(QUESHAN_DIR)
    for name in _files(QUESHAN_DIR):
        assert (tmp_path / name).read_bytes() == (QUESHAN_DIR / name).read_bytes(), f"{name} differs"


def test_another_seed_gives_other_data() -> None:
    feature = read_boundary_feature(SOURCE, "411725")
    a = build_county(feature, "411725", seed=1)
    b = build_county(feature, "411725", seed=2)
    assert not a.settlements[["lon", "lat"]].equals(b.settlements[["lon", "lat"]])
    # the calibration targets hold whatever the seed
    for c in (a, b):
        comp = c.schools[c.schools["kind"] != "special"]
        assert comp["pupils_primary"].sum() == 34_690
        assert comp["staff_total"].sum() == 5_466


def test_source_boundary_is_the_shared_feature_unchanged() -> None:
    shared = Path("/work/shared/geodata/county_boundaries.geojson")
    if not shared.exists():
        pytest.skip("shared boundary file not available")
    assert read_boundary_feature(SOURCE, "411725") == read_boundary_feature(shared, "411725")


# --------------------------------------------------------------------------- calibration


def test_school_counts_by_kind(tables: dict[str, pd.DataFrame]) -> None:
    s = tables["schools"].copy()
    kinds = s["kind"].value_counts()
    assert kinds["primary"] + kinds["teaching_point"] == 193
    assert kinds["teaching_point"] == 64
    assert kinds["junior"] == 18
    assert kinds["nine_year"] == 3
    assert kinds["special"] == 1
    assert len(s) == 215
    s["is_boarding"] = s["is_boarding"].astype(str).str.lower() == "true"
    central_boarding = (s["kind"] == "primary") & s["is_boarding"] & s["name_zh"].str.endswith("中心小学")
    assert central_boarding.sum() == 8
    assert (s["ownership"] == "private").sum() == 4
    assert (s.loc[s["is_boarding"], "boarding_places"] > 0).all()
    assert (s.loc[~s["is_boarding"], "boarding_places"] == 0).all()


def test_pupils_and_staff_totals(tables: dict[str, pd.DataFrame]) -> None:
    s = tables["schools"]
    comp = s[s["kind"] != "special"]
    special = s[s["kind"] == "special"].iloc[0]
    assert comp["pupils_primary"].sum() == 34_690
    assert comp["pupils_junior"].sum() == 24_450
    assert special["pupils_primary"] + special["pupils_junior"] == 273
    assert special["staff_total"] == 44
    assert comp.loc[comp["kind"].isin(["primary", "teaching_point"]), "staff_total"].sum() == 3_470
    assert comp.loc[comp["kind"].isin(["junior", "nine_year"]), "staff_total"].sum() == 1_996
    assert abs(tables["settlements"]["population"].sum() - 510_000) == 0


def test_townships_are_queshan_units(layers: dict[str, gpd.GeoDataFrame]) -> None:
    tw = layers["townships"]
    assert sorted(tw.loc[tw["kind"] == "subdistrict", "name_zh"]) == sorted(QUESHAN_SUBDISTRICTS)
    assert sorted(tw.loc[tw["kind"] == "town", "name_zh"]) == sorted(QUESHAN_TOWNS)
    assert layers["boundary"]["adcode"].tolist() == ["411725"]


def test_county_seat_is_dense_and_small(tables: dict[str, pd.DataFrame], layers: dict[str, gpd.GeoDataFrame]) -> None:
    tw = layers["townships"].to_crs("EPSG:4547")
    sub = tw["kind"] == "subdistrict"
    assert tw.loc[sub].area.sum() < 0.1 * tw.area.sum()
    st = tables["settlements"]
    pop = st.groupby("township_id")["population"].sum()
    density = pop / tw.set_index("township_id").area
    sub_ids = tw.loc[sub, "township_id"]
    assert density.loc[sub_ids].min() > 5 * density.drop(sub_ids).max()


def test_age_structure_follows_falling_births(tables: dict[str, pd.DataFrame]) -> None:
    st = tables["settlements"]
    ratio = st["age_0"].sum() / st["age_7"].sum()
    assert 0.4 < ratio < 0.6
    primary_age = st[[f"age_{a}" for a in range(6, 12)]].sum(axis=1)
    junior_age = st[[f"age_{a}" for a in range(12, 15)]].sum(axis=1)
    assert (primary_age >= st["pupils_primary"]).all()
    assert (junior_age >= st["pupils_junior"]).all()


# --------------------------------------------------------------------------- consistency rules


def test_catchments_add_up_to_public_enrolment(tables: dict[str, pd.DataFrame]) -> None:
    s, st = tables["schools"], tables["settlements"]
    by_id = s.set_index("school_id")
    for stage, kinds in (("primary", {"primary", "teaching_point", "nine_year"}), ("junior", {"junior", "nine_year"})):
        col = f"school_{stage}_id"
        assert (st.loc[st[f"pupils_{stage}"] > 0, col] != "").all()
        named = st.loc[st[col] != "", col]
        assert set(by_id.loc[named.unique(), "kind"]) <= kinds
        assert set(by_id.loc[named.unique(), "ownership"]) == {"public"}
        sums = st.groupby(col)[f"pupils_{stage}"].sum()
        public = s[(s["ownership"] == "public") & (s["kind"] != "special")]
        expected = public["school_id"].map(sums).fillna(0).astype(int)
        assert (expected.to_numpy() == public[f"pupils_{stage}"].to_numpy()).all()
    private_or_special = s.loc[(s["ownership"] == "private") | (s["kind"] == "special"), "school_id"]
    assert not st["school_primary_id"].isin(private_or_special).any()
    assert not st["school_junior_id"].isin(private_or_special).any()


def test_stage_rules_classes_and_teachers(tables: dict[str, pd.DataFrame]) -> None:
    s, t = tables["schools"], tables["teachers"]
    single_primary = s["kind"].isin(["primary", "teaching_point"])
    assert (s.loc[single_primary, ["pupils_junior", "classes_junior"]] == 0).all().all()
    assert (s.loc[s["kind"] == "junior", ["pupils_primary", "classes_primary"]] == 0).all().all()
    for stage in ("primary", "junior"):
        assert ((s[f"pupils_{stage}"] == 0) | (s[f"classes_{stage}"] > 0)).all()
    counts = t.groupby("school_id").size()
    assert (s["school_id"].map(counts).fillna(0) <= s["staff_total"]).all()
    assert set(t["school_id"]) <= set(s["school_id"])
    kind = t["school_id"].map(s.set_index("school_id")["kind"])
    assert not ((kind == "junior") & (t["stage"] == "primary")).any()
    assert not (kind.isin(["primary", "teaching_point"]) & (t["stage"] == "junior")).any()
    assert 0.85 < len(t) / s["staff_total"].sum() < 0.95
    eligible = (t["years_at_school"] >= 6).mean()
    assert 0.3 < eligible < 0.8
    assert t["years_at_school"].between(0, 30).all()


def test_identifiers_unique_and_references_valid(
    tables: dict[str, pd.DataFrame], layers: dict[str, gpd.GeoDataFrame]
) -> None:
    s, st, t = tables["schools"], tables["settlements"], tables["teachers"]
    for df, col in (
        (s, "school_id"),
        (st, "settlement_id"),
        (t, "teacher_id"),
        (tables["candidate_sites"], "site_id"),
        (tables["expansion_options"], "option_id"),
        (layers["roads"], "road_id"),
        (layers["townships"], "township_id"),
    ):
        assert df[col].is_unique
    tw_ids = set(layers["townships"]["township_id"])
    assert set(st["township_id"]) <= tw_ids
    assert set(s["township_id"]) <= tw_ids
    assert set(s["settlement_id"]) <= set(st["settlement_id"])
    assert set(tables["expansion_options"]["school_id"]) <= set(s["school_id"])


def test_every_point_inside_boundary_and_its_township(
    tables: dict[str, pd.DataFrame], layers: dict[str, gpd.GeoDataFrame]
) -> None:
    outline = layers["boundary"].geometry.iloc[0]
    polys = dict(zip(layers["townships"]["township_id"], layers["townships"].geometry, strict=True))
    for name in ("settlements", "schools", "candidate_sites"):
        df = tables[name]
        lon, lat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
        assert shapely.contains_xy(outline, lon, lat).all(), name
        inside = [shapely.contains_xy(polys[t], x, y) for t, x, y in zip(df["township_id"], lon, lat, strict=True)]
        assert all(inside), name


def test_townships_partition_the_boundary(layers: dict[str, gpd.GeoDataFrame]) -> None:
    tw = layers["townships"].to_crs("EPSG:4547")
    outline = layers["boundary"].to_crs("EPSG:4547").geometry.iloc[0]
    assert shapely.coverage_is_valid(tw.geometry.to_numpy())
    union = shapely.union_all(tw.geometry.to_numpy())
    assert union.symmetric_difference(outline).area < 1.0  # m², i.e. no gaps or spills


def test_roads_are_noded_connected_and_reach_every_point(
    tables: dict[str, pd.DataFrame], layers: dict[str, gpd.GeoDataFrame]
) -> None:
    roads = layers["roads"]
    assert set(roads["road_class"]) == {"national", "provincial", "county", "township", "village", "urban"}
    starts = np.array([g.coords[0] for g in roads.geometry])
    finals = np.array([g.coords[-1] for g in roads.geometry])
    keys = {}
    edges = []
    for a, b in zip(map(tuple, starts), map(tuple, finals), strict=True):
        edges.append((keys.setdefault(a, len(keys)), keys.setdefault(b, len(keys))))
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        parent[find(a)] = find(b)
    assert len({find(i) for i in range(len(keys))}) == 1
    for name in ("settlements", "schools", "candidate_sites"):
        pts = zip(tables[name]["lon"].round(6), tables[name]["lat"].round(6), strict=True)
        assert all((x, y) in keys for x, y in pts), name
    km = roads.to_crs("EPSG:4547").length.sum() / 1000
    assert 1500 < km < 6000


def test_parameters_say_synthetic() -> None:
    import yaml

    from planner.parameters import Parameters

    text = (QUESHAN_DIR / "parameters.yaml").read_text("utf-8")
    assert text.startswith("# 合成数据 SYNTHETIC DATA")
    params = Parameters.model_validate(yaml.safe_load(text))
    assert params.synthetic and params.datum == "wgs84" and "SYNTHETIC" in params.data_source
    assert {o.option_id for o in params.new_school_options} >= {"P24", "P36", "P48", "J24", "J36", "J48", "N36", "N54"}
    assert "SYNTHETIC DATA" in (QUESHAN_DIR / "README.md").read_text("utf-8")


def test_loader_accepts_the_bundled_county() -> None:
    from planner.loader import load_county, summarise

    summary = summarise(load_county(QUESHAN_DIR))
    assert summary["schools"] == 214
    assert summary["pupils_primary"] == 34_690
    assert summary["synthetic"] is True


# --------------------------------------------------------------------------- baseline character


def test_baseline_fails_the_standard_like_a_real_county(tables: dict[str, pd.DataFrame]) -> None:
    s = tables["schools"].copy()
    stats = baseline_statistics(s, tables["teachers"])
    cv = stats["cv"]
    assert (cv.loc["primary"] > 0.50).sum() >= 2
    parts = stats["parts"]
    assigned = parts[parts["included"]]
    assert (assigned["missed"] >= 2).mean() > 0.4
    assert stats["summary"]["excluded_small_teaching_points"] > 0
    urban_big = s[(s["kind"] == "primary") & (s["ownership"] == "public") & (s["pupils_primary"] > 2000)]
    assert len(urban_big) >= 1
    assert (urban_big["pupils_primary"] / urban_big["classes_primary"] >= 56).all()


def test_cv_is_enrolment_weighted() -> None:
    # two schools: 100 pupils with 500 m² (5 m²/pupil) and 300 pupils with 900 m² (3 m²/pupil)
    schools = pd.DataFrame({
        "school_id": ["A", "B"], "kind": ["primary", "primary"], "pupils_primary": [100, 300], "pupils_junior": [0, 0],
        "floor_area_m2": [500.0, 900.0], "sports_area_m2": [800.0, 2400.0], "equipment_value_yuan": [2e5, 6e5],
        "multimedia_rooms": [3, 9],
    })  # fmt: skip
    teachers = pd.DataFrame(
        {
            "school_id": ["A"],
            "stage": ["primary"],
            "education": ["college"],
            "backbone_level": ["county"],
            "subject": ["pe"],
            "years_at_school": [3],
        }
    )
    cv = baseline_statistics(schools, teachers)["cv"]
    # mean = 1400/400 = 3.5; S = sqrt((100·1.5² + 300·0.5²)/400) = sqrt(0.75); CV = 0.8660/3.5
    assert cv.loc["primary", "floor_area"] == pytest.approx(np.sqrt(0.75) / 3.5)
    assert cv.loc["primary", "sports_area"] == pytest.approx(0.0)


# --------------------------------------------------------------------------- helpers and scale


def test_largest_remainder_is_exact() -> None:
    assert largest_remainder(np.array([1.0, 1.0, 1.0]), 10).tolist() == [4, 3, 3]
    assert largest_remainder(np.array([0.5, 0.3, 0.2]), 7).tolist() == [4, 2, 1]


def test_adjust_to_total_respects_caps() -> None:
    rng = np.random.default_rng(0)
    out = adjust_to_total(np.array([1, 1, 1]), np.array([2, 5, 1]), 7, rng)
    assert out.sum() == 7 and (out <= [2, 5, 1]).all() and (out >= 0).all()
    with pytest.raises(ValueError):
        adjust_to_total(np.array([0, 0]), np.array([1, 1]), 3, rng)


def test_scale_two_doubles_the_county() -> None:
    c = build_county(read_boundary_feature(SOURCE, "411725"), "411725", scale=2.0)
    comp = c.schools[c.schools["kind"] != "special"]
    assert len(comp) == 2 * 214
    assert comp["pupils_primary"].sum() == 2 * QUESHAN.pupils_primary
    assert comp["staff_total"].sum() == 2 * 5_466
    assert len(c.townships) == 26
    area = c.boundary.to_crs("EPSG:4547").area.iloc[0] / 1e6
    assert area == pytest.approx(2 * 1652.1, rel=0.01)
