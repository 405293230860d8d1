"""The data layer: loading, and one specific message per broken rule (no traceback)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from tiny_county import write_tiny_county

from planner.cli import main
from planner.errors import DataError
from planner.loader import load_county, metric_crs_for, summarise
from planner.templates import write_templates


@pytest.fixture(scope="module")
def tiny_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_county(tmp_path_factory.mktemp("tiny") / "county")


@pytest.fixture
def tiny(tiny_master: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "county"
    shutil.copytree(tiny_master, dst)
    return dst


def test_tiny_county_loads_in_metric_crs(tiny: Path) -> None:
    county = load_county(tiny, check_network=False)
    assert county.crs == "EPSG:4547"  # CGCS2000 3-degree GK zone, central meridian 114°E
    assert county.schools.index.name == "school_id"
    assert list(county.schools.index) == ["P1", "TP1", "J1", "N1", "R1", "X1"]
    # 0.1° of latitude is about 11.09 km; the boundary is a 0.1° square
    _minx, miny, _maxx, maxy = county.boundary.total_bounds
    assert 11_000 < maxy - miny < 11_200
    s = summarise(county)
    assert (s["schools"], s["primary_schools"], s["junior_schools"], s["special_schools"]) == (5, 3, 2, 1)
    assert (s["pupils_primary"], s["pupils_junior"]) == (500 + 30 + 100 + 120, 275 + 50)
    assert county.schools.loc["J1", "is_boarding"]


def test_metric_crs_zone() -> None:
    assert metric_crs_for(114.03, 32.8) == "EPSG:4547"
    assert metric_crs_for(117.2, 31.8) == "EPSG:4548"
    assert metric_crs_for(-3.0, 55.0) == "EPSG:32630"


def _csv_edit(name: str, edit: Callable[[pd.DataFrame], pd.DataFrame | None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / f"{name}.csv"
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        out = edit(df)
        (df if out is None else out).to_csv(path, index=False)

    return apply


def _set(name: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    def edit(df: pd.DataFrame) -> None:
        df.loc[row, column] = value

    return _csv_edit(name, edit)


def _params(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        data = yaml.safe_load((folder / "parameters.yaml").read_text("utf-8"))
        edit(data)
        (folder / "parameters.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")

    return apply


def _drop_layer(layer: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        gpkg = folder / "county.gpkg"
        keep = {n: gpd.read_file(gpkg, layer=n) for n in ("boundary", "townships", "roads") if n != layer}
        gpkg.unlink()
        for n, g in keep.items():
            g.to_file(gpkg, layer=n, driver="GPKG")

    return apply


def _swap_lonlat(df: pd.DataFrame) -> None:
    df.loc[2, ["lon", "lat"]] = [df.loc[2, "lat"], df.loc[2, "lon"]]


def _bump_pupils(df: pd.DataFrame) -> None:
    df.loc[0, "pupils_primary"] = "310"
    df.loc[0, "age_6"] = "60"


CASES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("missing parameters file", lambda f: (f / "parameters.yaml").unlink(), ["parameters.yaml", "file is missing"]),
    ("invalid YAML", lambda f: (f / "parameters.yaml").write_text("budget: [1, 2", "utf-8"), ["not valid YAML"]),
    ("unknown parameter key", _params(lambda d: d.update(budgett=1)), ["field budgett", "unknown key"]),
    (
        "negative budget",
        _params(lambda d: d["budget"].update(capital_yuan=-5)),
        ["field budget.capital_yuan", "greater than or equal to 0", "-5"],
    ),
    ("missing roads layer", _drop_layer("roads"), ["county.gpkg", "layer 'roads'", "missing"]),
    ("missing schools table", lambda f: (f / "schools.csv").unlink(), ["schools.csv", "table 学校 is missing"]),
    (
        "missing column",
        _csv_edit("schools", lambda df: df.drop(columns=["floor_area_m2"])),
        ["schools.csv", "field floor_area_m2", "required column is missing (教学及辅助用房面积 / floor_area_m2)"],
    ),
    (
        "text in a number",
        _set("schools", 0, "pupils_primary", "abc"),
        ["schools.csv, row 2 (school_id P1), field pupils_primary: must be a number, got 'abc'"],
    ),
    (
        "negative count",
        _set("schools", 3, "classrooms", "-5"),
        ["schools.csv, row 5 (school_id N1), field classrooms: must be a whole number ≥ 0, got -5"],
    ),
    (
        "non-integer count",
        _set("schools", 1, "classes_primary", "2.5"),
        ["row 3 (school_id TP1)", "field classes_primary: must be a whole number, got 2.5"],
    ),
    (
        "duplicate id",
        _set("schools", 2, "school_id", "P1"),
        ["schools.csv, row 4", "duplicate school_id 'P1' (first used on row 2)"],
    ),
    (
        "empty required cell",
        _set("settlements", 1, "name_zh", ""),
        ["settlements.csv, row 3 (settlement_id V2), field name_zh: must not be empty"],
    ),
    (
        "bad category",
        _set("schools", 0, "kind", "college"),
        ["field kind: must be one of", "primary (小学)", "got 'college'"],
    ),
    ("bad boolean", _set("schools", 0, "is_boarding", "maybe"), ["field is_boarding: must be true/false"]),
    (
        "school in unknown township",
        _set("schools", 0, "township_id", "T9"),
        ["schools.csv, row 2 (school_id P1), field township_id: refers to unknown township 'T9'"],
    ),
    (
        "school in unknown settlement",
        _set("schools", 1, "settlement_id", "V99"),
        ["row 3 (school_id TP1), field settlement_id: refers to unknown settlement 'V99'"],
    ),
    (
        "settlement with unknown catchment school",
        _set("settlements", 0, "school_primary_id", "P7"),
        ["settlements.csv, row 2 (settlement_id V1), field school_primary_id: refers to unknown school 'P7'"],
    ),
    (
        "teacher at unknown school",
        _set("teachers", 4, "school_id", "Q1"),
        ["teachers.csv, row 6 (teacher_id TCH005)", "unknown school 'Q1'"],
    ),
    ("empty table", _csv_edit("teachers", lambda df: df.iloc[0:0]), ["teachers.csv: table 专任教师 has no rows"]),
    (
        "point outside the county",
        _set("settlements", 3, "lon", "114.3"),
        ["settlements.csv, row 5 (settlement_id V4), field lon/lat", "outside the county boundary", "km outside"],
    ),
    ("lat/lon swapped", _csv_edit("schools", _swap_lonlat), ["row 4 (school_id J1)", "lon and lat look swapped"]),
    (
        "projected metres as degrees",
        _set("candidate_sites", 0, "lon", "38512345.2"),
        ["candidate_sites.csv, row 2 (site_id C1), field lon/lat", "are not degrees"],
    ),
    (
        "enrolment disagrees with catchment",
        _csv_edit("settlements", _bump_pupils),
        ["schools.csv, row 2 (school_id P1), field pupils_primary: 500 enrolled", "hold 510 pupils"],
    ),
    (
        "pupils without catchment school",
        _set("settlements", 5, "pupils_primary", "3"),
        ["settlements.csv, row 7 (settlement_id V6), field school_primary_id: must name the current catchment school"],
    ),
    (
        "catchment school of the wrong stage",
        _set("settlements", 0, "school_junior_id", "P1"),
        ["settlement_id V1), field school_junior_id", "must be a public school teaching the junior stage"],
    ),
    (
        "catchment school is private",
        _set("settlements", 1, "school_primary_id", "R1"),
        ["settlement_id V2), field school_primary_id", "(it is private primary)"],
    ),
    (
        "junior school with primary pupils",
        _set("schools", 2, "pupils_primary", "10"),
        ["school_id J1), field pupils_primary: a junior school teaches no primary stage"],
    ),
    (
        "pupils without classes",
        _set("schools", 0, "classes_primary", "0"),
        ["school_id P1), field classes_primary: must be > 0"],
    ),
    (
        "teacher of a stage the school lacks",
        _set("teachers", 0, "stage", "junior"),
        ["teachers.csv, row 2 (teacher_id TCH001), field stage: school P1 is a primary school and has no junior stage"],
    ),
    (
        "more teachers than staff",
        _set("schools", 1, "staff_total", "0"),
        ["school_id TP1), field staff_total: 0 staff, but teachers table lists 1"],
    ),
    (
        "more pupils than children",
        _set("settlements", 2, "age_6", "0"),
        ["settlement_id V3), field pupils_primary: 30 pupils exceed the 25 resident children aged 6-11"],
    ),
    (
        "boarding places at a day school",
        _set("schools", 0, "boarding_places", "30"),
        ["school_id P1), field boarding_places: must be 0 for a school that is not a boarding school"],
    ),
]


@pytest.mark.parametrize(("label", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_broken_input_gives_its_message(
    tiny: Path, label: str, breaker: Callable[[Path], None], expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    breaker(tiny)
    with pytest.raises(DataError) as info:
        load_county(tiny, check_network=False)
    message = str(info.value)
    assert "\n" not in message
    for part in expected:
        assert part in message, f"{label}: {part!r} not in {message!r}"
    # the CLI says the same thing in one line, exit code 2, no traceback
    code = main(["check", str(tiny)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.strip().splitlines() == [f"错误 error: {message}"]


def test_missing_folder_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(tmp_path / "nowhere")])
    assert code == 2
    assert "county folder does not exist" in capsys.readouterr().err


def test_distinct_messages() -> None:
    assert len(CASES) >= 20
    assert len({c[0] for c in CASES}) == len(CASES)


def test_templates_load_back_unchanged(tiny: Path, tmp_path: Path) -> None:
    original = load_county(tiny, check_network=False)
    xl = tmp_path / "xl"
    write_templates(xl, original)
    shutil.copy(tiny / "county.gpkg", xl / "county.gpkg")
    shutil.copy(tiny / "parameters.yaml", xl / "parameters.yaml")
    again = load_county(xl, check_network=False)
    for name in ("settlements", "schools", "teachers", "candidate_sites", "expansion_options"):
        a, b = getattr(original, name), getattr(again, name)
        pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry", errors="ignore")),
                                      pd.DataFrame(b.drop(columns="geometry", errors="ignore")), check_exact=False,
                                      rtol=1e-9)  # fmt: skip


def test_blank_templates_have_bilingual_headers(tmp_path: Path) -> None:
    paths = write_templates(tmp_path)
    assert {p.stem for p in paths} == {"settlements", "schools", "teachers", "candidate_sites", "expansion_options"}
    head = pd.read_excel(tmp_path / "schools.xlsx", sheet_name=0)
    assert len(head) == 0
    assert head.columns[0] == "学校代码 (school_id)"
    guide = pd.read_excel(tmp_path / "schools.xlsx", sheet_name=1)
    assert "floor_area_m2" in set(guide.iloc[:, 0])


def test_chinese_headers_and_labels_are_accepted(tiny: Path) -> None:
    df = pd.read_csv(tiny / "schools.csv", dtype=str, keep_default_na=False)
    df = df.rename(columns={"school_id": "学校代码", "kind": "学校类型 (kind)"})
    df["学校类型 (kind)"] = df["学校类型 (kind)"].map({"primary": "小学"}).fillna(df["学校类型 (kind)"])
    df["is_boarding"] = df["is_boarding"].map({"True": "是", "False": "否"})
    df.to_csv(tiny / "schools.csv", index=False)
    county = load_county(tiny, check_network=False)
    assert county.schools.loc["P1", "kind"] == "primary"
    assert bool(county.schools.loc["J1", "is_boarding"]) is True


def test_gcj02_datum_is_converted(tiny: Path) -> None:
    from planner.datum import wgs84_to_gcj02

    plain = load_county(tiny, check_network=False)
    df = pd.read_csv(tiny / "schools.csv")
    glon, glat = wgs84_to_gcj02(df["lon"].to_numpy(), df["lat"].to_numpy())
    df["lon"], df["lat"] = glon, glat
    df.to_csv(tiny / "schools.csv", index=False, float_format="%.9f")
    data = yaml.safe_load((tiny / "parameters.yaml").read_text("utf-8"))
    data["datum"] = "gcj02"
    (tiny / "parameters.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    # every layer and table is now read as GCJ-02: the schools land where they were
    shifted = load_county(tiny, check_network=False)
    d = plain.schools.geometry.distance(shifted.schools.geometry)
    assert float(d.max()) < 1.0


def test_school_off_the_road_network_is_named(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # R1 runs along lat 32.80 and R2 along lon 114.0: (113.96, 32.84) is about 4.4 km from both
    df = pd.read_csv(tiny / "schools.csv", dtype=str, keep_default_na=False)
    df.loc[4, ["lon", "lat"]] = ["113.96", "32.84"]
    df.to_csv(tiny / "schools.csv", index=False)
    load_county(tiny, check_network=False)  # every other rule holds
    with pytest.raises(DataError) as info:
        load_county(tiny)
    message = str(info.value)
    assert message.startswith("schools.csv, row 6 (school_id R1): road network does not reach it")
    assert main(["check", str(tiny)]) == 2
    assert "Traceback" not in capsys.readouterr().err
