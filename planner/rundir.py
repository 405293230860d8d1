"""Run directories written atomically.

A run is assembled in a hidden temporary folder beside its target and renamed into place
only when everything is written, so a killed run leaves no half-written run directory and
never touches an earlier one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import PlannerError


class RunDirError(PlannerError):
    """The run directory cannot be created (it exists, or the parent is not writable)."""

    exit_code = 3


def new_run_path(runs_root: Path, name: str, now: datetime | None = None) -> Path:
    """Return ``runs_root/<name>-<timestamp>``, adding a counter if that exists already."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = runs_root / f"{name}-{stamp}"
    n = 2
    while path.exists():
        path = runs_root / f"{name}-{stamp}-{n}"
        n += 1
    return path


def ensure_new(target: Path) -> None:
    """Refuse an existing run directory (earlier runs are never overwritten).

    Raises
    ------
    RunDirError
        If ``target`` exists.
    """
    if Path(target).exists():
        raise RunDirError(f"{target}: already exists; runs are never overwritten (choose another --out)")


@contextmanager
def atomic_run_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``target`` when the block succeeds.

    Raises
    ------
    RunDirError
        If ``target`` already exists (earlier runs are never overwritten).
    """
    target = Path(target)
    ensure_new(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield tmp
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in a county folder (sorted by name)."""
    return {
        str(p.relative_to(folder)): file_sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


#: significant digits of floats in run-directory CSVs: whole yuan up to a thousand billion, and no
#: solver round-off (1e-12 relative) that would make two runs of the same plan differ byte for byte
CSV_FLOAT_FORMAT = "%.12g"


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write a table as a run-directory CSV: UTF-8 with BOM (opens in Excel), ``\\n`` line ends.

    Parameters
    ----------
    df : DataFrame
        Written without its index.
    path : Path
        Target file.

    Returns
    -------
    Path
        ``path``.
    """
    df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n", float_format=CSV_FLOAT_FORMAT)
    return path


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON with sorted keys and Chinese kept readable."""
    path.write_text(
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
