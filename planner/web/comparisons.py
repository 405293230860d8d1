"""Comparisons of finished runs for the compare page: :mod:`planner.report.compare` written into the
server's folder (``runs/.web/compare/<key>/``), once per choice of runs."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.rundir import atomic_run_dir
from planner.web.progress import write_atomic_json

_KEY = re.compile(r"^[0-9a-f]{16}$")
META_NAME = "runs.json"
#: files of a comparison the server hands out (no other name is ever opened)
_SERVED = re.compile(r"^(comparison\.(xlsx|csv|png|html)|catchments_grid_[a-z]+\.png)$")


@dataclass(frozen=True)
class Comparison:
    """A written comparison: its key, the runs' ids and labels, its table and its files."""

    key: str
    run_ids: tuple[str, ...]
    table: pd.DataFrame
    images: tuple[str, ...]
    downloads: tuple[str, ...]


def comparison_key(run_ids: list[str]) -> str:
    """The folder name of the comparison of these runs, in this order."""
    return hashlib.sha256("\n".join(run_ids).encode("utf-8")).hexdigest()[:16]


def make_comparison(runs: list[tuple[str, Path]], state_dir: Path) -> str:
    """Write the comparison of ``runs`` (id, run directory) unless written already; returns its key.

    Raises
    ------
    CompareError
        A folder is not a complete run directory.
    """
    from planner.report.compare import comparison_table, write_comparison

    ids = [rid for rid, _ in runs]
    key = comparison_key(ids)
    folder = state_dir / "compare" / key
    if folder.exists():
        return key
    table = comparison_table([d for _, d in runs])
    folder.parent.mkdir(parents=True, exist_ok=True)
    with atomic_run_dir(folder) as tmp:
        write_comparison(table, tmp, run_dirs=[d for _, d in runs])
        write_atomic_json(tmp / META_NAME, {"run_ids": ids})
    return key


def load_comparison(state_dir: Path, key: str) -> Comparison | None:
    """A written comparison, or ``None`` for a key that is not one."""
    if not _KEY.match(key):
        return None
    folder = state_dir / "compare" / key
    if not (folder / META_NAME).exists():
        return None
    ids = json.loads((folder / META_NAME).read_text(encoding="utf-8"))["run_ids"]
    table = pd.read_csv(folder / "comparison.csv", encoding="utf-8-sig")
    names = sorted(p.name for p in folder.iterdir() if _SERVED.match(p.name))
    images = tuple(sorted((n for n in names if n.endswith(".png")), key=lambda n: n != "comparison.png"))
    downloads = tuple(n for n in names if n.endswith((".xlsx", ".csv", ".html")))
    return Comparison(key, tuple(ids), table, images, downloads)


def comparison_file(state_dir: Path, key: str, name: str) -> Path | None:
    """A file of a comparison when its name is one the server hands out."""
    if not _KEY.match(key) or not _SERVED.match(name):
        return None
    path = state_dir / "compare" / key / name
    return path if path.is_file() else None
