"""The ``planner`` command.

Exit codes
----------
0  success
1  internal error (a bug: please report it with ``--debug`` output)
2  bad input: data folder, parameters or scenario break a rule (message names file, row, field)
3  output problem: the run directory exists already or cannot be written
130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from planner import __version__
from planner.errors import PlannerError

DEFAULT_DATA = Path("geodata/queshan")
DEFAULT_SCENARIO = Path("scenarios/combined.yaml")

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class _Output:
    """Everything the CLI prints goes through here (``--quiet`` / ``--json``)."""

    def __init__(self, quiet: bool, as_json: bool) -> None:
        self.quiet = quiet or as_json
        self.as_json = as_json
        #: where the JSON goes (:func:`_stdout_for_json`); None: ``sys.stdout``
        self.stream: TextIO | None = None

    def say(self, text: str = "") -> None:
        if not self.quiet:
            print(text)

    def result(self, data: dict[str, Any], indent: int | None = 2) -> None:
        if self.as_json:
            print(json.dumps(data, ensure_ascii=False, indent=indent, default=str), file=self.stream or sys.stdout,
                  flush=True)  # fmt: skip


@contextlib.contextmanager
def _descriptor_1(target: int) -> Iterator[int | None]:
    """File descriptor 1 pointed at ``target`` for the block, where C libraries write below ``sys.stdout``; yields a
    copy of the original descriptor, or None where there is none (standard output closed: nothing is moved)."""
    if sys.stdout is not None:  # None when the process started with descriptor 1 closed
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield None
        return
    os.dup2(target, 1)
    try:
        yield saved
    finally:
        if sys.stdout is not None:
            sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _swallow_solver_banner() -> None:
    """Let HiGHS print its banner now, into ``/dev/null``: it prints it on file descriptor 1, once a process, when
    the first solver is made, and ``--quiet`` prints nothing but errors (``--json`` nothing but its object)."""
    try:
        import highspy
    except ImportError:  # pragma: no cover - a dependency; without it no solve prints anything either
        return
    with open(os.devnull, "w", encoding="utf-8") as null, _descriptor_1(null.fileno()):
        highspy.Highs()


@contextlib.contextmanager
def _stdout_for_json(out: _Output) -> Iterator[None]:
    """With ``--json``, keep standard output for the JSON alone.

    C libraries write to file descriptor 1 themselves: HiGHS's banner put two lines of text before the object a
    script parses (it is swallowed first, :func:`_swallow_solver_banner`; this keeps anything else a library
    prints there out of the JSON too). For the command's duration descriptor 1 goes to standard error, and the
    JSON is written to a copy of the original descriptor.
    """
    if not out.as_json:
        yield
        return
    with _descriptor_1(2) as saved:
        if saved is None:  # standard output closed: there is nowhere to keep clean
            yield
            return
        with os.fdopen(os.dup(saved), "w", encoding="utf-8") as stream:
            out.stream = stream
            try:
                yield
            finally:
                out.stream = None


def _positive_number(text: str) -> float:
    """A finite number > 0 from the command line (nan, inf, 0 and negatives are refused, exit 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number greater than 0")
    return value


def _add_strict(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--strict",
        action="store_true",
        help="treat borderline values (plausibility warnings, docs/data.md) as errors (exit 2)",
    )


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results (for scripts)")
    p.add_argument("--debug", action="store_true", help="show log messages and full tracebacks")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="planner",
        description=(
            "义务教育优质均衡发展规划 — plan teacher rotation, school places and catchments so a county "
            "meets the national quality-balanced compulsory-education standard."
        ),
        epilog="Exit codes: 0 ok, 1 internal error, 2 bad input, 3 output problem, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"planner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "check",
        help="validate a county data folder and print its summary",
        description="Check every rule of the data contract (docs/data.md) and print a summary: "
        "schools by stage, pupils, teachers, settlements, road length, candidate sites.",
    )
    p.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help=f"county folder (default {DEFAULT_DATA})")
    p.add_argument("--scenario", nargs="+", type=Path, default=[], metavar="FILE",
                   help="also check these scenarios against the county (ids they name, budgets)")  # fmt: skip
    _add_strict(p)
    _add_common(p)

    p = sub.add_parser(
        "assess",
        help="write the self-assessment workbook (自评表) for a county",
        description="Assess every school against the 7 resource indicators, the 6-of-7 rule and the "
        "CV thresholds, and write an Excel self-assessment workbook with CSV copies.",
    )
    p.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help=f"county folder (default {DEFAULT_DATA})")
    p.add_argument("--out", type=Path, required=True, help="new folder to write (must not exist)")
    p.add_argument("--standards", type=Path, help="provincial YAML overriding national thresholds")
    _add_strict(p)
    _add_common(p)

    p = sub.add_parser(
        "run",
        help="run the planner on a county and write a run directory",
        description="Load and validate the county, build travel times, report access, assess the baseline, "
        "optimise the scenario's plan, assess the county after it, and write everything to a new run directory "
        "(runs/<scenario>-<time>), atomically.",
    )
    p.add_argument("scenario", nargs="?", type=Path, help=f"scenario YAML (default {DEFAULT_SCENARIO})")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"county folder (default {DEFAULT_DATA})")
    p.add_argument("--out", type=Path, help="run directory to create (default runs/<name>-<timestamp>)")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="where run directories go (default runs/)")
    p.add_argument(
        "--time-limit", type=_positive_number, help="solver time limit in seconds (overrides the scenario's)"
    )
    p.add_argument(
        "--start-only",
        action="store_true",
        help="take the start heuristic's plan without the full MIP (its gap is measured against the LP bound); "
        "minutes quicker on a large county",
    )
    p.add_argument(
        "--no-marginal",
        action="store_true",
        help="skip the two re-solves at ±10%% budget for the budget justification (quicker; the justification "
        "then says no re-solve was made)",
    )
    p.add_argument(
        "--no-maps",
        action="store_true",
        help="skip the GeoPackage, the static maps, the HTML map and the public-notice pages (report.maps: false); "
        "tables, workbook, justification and catchment read-outs are still written",
    )
    _add_strict(p)
    _add_common(p)

    p = sub.add_parser(
        "compare",
        help="compare run directories side by side",
        description="Read several run directories and write a side-by-side table (cost, schools passing, CV per "
        "indicator and stage, unmet standards, pupils re-zoned, teachers moved, mean and worst travel time) as "
        "Excel, CSV, PNG and an offline HTML page.",
    )
    p.add_argument("runs", nargs="+", type=Path, help="run directories written by planner run")
    p.add_argument("--out", type=Path, required=True, help="new folder to write the comparison into")
    _add_common(p)

    p = sub.add_parser(
        "sweep",
        help="re-solve a scenario over a range of capital budgets",
        description="Plan the scenario at each capital budget of FROM:TO:STEPS (yuan; a 万 suffix means 10,000 "
        "yuan) and draw unmet standards and CVs against budget, marking the smallest budget at which the county "
        "passes resource allocation.",
    )
    p.add_argument("scenario", type=Path, help="scenario YAML")
    p.add_argument("--budget", required=True, help="FROM:TO:STEPS, e.g. 0:300000000:7 or 0万:30000万:7")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"county folder (default {DEFAULT_DATA})")
    p.add_argument("--out", type=Path, required=True, help="new folder to write the sweep into")
    p.add_argument("--no-cheapest", action="store_true",
                   help="skip the cheapest passing plan (objective min_cost_to_pass) that names the smallest passing "
                   "budget and what no money can fix")  # fmt: skip
    _add_strict(p)
    _add_common(p)

    p = sub.add_parser(
        "batch",
        help="run many counties × scenarios as Dask tasks (prefecture review)",
        description="Run every (county, scenario) pair as one planner run on Dask: an in-process LocalCluster by "
        "default, or an existing cluster with --scheduler. Each task writes OUT/runs/<county>/<scenario>/ "
        "atomically; a task whose run directory is complete is skipped, so re-running finishes a batch. Writes "
        "OUT/batch_summary.csv and .xlsx (passes or not, cost, unmet standards, CVs, smallest passing budget) and "
        "OUT/prefecture_map.png. Exit code 2 when some task failed (its message is in the summary).",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--counties", nargs="+", type=Path, metavar="DIR", help="county folders")
    where.add_argument("--prefecture", action="store_true",
                       help="the 10 counties of 驻马店市 (synthetic; generated into a cache on first use)")  # fmt: skip
    p.add_argument("--scenarios", nargs="+", type=Path, metavar="FILE", help=f"scenario YAML files (default "
                   f"{DEFAULT_SCENARIO})")  # fmt: skip
    p.add_argument("--budgets", help="budget grid: multipliers of each county's budgets, e.g. 0.8,1.0,1.2")
    p.add_argument("--scheduler", help="tcp://HOST:PORT of an existing Dask scheduler (default: a LocalCluster)")
    p.add_argument("--workers", type=int, help="LocalCluster worker processes (default: this machine's cores)")
    p.add_argument("--retries", type=int, default=2, help="re-runs of a task after a crash or a dead worker")
    p.add_argument(
        "--time-limit", type=_positive_number, help="solver time limit per task in seconds (overrides scenarios')"
    )
    p.add_argument("--out", type=Path, required=True, help="batch folder (re-use it to resume a batch)")
    _add_common(p)

    p = sub.add_parser(
        "template",
        help="write blank Excel templates for a county's tables",
        description="Write one Excel workbook per table with Chinese and English headers and a field "
        "guide. With --from, fill them with an existing county's data.",
    )
    p.add_argument("out", type=Path, help="folder to write the templates into")
    p.add_argument("--from", dest="source", type=Path, help="county folder whose data fills the templates")
    _add_common(p)

    p = sub.add_parser(
        "generate",
        help="regenerate the bundled synthetic county data",
        description="Regenerate the deterministic synthetic county (byte for byte the committed files).",
    )
    p.add_argument("--county", default="411725", help="adcode (default 411725, 确山县)")
    p.add_argument("--out", type=Path, default=DEFAULT_DATA, help=f"folder to write (default {DEFAULT_DATA})")
    p.add_argument("--scale", type=_positive_number, default=1.0, help="make a county this many times larger (2, 4, 8)")
    p.add_argument("--seed", type=int, help="random seed (default: the bundled data's seed)")
    p.add_argument(
        "--boundary",
        type=Path,
        help="GeoJSON of county boundaries holding the adcode (default geodata/county_boundaries.geojson)",
    )
    _add_common(p)

    p = sub.add_parser(
        "serve",
        help="the planner in a browser: a local web application for bureau staff",
        description="Start a local web application (Chinese first) on 127.0.0.1: upload or choose a county, set a "
        "scenario in a form, queue runs and watch their progress, see results and compare runs (docs/web.md). "
        "Another address (--host) needs --token or --password-file.",
    )
    p.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"county folder offered first (default {DEFAULT_DATA})"
    )
    p.add_argument("--runs", type=Path, default=Path("runs"), help="where run directories go (default runs/)")
    p.add_argument(
        "--scenarios", type=Path, default=Path("scenarios"), help="scenario files offered (default scenarios/)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this computer only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--token", help="access token the login page asks for (needed with --host)")
    who.add_argument("--password-file", type=Path, help="file whose first line is the access token")
    p.add_argument("--max-upload-mb", type=float, default=50.0, help="largest upload in MB (default 50)")
    p.add_argument("--parallel", type=int, default=1, help="solves run at once (default 1)")
    _add_common(p)
    return parser


# --------------------------------------------------------------------------- commands


def _cmd_check(args: argparse.Namespace, out: _Output) -> int:
    from planner.loader import format_summary, load_county, summarise

    county = load_county(args.data, strict=args.strict)
    summary = summarise(county)
    if args.scenario:
        from planner.scenario import load_scenario
        from planner.scenario_check import budget_warnings, validate_against_county

        for path in args.scenario:
            scenario = load_scenario(path)
            validate_against_county(scenario, county)
            summary["warnings"] += budget_warnings(scenario, county, strict=args.strict)
    out.say(f"✓ {args.data}: 数据检查通过 all data rules pass")
    out.say(format_summary(summary))
    out.result({"ok": True, "summary": summary})
    return EXIT_OK


def _cmd_template(args: argparse.Namespace, out: _Output) -> int:
    from planner.templates import write_templates

    county = None
    if args.source:
        from planner.loader import load_county

        county = load_county(args.source, check_network=False)
    try:
        paths = write_templates(args.out, county)
    except OSError as exc:  # --out under a file, or not writable: an output problem, not a bug
        from planner.rundir import RunDirError

        raise RunDirError(f"{args.out}: cannot write templates here ({exc.strerror or exc})") from None
    for p in paths:
        out.say(f"  {p}")
    out.say(f"✓ 已写入模板 wrote {len(paths)} templates to {args.out}")
    out.result({"ok": True, "files": [str(p) for p in paths]})
    return EXIT_OK


def _cmd_generate(args: argparse.Namespace, out: _Output) -> int:
    from planner.synth.generate import generate_county

    kwargs: dict[str, Any] = {"adcode": args.county, "out_dir": args.out, "scale": args.scale}
    if args.seed is not None:
        kwargs["seed"] = args.seed
    if args.boundary is not None:
        kwargs["boundary_path"] = args.boundary
    try:
        generate_county(**kwargs)
    except FileNotFoundError as exc:  # an adcode with no boundary, or a --boundary file that is missing
        from planner.errors import DataError

        raise DataError(f"--county {args.county}", str(exc).strip("'\"")) from None
    out.say(f"✓ generated {args.county} (scale {args.scale:g}) into {args.out}")
    out.result({"ok": True, "out": str(args.out)})
    return EXIT_OK


def _cmd_assess(args: argparse.Namespace, out: _Output) -> int:
    from planner.assess import assess
    from planner.loader import load_county
    from planner.report.selfassessment import write_self_assessment
    from planner.rundir import atomic_run_dir, ensure_new
    from planner.standards import load_standards

    standards = load_standards(args.standards)  # a bad standards file fails before the county load
    ensure_new(args.out)  # an --out that exists or lies under a file fails before the work
    county = load_county(args.data, strict=args.strict)
    assessment = assess(county, standards)
    with atomic_run_dir(args.out) as tmp:
        write_self_assessment(assessment, tmp)
    out.say(f"✓ 自评表已写入 self-assessment written to {args.out}")
    for w in county.warnings:  # borderline values (docs/data.md, plausibility), as planner check lists them
        out.say(f"  ⚠ {w}")
    for line in _summary_lines(assessment):
        out.say("  " + line)
    out.result({"ok": True, "out": str(args.out), "summary": _summary_lines(assessment)})
    return EXIT_OK


def _summary_lines(assessment: Any) -> list[str]:
    summary = getattr(assessment, "summary", None)
    if summary is None:
        return []
    col = next((c for c in summary.columns if "结论" in str(c) or "verdict" in str(c).lower()), summary.columns[-1])
    return [str(v) for v in summary[col]]


def _cmd_run(args: argparse.Namespace, out: _Output) -> int:
    from tqdm import tqdm

    from planner.plan.variants import with_report, with_solver, with_time_limit
    from planner.rundir import new_run_path
    from planner.runner import STAGES, run_plan
    from planner.scenario import default_scenario, load_scenario

    scenario_path = args.scenario or (DEFAULT_SCENARIO if DEFAULT_SCENARIO.exists() else None)
    scenario = load_scenario(scenario_path) if scenario_path else default_scenario()
    scenario = with_time_limit(scenario, args.time_limit)
    if args.start_only:
        scenario = with_solver(scenario, full_mip=False)
    if args.no_maps:
        scenario = with_report(scenario, maps=False)
    target = args.out or new_run_path(args.runs, scenario.name)
    if args.strict:  # borderline values refused before the run starts (run_plan loads the county itself)
        from planner.loader import load_county

        load_county(args.data, check_network=False, strict=True)
    with tqdm(total=len(STAGES), disable=out.quiet, desc="planner run", unit="stage", file=sys.stderr) as bar:
        result = run_plan(args.data, scenario, target, scenario_file=scenario_path, bar=bar,
                          marginal=False if args.no_marginal else None)  # fmt: skip

    out.say(result["county_summary"])
    if result["access_text"]:
        out.say("")
        out.say(result["access_text"])
    out.say("")
    out.say(result["plan_summary"])
    out.say("")
    out.say(f"✓ 结果目录 run directory: {target}")
    out.result({"ok": True, "run_dir": str(target), "status": result["status"], "gap": result["gap"],
                "objective": result["objective"], "bound": result["bound"], "costs": result["costs"],
                "rezoning": result["rezoning"], "timings_s": result["timings_s"]})  # fmt: skip
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace, out: _Output) -> int:
    from planner.report.compare import comparison_table, write_comparison
    from planner.rundir import atomic_run_dir

    table = comparison_table(args.runs)
    with atomic_run_dir(args.out) as tmp:
        files = write_comparison(table, tmp, run_dirs=list(args.runs))
    cols = ["scenario", "capital_yuan", "primary_passing", "junior_passing", "unmet_standards", "pupils_rezoned"]
    out.say(table[cols].to_string(index=False))
    out.say(f"✓ 方案比较已写入 comparison written to {args.out} ({len(files)} files)")
    out.result({"ok": True, "out": str(args.out), "rows": table.to_dict("records")})
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace, out: _Output) -> int:
    from tqdm import tqdm

    from planner.loader import load_county
    from planner.plan.variants import (
        cheapest_passing,
        cheapest_summary,
        parse_budget_range,
        run_sweep,
        smallest_passing_budget,
    )
    from planner.report.sweep import write_sweep
    from planner.rundir import atomic_run_dir, ensure_new
    from planner.scenario import load_scenario
    from planner.travel import plan_travel_times

    budgets = parse_budget_range(args.budget)
    if not all(math.isfinite(b) for b in budgets):  # nan/inf amounts are refused up front, not by the solver
        from planner.errors import ScenarioError

        raise ScenarioError(f"--budget {args.budget!r}: amounts must be finite numbers of yuan")
    scenario = load_scenario(args.scenario)
    ensure_new(args.out)  # before the slow work, not only at the end
    county = load_county(args.data, strict=args.strict)
    travel = plan_travel_times(county, scenario)
    steps = len(budgets) + (0 if args.no_cheapest else 1)
    with tqdm(total=steps, disable=out.quiet, desc="planner sweep", unit="solve", file=sys.stderr) as bar:
        table = run_sweep(county, scenario, budgets, travel.long, travel.school_times,
                          distance_method=travel.method, progress=lambda i, b: bar.update())  # fmt: skip
        cheapest = nm = None
        if not args.no_cheapest:  # the smallest passing budget, solved for directly (planner/model/cheapest.py)
            plan = cheapest_passing(county, scenario, travel.long, travel.school_times, distance_method=travel.method)
            cheapest, nm = cheapest_summary(plan), plan.extra_tables["no_money_fix"]
            bar.update()
    with atomic_run_dir(args.out) as tmp:
        write_sweep(table, tmp, cheapest, nm)
    best = smallest_passing_budget(table)
    out.say(
        table[["capital_budget_yuan", "capital_yuan", "unmet_standards", "schools_failing", "passes"]].to_string(
            index=False
        )
    )
    out.say(
        f"预算网格中的最小达标预算 smallest passing budget of the grid: {best / 1e4:,.0f} 万元" if best is not None
        else "在测算范围内未能达标 the county does not pass within the budgets swept"
    )  # fmt: skip
    if cheapest is not None:
        n = cheapest["no_money_fix_parts"]
        if n or cheapest["no_money_fix_cvs"]:
            out.say(f"无论投入多少都无法达标 no money can fix: {n} 个学校学段 school parts "
                    f"({cheapest['no_money_fix_binds'] or '—'}), {cheapest['no_money_fix_cvs']} 项差异系数 CVs "
                    f"(见 see no_money_fix.csv)")  # fmt: skip
        label = "最小达标预算 smallest passing budget" if cheapest["passes"] else (
            "其余全部达标的最低投入 cheapest plan passing the rest")  # fmt: skip
        out.say(f"{label}: 资本性 capital {cheapest['capital_yuan'] / 1e4:,.1f} 万元 + 经常性 recurrent "
                f"{cheapest['recurrent_yuan_per_year'] / 1e4:,.1f} 万元/年 "
                f"({cheapest['solver_description']})")  # fmt: skip
    out.say(f"✓ 预算测算已写入 sweep written to {args.out}")
    out.result({"ok": True, "out": str(args.out), "smallest_passing_budget_yuan": best, "cheapest": cheapest,
                "rows": table.to_dict("records")})  # fmt: skip
    return EXIT_OK


def _cmd_batch(args: argparse.Namespace, out: _Output) -> int:
    import distributed  # noqa: F401  (sets its loggers' levels on import; quieted below)

    from planner.batch import make_tasks, parse_budget_scales, run_batch, write_batch_summary
    from planner.scenario import default_scenario, load_scenario

    if not args.debug:
        logging.getLogger("distributed").setLevel(logging.ERROR)
    if args.workers is not None and args.workers < 1:
        from planner.errors import ScenarioError

        raise ScenarioError(f"--workers {args.workers}: must be at least 1")
    if args.retries < 0:
        from planner.errors import ScenarioError

        raise ScenarioError(f"--retries {args.retries}: must be 0 or more")
    scales = parse_budget_scales(args.budgets) if args.budgets else None
    if args.scenarios:
        scenarios = [(load_scenario(p), p) for p in args.scenarios]
    else:  # as planner run: scenarios/combined.yaml, or the built-in combined scenario outside the repo
        scenarios = [(load_scenario(DEFAULT_SCENARIO), DEFAULT_SCENARIO) if DEFAULT_SCENARIO.exists()
                     else (default_scenario(), None)]  # fmt: skip
    if args.prefecture:
        from planner.synth.prefecture import prefecture_dirs

        out.say("驻马店市 10 个县区（合成数据 synthetic data）…")
        counties = prefecture_dirs()
    else:
        counties = args.counties
    tasks = make_tasks(counties, scenarios, args.out, budget_scales=scales, time_limit_s=args.time_limit)
    table = run_batch(tasks, scheduler=args.scheduler, workers=args.workers, retries=args.retries,
                      progress=not out.quiet)  # fmt: skip
    files = write_batch_summary(table, args.out)
    cols = ["county", "scenario", "state", "passes", "capital_yuan", "unmet_standards", "smallest_passing_budget_yuan"]
    out.say(table[cols].to_string(index=False))
    for r in table[table["state"] == "failed"].itertuples(index=False):
        print(f"错误 error: {r.county} {r.scenario}: {r.message}", file=sys.stderr)
    n = table["state"].value_counts()
    out.say(f"✓ 批量任务 batch: {n.get('done', 0)} done, {n.get('skipped', 0)} skipped (complete), "
            f"{n.get('failed', 0)} failed; summary in {args.out} ({len(files)} files)")  # fmt: skip
    out.result({"ok": not n.get("failed", 0), "out": str(args.out), "rows": table.to_dict("records")})
    return EXIT_INPUT if n.get("failed", 0) else EXIT_OK


def _cmd_serve(args: argparse.Namespace, out: _Output) -> int:
    from planner.web.security import ServeError, read_password_file
    from planner.web.server import serve
    from planner.web.settings import WebSettings

    if args.parallel < 1:
        raise ServeError(f"--parallel {args.parallel}: must be at least 1")
    if not 0 <= args.port <= 65535:
        raise ServeError(f"--port {args.port}: must be 0-65535")
    if args.max_upload_mb <= 0:
        raise ServeError(f"--max-upload-mb {args.max_upload_mb:g}: must be a positive number of MB")
    token = read_password_file(args.password_file) if args.password_file else args.token
    settings = WebSettings(data_dir=args.data.resolve(), runs_dir=args.runs.resolve(),
                           scenarios_dir=args.scenarios.resolve(), host=args.host, port=args.port, token=token,
                           max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                           parallel_runs=args.parallel)  # fmt: skip

    def announce(url: str) -> None:
        # the address is printed even with --quiet: a person has to open it
        if out.as_json:
            out.result({"ok": True, "url": url}, indent=None)
        else:
            print(f"planner serve: {url}  (Ctrl-C 停止 stop)", flush=True)

    serve(settings, announce)
    return EXIT_OK


COMMANDS = {
    "check": _cmd_check,
    "assess": _cmd_assess,
    "run": _cmd_run,
    "template": _cmd_template,
    "compare": _cmd_compare,
    "sweep": _cmd_sweep,
    "generate": _cmd_generate,
    "batch": _cmd_batch,
    "serve": _cmd_serve,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``planner`` command; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage error (2), or --help / --version (0)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    if not args.command:
        parser.print_help()
        return EXIT_INPUT
    debug = getattr(args, "debug", False)
    logging.basicConfig(level=logging.INFO if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = _Output(getattr(args, "quiet", False), getattr(args, "json", False))
    if out.quiet:
        _swallow_solver_banner()
    with _stdout_for_json(out):
        try:
            return COMMANDS[args.command](args, out)
        except PlannerError as exc:
            print(f"错误 error: {exc}", file=sys.stderr)
            out.result({"ok": False, "error": str(exc)}, indent=None)
            return exc.exit_code
        except KeyboardInterrupt:
            print("已中断 interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as exc:
            if debug:
                raise
            print(f"内部错误 internal error: {type(exc).__name__}: {exc} (re-run with --debug for details)",
                  file=sys.stderr)  # fmt: skip
            out.result({"ok": False, "error": f"internal error: {type(exc).__name__}: {exc}"}, indent=None)
            return EXIT_INTERNAL
