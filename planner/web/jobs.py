"""The run queue and the run list.

A run asked for in the browser becomes a job folder under the server's own folder
(``runs/.web/jobs/<id>/``: ``job.json``, the scenario's YAML, later ``started.json``,
``progress.json``, ``worker.log`` and ``result.json``). Dispatcher threads start one worker
process per job (:mod:`planner.web.worker`; ``parallel_runs`` at a time, one by default) and
wait for it. The run directory the worker writes (atomically, under ``--runs``) is the record
of a finished run: a job is *finished* exactly when its run directory holds a manifest.

State of a job, from its files: finished (manifest) → failed (``result.json`` says why) →
running (its worker is a child of this server) → queued (waiting in this server's queue) →
interrupted (started by a server that is gone, or stopped). After a restart, jobs never
started are queued again; a job cut off by the restart is interrupted, never finished, and
its temporary folder (``.<run>.partial-*``) is removed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.rundir import new_run_path
from planner.web.progress import read_progress, write_atomic_json
from planner.web.worker import EXIT_STOPPED, JOB_NAME, RESULT_NAME

log = logging.getLogger(__name__)

STARTED_NAME = "started.json"
WORKER_LOG = "worker.log"
_JOB_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")

#: the message of a run cut off by the end of its server (never shown as finished; it wrote no run directory)
INTERRUPTED = "服务器关闭或重启中断了此次运行，未写出结果 cut off when the server stopped or restarted; nothing written"

STATE_ZH = {
    "queued": "排队中 queued",
    "running": "运行中 running",
    "finished": "已完成 finished",
    "failed": "失败 failed",
    "interrupted": "已中断 interrupted",
}


@dataclass(frozen=True)
class JobSpec:
    """What a job runs."""

    county_id: str
    county_label: str
    data_dir: str
    scenario_name: str
    time_limit_s: float | None
    marginal: bool
    maps: bool


@dataclass(frozen=True)
class RunEntry:
    """One line of the run list: a job of this application, or a run directory found under ``--runs``."""

    run_id: str
    scenario: str
    county: str
    state: str
    created: float
    run_dir: Path | None
    job_dir: Path | None
    message: str = ""

    @property
    def state_zh(self) -> str:
        """The state in words (Chinese first)."""
        return STATE_ZH[self.state]

    @property
    def created_text(self) -> str:
        """Creation time, local, to the second."""
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class RunQueue:
    """Jobs on disk, the queue of this server, and the dispatcher threads that run them.

    Parameters
    ----------
    runs_dir : Path
        Where run directories go.
    state_dir : Path
        The server's own folder (jobs go to ``state_dir/jobs``).
    parallel_runs : int
        Worker processes at once.
    on_finished : callable, optional
        Called (in a dispatcher thread) with the run directory of each run that finished, and at
        start with those finished already (e.g. to read its results before anyone asks).
    """

    def __init__(self, runs_dir: Path, state_dir: Path, parallel_runs: int = 1,
                 on_finished: Callable[[Path], None] | None = None) -> None:  # fmt: skip
        self.on_finished = on_finished
        self.runs_dir = runs_dir
        self.jobs_dir = state_dir / "jobs"
        self.parallel_runs = max(1, parallel_runs)
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._reserved: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._jobs: dict[str, dict[str, Any]] = {}  # job.json of each job (written once, never changed)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Recover the jobs on disk and start the dispatcher threads."""
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        with self._cond:
            for job_dir in sorted(self.jobs_dir.iterdir()):
                job = _read_json(job_dir / JOB_NAME) if _JOB_ID.match(job_dir.name) else None
                if job is None:
                    continue
                self._reserved.add(Path(job["target"]).name)
                if not (job_dir / STARTED_NAME).exists():
                    self._queue.append(job_dir.name)
                elif not (job_dir / RESULT_NAME).exists() and not (Path(job["target"]) / "manifest.json").exists():
                    self._remove_partials(Path(job["target"]))  # cut off by the end of an earlier server
        for i in range(self.parallel_runs):
            t = threading.Thread(target=self._dispatch, name=f"run-dispatch-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        if self.on_finished is not None:
            recent = [e.run_dir for e in self.entries()[:10] if e.run_dir is not None]
            threading.Thread(target=lambda: [self._finished(d) for d in recent], name="warm", daemon=True).start()

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the worker processes (each removes its temporary folder) and the dispatchers."""
        with self._cond:
            self._stopping = True
            procs = list(self._running.values())
            self._cond.notify_all()
        for p in procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + timeout_s
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for t in self._threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))

    # ------------------------------------------------------------------ submitting

    def submit(self, spec: JobSpec, scenario_yaml: str) -> str:
        """Queue a run of ``scenario_yaml`` (the scenario's YAML text); returns the job id.

        The job folder is written whole (a temporary folder renamed into place) and its run
        directory name reserved, so two submissions at once give two jobs and two run directories.
        """
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        with self._cond:
            while True:
                job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
                if not (self.jobs_dir / job_id).exists():
                    break
            target = new_run_path(self.runs_dir, spec.scenario_name)
            n = 2
            while target.name in self._reserved or target.exists():
                target = self.runs_dir / f"{new_run_path(self.runs_dir, spec.scenario_name).name}-{n}"
                n += 1
            self._reserved.add(target.name)
            tmp = Path(tempfile.mkdtemp(prefix=f".{job_id}.partial-", dir=self.jobs_dir))
            try:
                (tmp / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
                job = {**spec.__dict__, "id": job_id, "target": str(target.resolve()), "created": time.time()}
                write_atomic_json(tmp / JOB_NAME, job)
                os.rename(tmp, self.jobs_dir / job_id)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._queue.append(job_id)
            self._cond.notify()
        log.info("queued job %s (%s → %s)", job_id, spec.scenario_name, target)
        return job_id

    # ------------------------------------------------------------------ dispatching

    def _dispatch(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job_id = self._queue.popleft()
                job_dir = self.jobs_dir / job_id
                with open(job_dir / WORKER_LOG, "ab") as out:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "planner.web.worker", str(job_dir), str(os.getpid())],
                        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    )  # fmt: skip
                write_atomic_json(job_dir / STARTED_NAME, {"pid": proc.pid, "started": time.time()})
                self._running[job_id] = proc
            code = proc.wait()
            with self._cond:
                self._running.pop(job_id, None)
            if not (job_dir / RESULT_NAME).exists():  # the worker was killed before it could say why
                message = f"运行进程意外结束 the run's process ended ({code})"
                write_atomic_json(
                    job_dir / RESULT_NAME,
                    {"ok": False, "exit_code": code, "finished_at": time.time(), "error": message},
                )
            log.info("job %s ended with exit code %d", job_id, code)
            target = Path(json.loads((job_dir / JOB_NAME).read_text(encoding="utf-8"))["target"])
            self._finished(target)

    def _finished(self, run_dir: Path) -> None:
        if self.on_finished is None or not (run_dir / "manifest.json").exists():
            return
        try:
            self.on_finished(run_dir)
        except Exception:  # a run that cannot be read is reported when its page is opened
            log.warning("reading the finished run %s failed", run_dir, exc_info=True)

    def _remove_partials(self, target: Path) -> None:
        for partial in self.runs_dir.glob(f".{target.name}.partial-*"):
            shutil.rmtree(partial, ignore_errors=True)

    # ------------------------------------------------------------------ the run list

    def _job(self, job_id: str) -> dict[str, Any] | None:
        job = self._jobs.get(job_id)
        if job is None:
            job = _read_json(self.jobs_dir / job_id / JOB_NAME)
            if job is not None:
                self._jobs[job_id] = job
        return job

    def job_state(self, job_id: str, job: dict[str, Any]) -> tuple[str, str]:
        """State of a job and a message (the error of a failed run)."""
        job_dir = self.jobs_dir / job_id
        if (Path(job["target"]) / "manifest.json").exists():
            return "finished", ""
        result = _read_json(job_dir / RESULT_NAME)
        if result is not None:
            if result.get("exit_code") == EXIT_STOPPED:
                return "interrupted", INTERRUPTED
            return "failed", str(result.get("error", ""))
        with self._cond:
            if job_id in self._running:
                return "running", ""
            if job_id in self._queue:
                return "queued", ""
        if (job_dir / STARTED_NAME).exists():
            return "interrupted", INTERRUPTED
        return "queued", ""

    def entries(self) -> list[RunEntry]:
        """Every run: this application's jobs and the other run directories under ``--runs`` (newest first)."""
        out = []
        claimed = set()
        if self.jobs_dir.is_dir():
            for job_dir in self.jobs_dir.iterdir():
                if not _JOB_ID.match(job_dir.name):
                    continue
                job = self._job(job_dir.name)
                if job is None:
                    continue
                target = Path(job["target"])
                claimed.add(target.name)
                state, message = self.job_state(job_dir.name, job)
                out.append(RunEntry(f"j-{job_dir.name}", str(job["scenario_name"]), str(job["county_label"]), state,
                                    float(job["created"]), target if state == "finished" else None, job_dir,
                                    message))  # fmt: skip
        if self.runs_dir.is_dir():
            for d in self.runs_dir.iterdir():
                if d.name.startswith(".") or d.name in claimed or not d.is_dir():
                    continue
                manifest = _read_json(d / "manifest.json")
                if manifest is None:
                    continue
                scenario = manifest.get("scenario", {}).get("name", d.name)
                out.append(RunEntry(f"d-{d.name}", str(scenario), Path(str(manifest.get("data", ""))).name,
                                    "finished", (d / "manifest.json").stat().st_mtime, d, None))  # fmt: skip
        return sorted(out, key=lambda e: e.created, reverse=True)

    def entry(self, run_id: str) -> RunEntry | None:
        """The run with this id, found in the run list only (``None`` otherwise)."""
        return next((e for e in self.entries() if e.run_id == run_id), None)

    def progress(self, entry: RunEntry) -> dict[str, Any] | None:
        """The progress file of a job (``None`` before its worker wrote one)."""
        return read_progress(entry.job_dir) if entry.job_dir is not None else None
