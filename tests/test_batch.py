"""planner batch on Dask: tiny counties × budget scales on a LocalCluster of 2 workers.

* per-task run directories equal the same runs made one by one with ``planner run``;
* a county with broken data fails with its validation message, the others succeed;
* re-running skips complete tasks (nothing re-solved, files untouched);
* a worker SIGKILLed mid-batch: its task is re-run elsewhere and every task completes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tiny_county import write_tiny_county

from planner.batch import (
    COLUMNS,
    is_complete,
    local_cluster,
    make_tasks,
    parse_budget_scales,
    run_batch,
    task_key,
    write_batch_summary,
)
from planner.cli import main
from planner.errors import ScenarioError
from planner.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "combined.yaml"
SCALES = [0.1, 1.0]
TIME_LIMIT_S = 20.0
#: files compared between a batch task's run directory and the same run made by `planner run`
COMPARED = [
    "plan/assignments.csv", "plan/projects.csv", "plan/teacher_flows.csv", "plan/exchange_list.csv",
    "plan/hires.csv", "plan/costs.csv", "plan/unmet.csv", "before/indicators.csv", "after/indicators.csv",
    "after/balance.csv", "after/summary.csv", "access_bands.csv",
]  # fmt: skip


def _county_b(folder: Path) -> Path:
    """The tiny county with another budget and more pupils at the teaching point."""
    write_tiny_county(folder)
    params = yaml.safe_load((folder / "parameters.yaml").read_text("utf-8"))
    params["county"]["name_zh"] = "乙县"
    params["budget"]["capital_yuan"] = 20_000_000
    (folder / "parameters.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")
    return folder


def _broken(folder: Path) -> Path:
    write_tiny_county(folder)
    schools = pd.read_csv(folder / "schools.csv")
    schools.loc[schools["school_id"] == "TP1", "pupils_primary"] = -5
    schools.to_csv(folder / "schools.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def cluster():
    c = local_cluster(workers=2, retries=2)
    yield c
    c.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, cluster):
    root = tmp_path_factory.mktemp("batch")
    counties = [write_tiny_county(root / "data" / "a"), _county_b(root / "data" / "b"), _broken(root / "data" / "bad")]
    tasks = make_tasks(counties, [(load_scenario(SCENARIO), SCENARIO)], root / "out", budget_scales=SCALES,
                       time_limit_s=TIME_LIMIT_S)  # fmt: skip
    table = run_batch(tasks, scheduler=cluster.scheduler_address, progress=False)
    files = write_batch_summary(table, root / "out")
    return root, tasks, table, files


def test_budget_scales_parse_and_reject() -> None:
    assert parse_budget_scales("0.8, 1.0,1.2") == [0.8, 1.0, 1.2]
    with pytest.raises(ScenarioError, match="not a number"):
        parse_budget_scales("0.8,lots")
    with pytest.raises(ScenarioError, match="distinct names"):
        make_tasks([Path("x/a"), Path("y/a")], [(load_scenario(SCENARIO), SCENARIO)], Path("o"))


def test_tasks_equal_runs_made_one_by_one(batch, tmp_path: Path) -> None:
    _root, tasks, table, _ = batch
    good = [t for t in tasks if t.county != "bad"]
    assert len(good) == 4
    for t in good:
        # the same run through the CLI: the task's scenario (budget scale, time limit, 1 thread) as a file
        yml = tmp_path / f"{t.county}-{t.scenario_label}.yaml"
        yml.write_text(yaml.safe_dump(t.scenario.model_dump(mode="json"), allow_unicode=True), "utf-8")
        single = tmp_path / f"single-{t.county}-{t.scenario_label}"
        assert main(["run", str(yml), "--data", str(t.data_dir), "--out", str(single), "--quiet", "--no-marginal"]) == 0
        for rel in COMPARED:
            assert (t.run_dir / rel).read_bytes() == (single / rel).read_bytes(), f"{t.county} {t.scenario_label} {rel}"
        m_batch = json.loads((t.run_dir / "manifest.json").read_text("utf-8"))
        m_single = json.loads((single / "manifest.json").read_text("utf-8"))
        for key in ("status", "gap", "costs", "scenario", "inputs_sha256"):
            assert m_batch[key] == m_single[key], key
    # the summary's numbers are the run directories' own
    rows = table.set_index(["county", "scenario"])
    for t in good:
        r = rows.loc[(t.county, t.scenario_label)]
        projects = pd.read_csv(t.run_dir / "plan" / "projects.csv", encoding="utf-8-sig")
        assert r["state"] == "done"
        assert r["capital_yuan"] == pytest.approx(projects["cost_yuan"].sum())
        ind = pd.read_csv(t.run_dir / "after" / "indicators.csv", encoding="utf-8-sig")
        assert r["unmet_standards"] == int((~ind["met"].astype(bool)).sum())
        budget = json.loads((t.run_dir / "manifest.json").read_text("utf-8"))["costs"]["capital_budget_yuan"]
        base = 50_000_000 if t.county == "a" else 20_000_000
        assert r["capital_budget_yuan"] == pytest.approx(base * t.budget_scale) == pytest.approx(budget)


def test_broken_county_fails_with_its_message_others_succeed(batch) -> None:
    root, _tasks, table, files = batch
    bad = table[table["county"] == "bad"]
    assert len(bad) == 2 and (bad["state"] == "failed").all()
    for msg in bad["message"]:
        assert "schools.csv" in msg and "TP1" in msg and "pupils_primary" in msg and "-5" in msg
    others = table[table["county"] != "bad"]
    assert len(others) == 4 and (others["state"] == "done").all()
    assert all(is_complete(Path(d)) for d in others["run_dir"])
    assert not (root / "out" / "runs" / "bad").exists() or not any((root / "out" / "runs" / "bad").iterdir())
    # written summary: bilingual CSV with the same rows, a workbook with tasks and counties, a map
    csv = pd.read_csv(files[0], encoding="utf-8-sig")
    assert list(csv.columns[: len(COLUMNS)]) == list(COLUMNS.values())
    assert csv[COLUMNS["state"]].tolist() == table["state"].tolist()
    sheets = pd.read_excel(files[1], sheet_name=None)
    counties = sheets["县区 counties"].set_index("县区 county")
    assert counties.loc["bad", "失败任务 failed tasks"] == 2 and counties.loc["a", "失败任务 failed tasks"] == 0
    assert files[2].stat().st_size > 10_000


def test_smallest_passing_budget_is_the_cheapest_passing_task(batch) -> None:
    _, _, table, _ = batch
    done = table[table["state"] == "done"]
    assert len(done) == 4 and done["county"].nunique() == 2
    for county, g in done.groupby("county"):
        passing = g[g["passes"].astype(bool)]
        expected = passing["capital_budget_yuan"].min() if len(passing) else None
        got = g["smallest_passing_budget_yuan"].iloc[0]
        assert (pd.isna(got) and expected is None) or got == pytest.approx(expected), county


def test_rerun_skips_complete_tasks(batch) -> None:
    _root, tasks, table, _ = batch
    stamps = {t.run_dir: (t.run_dir / "manifest.json").stat().st_mtime_ns for t in tasks if is_complete(t.run_dir)}
    assert len(stamps) == 4  # every good task's run directory is complete
    # a leftover of a killed attempt is cleaned away
    leftover = tasks[0].run_dir.parent / f".{tasks[0].run_dir.name}.partial-dead"
    leftover.mkdir()
    t0 = time.perf_counter()
    again = run_batch([t for t in tasks if t.county != "bad"], scheduler="tcp://127.0.0.1:1", progress=False)
    assert time.perf_counter() - t0 < 10  # no scheduler was needed: nothing to run
    assert (again["state"] == "skipped").all()
    assert not leftover.exists()
    for d, ns in stamps.items():
        assert (d / "manifest.json").stat().st_mtime_ns == ns
    cols = ["capital_yuan", "unmet_standards", "passes"]
    done = table[table["county"] != "bad"].reset_index(drop=True)
    pd.testing.assert_frame_equal(again[cols], done[cols], check_dtype=False)


def test_killed_worker_task_is_rerun_and_every_task_completes(tmp_path: Path, cluster) -> None:
    from distributed import Client

    counties = [write_tiny_county(tmp_path / "data" / n) for n in ("k1", "k2")]
    tasks = make_tasks(counties, [(load_scenario(SCENARIO), SCENARIO)], tmp_path / "out", budget_scales=SCALES,
                       time_limit_s=TIME_LIMIT_S)  # fmt: skip
    results: list[dict] = []
    outcome: dict = {}

    def go() -> None:
        outcome["table"] = run_batch(tasks, scheduler=cluster.scheduler_address, progress=False,
                                     on_result=results.append)  # fmt: skip

    killed: dict = {}
    with Client(cluster.scheduler_address) as watcher:
        pids = watcher.run(os.getpid)
        thread = threading.Thread(target=go)
        thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for addr, keys in watcher.processing().items():
                if keys and addr in pids:
                    os.kill(pids[addr], signal.SIGKILL)
                    killed.update(addr=addr, pid=pids[addr], keys=set(keys))
                    break
            time.sleep(0.02)
        thread.join(timeout=120)
    assert killed, "no task was seen running"
    table = outcome["table"]
    assert len(table) == 4 and (table["state"] == "done").all(), table[["county", "scenario", "state", "message"]]
    assert all(is_complete(t.run_dir) for t in tasks)
    # the tasks that were on the killed worker finished on another process
    keys = {str(t.run_dir): task_key(t) for t in tasks}
    victims = [r for r in results if keys[r["run_dir"]] in killed["keys"]]
    assert victims and all(r["pid"] != killed["pid"] for r in victims)
    # no half-written folder is left beside the runs
    assert not list((tmp_path / "out" / "runs").rglob(".*partial-*"))
