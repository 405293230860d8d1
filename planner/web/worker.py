"""One solve of the web application's queue, in its own process: ``python -m planner.web.worker JOB_DIR``.

Reads ``JOB_DIR/job.json`` (county folder, scenario file, run directory, time limit, options),
runs :func:`planner.runner.run_plan` exactly as ``planner run`` does (the run directory is
written atomically: a run cut off leaves none), reports progress to ``JOB_DIR/progress.json``
(:mod:`planner.web.progress`) and ends with ``JOB_DIR/result.json``: ``{"ok": true, ...}`` or the
one-line message of a bad input. It stops (cleanly, removing its temporary folder) on SIGTERM
and when the server that started it is gone.

Solver progress: :func:`planner.model.backend.listen_to_progress` tells this process of every
HiGHS run's start, improving plans and bounds (the messages HiGHS's child process sends its parent),
and :func:`tee_solver_messages` passes them to the progress file.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from planner.errors import PlannerError
from planner.web.progress import ProgressLogHandler, ProgressWriter, write_atomic_json

log = logging.getLogger(__name__)

RESULT_NAME = "result.json"
JOB_NAME = "job.json"
#: exit code of a run stopped by SIGTERM or by its server's end (as the CLI's Ctrl-C)
EXIT_STOPPED = 130


def tee_solver_messages(started: Callable[[], None], listen: Callable[[str, float], None]) -> Callable[[], None]:
    """Tell ``started`` when a HiGHS solve begins and pass its improving plans and bounds to ``listen``
    (this process only); returns how to stop listening."""
    from planner.model.backend import listen_to_progress

    def on_progress(event: str, value: float) -> None:
        if event == "start":
            started()
        else:
            listen(event, value)

    return listen_to_progress(on_progress)


def _watch_parent(parent: int) -> None:
    """Stop this run (SIGTERM to itself) when the server that started it is gone."""

    def loop() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=loop, name="parent-watch", daemon=True).start()


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_job(job_dir: Path) -> int:
    """Run the job in ``job_dir``; returns the process exit code (0, 2 bad input, 3 output, 130 stopped)."""
    from planner.plan.variants import with_report, with_time_limit
    from planner.runner import run_plan
    from planner.scenario import load_scenario

    job = json.loads((job_dir / JOB_NAME).read_text(encoding="utf-8"))
    writer = ProgressWriter(job_dir)
    handler = ProgressLogHandler(writer)
    planner_log = logging.getLogger("planner")
    planner_log.addHandler(handler)
    planner_log.setLevel(logging.INFO)
    tee_solver_messages(writer.solver_started, writer.solver_message)
    result: dict[str, Any]
    code = 0
    try:
        scenario_file = job_dir / "scenario.yaml"
        scenario = load_scenario(scenario_file)
        scenario = with_time_limit(scenario, job.get("time_limit_s"))
        if not job.get("maps", True):
            scenario = with_report(scenario, maps=False)
        out = run_plan(Path(job["data_dir"]), scenario, Path(job["target"]), scenario_file=scenario_file,
                       bar=writer, marginal=None if job.get("marginal", True) else False)  # fmt: skip
        result = {"ok": True, "run_dir": out["run_dir"], "status": out["status"], "gap": out["gap"]}
    except PlannerError as exc:
        code = exc.exit_code
        result = {"ok": False, "exit_code": code, "error": str(exc)}
    except KeyboardInterrupt:
        code = EXIT_STOPPED
        result = {"ok": False, "exit_code": code, "error": "已停止 stopped"}
    except Exception as exc:  # an internal error: reported as one line, the details go to the log file
        log.exception("run failed")
        code = 1
        result = {"ok": False, "exit_code": code, "error": f"内部错误 internal error: {type(exc).__name__}: {exc}"}
    finally:
        planner_log.removeHandler(handler)
    result["finished_at"] = time.time()
    write_atomic_json(job_dir / RESULT_NAME, result)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m planner.web.worker JOB_DIR [PARENT_PID]``."""
    args = sys.argv[1:] if argv is None else argv
    job_dir = Path(args[0])
    parent = int(args[1]) if len(args) > 1 else os.getppid()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _stop)
    _watch_parent(parent)
    return run_job(job_dir)


if __name__ == "__main__":
    sys.exit(main())
