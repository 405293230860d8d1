"""Run directories written atomically.

A run is assembled in a hidden temporary folder beside its target and renamed into place
only when everything is written, so a killed run leaves no half-written run directory and
never touches an earlier one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import PlannerError

log = logging.getLogger(__name__)

#: a hidden ``.<name>.partial-*`` folder older than this is left by a killed run and is removed
STALE_PARTIAL_S = 24 * 3600.0
#: longest run-directory name taken from a scenario name (characters, before the timestamp)
MAX_NAME_CHARS = 80


class RunDirError(PlannerError):
    """The run directory cannot be created (it exists, or the parent is not writable)."""

    exit_code = 3


def safe_name(name: str) -> str:
    """A scenario name made safe as one folder name: no separators, no ``..``, no hidden or empty name.

    Letters (Chinese included), digits and ``_ . @ + -`` are kept; every other run of
    characters (``/``, ``\\``, ``:``, spaces, control characters) becomes ``_``; leading dots
    are dropped, so the result never climbs out of, or hides in, the runs folder.

    Parameters
    ----------
    name : str
        A scenario name as written in its YAML.

    Returns
    -------
    str
        Non-empty, at most :data:`MAX_NAME_CHARS` characters.
    """
    text = unicodedata.normalize("NFKC", str(name))
    text = re.sub(r"[^\w.@+-]+", "_", text).lstrip("._")[:MAX_NAME_CHARS].rstrip(".")
    return text or "run"


def new_run_path(runs_root: Path, name: str, now: datetime | None = None) -> Path:
    """Return ``runs_root/<safe name>-<timestamp>``, adding a counter if that exists already.

    The scenario name goes through :func:`safe_name`, so the path is always directly inside
    ``runs_root`` whatever the name (``../../x`` or an absolute path stays inside).
    """
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = safe_name(name)
    path = runs_root / f"{base}-{stamp}"
    n = 2
    while path.exists():
        path = runs_root / f"{base}-{stamp}-{n}"
        n += 1
    return path


def remove_stale_partials(folder: Path, max_age_s: float = STALE_PARTIAL_S, now: float | None = None) -> list[Path]:
    """Remove hidden ``.*.partial-*`` folders older than ``max_age_s`` that killed runs left in ``folder``.

    A run being written right now is younger than a day, so it is never touched.

    Returns
    -------
    list of Path
        The folders removed (each also logged).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    removed = []
    for p in sorted(folder.glob(".*.partial-*")):
        try:
            if p.is_dir() and now - p.stat().st_mtime > max_age_s:
                shutil.rmtree(p)
                removed.append(p)
                log.warning("removed %s, left by a run killed more than a day ago", p)
        except OSError as exc:  # another process removed it, or no permission: report, carry on
            log.warning("could not remove stale partial run %s (%s)", p, exc)
    return removed


def ensure_new(target: Path) -> None:
    """Refuse an existing run directory (earlier runs are never overwritten).

    Raises
    ------
    RunDirError
        If ``target`` exists, or a folder it would go in is a regular file.
    """
    target = Path(target)
    if target.exists():
        raise RunDirError(f"{target}: already exists; runs are never overwritten (choose another --out)")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise RunDirError(f"{target}: cannot be created, {parent} is a file, not a folder")
            break


@contextmanager
def atomic_run_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``target`` when the block succeeds.

    Raises
    ------
    RunDirError
        If ``target`` already exists (earlier runs are never overwritten) or its parent
        cannot be made a folder (e.g. it is a regular file). Hidden ``.partial-*`` folders
        killed runs left in the parent more than a day ago are removed first.
    """
    target = Path(target)
    ensure_new(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(target.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as exc:
        raise RunDirError(f"{target}: cannot create the output folder here ({exc.strerror or exc})") from None
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
