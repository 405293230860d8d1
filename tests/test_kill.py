"""A run killed mid-solve leaves no run directory and does not touch earlier runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _start(out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "planner", "run", str(ROOT / "scenarios" / "combined.yaml"), "--data",
         str(ROOT / "geodata" / "queshan"), "--out", str(out), "-q"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _wait_until_solving(proc: subprocess.Popen[bytes], seconds: float = 12.0) -> None:
    """Load, travel times and the model build take a few seconds; the solve then runs for minutes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.25)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_run_leaves_nothing_behind(tmp_path: Path, sig: signal.Signals) -> None:
    runs = tmp_path / "runs"
    earlier = runs / "earlier"
    earlier.mkdir(parents=True)
    (earlier / "manifest.json").write_text('{"status": "optimal"}\n', encoding="utf-8")
    before = {p: p.read_bytes() for p in earlier.rglob("*") if p.is_file()}

    proc = _start(runs / "killed")
    _wait_until_solving(proc)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    assert sorted(p.name for p in runs.iterdir()) == ["earlier"]  # no run dir, no partial dir
    assert {p: p.read_bytes() for p in earlier.rglob("*") if p.is_file()} == before
