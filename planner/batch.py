"""Prefecture batches (``planner batch``): every (county, scenario) pair as a Dask task.

Each task is exactly one ``planner run`` (:func:`planner.runner.run_plan`) writing its own
run directory atomically under ``OUT/runs/<county>/<scenario>/``. By default the tasks run
on an in-process :class:`distributed.LocalCluster` (one process per core, one thread each);
``scheduler="tcp://HOST:PORT"`` submits them to an existing Dask cluster instead (its
workers must see the county folders and ``OUT`` at the same paths, e.g. a shared disk).

Faults:

* bad input in one county (a :class:`~planner.errors.PlannerError`: DataError, ScenarioError)
  makes that task *failed* with its one-line message; the others go on;
* any other exception is retried ``retries`` times by Dask, then reported *failed* with
  its type and message;
* a worker that dies mid-task (killed, out of memory) has its task re-run on another worker
  (the scheduler's ``allowed-failures``, set to ``retries`` on the default LocalCluster); the
  dead attempt leaves only a hidden ``.partial-`` folder, which is removed;
* a task whose run directory is complete (``manifest.json`` present) is *skipped*, so
  re-running a batch only does what is missing.

Every number of the summary is read back from the run directories (as ``planner compare``
does), so the summary cannot disagree with them.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from planner.errors import PlannerError, ScenarioError
from planner.report.cell_text import keep_text
from planner.rundir import safe_name
from planner.scenario import Scenario

log = logging.getLogger(__name__)

#: columns of the batch summary, with their bilingual headers (Excel and CSV)
COLUMNS: dict[str, str] = {
    "county": "县区 county",
    "county_zh": "县区名称 county name",
    "adcode": "行政区划代码 adcode",
    "scenario": "方案 scenario",
    "budget_scale": "预算倍数 budget scale",
    "state": "任务状态 task state",
    "message": "说明 message",
    "status": "求解状态 solver status",
    "passes": "资源配置达标 passes",
    "capital_budget_yuan": "资本预算 capital budget (yuan)",
    "capital_yuan": "资本性支出 capital (yuan)",
    "recurrent_yuan_per_year": "经常性支出 recurrent (yuan/yr)",
    "primary_passing": "小学达标学校 primary schools passing",
    "junior_passing": "初中达标学校 junior schools passing",
    "unmet_standards": "未达标指标项 unmet school-indicators",
    "smallest_passing_budget_yuan": "最小达标预算 smallest passing budget (yuan)",
    "elapsed_s": "用时 elapsed (s)",
    "run_dir": "结果目录 run directory",
    "data_dir": "数据目录 county data folder",
    "synthetic": "合成数据 synthetic data",
}

STATES_ZH = {"done": "完成 done", "skipped": "已有 skipped (complete)", "failed": "失败 failed"}


@dataclass(frozen=True)
class BatchTask:
    """One (county, scenario) pair of a batch.

    Attributes
    ----------
    county : str
        The county's key: its folder name (unique in the batch).
    data_dir : Path
        County folder.
    scenario : Scenario
        The scenario as run (name = ``scenario_label``, budget scale and time limit applied).
    scenario_label : str
        ``<scenario name>`` or ``<scenario name>@<budget scale>`` for a budget grid.
    budget_scale : float or None
        Multiplier on the county's budgets (budget grid), else None.
    scenario_file : Path or None
        The YAML the scenario came from (recorded in the manifest).
    run_dir : Path
        The task's run directory.
    """

    county: str
    data_dir: Path
    scenario: Scenario
    scenario_label: str
    budget_scale: float | None
    scenario_file: Path | None
    run_dir: Path


def parse_budget_scales(text: str) -> list[float]:
    """``"0.8,1.0,1.2"`` → ``[0.8, 1.0, 1.2]`` (multipliers on each county's budgets).

    Raises
    ------
    ScenarioError
        If a value is not a non-negative number, or none is given.
    """
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            v = float(part)
        except ValueError:
            raise ScenarioError(f"--budgets {text!r}: {part!r} is not a number (e.g. 0.8,1.0,1.2)") from None
        if not math.isfinite(v) or v < 0:
            raise ScenarioError(f"--budgets {text!r}: {part} must be a finite number ≥ 0")
        out.append(v)
    if not out:
        raise ScenarioError(f"--budgets {text!r}: give at least one budget scale, e.g. 0.8,1.0,1.2")
    return out


def _safe(name: str) -> str:
    return safe_name(name)  # never "..", a separator or a hidden name: the run stays inside OUT/runs


def make_tasks(
    county_dirs: Sequence[Path],
    scenarios: Sequence[tuple[Scenario, Path | None]],
    out_dir: Path,
    *,
    budget_scales: Sequence[float] | None = None,
    time_limit_s: float | None = None,
    solver_threads: int | None = 1,
) -> list[BatchTask]:
    """Every (county, scenario[, budget scale]) pair, with its run directory.

    Parameters
    ----------
    county_dirs : sequence of Path
        County folders; their folder names must be unique (they name the run directories).
    scenarios : sequence of (Scenario, Path or None)
        Scenarios and the files they came from.
    out_dir : Path
        The batch folder; runs go to ``out_dir/runs/<county>/<scenario label>``.
    budget_scales : sequence of float, optional
        Budget grid: each scenario is run at each multiplier of the county's budgets.
    time_limit_s : float, optional
        Solver time limit overriding the scenarios'.
    solver_threads : int or None, default 1
        Solver threads per task (one per Dask worker thread); None keeps the scenarios'.

    Raises
    ------
    ScenarioError
        Two county folders with the same name, or two scenarios with the same name.
    """
    from planner.plan.variants import with_budget, with_solver, with_time_limit

    names = [Path(d).name for d in county_dirs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"county folders must have distinct names (they name the run directories): {dup}")
    snames = [s.name for s, _ in scenarios]
    sdup = sorted({n for n in snames if snames.count(n) > 1})
    if sdup:
        raise ScenarioError(f"scenarios must have distinct names: {sdup}")
    tasks = []
    for data_dir in county_dirs:
        data_dir = Path(data_dir)
        for scenario, path in scenarios:
            sc = with_time_limit(scenario, time_limit_s)
            if solver_threads is not None:
                sc = with_solver(sc, threads=int(solver_threads))
            for scale in budget_scales or [None]:
                label = sc.name if scale is None else f"{sc.name}@{scale:g}"
                run = sc if scale is None else with_budget(sc, name=label, scale=float(scale))
                run_dir = Path(out_dir) / "runs" / _safe(data_dir.name) / _safe(label)
                tasks.append(BatchTask(data_dir.name, data_dir, run, label, scale, path, run_dir))
    return tasks


def is_complete(run_dir: Path) -> bool:
    """A run directory is complete when its ``manifest.json`` is there (written last, renamed in)."""
    return (Path(run_dir) / "manifest.json").is_file()


def _remove_partials(run_dir: Path) -> None:
    """Remove hidden ``.<name>.partial-*`` folders a killed attempt left beside ``run_dir``."""
    parent = Path(run_dir).parent
    if parent.is_dir():
        for p in parent.glob(f".{Path(run_dir).name}.partial-*"):
            shutil.rmtree(p, ignore_errors=True)


def task_key(task: BatchTask) -> str:
    """The Dask key of a task: readable, and unique to its run directory (two batches never share one)."""
    import hashlib

    digest = hashlib.sha1(str(Path(task.run_dir).resolve()).encode()).hexdigest()[:10]
    return f"planner-{_safe(task.county)}-{_safe(task.scenario_label)}-{digest}"


def run_task(task: BatchTask) -> dict[str, Any]:
    """Run one task (on a worker): the state, message and elapsed seconds.

    Bad input is returned as ``state="failed"`` with its message (retrying cannot help);
    other exceptions propagate so that Dask retries them.
    """
    from planner.rundir import RunDirError
    from planner.runner import run_plan

    t0 = time.perf_counter()
    base = {"county": task.county, "scenario": task.scenario_label, "run_dir": str(task.run_dir), "pid": os.getpid()}
    if is_complete(task.run_dir):
        return {**base, "state": "skipped", "message": "", "elapsed_s": 0.0}
    try:
        # no ±10% re-solves per task: a batch compares budgets by its own grid
        run_plan(task.data_dir, task.scenario, task.run_dir, scenario_file=task.scenario_file, marginal=False)
    except RunDirError as exc:  # another attempt of the same task finished first
        if is_complete(task.run_dir):
            return {**base, "state": "skipped", "message": "", "elapsed_s": time.perf_counter() - t0}
        return {**base, "state": "failed", "message": str(exc), "elapsed_s": time.perf_counter() - t0}
    except PlannerError as exc:
        return {**base, "state": "failed", "message": str(exc), "elapsed_s": time.perf_counter() - t0}
    return {**base, "state": "done", "message": "", "elapsed_s": time.perf_counter() - t0}


# --------------------------------------------------------------------------- running


def local_cluster(workers: int | None = None, retries: int = 2) -> Any:
    """An in-process Dask LocalCluster: ``workers`` processes (default: the cores), one thread each.

    A task whose worker dies is re-run up to ``retries`` times (``allowed-failures``).
    """
    import dask
    from distributed import LocalCluster

    n = workers or os.cpu_count() or 1
    with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")


def _client(scheduler: str | None, workers: int | None, retries: int) -> tuple[Any, Any]:
    """A Dask client on ``scheduler``, or on a new LocalCluster (returned to be closed)."""
    from distributed import Client

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except OSError as exc:
            raise ScenarioError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler ({exc})") from None
    cluster = local_cluster(workers, retries)
    return Client(cluster), cluster


def run_batch(
    tasks: Sequence[BatchTask],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    retries: int = 2,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run the tasks on Dask and return the batch summary (one row per task).

    Parameters
    ----------
    tasks : sequence of BatchTask
        From :func:`make_tasks`.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of an existing Dask scheduler; default: a LocalCluster.
    workers : int, optional
        LocalCluster worker processes (default: this machine's cores).
    retries : int, default 2
        Re-runs of a task after an unexpected exception or a dead worker.
    progress : bool, default True
        Show a tqdm progress bar (on stderr).
    on_result : callable, optional
        Called with each task's result as it completes (e.g. for logging).

    Returns
    -------
    DataFrame
        :func:`summary_table` of the tasks.
    """
    import sys

    from distributed import as_completed
    from tqdm import tqdm

    results: dict[str, dict[str, Any]] = {}
    todo = []
    for t in tasks:
        _remove_partials(t.run_dir)
        if is_complete(t.run_dir):
            results[str(t.run_dir)] = {"county": t.county, "scenario": t.scenario_label, "run_dir": str(t.run_dir),
                                       "state": "skipped", "message": "", "elapsed_s": 0.0}  # fmt: skip
        else:
            todo.append(t)
    log.info("batch: %d tasks, %d complete already, %d to run", len(tasks), len(tasks) - len(todo), len(todo))
    with tqdm(total=len(tasks), initial=len(tasks) - len(todo), disable=not progress, desc="planner batch",
              unit="task", file=sys.stderr) as bar:  # fmt: skip
        if todo:
            client, cluster = _client(scheduler, workers, retries)
            try:
                futures = {}
                for t in todo:
                    fut = client.submit(run_task, t, key=task_key(t), pure=False, retries=retries)
                    futures[fut] = t
                for fut in as_completed(list(futures)):
                    t = futures[fut]
                    try:
                        res = fut.result()
                    except Exception as exc:  # solver error after retries, KilledWorker, ...
                        message = f"{type(exc).__name__}: {exc}"
                        res = {"county": t.county, "scenario": t.scenario_label, "run_dir": str(t.run_dir),
                               "state": "failed", "message": message, "elapsed_s": None}  # fmt: skip
                    results[str(t.run_dir)] = res
                    bar.set_postfix_str(f"{t.county} {t.scenario_label}: {res['state']}")
                    bar.update()
                    if on_result:
                        on_result(res)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    for t in tasks:
        _remove_partials(t.run_dir)
    return summary_table(tasks, results)


# --------------------------------------------------------------------------- summary


def _county_meta(data_dir: Path) -> dict[str, Any]:
    """adcode and Chinese name from the county's parameters.yaml (blank if unreadable)."""
    try:
        raw = yaml.safe_load((Path(data_dir) / "parameters.yaml").read_text(encoding="utf-8")) or {}
        c = raw.get("county", {}) or {}
        return {"adcode": str(c.get("adcode", "")), "county_zh": str(c.get("name_zh", "")),
                "synthetic": bool(raw.get("synthetic", False))}  # fmt: skip
    except (OSError, yaml.YAMLError, AttributeError):
        return {"adcode": "", "county_zh": "", "synthetic": False}


def _run_row(run_dir: Path) -> dict[str, Any]:
    """Figures of a complete run directory, read back from its files."""
    import json

    from planner.report.compare import run_summary

    row = run_summary(run_dir)
    manifest = json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
    after = pd.read_csv(Path(run_dir) / "after" / "summary.csv", encoding="utf-8-sig")
    row["passes"] = bool(after["passes"].astype(bool).all())
    row["capital_budget_yuan"] = float(manifest.get("costs", {}).get("capital_budget_yuan", float("nan")))
    row.pop("run", None)
    row.pop("scenario", None)
    return row


def summary_table(tasks: Sequence[BatchTask], results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per task, in task order: state and message, and for complete runs their figures.

    ``smallest_passing_budget_yuan`` is, per county, the smallest capital budget among its
    tasks at which the county passes resource allocation (every stage), or empty.
    """
    rows = []
    for t in tasks:
        res = results.get(str(t.run_dir), {"state": "failed", "message": "not run", "elapsed_s": None})
        row: dict[str, Any] = {"county": t.county, **_county_meta(t.data_dir), "scenario": t.scenario_label,
                               "budget_scale": t.budget_scale, "state": res["state"],
                               "message": res.get("message", ""), "elapsed_s": res.get("elapsed_s")}  # fmt: skip
        if res["state"] in ("done", "skipped") and is_complete(t.run_dir):
            try:
                row.update(_run_row(t.run_dir))
            except PlannerError as exc:
                row.update({"state": "failed", "message": str(exc)})
        row["run_dir"] = str(t.run_dir)
        row["data_dir"] = str(t.data_dir)
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in COLUMNS:
        if col not in table.columns:
            table[col] = pd.NA
    passing = table[table["passes"].fillna(False).astype(bool)]
    best = passing.groupby("county")["capital_budget_yuan"].min()
    table["smallest_passing_budget_yuan"] = table["county"].map(best)
    cv = sorted(c for c in table.columns if c.startswith("cv_"))
    return table[[*COLUMNS, *cv]]


def county_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per county: tasks done / failed, passes at any budget, smallest passing budget."""
    rows = []
    for county, g in table.groupby("county", sort=False):
        rows.append({
            "county": county,
            "county_zh": g["county_zh"].iloc[0],
            "adcode": g["adcode"].iloc[0],
            "tasks": len(g),
            "failed": int((g["state"] == "failed").sum()),
            "passes_any": bool(g["passes"].fillna(False).astype(bool).any()),
            "smallest_passing_budget_yuan": g["smallest_passing_budget_yuan"].iloc[0],
            "min_unmet_standards": pd.to_numeric(g["unmet_standards"], errors="coerce").min(),
            "messages": "; ".join(sorted({m for m in g["message"].fillna("") if m})),
        })  # fmt: skip
    return pd.DataFrame(rows)


COUNTY_COLUMNS = {
    "county": "县区 county",
    "county_zh": "县区名称 county name",
    "adcode": "行政区划代码 adcode",
    "tasks": "任务数 tasks",
    "failed": "失败任务 failed tasks",
    "passes_any": "可达标 passes at some budget",
    "smallest_passing_budget_yuan": "最小达标预算 smallest passing budget (yuan)",
    "min_unmet_standards": "最少未达标指标项 fewest unmet school-indicators",
    "messages": "错误信息 messages",
}


def write_batch_summary(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write ``batch_summary.csv``, ``batch_summary.xlsx`` (tasks and counties) and ``prefecture_map.png``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = table.rename(columns=COLUMNS)
    counties = county_table(table)
    csv = out_dir / "batch_summary.csv"
    shown.to_csv(csv, index=False, encoding="utf-8-sig", lineterminator="\n")
    xlsx = out_dir / "batch_summary.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as xw:
        shown.to_excel(xw, sheet_name="任务 tasks", index=False)
        counties.rename(columns=COUNTY_COLUMNS).to_excel(xw, sheet_name="县区 counties", index=False)
        keep_text(xw.book)
    png = out_dir / "prefecture_map.png"
    write_prefecture_map(table, png)
    return [csv, xlsx, png]


# --------------------------------------------------------------------------- map


def _county_outline(data_dir: Path, adcode: str) -> Any:
    """The county's outline: its own county.gpkg boundary, else the bundled boundary file."""
    import geopandas as gpd

    try:
        g = gpd.read_file(Path(data_dir) / "county.gpkg", layer="boundary").to_crs("EPSG:4326")
        return g.geometry.union_all()
    except Exception:  # a broken county folder: fall back to the real boundary by adcode
        from planner.synth.generate import find_boundary_source
        from planner.synth.geo import boundary_from_feature, read_boundary_feature

        try:
            return boundary_from_feature(read_boundary_feature(find_boundary_source(adcode), adcode))
        except Exception:
            log.warning("no outline for county %s (%s): left off the map", data_dir, adcode)
            return None


def _cjk_rc() -> dict[str, object]:
    try:
        from planner.report.fonts import cjk_rc_params
    except ImportError:  # TODO(lead): planner/report/fonts.py provides the bundled CJK font
        return {}
    return cjk_rc_params()


def write_prefecture_map(table: pd.DataFrame, path: Path) -> Path:
    """Counties coloured by result, one panel per scenario (passes / fails the standard / task failed).

    Each county is labelled with its name and the school-indicators left unmet.
    """
    import matplotlib

    matplotlib.use("Agg")
    import geopandas as gpd
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    outlines = {
        county: _county_outline(Path(str(g["data_dir"].iloc[0])), str(g["adcode"].iloc[0]))
        for county, g in table.groupby("county", sort=False)
    }
    scenarios = list(dict.fromkeys(table["scenario"]))
    ncol = min(3, len(scenarios))
    nrow = -(-len(scenarios) // ncol)
    colours = {"passes": "#70ad47", "fails": "#ffc000", "failed": "#c00000"}
    with matplotlib.rc_context(_cjk_rc()):
        fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 5.0 * nrow + 0.6), dpi=150, squeeze=False)
        for ax, sc in zip(axes.flat, scenarios, strict=False):
            sub = table[table["scenario"] == sc]
            geoms, cols, labels = [], [], []
            for r in sub.itertuples(index=False):
                geom = outlines.get(r.county)
                if geom is None:
                    continue
                if r.state == "failed":
                    kind, text = "failed", "失败 failed"
                elif bool(r.passes):
                    kind, text = "passes", "达标 passes"
                else:
                    kind, text = "fails", f"未达标 {int(r.unmet_standards)}"
                geoms.append(geom)
                cols.append(colours[kind])
                labels.append(f"{r.county_zh or r.county}\n{text}")
            if geoms:
                gdf = gpd.GeoDataFrame({"c": cols, "label": labels}, geometry=geoms, crs="EPSG:4326")
                gdf.plot(ax=ax, color=gdf["c"], edgecolor="#404040", linewidth=0.6)
                for geom, label in zip(gdf.geometry, gdf["label"], strict=True):
                    p = geom.representative_point()
                    ax.annotate(label, (p.x, p.y), ha="center", va="center", fontsize=6)
            ax.set_title(f"方案 scenario: {sc}", fontsize=9)
            ax.set_axis_off()
            ax.set_aspect("equal")
        for ax in list(axes.flat)[len(scenarios) :]:
            ax.set_axis_off()
        fig.legend(
            handles=[Patch(color=colours["passes"], label="资源配置达标 passes"),
                     Patch(color=colours["fails"], label="未达标（数字为未达标指标项）fails (unmet school-indicators)"),
                     Patch(color=colours["failed"], label="任务失败 task failed")],
            loc="lower center", ncol=3, fontsize=8, frameon=False,
        )  # fmt: skip
        fig.suptitle("县区规划结果 Results by county", fontsize=12)
        if table["synthetic"].fillna(False).astype(bool).any():
            fig.text(0.99, 0.01, "合成数据 synthetic data (planner.synth)", ha="right", va="bottom", fontsize=7,
                     color="#808080")  # fmt: skip
        fig.tight_layout(rect=(0, 0.05, 1, 0.96))
        fig.savefig(path)
        plt.close(fig)
    return path
