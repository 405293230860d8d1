"""What ``planner serve`` is given: folders, address, access token and limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: uploads larger than this are refused (a county's filled templates are a few megabytes)
DEFAULT_MAX_UPLOAD_MB = 50.0


@dataclass(frozen=True)
class WebSettings:
    """Settings of one ``planner serve`` process.

    Attributes
    ----------
    data_dir : Path
        The county folder offered by default (``--data``).
    runs_dir : Path
        Where run directories go (``--runs``); the server's own files live in ``runs_dir/.web``.
    scenarios_dir : Path
        Scenario YAML files offered as starting points (``scenarios/``).
    host : str
        Address to bind (127.0.0.1 unless ``--host``).
    port : int
        Port (0: any free port).
    token : str or None
        Access token; required when ``host`` is not a loopback address.
    max_upload_bytes : int
        Largest request body accepted.
    parallel_runs : int
        Solves run at once (1 on a 2-core machine).
    """

    data_dir: Path
    runs_dir: Path
    scenarios_dir: Path
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
    parallel_runs: int = 1

    @property
    def state_dir(self) -> Path:
        """The server's own folder (uploads, saved scenarios, queued runs, comparisons)."""
        return self.runs_dir / ".web"
