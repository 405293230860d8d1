"""What passing costs: a greedy baseline against the optimiser's cheapest passing plan (issue #17, item 3).

**Greedy** (what a bureau does by hand): today's catchments (nearest-school enrolment as it is), no
teacher rotation, no new schools. While a public school part fails the school rule, take the worst
one (most indicators below standard, then the lowest share of a standard) and pass it by its
cheapest means: for each choice of the one indicator allowed at 85% (or none), the equipment
(yuan, at least one 10,000-yuan lot), multimedia sets (whole rooms, at most one per classroom),
the cheapest set of the school's expansion options covering its floor and sports area, and
recruits for the teacher indicators (a PE/art recruit counts for above-required too; the
scenario's hires cap for the county, and at a school no more than its staffing norm allows, as in the
optimiser's model; backbone teachers cannot be recruited). Capital plus one
year's recruits is the cost, as the optimiser's objective states it. A part no choice passes is
left (no land, hires cap used, backbone short, too few classrooms). Every step is applied to the
county with :func:`planner.plan.plan.apply_plan` and judged by the assessment engine
(:mod:`planner.assess`), never by the greedy's own arithmetic.

**Optimiser**: ``planner run`` of the scenario (combined by default) with ``objective:
min_cost_to_pass`` (:mod:`planner.model.cheapest`), the same engine judging its plan.

    python benchmarks/greedy_pass.py [--data geodata/queshan] [--scenario scenarios/combined.yaml]
                                     [--time-limit 240] [--greedy-only]

Prints both plans' capital, recurrent, parts passing, CVs over, and the ratio of the optimiser's passing
budget to the greedy's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.assess import Assessment, assess_parts, school_parts  # noqa: E402
from planner.county import County  # noqa: E402
from planner.plan.instance import limits_of  # noqa: E402
from planner.plan.plan import apply_plan  # noqa: E402
from planner.scenario import Scenario, load_scenario  # noqa: E402
from planner.standards import INDICATORS_BY_KEY, Standards, load_standards  # noqa: E402

log = logging.getLogger("greedy_pass")

_AREA = {"floor_area": "added_floor_area_m2", "sports_area": "added_sports_area_m2"}
_TEACHER = ("above_required", "backbone", "pe_art")


@dataclass
class Greedy:
    """The greedy's decisions so far."""

    projects: list[dict[str, object]] = field(default_factory=list)
    hires: dict[tuple[str, str, int], int] = field(default_factory=dict)  # (school, stage, pe_art) -> count
    taken: set[str] = field(default_factory=set)  # expansion options used
    stuck: dict[tuple[str, str], str] = field(default_factory=dict)  # part -> why no means passes it

    def hired(self) -> int:
        return sum(self.hires.values())

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        proj = pd.DataFrame(self.projects, columns=["kind", "school_id", "item", "quantity", "cost_yuan",
                                                    "added_classrooms", "added_floor_area_m2",
                                                    "added_sports_area_m2"])  # fmt: skip
        hires = pd.DataFrame([{"school_id": s, "stage": g, "pe_art": p, "count": n} for (s, g, p), n in
                              self.hires.items() if n], columns=["school_id", "stage", "pe_art", "count"])  # fmt: skip
        return proj, hires


def _assess(county: County, greedy: Greedy, std: Standards) -> tuple[County, Assessment, pd.DataFrame]:
    """The county as the greedy's decisions would leave it, assessed by the engine."""
    proj, hires = greedy.tables()
    assign = pd.concat(
        [county.settlements[[f"school_{s}_id"]].rename(columns={f"school_{s}_id": "school_id"})
         .assign(stage=s).rename_axis("settlement_id").reset_index() for s in ("primary", "junior")],
        ignore_index=True,
    )  # fmt: skip
    assign = assign[assign["school_id"].astype(str).str.len() > 0]
    none = pd.DataFrame(columns=["teacher_id", "to_school_id"])
    after = apply_plan(county, assign, proj, none, hires, county.schools.iloc[0:0], limits_of(std)["class_limit"])
    parts = school_parts(after, std)
    return after, assess_parts(parts, std), parts


def _means(row_of: dict[str, pd.Series], school: pd.Series, stage: str, pupils_school: float, greedy: Greedy,
           county: County, hires_left: int) -> tuple[float, dict[str, object]] | None:  # fmt: skip
    """The cheapest way to pass one part: (cost, what to do), or None; ``row_of`` its indicator rows."""
    uc = county.parameters.unit_costs
    opts = county.expansion_options
    opts = opts[(opts["school_id"] == school.name) & ~opts["option_id"].isin(greedy.taken)]
    best: tuple[float, dict[str, object]] | None = None
    for relaxed in [None, *row_of]:
        need: dict[str, float] = {}
        for k, r in row_of.items():
            target = float(r["standard"]) * (0.85 if k == relaxed else 1.0)
            if float(r["value"]) >= target - 1e-12:
                continue
            per = INDICATORS_BY_KEY[k].per_pupils
            if k in _TEACHER:  # per part, whole teachers
                need[k] = math.ceil((target - float(r["value"])) * float(r["pupils"]) / per - 1e-9)
            else:  # a school total, split between its parts by pupils
                need[k] = (target - float(r["value"])) * pupils_school / per
        if "backbone" in need:
            continue  # no recruit is a backbone teacher, and the greedy rotates nobody
        pe = int(need.get("pe_art", 0))
        q = max(0, int(need.get("above_required", 0)) - pe)
        if pe + q > hires_left:
            continue
        cost = (pe + q) * uc.teacher_hire_yuan_per_year
        act: dict[str, object] = {"hire_pe": pe, "hire_q": q}
        if "equipment" in need:
            yuan = max(math.ceil(need["equipment"]) + 1.0, 10_000.0)
            act["equipment"] = yuan
            cost += yuan * uc.equipment_yuan_per_yuan
        area = {k: need[k] for k in _AREA if k in need}
        chosen: tuple[pd.Series, ...] = ()
        if area:
            cheapest = None
            rows = [o for _, o in opts.iterrows()]
            for n in range(1, len(rows) + 1):
                for combo in itertools.combinations(rows, n):
                    if all(sum(float(o[_AREA[k]]) for o in combo) >= v - 1e-9 for k, v in area.items()):
                        c = sum(float(o["cost_yuan"]) for o in combo)
                        if cheapest is None or c < cheapest[0]:
                            cheapest = (c, combo)
            if cheapest is None:
                continue  # no expansion option adds enough: land
            cost += cheapest[0]
            chosen = cheapest[1]
        if "multimedia" in need:
            rooms = math.ceil(need["multimedia"] - 1e-9)
            classrooms = int(school["classrooms"]) + sum(int(o["added_classrooms"]) for o in chosen)
            if rooms > classrooms:
                continue
            act["multimedia"] = rooms
            cost += rooms * uc.multimedia_room_yuan
        act["expansions"] = chosen
        if best is None or cost < best[0]:
            best = (cost, act)
    return best


def _why_stuck(row_of: dict[str, pd.Series], school_id: str, county: County, greedy: Greedy, hires_left: int) -> str:
    short = [k for k, r in row_of.items() if float(r["ratio"]) < 1]
    low = [k for k in short if float(row_of[k]["ratio"]) < 0.85]
    opts = county.expansion_options
    has = opts[(opts["school_id"] == school_id) & ~opts["option_id"].isin(greedy.taken)]
    why = []
    if "backbone" in short:
        why.append("backbone (no recruit, no rotation)")
    if any(k in _AREA for k in low + short) and has.empty:
        why.append("land (no expansion option)")
    elif any(k in _AREA for k in short):
        why.append("expansion options too small")
    if any(k in ("above_required", "pe_art") for k in short) and hires_left <= 0:
        why.append("recruits: staffing norm (编制) or hires cap")
    return "; ".join(why) or "other"


def greedy_pass(county: County, scenario: Scenario, std: Standards) -> dict[str, object]:
    """Run the greedy to the end; its figures, judged by the assessment engine."""
    t0 = time.perf_counter()
    greedy = Greedy()
    cap = scenario.hires.max_total if scenario.levers.hires else 0
    uc = county.parameters.unit_costs
    norm = limits_of(std)["staffing_norm"]
    steps = 0
    while True:
        after, a, parts = _assess(county, greedy, std)
        schools = a.schools
        fail = schools[schools["assessed"].astype(bool) & ~schools["passes"].fillna(False).astype(bool)
                       & schools["ownership"].eq("public")]  # fmt: skip
        fail = fail[[(s, g) not in greedy.stuck for s, g in zip(fail["school_id"], fail["stage"], strict=True)]]
        if fail.empty:
            break
        order = fail.assign(n_missed=[len([k for k in str(m).split(";") if k]) for m in fail["missed"]])
        worst = order.sort_values(["n_missed", "worst_ratio"], ascending=[False, True], kind="stable").iloc[0]
        sid, stage = str(worst["school_id"]), str(worst["stage"])
        ind = a.indicators
        rows = ind[(ind["school_id"] == sid) & (ind["stage"] == stage)]
        row_of = {str(r["indicator"]): r for _, r in rows.iterrows()}
        school = after.schools.loc[sid]
        pupils_school = float(school["pupils_primary"]) + float(school["pupils_junior"])
        # recruits: the county's cap, and the staffing norm (编制) — a school never ends above the larger of its
        # teachers today and its norm, one post per 19 primary / 13.5 junior pupils (as the optimiser's model)
        part = parts[(parts["school_id"] == sid) & (parts["stage"] == stage)].iloc[0]
        posts = math.ceil(float(part["pupils"]) / norm[stage] - 1e-9)
        left = min(cap - greedy.hired(), max(0, posts - int(part["teachers"])))
        found = _means(row_of, school, stage, pupils_school, greedy, county, left)
        if found is None:
            greedy.stuck[(sid, stage)] = _why_stuck(row_of, sid, county, greedy, left)
            continue
        _cost, act = found
        for o in act["expansions"]:  # type: ignore[union-attr]
            greedy.taken.add(str(o["option_id"]))
            greedy.projects.append({"kind": "expansion", "school_id": sid, "item": o["option_id"], "quantity": 1,
                                    "cost_yuan": float(o["cost_yuan"]), "added_classrooms": int(o["added_classrooms"]),
                                    "added_floor_area_m2": float(o["added_floor_area_m2"]),
                                    "added_sports_area_m2": float(o["added_sports_area_m2"])})  # fmt: skip
        if act.get("equipment"):
            y = float(act["equipment"])  # type: ignore[arg-type]
            greedy.projects.append({"kind": "equipment", "school_id": sid, "item": "equipment", "quantity": y,
                                    "cost_yuan": y * uc.equipment_yuan_per_yuan})  # fmt: skip
        if act.get("multimedia"):
            n = int(act["multimedia"])  # type: ignore[arg-type]
            greedy.projects.append({"kind": "multimedia", "school_id": sid, "item": "multimedia", "quantity": n,
                                    "cost_yuan": n * uc.multimedia_room_yuan})  # fmt: skip
        for pe_art, key in ((1, "hire_pe"), (0, "hire_q")):
            n = int(act[key])  # type: ignore[arg-type]
            if n:
                greedy.hires[(sid, stage, pe_art)] = greedy.hires.get((sid, stage, pe_art), 0) + n
        steps += 1
        # the engine has the last word: a part the step did not pass is not tried again
        _after, check, _parts = _assess(county, greedy, std)
        row = check.schools[(check.schools["school_id"] == sid) & (check.schools["stage"] == stage)].iloc[0]
        if not bool(row["passes"]):
            greedy.stuck[(sid, stage)] = "step did not pass it (assessment engine)"
    proj, hires = greedy.tables()
    capital = float(proj["cost_yuan"].sum()) if len(proj) else 0.0
    recurrent = float(hires["count"].sum()) * uc.teacher_hire_yuan_per_year if len(hires) else 0.0
    return {"assessment": a, "capital_yuan": capital, "recurrent_yuan_per_year": recurrent, "steps": steps,
            "stuck": dict(greedy.stuck), "hired": greedy.hired(), "seconds": time.perf_counter() - t0,
            "projects": proj}  # fmt: skip


def figures(a: Assessment) -> dict[str, object]:
    """Parts passing per stage, CVs over, county verdict: from the assessment alone."""
    s = a.schools[a.schools["assessed"].astype(bool)]
    out: dict[str, object] = {}
    for stage in ("primary", "junior"):
        part = s[s["stage"] == stage]
        out[f"{stage}_passing"] = f"{int(part['passes'].astype(bool).sum())}/{len(part)}"
    out["parts_failing"] = int((~s["passes"].astype(bool)).sum())
    out["cvs_over"] = [f"{r.stage}:{r.indicator} {r.cv:.3f}" for r in a.balance[~a.balance["met"]].itertuples()]
    out["passes"] = bool(a.summary["passes"].astype(bool).all())
    return out


def optimiser(county: County, scenario: Scenario, time_limit_s: float, bottom_lines: str = "today",
              greedy_levers: bool = False, parts: tuple[str, ...] = ()) -> dict[str, object]:  # fmt: skip
    """The optimiser's cheapest passing plan, read from the plan and its assessment.

    ``greedy_levers``: only the greedy's means (equipment and rooms, expansions, recruits): no re-zoning, no
    new schools, no rotation. ``parts``: pass these parts only (``cheapest.parts``, e.g. the greedy's set).
    """
    from planner.plan.pipeline import plan_county
    from planner.travel import plan_travel_times

    solver = scenario.solver.model_copy(update={"time_limit_s": time_limit_s})
    update: dict[str, object] = {
        "objective": "min_cost_to_pass",
        "solver": solver,
        "cheapest": scenario.cheapest.model_copy(update={"bottom_lines": bottom_lines, "parts": parts}),
    }
    if greedy_levers:
        update["levers"] = scenario.levers.model_copy(
            update={"catchments": False, "new_schools": False, "rotation": False, "closures": False}
        )
    sc = scenario.model_copy(update=update)  # fmt: skip
    travel = plan_travel_times(county, sc)
    t0 = time.perf_counter()
    plan = plan_county(county, sc, travel.long, travel.school_times, distance_method=travel.method)
    table = plan.extra_tables["no_money_fix"]
    return {"plan": plan, "capital_yuan": plan.costs["capital_yuan"],
            "recurrent_yuan_per_year": plan.costs["recurrent_yuan_per_year"], "status": plan.solver.description,
            "seconds": time.perf_counter() - t0, "no_money_fix": table, "notes": plan.notes[:2]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "geodata" / "queshan")
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    ap.add_argument("--time-limit", type=float, default=240.0, help="the optimiser's two stages together (s)")
    ap.add_argument("--greedy-only", action="store_true")
    ap.add_argument(
        "--bottom-lines",
        choices=("today", "best"),
        default="today",
        help="the optimiser's cheapest.bottom_lines setting",
    )
    ap.add_argument(
        "--greedy-levers",
        action="store_true",
        help="the optimiser with the greedy's means only (no re-zoning, new schools or rotation)",
    )
    ap.add_argument(
        "--greedy-set",
        action="store_true",
        help="the optimiser passes the parts the greedy passes, and no more (cheapest.parts)",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="log the solves")
    ap.add_argument("--save", type=Path, help="folder to write the optimiser's plan tables and the greedy's into")
    args = ap.parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s")
    from planner.loader import load_county

    county = load_county(args.data)
    scenario = load_scenario(args.scenario)
    std = load_standards()
    before = assess_parts(school_parts(county, std), std)
    print("before:", json.dumps(figures(before), ensure_ascii=False))
    g = greedy_pass(county, scenario, std)
    gf = figures(g["assessment"])  # type: ignore[arg-type]
    print(f"greedy: capital {g['capital_yuan'] / 1e4:,.1f} 万元, recruits {g['hired']} "
          f"({g['recurrent_yuan_per_year'] / 1e4:,.1f} 万元/年), {g['steps']} steps, {g['seconds']:.1f} s")  # fmt: skip
    print("greedy:", json.dumps(gf, ensure_ascii=False))
    gp = g["projects"]
    print("greedy: capital by kind (projects, 万元):",
          {k: (int(r["size"]), round(float(r["sum"]) / 1e4, 1)) for k, r in
           gp.groupby("kind")["cost_yuan"].agg(["size", "sum"]).iterrows()} if len(gp) else {})  # type: ignore[union-attr]  # fmt: skip
    why = pd.Series(list(g["stuck"].values()), dtype=object).value_counts()  # type: ignore[union-attr]
    print("greedy: parts it cannot pass, by reason:", why.to_dict())
    if args.greedy_only:
        return 0
    passing = g["assessment"].schools  # type: ignore[union-attr]
    passing = passing[passing["assessed"].astype(bool) & passing["passes"].fillna(False).astype(bool)]
    ids = zip(passing["school_id"], passing["stage"], strict=True)
    parts = tuple(f"{sid}:{stage}" for sid, stage in ids) if args.greedy_set else ()
    o = optimiser(county, scenario, args.time_limit, args.bottom_lines, args.greedy_levers, parts)
    of = figures(o["plan"].after)  # type: ignore[union-attr]
    what = (f"min_cost_to_pass, bottom lines {args.bottom_lines}{', greedy levers' if args.greedy_levers else ''}"
            f"{f', the greedy set of {len(parts)} parts' if parts else ''}")  # fmt: skip
    print(f"optimiser ({what}, {args.time_limit:g} s): capital {o['capital_yuan'] / 1e4:,.1f} 万元, "
          f"recurrent {o['recurrent_yuan_per_year'] / 1e4:,.1f} 万元/年, {o['status']}, "
          f"{o['seconds']:.0f} s")  # fmt: skip
    print("optimiser:", json.dumps(of, ensure_ascii=False))
    proj = o["plan"].projects  # type: ignore[union-attr]
    by_kind = proj.groupby("kind")["cost_yuan"].agg(["size", "sum"]) if len(proj) else pd.DataFrame()
    print("optimiser: capital by kind (projects, 万元):",
          {k: (int(r["size"]), round(float(r["sum"]) / 1e4, 1)) for k, r in by_kind.iterrows()})  # fmt: skip
    print(
        "optimiser: recruits",
        int(o["plan"].hires["count"].sum()) if len(o["plan"].hires) else 0,  # type: ignore[union-attr]
        "rotated",
        int((o["plan"].exchange_list["kind"] == "rotation").sum()),
    )  # type: ignore[union-attr]
    for n in o["notes"]:  # type: ignore[union-attr]
        print("optimiser:", n)
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, frame in o["plan"].tables().items():  # type: ignore[union-attr]
            frame.to_csv(args.save / f"optimiser_{name}.csv", index=False, encoding="utf-8-sig")
        o["plan"].after.schools.to_csv(args.save / "optimiser_schools.csv", index=False, encoding="utf-8-sig")  # type: ignore[union-attr]
        g["projects"].to_csv(args.save / "greedy_projects.csv", index=False, encoding="utf-8-sig")  # type: ignore[union-attr]
        g["assessment"].schools.to_csv(args.save / "greedy_schools.csv", index=False, encoding="utf-8-sig")  # type: ignore[union-attr]
    t = o["no_money_fix"]
    print("optimiser: no money can fix, by what binds:",
          t[t["source"] == "school"]["binds"].value_counts().to_dict())  # fmt: skip
    gc, oc = float(g["capital_yuan"]), float(o["capital_yuan"])  # type: ignore[arg-type]
    gt = gc + float(g["recurrent_yuan_per_year"])  # type: ignore[arg-type]
    ot = oc + float(o["recurrent_yuan_per_year"])  # type: ignore[arg-type]
    print(f"ratio optimiser / greedy: capital {oc / gc if gc else math.nan:.3f}, "
          f"capital + one year's recurrent {ot / gt if gt else math.nan:.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
