"""就近入学 (issue #16 item 3) on the tiny county with a hand-made travel table and the real solver.

The travel table below is written by hand (minutes; primary pupils walk, junior pupils cycle), so the
allowed arcs of every settlement can be worked out on paper from the rule:

    allowed = today's school ∪ {units within the cap and ≤ max(t_today, t_nearest within the cap) + tolerance}

with a boarding school counted within the cap up to ``boarding_max_min`` only where no public day school of
the stage is within the day cap. Caps (defaults): primary urban 15 / rural 40, junior urban 20 / rural 60,
boarding 90; tolerance 10. J1 is a boarding junior school, N1 a nine-year day school, TP1 a teaching point,
C1 a primary candidate site (never built: its design costs more than the capital budget).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tiny_county import straight_line_travel, write_tiny_county

from planner.loader import load_county
from planner.plan.instance import model_inputs
from planner.plan.pipeline import plan_county
from planner.plan.rezoning import LONGER_LIMIT_MIN, format_rezoning, rezoning_paragraph
from planner.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]

#: (settlement, stage) -> {unit: minutes}; today's schools: V1, V2 P1/J1; V3 TP1/N1; V4 N1/N1; V5 N1/J1
TIMES: dict[tuple[str, str], dict[str, float]] = {
    ("V1", "primary"): {"P1": 2, "C1": 5, "N1": 20, "TP1": 30},
    ("V2", "primary"): {"P1": 10, "N1": 12, "C1": 14, "TP1": 20},
    ("V3", "primary"): {"TP1": 3, "P1": 35, "N1": 38, "C1": 39},
    ("V4", "primary"): {"N1": 2, "C1": 15, "P1": 25, "TP1": 39},
    ("V5", "primary"): {"N1": 45, "P1": 30, "C1": 38, "TP1": 50},  # today's school beyond the 40-minute cap
    ("V1", "junior"): {"J1": 3, "N1": 25},
    ("V2", "junior"): {"J1": 5, "N1": 18},
    ("V3", "junior"): {"N1": 70, "J1": 80},  # no day school within 60: the boarding school may take it
    ("V4", "junior"): {"N1": 2, "J1": 70},  # a day school within 60: the boarding school may not
    ("V5", "junior"): {"J1": 75, "N1": 65},
}

#: the rule worked out by hand from TIMES
BY_HAND = {
    10.0: {
        ("V1", "primary"): {"P1", "C1"},  # 12-minute limit
        ("V2", "primary"): {"P1", "N1", "C1"},  # within 15 and ≤ 20
        ("V3", "primary"): {"TP1"},  # 13-minute limit: P1 at 35 is within the cap but not nearby
        ("V4", "primary"): {"N1"},
        ("V5", "primary"): {"N1", "P1", "C1"},  # today's beyond the cap: anything within it (TP1 at 50 is not)
        ("V1", "junior"): {"J1"},
        ("V2", "junior"): {"J1"},  # N1 at 18 > 5 + 10
        ("V3", "junior"): {"N1", "J1"},  # J1 within the boarding allowance, 80 ≤ max(70, 80) + 10
        ("V4", "junior"): {"N1"},
        ("V5", "junior"): {"J1"},  # N1 at 65 is beyond the day cap
    },
    None: {  # tolerance off: any school within the cap (the boarding rule still holds)
        ("V1", "primary"): {"P1", "C1"},
        ("V2", "primary"): {"P1", "N1", "C1"},
        ("V3", "primary"): {"TP1", "P1", "N1", "C1"},
        ("V4", "primary"): {"N1", "C1", "P1", "TP1"},
        ("V5", "primary"): {"N1", "P1", "C1"},
        ("V1", "junior"): {"J1"},
        ("V2", "junior"): {"J1", "N1"},
        ("V3", "junior"): {"N1", "J1"},
        ("V4", "junior"): {"N1"},  # J1 at 70 is within the 90-minute allowance, but N1 is a day school within 60
        ("V5", "junior"): {"J1"},
    },
}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory):
    return load_county(write_tiny_county(tmp_path_factory.mktemp("near") / "c"), check_network=False)


@pytest.fixture(scope="module")
def travel(county):
    _, school_times = straight_line_travel(county)
    rows = [(s, k, u, float(t), float(t) * 66.7) for (s, k), times in TIMES.items() for u, t in times.items()]
    return pd.DataFrame(rows, columns=["settlement_id", "stage", "unit_id", "time_min", "distance_m"]), school_times


def _scenario(name: str = "combined", **over: object):
    raw = load_scenario(ROOT / "scenarios" / f"{name}.yaml").model_dump()
    raw["solver"] = {**raw["solver"], "time_limit_s": 30, "gap_rel": 0.0, "cv_iterations": 1}
    raw["distance"] = {**raw["distance"], "candidates_per_settlement": 10}
    for key, value in over.items():
        if isinstance(value, dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return scenario_from_dict(raw)


def _arc_sets(arcs: pd.DataFrame, flag: bool = False) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    rows = arcs[arcs["if_closed"].astype(bool) == flag]
    for s, k, u in rows[["settlement_id", "stage", "unit_id"]].itertuples(index=False):
        out.setdefault((s, k), set()).add(u)
    return out


@pytest.mark.parametrize("tolerance", [10.0, None])
def test_arcs_follow_the_rule_worked_out_by_hand(county, travel, tolerance) -> None:
    times, school_times = travel
    sc = _scenario(distance={"rezoning_tolerance_min": tolerance})
    inp = model_inputs(county, sc, times, school_times)
    assert _arc_sets(inp.arcs) == BY_HAND[tolerance]
    assert not inp.arcs["if_closed"].any()  # no closures lever: no arcs kept for a closure


def test_boarding_school_within_its_allowance_is_within_the_cap(county, travel) -> None:
    times, school_times = travel
    inp = model_inputs(county, _scenario(), times, school_times)
    a = inp.arcs.set_index(["settlement_id", "stage", "unit_id"])
    # V5 junior keeps J1 at 75 minutes: a boarding school within its 90-minute allowance (not penalised)
    assert bool(a.loc[("V5", "junior", "J1"), "within_cap"]) and a.loc[("V5", "junior", "J1"), "cap_min"] == 90
    # V5 primary's N1 at 45 is beyond the 40-minute cap (day school)
    assert not bool(a.loc[("V5", "primary", "N1"), "within_cap"])


def test_closable_school_settlements_may_leave_only_if_it_closes(county, travel) -> None:
    times, school_times = travel
    sc = _scenario("close_small_schools")
    inp = model_inputs(county, sc, times, school_times)
    # TP1 (30 pupils, a teaching point) may close; V3's nearest other school within the cap is P1 at 35, so
    # if TP1 closes V3 may go to P1 (35), N1 (38) or the site C1 (39), all within 35 + 10
    assert _arc_sets(inp.arcs) == BY_HAND[10.0]
    assert _arc_sets(inp.arcs, flag=True) == {("V3", "primary"): {"P1", "N1", "C1"}}
    for rules in ({}, {"contiguity": True}):
        plan = plan_county(county, sc.model_copy(update={"catchment_rules": sc.catchment_rules.model_copy(
            update=rules)}), times, school_times, distance_method="straight_line")  # fmt: skip
        v3 = plan.assignments.set_index(["settlement_id", "stage"]).loc[("V3", "primary")]
        closed = set(plan.projects.loc[plan.projects["kind"] == "closure", "school_id"])
        assert (v3["school_id"] != "TP1") == ("TP1" in closed)


@pytest.fixture(scope="module")
def plans(county, travel):
    times, school_times = travel
    out = {}
    for cap in (None, 0, 39):
        sc = _scenario(max_rezoned_pupils=cap)
        out[cap] = plan_county(county, sc, times, school_times, distance_method="straight_line")
    return out


def test_rezoned_pupils_cap_binds(plans) -> None:
    def rezoned(plan) -> int:
        a = plan.assignments
        return int(a.loc[a["school_id"] != a["current_school_id"], "pupils"].sum())

    # V5's 40 primary pupils are beyond their cap at N1 (45 minutes) with P1 within it (30 minutes): the
    # bottom line moves them when nothing caps the re-zoning
    free = plans[None].assignments.set_index(["settlement_id", "stage"])
    assert free.loc[("V5", "primary"), "school_id"] == "P1"
    assert rezoned(plans[None]) >= 40
    for cap in (0, 39):
        a = plans[cap].assignments.set_index(["settlement_id", "stage"])
        assert rezoned(plans[cap]) <= cap
        assert a.loc[("V5", "primary"), "school_id"] == "N1"  # 40 pupils do not fit under the cap
        assert not bool(a.loc[("V5", "primary"), "within_cap"])


def test_every_assignment_is_an_arc_of_the_rule(plans) -> None:
    for plan in plans.values():
        for r in plan.assignments.itertuples(index=False):
            assert r.school_id in BY_HAND[10.0][(r.settlement_id, r.stage)], r


def test_summary_figures_recomputed_from_the_csv(plans, tmp_path: Path) -> None:
    plan = plans[None]
    plan.save(tmp_path)
    a = pd.read_csv(tmp_path / "assignments.csv", encoding="utf-8-sig", dtype={"settlement_id": str})
    table = pd.read_csv(tmp_path / "rezoning.csv", encoding="utf-8-sig").set_index("stage")
    cap = {("primary", "urban"): 15, ("primary", "rural"): 40, ("junior", "urban"): 20, ("junior", "rural"): 60}
    area = {"V1": "urban", "V2": "urban", "V3": "rural", "V4": "rural", "V5": "rural"}
    for stage in ("primary", "junior", "all"):
        rows = a if stage == "all" else a[a["stage"] == stage]
        pupils = moved = weighted = 0
        largest = None
        longer = far = 0
        for r in rows.itertuples(index=False):
            pupils += r.pupils
            if r.school_id == r.current_school_id:
                continue
            before = TIMES[(r.settlement_id, r.stage)][r.current_school_id]
            after = TIMES[(r.settlement_id, r.stage)][r.school_id]
            moved += r.pupils
            weighted += r.pupils * (after - before)
            largest = after - before if largest is None else max(largest, after - before)
            longer += r.pupils if after > before else 0
            # today's school within the cap (a boarding school: within its 90-minute allowance)
            today_cap = 90 if r.current_school_id == "J1" else cap[(r.stage, area[r.settlement_id])]
            far += r.pupils if after - before > LONGER_LIMIT_MIN and before <= today_cap else 0
        row = table.loc[stage]
        assert row["pupils"] == pupils and row["pupils_rezoned"] == moved
        assert row["share_rezoned"] == pytest.approx(moved / pupils)
        assert row["pupils_longer"] == longer and row["pupils_longer_15_within_cap"] == far == 0
        if moved:
            assert row["mean_change_min"] == pytest.approx(weighted / moved)
            assert row["max_change_min"] == pytest.approx(largest)
        else:
            assert pd.isna(row["mean_change_min"])
    assert table.loc["all", "pupils_rezoned"] >= 40  # V5 moved (see above): the figures are not all zero
    assert table.loc["primary", "tolerance_min"] == 10
    # the run summary and the justification state the same figures
    text = "\n".join(format_rezoning(plan.extra_tables["rezoning"]))
    assert f"{int(table.loc['primary', 'pupils_rezoned']):,} 人 pupils" in text
    para = rezoning_paragraph(plan.extra_tables["rezoning"])
    assert f"{int(table.loc['primary', 'pupils_rezoned']):,}名学生" in para and "再加10分钟" in para


def test_rezoning_sheet_in_the_workbook(plans, county, tmp_path: Path) -> None:
    from planner.report.workbook import SHEETS, write_plan_workbook

    plan = plans[None]
    path = write_plan_workbook(plan, county, tmp_path)
    sheet = pd.read_excel(path, sheet_name=SHEETS[-1])
    assert sheet.columns[0] == "学段 stage"
    row = sheet[sheet["学段 stage"] == "小学"].iloc[0]
    want = plan.extra_tables["rezoning"].set_index("stage").loc["primary"]
    assert row["调整学生 pupils re-zoned"] == want["pupils_rezoned"]
    assert row["平均变化(分钟) mean change"] == pytest.approx(want["mean_change_min"])
