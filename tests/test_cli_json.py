"""``--json`` is for scripts: standard output holds one JSON object and nothing else; ``--quiet`` prints nothing
but errors.

HiGHS prints its banner on file descriptor 1 when a process makes its first solver, below Python's
``sys.stdout``; these tests run the command in a fresh process, where that banner appears, and read the
whole of standard output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tiny_county import write_tiny_county

ROOT = Path(__file__).resolve().parents[1]


def _planner(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "planner", *args], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=600, check=False)  # fmt: skip


def _tiny_run(tmp_path: Path, flag: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``planner run`` of the combined scenario on the tiny county with ``flag``, in a fresh process."""
    data = write_tiny_county(tmp_path / "tiny")
    out = tmp_path / "run"
    done = _planner("run", str(ROOT / "scenarios" / "combined.yaml"), "--data", str(data), "--out", str(out),
                    "--time-limit", "20", "--no-marginal", "--no-maps", flag)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done, out


def test_run_json_is_the_whole_of_standard_output(tmp_path: Path) -> None:
    done, out = _tiny_run(tmp_path, "--json")
    result = json.loads(done.stdout)  # the whole of it: no banner before, nothing after
    assert result["ok"] is True and Path(result["run_dir"]) == out
    # the figures a script asks for are the run's own, as its manifest records them
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert result["status"] == manifest["status"] and result["gap"] == manifest["gap"]
    assert result["objective"] == manifest["solver"]["objective"] and result["bound"] == manifest["solver"]["bound"]
    assert result["gap"] is not None and 0.0 <= result["gap"] <= 0.01  # the tiny county is proven
    assert result["costs"]["capital_yuan"] == manifest["costs"]["capital_yuan"]


def test_bad_input_json_is_one_object_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "no-such.yaml"
    done = _planner("run", str(missing), "--json")
    assert done.returncode == 2
    result = json.loads(done.stdout)
    assert result["ok"] is False and "no-such.yaml" in result["error"] and "does not exist" in result["error"]
    assert "no-such.yaml" in done.stderr  # the person reading the terminal sees it too


def test_quiet_run_prints_nothing(tmp_path: Path) -> None:
    done, out = _tiny_run(tmp_path, "--quiet")
    assert done.stdout == "" and done.stderr == ""  # no banner, no progress bar, no summary
    assert (out / "manifest.json").is_file()


def test_closed_standard_output_is_no_traceback(tmp_path: Path) -> None:
    # a script that closes standard output (``planner ... -q >&-``): Python's sys.stdout is None there, and the
    # banner's and the JSON's handling of descriptor 1 must leave the command's own message and exit code alone
    missing = tmp_path / "no-such.yaml"
    for flag in ("--quiet", "--json"):
        done = subprocess.run([sys.executable, "-m", "planner", "run", str(missing), flag], cwd=ROOT, stdout=None,
                              stderr=subprocess.PIPE, text=True, encoding="utf-8", timeout=120, check=False,
                              preexec_fn=lambda: os.close(1))  # fmt: skip
        assert done.returncode == 2, (flag, done.stderr)
        assert "Traceback" not in done.stderr and "no-such.yaml" in done.stderr, flag
