"""A ``planner serve`` process for the web tests: started on a free loopback port, with a client that
fills in the CSRF token the way a browser form does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
_URL = re.compile(r"(http://127\.0\.0\.1:\d+/)")


class Server:
    """``planner serve --port 0`` as a child process; ``url`` once it listens."""

    def __init__(self, data: Path, runs: Path, *extra: str, scenarios: Path | None = None) -> None:
        self.args = [sys.executable, "-m", "planner", "serve", "--data", str(data), "--runs", str(runs),
                     "--scenarios", str(scenarios or ROOT / "scenarios"), "--port", "0", *extra]  # fmt: skip
        self.runs = runs
        self.log = tempfile.TemporaryFile()  # the server's stderr (a pipe nobody reads could fill up and block it)
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        m = _URL.search(line)
        if m is None:
            self.proc.wait(timeout=30)
            self.log.seek(0)
            raise RuntimeError(f"planner serve did not start: {line!r} {self.log.read().decode(errors='replace')}")
        self.url = m.group(1)

    def client(self) -> httpx.Client:
        """An HTTP client holding this server's cookies."""
        return httpx.Client(base_url=self.url, timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the server with ``sig`` and return its exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()
            self.log.close()


def csrf(client: httpx.Client, page: str = "/runs") -> str:
    """The CSRF token of a form page (and its cookie, kept by the client)."""
    text = client.get(page).text
    m = re.search(r'name="csrf" value="([^"]+)"', text)
    assert m is not None, text[:500]
    return m.group(1)


def submit_run(client: httpx.Client, token: str, scenario: str = "combined", *, time_limit_s: str = "5",
               maps: bool = False, county: str = "default") -> str:  # fmt: skip
    """POST the run form; returns the run's id (from the redirect)."""
    data = {"csrf": token, "county": county, "scenario": scenario, "time_limit_s": time_limit_s}
    if maps:
        data["maps"] = "on"
    r = client.post("/runs", data=data)
    assert r.status_code == 303, r.text[:800]
    return r.headers["location"].rsplit("/", 1)[1]


def wait_state(client: httpx.Client, run_id: str, states: set[str], timeout_s: float = 120) -> dict:
    """Poll a run's progress until its state is one of ``states``."""
    deadline = time.monotonic() + timeout_s
    while True:
        j = client.get(f"/runs/{run_id}/progress").json()
        if j["state"] in states:
            return j
        assert time.monotonic() < deadline, f"run {run_id} still {j['state']} after {timeout_s} s"
        time.sleep(0.3)
