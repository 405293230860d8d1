"""Teacher exchange as the policy states it (issue #16 item 2), on hand-made instances.

Three primary schools of 400 pupils (staffing norm ⌈400 / 19⌉ = 22 posts), 20 minutes apart:

- U, urban, strong: 22 teachers, 8 backbone (4 eligible, all Chinese), 6 eligible maths, 4
  eligible Chinese, 4 eligible PE;
- R, rural, weak (no backbone teacher, needs 4): 22 teachers, ONE maths teacher (eligible,
  the longest-serving), 13 eligible Chinese, 4 eligible music, 4 non-eligible English;
- RS, rural, strong and nearer to R than U: 8 eligible backbone maths teachers.

Every expected figure below is worked out by hand from these numbers, not from the code.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from model_instances import tiny_primary, two_school_teachers

from planner.model.optimise import optimise
from planner.model.teachers import school_sides, subject_needs
from planner.plan.readback import pair_flows
from planner.scenario import scenario_from_dict

ROWS = [
    # unit, group, subject, count, above_required, backbone, pe_art, eligible
    ("U", "p-QBp-e", "chinese", 4, 1, 1, 0, True),
    ("U", "p-QBp-n", "chinese", 4, 1, 1, 0, False),
    ("U", "p-Qbp-e", "math", 6, 1, 0, 0, True),
    ("U", "p-Qbp-e", "chinese", 4, 1, 0, 0, True),
    ("U", "p-QbP-e", "pe", 4, 1, 0, 1, True),
    ("R", "p-Qbp-e", "math", 1, 1, 0, 0, True),
    ("R", "p-Qbp-e", "chinese", 13, 1, 0, 0, True),
    ("R", "p-QbP-e", "music", 4, 1, 0, 1, True),
    ("R", "p-Qbp-n", "english", 4, 1, 0, 0, False),
    ("RS", "p-QBp-e", "math", 8, 1, 1, 0, True),
    ("RS", "p-Qbp-e", "chinese", 14, 1, 0, 0, True),
]


def policy_instance():
    """U (urban, strong), R (rural, weak, one maths teacher), RS (rural, strong)."""
    base = two_school_teachers()
    units = pd.concat([base.units.loc[["A"]]] * 3)
    units.index = pd.Index(["U", "R", "RS"], name=base.units.index.name)
    units["unit_id"] = units.index
    units["area_type"] = ["urban", "rural", "rural"]
    types = pd.DataFrame(
        [{"unit_id": u, "stage": "primary", "type_id": f"{g}:{s}", "group_id": g, "subject": s, "count": n,
          "above_required": q, "backbone": b, "pe_art": p, "eligible": e} for u, g, s, n, q, b, p, e in ROWS]
    )  # fmt: skip
    per = types.groupby("unit_id")
    parts = pd.DataFrame(
        {
            "unit_id": ["U", "R", "RS"],
            "stage": "primary",
            "pupils": 400.0,
            "fixed_pupils": float("nan"),
            "included": True,
        }
    ).set_index(["unit_id", "stage"])
    for k in ("above_required", "backbone", "pe_art"):
        col = types.assign(w=types["count"] * types[k]).groupby("unit_id")["w"].sum()
        parts[k] = [float(col[u]) for u, _ in parts.index]
    parts["teachers"] = [int(per["count"].sum()[u]) for u, _ in parts.index]
    demand = pd.DataFrame(
        [{"settlement_id": f"v{u}", "stage": "primary", "pupils": 400, "current_unit": u} for u in ("U", "R", "RS")]
    )
    arcs = pd.DataFrame(
        [(f"v{u}", "primary", u, 5.0, 350.0) for u in ("U", "R", "RS")],
        columns=["settlement_id", "stage", "unit_id", "time_min", "distance_m"],
    )
    t = {("U", "R"): 20.0, ("U", "RS"): 20.0, ("R", "RS"): 5.0}
    times = pd.DataFrame(
        [(a, b, m) for (a, b), m in t.items()] + [(b, a, m) for (a, b), m in t.items()],
        columns=["from_unit", "to_unit", "time_min"],
    )
    return replace(base, units=units, parts=parts, demand=demand, arcs=arcs, teacher_types=types,
                   school_times=times, recurrent_budget_yuan=1e6)  # fmt: skip


def _solve(inp, **levers: bool):
    on = {"catchments": False, "new_schools": False, "expansions": False, "resources": False, "rotation": True,
          "hires": False} | levers  # fmt: skip
    sc = scenario_from_dict({"name": "t", "levers": on, "solver": {"gap_rel": 0.0, "cv_iterations": 0}})
    sol = optimise(inp, sc)
    assert sol.result.status == "optimal"
    return sol, pair_flows(sol.built.ctx, max_travel_min=90)


@pytest.fixture(scope="module")
def solved():
    return _solve(policy_instance())


def test_sides_follow_area_and_strength() -> None:
    side = school_sides(policy_instance())
    assert side.to_dict() == {"U": "giver", "R": "taker", "RS": "taker"}


def test_no_school_loses_its_last_teacher_of_a_subject(solved) -> None:
    _, flows = solved
    have_by: dict[tuple[str, str], int] = {}
    for u, _g, s, n, *_ in ROWS:
        have_by[(u, s)] = have_by.get((u, s), 0) + n
    out = flows.groupby(["from_unit", "subject"])["count"].sum()
    inn = flows.groupby(["to_unit", "subject"])["count"].sum()
    for (u, s), n in sorted(have_by.items()):
        assert n - int(out.get((u, s), 0)) >= 1, f"{u} loses its last {s} teacher"
    # R's only maths teacher stays (it is the one the old model could send on the return leg)
    assert int(out.get(("R", "math"), 0)) == 0
    assert int(inn.get(("R", "math"), 0)) >= 0


def test_rotation_goes_from_urban_strong_to_rural_weak_and_returns(solved) -> None:
    _, flows = solved
    rot = flows[flows["kind"] == "rotation"]
    ret = flows[flows["kind"] == "return"]
    # outbound legs only U -> R/RS (never from a rural school); returns only back to U
    assert set(rot["from_unit"]) == {"U"} and set(rot["to_unit"]) <= {"R", "RS"}
    assert set(ret["to_unit"]) <= {"U"} and set(ret["from_unit"]) <= {"R", "RS"}
    # R gets its 4 backbone teachers from U, not from the nearer rural RS
    assert int(rot.loc[(rot["to_unit"] == "R") & (rot["backbone"] == 1), "count"].sum()) == 4
    assert not len(flows[(flows["from_unit"] == "RS") & (flows["to_unit"] == "R")])
    # each rural school sends back at most what it receives: rural in >= rural out
    for u in ("R", "RS"):
        assert int(ret.loc[ret["from_unit"] == u, "count"].sum()) <= int(rot.loc[rot["to_unit"] == u, "count"].sum())


def test_a_short_subject_attracts_a_teacher_of_that_subject(solved) -> None:
    # county share of maths teachers: (6 + 1 + 8) / 66; R's target ⌊400/19 × 15/66⌋ = ⌊4.78⌋ = 4, it has 1
    inp = policy_instance()
    needs = subject_needs(inp)
    assert needs[("R", "primary", "math")] == 3
    _, flows = solved
    to_r = flows[(flows["to_unit"] == "R") & (flows["subject"] == "math")]
    # U has 6 eligible maths teachers; the rotation policy and R's need bring 3 of them
    assert int(to_r["count"].sum()) == 3


def test_a_school_below_its_norm_is_not_drained(solved) -> None:
    _, flows = solved
    net = flows.groupby("to_unit")["count"].sum().sub(flows.groupby("from_unit")["count"].sum(), fill_value=0)
    # U, R and RS are at or below their norm of 22 posts: none ends with fewer teachers
    for u in ("U", "R", "RS"):
        assert net.get(u, 0) >= 0
    # and the rotation policy is met: 10% of 58 eligible = 6 rotated, 20% of them backbone
    rotated = int(flows.loc[flows["kind"].isin(["rotation", "return"]), "count"].sum())
    backbone = int(flows.loc[flows["kind"].isin(["rotation", "return"]) & (flows["backbone"] == 1), "count"].sum())
    assert rotated >= 6 and backbone >= 0.2 * rotated


def test_itinerant_teachers_fill_missing_pe_music_art_it(tmp_path) -> None:
    # tiny county (tests/tiny_county.py), public schools all 10 min apart. By hand, from its teacher list:
    # J1 (junior) has no art teacher and N1's junior art teacher is the only one -> N1 lends art to J1;
    # N1 junior has no PE -> J1's PE teacher; N1 primary has no PE or music -> P1's. P1 primary lacks art
    # and IT, which no primary teacher teaches; TP1 lacks PE and music, but P1's are already lent.
    import tiny_county

    from planner.loader import load_county
    from planner.plan.readback import itinerant_list

    county = load_county(tiny_county.write_tiny_county(tmp_path / "c"))
    public = ["P1", "TP1", "J1", "N1"]
    times = pd.DataFrame([(a, b, 10.0) for a in public for b in public if a != b],
                         columns=["from_unit", "to_unit", "time_min"])  # fmt: skip
    cols = ["teacher_id", "subject", "backbone_level", "from_school_id", "to_school_id", "kind", "term_years", "stage",
            "category", "years_at_school", "time_min", "within_cap"]  # fmt: skip
    moved = pd.DataFrame(columns=cols)
    it = itinerant_list(county, moved, times, max_travel_min=30, term_years=3)
    got = {(r.from_school_id, r.to_school_id, r.stage, r.subject) for r in it.itertuples(index=False)}
    assert got == {("N1", "J1", "junior", "art"), ("J1", "N1", "junior", "pe"), ("P1", "N1", "primary", "pe"),
                   ("P1", "N1", "primary", "music")}  # fmt: skip
    assert (it["kind"] == "itinerant").all() and (it["term_years"] == 3).all()
    # the lender keeps the teacher: each lent teacher is on the lending school's staff
    assert (county.teachers.loc[it["teacher_id"], "school_id"].to_numpy() == it["from_school_id"].to_numpy()).all()
    # nothing within a 5-minute cap
    assert itinerant_list(county, moved, times, max_travel_min=5, term_years=3).empty


def test_itinerant_lever_adds_listed_rows_to_the_plan(tmp_path) -> None:
    # the lever on the tiny county: 走教 rows appear in the exchange list after the moves, and they move
    # nobody (the after-state's staff equal today's plus the listed moves and recruits)
    import tiny_county

    from planner.loader import load_county
    from planner.plan.pipeline import plan_county
    from planner.scenario import load_scenario

    county = load_county(tiny_county.write_tiny_county(tmp_path / "c"), check_network=False)
    travel, school_times = tiny_county.straight_line_travel(county)
    base = load_scenario(tiny_county.Path(__file__).resolve().parents[1] / "scenarios" / "combined.yaml")
    sc = base.model_copy(update={"levers": base.levers.model_copy(update={"itinerant": True})})
    plan = plan_county(county, sc, travel, school_times, distance_method="straight_line")
    ex = plan.exchange_list
    it = ex[ex["kind"] == "itinerant"]
    assert len(it) > 0 and (it["term_years"] == 3).all()
    moved = ex[ex["kind"] != "itinerant"]
    after = plan.after_county.teachers["school_id"]
    assert not it["teacher_id"].isin(moved["teacher_id"]).any()
    assert (after.loc[it["teacher_id"]].to_numpy() == it["from_school_id"].to_numpy()).all()


def test_rotation_policy_checks_national_floor_and_scenario_targets() -> None:
    # 4 rotated (3 outbound legs, 1 return leg) of 10 eligible = 40%; 1 backbone of 4 = 25%.
    # National floor 10% / 20%: both met. A 天津-style scenario (20% / 50%): share met, backbone not.
    from planner.plan.readback import rotation_policy
    from planner.standards import load_standards

    ex = pd.DataFrame({"teacher_id": ["a", "b", "c", "d", "e"],
                       "kind": ["rotation", "rotation", "rotation", "return", "redeployment"],
                       "category": ["backbone", "other", "pe_art", "other", "backbone"]})  # fmt: skip
    sc = scenario_from_dict({"name": "tianjin", "rotation": {"min_share_of_eligible": 0.2, "min_backbone_share": 0.5}})
    t = rotation_policy(ex, 10, sc, load_standards()).set_index(["check", "item"])
    assert t.loc[("national", "rotation_share"), "value"] == pytest.approx(0.4)
    assert t.loc[("national", "rotation_backbone_share"), "value"] == pytest.approx(0.25)
    assert bool(t.loc[("national", "rotation_share"), "met"]) and bool(
        t.loc[("national", "rotation_backbone_share"), "met"]
    )
    assert bool(t.loc[("scenario", "rotation_share"), "met"])
    assert not bool(t.loc[("scenario", "rotation_backbone_share"), "met"])
    assert t.loc[("scenario", "rotation_backbone_share"), "requirement"] == pytest.approx(0.5)


def test_teachers_follow_their_pupils_to_a_new_school() -> None:
    # A (urban, meeting the teacher indicators): 600 pupils in 450 places, 30 teachers, below its norm of
    # ⌈600 / 19⌉ = 32, so today it may not lose a teacher. Pupils must leave it for a new site (B is out of
    # their reach); the new school has no teacher but those A sends (no recruits). Teachers follow the pupils
    # at A's own 30 / 600 = 0.05 a pupil: A sends at most 0.05 × the pupils it loses, and ends no worse
    # staffed per pupil than today.
    base = tiny_primary(capital_budget_yuan=40e6)
    units = base.units.copy()
    units["area_type"] = ["urban", "rural", "urban", "urban"]
    rows = [("A", "p-QB", "chinese", 10), ("A", "p-Q", "math", 10), ("A", "p-Q", "english", 4), ("A", "p-QP", "pe", 6),
            ("B", "p-QB", "chinese", 8), ("B", "p-Q", "math", 8), ("B", "p-QP", "pe", 4)]  # fmt: skip
    types = pd.DataFrame(
        [{"unit_id": u, "stage": "primary", "type_id": f"{u}:{g}:{s}", "group_id": g, "subject": s, "count": n,
          "above_required": 1, "backbone": int("B" in g[2:]), "pe_art": int(s == "pe"), "eligible": True}
         for u, g, s, n in rows]
    )  # fmt: skip
    parts = base.parts.copy()
    # A meets the three teacher indicators today (4.2, 1 and 0.9 a hundred pupils): an urban giver
    parts.loc[("A", "primary"), ["teachers", "above_required", "backbone", "pe_art"]] = [30, 30, 10, 6]
    parts.loc[("B", "primary"), ["teachers", "above_required", "backbone", "pe_art"]] = [20, 20, 8, 4]
    arcs = base.arcs[base.arcs["unit_id"] != "B"].copy()
    arcs = pd.concat([arcs, base.arcs[base.arcs["settlement_id"].isin(["v4", "v5"]) & (base.arcs["unit_id"] == "B")]])
    arcs = arcs.drop_duplicates()
    inp = replace(base, units=units, parts=parts, teacher_types=types, arcs=arcs, recurrent_budget_yuan=1e6)
    on = {"catchments": True, "new_schools": True, "expansions": False, "resources": True, "rotation": True,
          "hires": False}  # fmt: skip
    sc = scenario_from_dict({"name": "t", "levers": on, "solver": {"gap_rel": 0.0, "cv_iterations": 0}})
    sol = optimise(inp, sc)
    ctx = sol.built.ctx
    pupils_a = ctx.pupils[("A", "primary")].value()
    assert pupils_a <= 450 + 1e-6  # the bottom line: A within its places
    leaving = 600 - pupils_a
    sent = sum(v.varValue for (u, _t), v in ctx.vars["redeploy"].items() if u == "A")
    assert sent >= 1  # the new school gets teachers from A (the policy's way to staff it)
    assert sent <= 0.05 * leaving + 1e-6
    assert (30 - sent) / pupils_a >= 30 / 600 - 1e-9
