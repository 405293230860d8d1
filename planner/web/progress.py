"""The progress file a run writes while it works (``progress.json`` in its job folder).

The worker process (:mod:`planner.web.worker`) reports the run's stages (the
:data:`planner.runner.STAGES` bar), the planner's log lines and the solver's best plan and
bound so far; each report rewrites the file atomically (a temporary file renamed over it), so
the server always reads a whole file. The server only reads it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from planner.runner import STAGES

PROGRESS_NAME = "progress.json"
#: the run's stages (:data:`planner.runner.STAGES`) in words, Chinese first
STAGE_WORDS = {
    "load": "读取与检查数据 load",
    "network": "路网与通行时间 network",
    "assess": "基线评估 assess",
    "plan": "优化求解 plan",
    "marginal": "预算边际测算 marginal",
    "report": "写出结果 report",
}
#: log lines kept in the progress file
LOG_LINES = 40
#: least seconds between two writes caused by solver messages (stage changes write at once)
WRITE_EVERY_S = 0.5


@dataclass
class SolverProgress:
    """The current solve's view so far (HiGHS's objective and dual bound, without PuLP's constant term).

    A run makes several solves (start heuristic, full MIP, CV rounds, polish, budget chain); each
    starts afresh, so best and bound always belong to the same model.
    """

    solve: int = 0
    best: float | None = None
    bound: float | None = None
    solutions: int = 0
    updated_s: float | None = None

    @property
    def gap(self) -> float | None:
        """Relative gap between the best plan and the bound, when both are known."""
        if self.best is None or self.bound is None or not math.isfinite(self.best):
            return None
        return abs(self.best - self.bound) / max(abs(self.best), 1e-9)


@dataclass
class Progress:
    """Everything the progress file holds."""

    stages: list[str] = field(default_factory=lambda: list(STAGES))
    stages_done: int = 0
    stage_label: str = ""
    started_s: float = field(default_factory=time.time)
    solver: SolverProgress = field(default_factory=SolverProgress)
    log: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (with the solver's gap)."""
        data = asdict(self)
        data["solver"]["gap"] = self.solver.gap
        return data


def write_atomic_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to ``path`` through a temporary file renamed over it (readers never see half a file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_progress(job_dir: Path) -> dict[str, Any] | None:
    """The progress file of a job, or ``None`` when it has none yet (or it cannot be read)."""
    try:
        return json.loads((job_dir / PROGRESS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class ProgressWriter:
    """Keeps a :class:`Progress` and rewrites the progress file when it changes.

    Used as the run's stage bar (:class:`planner.runner.StageBar`: ``set_postfix_str`` and
    ``update``), as a logging handler's sink (:meth:`log_line`) and as the solver's listener
    (:meth:`solver_message`).
    """

    def __init__(self, job_dir: Path) -> None:
        self.path = job_dir / PROGRESS_NAME
        self.progress = Progress()
        self._lock = threading.Lock()
        self._last_write = 0.0
        self.write()

    def write(self, *, throttle: bool = False) -> None:
        """Rewrite the file (at most every :data:`WRITE_EVERY_S` seconds with ``throttle``)."""
        with self._lock:
            now = time.monotonic()
            if throttle and now - self._last_write < WRITE_EVERY_S:
                return
            self._last_write = now
            write_atomic_json(self.path, self.progress.to_json())

    # --- StageBar
    def set_postfix_str(self, s: str) -> None:
        """A stage begins."""
        self.progress.stage_label = s
        self.log_line(f"▶ {s}")

    def update(self, n: int = 1) -> None:
        """A stage ended."""
        self.progress.stages_done += n
        self.write()

    # --- log and solver
    def log_line(self, text: str) -> None:
        """Append a log line (the last :data:`LOG_LINES` are kept)."""
        stamp = time.strftime("%H:%M:%S")
        self.progress.log = [*self.progress.log, f"{stamp} {text}"][-LOG_LINES:]
        self.write(throttle=False)

    def solver_started(self) -> None:
        """A new solve began: its best plan and bound are not known yet."""
        self.progress.solver = SolverProgress(solve=self.progress.solver.solve + 1)
        self.write(throttle=True)

    def solver_message(self, kind: str, value: float) -> None:
        """HiGHS reported an improving plan (``"solution"``, its objective) or a better bound (``"bound"``)."""
        s = self.progress.solver
        if kind == "solution" and (s.best is None or value < s.best):
            s.best = value
            s.solutions += 1
        elif kind == "bound" and (s.bound is None or value > s.bound):
            s.bound = value
        else:
            return
        s.updated_s = round(time.time() - self.progress.started_s, 1)
        self.write(throttle=True)


class ProgressLogHandler(logging.Handler):
    """Copies the planner's INFO and WARNING log lines into the progress file."""

    def __init__(self, writer: ProgressWriter) -> None:
        super().__init__(logging.INFO)
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.log_line(record.getMessage())
        except Exception:  # a log line must never break the run
            self.handleError(record)
