"""Feeder links, scenario checks, adjacency, fairness read-outs and the public notice on the tiny county."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_county import straight_line_travel, write_tiny_county

from planner.adjacency import adjacency_graph, own_settlements, settlement_cells
from planner.errors import ScenarioError
from planner.loader import load_county
from planner.plan.pipeline import plan_county
from planner.report.fairness import catchment_readout, not_nearest, polsby_popper, reason_summary
from planner.report.notice import notice_table, write_catchment_outputs
from planner.scenario import load_scenario, scenario_from_dict
from planner.scenario_check import validate_against_county

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory):
    return load_county(write_tiny_county(tmp_path_factory.mktemp("cr") / "c"), check_network=False)


def _scenario(**rules: object):
    raw = load_scenario(ROOT / "scenarios" / "combined.yaml").model_dump()
    # rural caps wide enough that 王岗村 V5 may go to 城关小学 P1 for primary
    raw["distance"] = {**raw["distance"], "primary_max_min": {"urban": 15, "town": 30, "rural": 60}}
    raw["catchment_rules"] = rules
    return scenario_from_dict(raw)


@pytest.fixture(scope="module")
def plans(county):
    travel, school_times = straight_line_travel(county)
    out = {}
    for key, rules in {
        "free": {},
        "feeder": {"feeder": True, "contiguity": True},
        "split_ok": {"feeder": True, "feeder_splits_allowed": ["N1"]},
    }.items():
        out[key] = plan_county(county, _scenario(**rules), travel, school_times, distance_method="straight_line")
    return out, travel


def _by_hand(assign):
    """(primary school, junior school) -> primary pupils, from the assignments rows."""
    junior = {r.settlement_id: r.school_id for r in assign.itertuples() if r.stage == "junior"}
    out: dict[tuple[str, str], int] = {}
    for r in assign.itertuples():
        if r.stage == "primary":
            key = (r.school_id, junior.get(r.settlement_id, ""))
            out[key] = out.get(key, 0) + int(r.pupils)
    return out


def test_feeder_table_matches_the_assignments(plans) -> None:
    out, _ = plans
    for plan in out.values():
        f = plan.extra_tables["feeder"]
        got = {(r.primary_school_id, r.junior_school_id): int(r.pupils_primary) for r in f.itertuples()}
        assert got == _by_hand(plan.assignments)
        shares = f.groupby("primary_school_id")["share"].sum()
        assert shares.to_numpy() == pytest.approx(1.0, abs=1e-3)


def test_today_n1_splits_and_the_feeder_rule_removes_the_split(plans) -> None:
    out, _ = plans
    # today: 李庄九年一贯制学校 N1's primary catchment goes on to N1 and J1 (a split)
    today = out["free"].assignments.assign(school_id=lambda a: a["current_school_id"])
    assert {j for (p, j) in _by_hand(today) if p == "N1"} == {"N1", "J1"}
    f = out["feeder"].extra_tables["feeder"]
    real = f[f["junior_school_id"] != ""]
    assert (real.groupby("primary_school_id")["junior_school_id"].nunique() == 1).all()
    assert not f["split"].any()
    assert any("feeder rule on: 0 extra" in n for n in out["feeder"].notes)


def test_allowed_split_is_kept_and_labelled(plans) -> None:
    out, _ = plans
    f = out["split_ok"].extra_tables["feeder"]
    n1 = f[f["primary_school_id"] == "N1"]
    assert n1["split_allowed"].all()
    others = f[(f["primary_school_id"] != "N1") & (f["junior_school_id"] != "")]
    assert (others.groupby("primary_school_id")["junior_school_id"].nunique() == 1).all()


def test_validate_against_county_names_the_unknown_id(county) -> None:
    validate_against_county(_scenario(contiguity_exempt=["N1"], keep_settlements=["V3"]), county)
    with pytest.raises(ScenarioError) as e:
        validate_against_county(_scenario(contiguity_exempt=["P999"]), county)
    assert str(e.value) == (
        "scenario combined, key catchment_rules.contiguity_exempt: school 'P999' does not exist in the county"
    )
    with pytest.raises(ScenarioError, match="keep_settlements: settlement 'V99'"):
        validate_against_county(_scenario(keep_settlements=["V99"]), county)
    with pytest.raises(ScenarioError, match="feeder_splits_allowed: school 'J1' has no primary pupils"):
        validate_against_county(_scenario(feeder_splits_allowed=["J1"]), county)
    with pytest.raises(ScenarioError, match=r"catchment_rules\.contiguity"):
        scenario_from_dict({"name": "x", "catchment_rules": {"contiguity": "maybe"}})


def test_adjacency_of_the_tiny_county(county) -> None:
    cells = settlement_cells(county)
    # the cells tile the county: areas add up to the boundary's
    assert cells["area_m2"].sum() == pytest.approx(float(county.boundary.geometry.area.sum()), rel=1e-6)
    g = adjacency_graph(county, cells=cells)
    # 东街社区 V1 and 西街社区 V2 share a boundary and the east-west road
    assert g.edges["V1", "V2"]["kind"] == "cell+road"
    # 张庄村 V3 (far west) and 李庄村 V4 (far east) are not neighbours
    assert not g.has_edge("V3", "V4")
    own = own_settlements(county)
    assert own["P1"] == "V1" and own["C1"] == "V1"


def test_fairness_readout_by_formula(county, plans) -> None:
    out, travel = plans
    plan = out["free"]
    r = catchment_readout(plan, county)
    a = plan.assignments
    for row in r.itertuples():
        part = a[(a["stage"] == row.stage) & (a["school_id"] == row.school_id)]
        assert row.pupils == part["pupils"].sum()
        assert row.farthest_time_min == pytest.approx(part["time_min"].max(), abs=0.05)
        assert 0 < row.polsby_popper <= 1
    # a square's Polsby-Popper score is pi/4
    from shapely.geometry import box

    assert polsby_popper(box(0, 0, 1, 1)) == pytest.approx(3.14159265 / 4)
    far = not_nearest(plan, county, travel, _scenario())
    for row in far.itertuples():
        t = travel[(travel["settlement_id"] == row.settlement_id) & (travel["stage"] == row.stage)]
        assert row.time_min > row.second_time_min - 1e-6 or row.time_min > row.nearest_time_min
        assert row.school_id not in (row.nearest_school_id, row.second_school_id)
        assert len(t)
    s = reason_summary(far)
    assert int(s["settlements"].sum()) == len(far)


def test_public_notice_pages_for_every_school(county, plans, tmp_path: Path) -> None:
    out, _ = plans
    plan = out["feeder"]
    travel = plans[1]
    files = write_catchment_outputs(plan, county, travel, _scenario(public_notice=True), tmp_path)
    n_pages = plan.assignments.groupby(["school_id", "stage"]).ngroups
    assert sum(p.suffix == ".pdf" for p in files) == n_pages + 2  # every school's page + 2 overviews
    pairs = {(s, st) for s, st in zip(plan.assignments["school_id"], plan.assignments["stage"], strict=True)}
    for s, st in pairs:
        for ext in ("png", "pdf"):
            p = tmp_path / "notice" / f"{s}_{st}.{ext}"
            assert p in files and p.stat().st_size > 5000
    assert (tmp_path / "notice" / "overview_primary.pdf").exists()
    t = notice_table(plan, county, "P1", "primary")
    rows = plan.assignments[(plan.assignments["school_id"] == "P1") & (plan.assignments["stage"] == "primary")]
    assert list(t.columns) == ["序号", "乡镇/街道", "村/社区", "类型", "学生数"]
    assert t["学生数"].sum() == rows["pupils"].sum()
    assert set(t["村/社区"]) == set(county.settlements.loc[rows["settlement_id"], "name_zh"])


def test_run_outputs_without_public_notice(county, plans, tmp_path: Path) -> None:
    out, travel = plans
    off = write_catchment_outputs(out["free"], county, travel, _scenario(), tmp_path / "off")
    assert {p.name for p in off} == {"catchments.csv", "not_nearest.csv", "not_nearest_summary.csv"}


def test_a_listed_contiguity_exception_is_footnoted_on_its_notice_page(county, plans) -> None:
    """A settlement the contiguity rule lists as an exception is named under its school's notice page."""
    from dataclasses import replace

    import matplotlib.pyplot as plt
    import pandas as pd

    from planner.adjacency import settlement_cells
    from planner.report.fairness import catchment_polygons_from_cells
    from planner.report.notice import notice_page

    out, _ = plans
    plan = out["free"]
    row = plan.assignments[plan.assignments["stage"] == "primary"].iloc[0]
    exc = pd.DataFrame([{"settlement_id": row["settlement_id"], "stage": "primary", "school_id": row["school_id"]}])
    cells = settlement_cells(county)
    polygons = catchment_polygons_from_cells(plan.assignments, cells, "primary").set_index("school_id")
    texts = {}
    for key, p in (
        ("without", plan),
        ("with", replace(plan, extra_tables={**plan.extra_tables, "contiguity_exceptions": exc})),
    ):
        fig = notice_page(p, county, row["school_id"], "primary", cells, polygons)
        texts[key] = " ".join(t.get_text() for t in fig.texts)
        plt.close(fig)
    name = county.settlements.at[row["settlement_id"], "name_zh"]
    assert f"注：{name}与本校划片范围不相连" in texts["with"]
    assert "注：" not in texts["without"]
