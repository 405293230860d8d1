"""planner serve under load and faults, on 127.0.0.1 only, bounded in requests and time.

* 20 simulated users browse results (a results page, the run list, a download, a run's progress,
  the compare and start pages) while solves run: every page answers, median under 1 s.
* The server killed (SIGKILL) mid-solve loses no finished run (byte for byte) and leaves no
  half-written run directory; its worker stops by itself; after a restart the cut-off run is shown
  as interrupted, never finished, and the finished one is still there.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest
from tiny_county import write_tiny_county
from web_server import Server, csrf, submit_run, wait_state

pytestmark = pytest.mark.xdist_group("web")

USERS = 20
REQUESTS_PER_USER = 10
LOAD_TIME_LIMIT_S = 60.0


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _job(runs: Path, run_id: str, name: str) -> dict:
    path = runs / ".web" / "jobs" / run_id[2:] / name
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def _early_running(client: httpx.Client, run_ids: list[str], timeout_s: float = 60) -> str:
    """A run that is running and has not reached its plan's end (so it cannot finish before the kill)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for rid in run_ids:
            j = client.get(f"/runs/{rid}/progress").json()
            if j["state"] == "running" and (j["progress"] is None or j["progress"]["stages_done"] < 3):
                return rid
        time.sleep(0.1)
    raise AssertionError("no run was early in its solve")


def test_pages_answer_under_load_and_a_killed_server_loses_nothing(tmp_path: Path) -> None:
    county = write_tiny_county(tmp_path / "county")
    runs = tmp_path / "runs"
    server = Server(county, runs)
    client = server.client()
    try:
        token = csrf(client)
        done = submit_run(client, token, "combined", time_limit_s="5")
        wait_state(client, done, {"finished"})
        done_dir = Path(_job(runs, done, "job.json")["target"])
        before = _hashes(done_dir)

        busy = [submit_run(client, token, "combined", time_limit_s="10") for _ in range(3)]
        wait_state(client, busy[0], {"running"})
        pages = [f"/runs/{done}", "/runs", f"/runs/{done}/files/plan/projects.csv", f"/runs/{busy[0]}/progress",
                 "/compare", "/"]  # fmt: skip
        latencies: list[float] = []
        by_page: dict[str, list[float]] = {p: [] for p in pages}
        failures: list[str] = []
        deadline = time.monotonic() + LOAD_TIME_LIMIT_S

        def user(i: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as c:
                for k in range(REQUESTS_PER_USER):
                    if time.monotonic() > deadline:
                        return
                    page = pages[(i + k) % len(pages)]
                    t0 = time.perf_counter()
                    r = c.get(page)
                    latencies.append(time.perf_counter() - t0)
                    by_page[page].append(latencies[-1])
                    if r.status_code != 200:
                        failures.append(f"{page}: {r.status_code}")

        window = [time.time()]
        users = [threading.Thread(target=user, args=(i,)) for i in range(USERS)]
        for t in users:
            t.start()
        for t in users:
            t.join(LOAD_TIME_LIMIT_S + 30)
        window.append(time.time())
        states = [client.get(f"/runs/{b}/progress").json()["state"] for b in busy]

        assert failures == []
        assert len(latencies) == USERS * REQUESTS_PER_USER
        median = statistics.median(latencies)
        print(f"\n{len(latencies)} requests by {USERS} users in {window[1] - window[0]:.1f} s: median "
              f"{median * 1000:.0f} ms, 95th percentile {statistics.quantiles(latencies, n=20)[-1] * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms")  # fmt: skip
        for p, ts in by_page.items():
            print(f"  {p}: median {statistics.median(ts) * 1000:.0f} ms, max {max(ts) * 1000:.0f} ms")
        assert median < 1.0
        # a solve ran through the whole load: the window lies within the busy jobs' run times
        spans = sorted((_job(runs, b, "started.json").get("started"), _job(runs, b, "result.json").get("finished_at"))
                       for b in busy if _job(runs, b, "started.json"))  # fmt: skip
        assert spans[0][0] <= window[0]
        assert "running" in states or any(end is not None and end >= window[1] for _, end in spans)

        # kill the server while a solve runs
        victim = _early_running(client, busy)
        worker = _job(runs, victim, "started.json")["pid"]
        client.close()
        server.stop(signal.SIGKILL)
        stop_by = time.monotonic() + 15
        while _alive(worker):
            assert time.monotonic() < stop_by, "the worker outlived its server"
            time.sleep(0.2)
        assert _hashes(done_dir) == before  # the finished run is untouched
        for d in runs.iterdir():  # every visible run directory is a complete one
            if not d.name.startswith("."):
                manifest = json.loads((d / "manifest.json").read_text("utf-8"))
                assert all((d / f).is_file() for f in manifest["files"])

        server = Server(county, runs)
        client = server.client()
        assert not [p.name for p in runs.iterdir() if ".partial-" in p.name]
        j = client.get(f"/runs/{victim}/progress").json()
        assert j["state"] == "interrupted" and "中断" in j["message"]
        page = client.get("/runs")
        assert page.status_code == 200 and "已中断 interrupted" in page.text
        results = client.get(f"/runs/{done}")
        assert results.status_code == 200 and 'id="passing"' in results.text
        assert client.get(f"/runs/{victim}/files/manifest.json").status_code == 404
    finally:
        client.close()
        server.stop()
        for b in os.listdir(runs / ".web" / "jobs") if (runs / ".web" / "jobs").exists() else []:
            pid = json.loads((runs / ".web" / "jobs" / b / "started.json").read_text()).get("pid") \
                if (runs / ".web" / "jobs" / b / "started.json").exists() else None  # fmt: skip
            assert pid is None or not _alive(pid)
