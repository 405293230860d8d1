"""County folders in the web application: the one it was started with, and uploaded ones.

An upload is a set of files named as the data contract names them (the Excel templates of
``planner template``: ``schools.xlsx``, ...; CSV copies; ``county.gpkg``; ``parameters.yaml``).
It becomes a new county folder under the server's own folder: a copy of a base county (for
the files not uploaded) with the uploaded tables in place of the base's. Each stored file gets
the contract's name, never the name the browser sent. The folder is then checked with
:func:`planner.loader.load_county`, whose error names the file, row, field and rule.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import DataError, PlannerError
from planner.loader import GPKG_NAME, PARAMETERS_NAME
from planner.schema import TABLES
from planner.web.progress import write_atomic_json

log = logging.getLogger(__name__)

DEFAULT_ID = "default"
_UPLOAD_ID = re.compile(r"^u-\d{8}-\d{6}-[0-9a-f]{6}$")
META_NAME = ".upload.json"
CHECK_NAME = ".check.json"


def allowed_upload_names() -> dict[str, str]:
    """File names an upload may carry → the table (or file) each one is."""
    names = {GPKG_NAME: "county.gpkg", PARAMETERS_NAME: "parameters"}
    for spec in TABLES:
        if not spec.gpkg_only:
            names[f"{spec.name}.xlsx"] = spec.name
            names[f"{spec.name}.csv"] = spec.name
    return names


@dataclass(frozen=True)
class CountySource:
    """A county folder the application offers."""

    county_id: str
    label: str
    folder: Path
    uploaded: bool


@dataclass(frozen=True)
class Problem:
    """One row of the problem table: file, row, field and the rule broken."""

    file: str
    row: str
    field: str
    rule: str


@dataclass
class CountyCheck:
    """The result of checking a county folder."""

    ok: bool
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    summary_text: str = ""
    access_text: str = ""
    access_bands: list[dict[str, Any]] = field(default_factory=list)
    access_columns: list[str] = field(default_factory=list)


def uploads_dir(state_dir: Path) -> Path:
    """Where uploaded county folders are kept."""
    return state_dir / "counties"


def county_sources(data_dir: Path, state_dir: Path) -> list[CountySource]:
    """The default county and every uploaded one (newest first)."""
    out = [CountySource(DEFAULT_ID, f"{data_dir.name}（启动时指定 --data）", data_dir, False)]
    root = uploads_dir(state_dir)
    if root.is_dir():
        for folder in sorted(root.iterdir(), reverse=True):
            if _UPLOAD_ID.match(folder.name) and (folder / META_NAME).exists():
                meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
                out.append(CountySource(folder.name, str(meta.get("label", folder.name)), folder, True))
    return out


def find_county(data_dir: Path, state_dir: Path, county_id: str) -> CountySource | None:
    """The county with this id, or ``None`` (ids come from :func:`county_sources` only)."""
    return next((c for c in county_sources(data_dir, state_dir) if c.county_id == county_id), None)


def problems_of(exc: PlannerError) -> list[Problem]:
    """The problem table of an error raised by the loader (or a scenario check)."""
    if isinstance(exc, DataError):
        row = str(exc.row) if exc.row is not None else ""
        if exc.ident:
            row = f"{row} ({exc.ident})" if row else exc.ident
        return [Problem(exc.source, row, exc.field or "", exc.rule)]
    return [Problem("", "", "", str(exc))]


def store_upload(
    base: CountySource, files: list[tuple[str, bytes]], state_dir: Path, label: str = ""
) -> tuple[CountySource | None, list[Problem]]:
    """Make a new county folder from ``base`` and the uploaded ``files`` (name, bytes).

    Returns the new county, or ``None`` and the problems (unknown file names, no file) when
    nothing was stored. The folder is assembled in a temporary folder and renamed into place.
    """
    names = allowed_upload_names()
    problems = []
    chosen: dict[str, bytes] = {}
    for sent_name, data in files:
        clean = Path(sent_name.replace("\\", "/")).name.strip().lower()
        if clean not in names:
            shown = clean[:60] or "(无名 unnamed)"
            rule = "不是数据规范中的文件名 not a file of the data contract; expected one of " + ", ".join(sorted(names))
            problems.append(Problem(shown, "", "", rule))
            continue
        if not data:
            problems.append(Problem(clean, "", "", "文件为空 the file is empty"))
            continue
        chosen[clean] = data
    if not chosen and not problems:
        problems.append(Problem("", "", "", "未选择文件 no file was chosen"))
    if problems:
        return None, problems
    root = uploads_dir(state_dir)
    root.mkdir(parents=True, exist_ok=True)
    county_id = f"u-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{county_id}.partial-", dir=root))
    try:
        replaced = {names[n] for n in chosen}
        for src in sorted(base.folder.iterdir()):
            if not src.is_file() or src.name.startswith("."):
                continue
            if names.get(src.name.lower()) in replaced:
                continue  # the upload replaces this table (a CSV would otherwise win over the uploaded workbook)
            shutil.copy2(src, tmp / src.name)
        for name, data in chosen.items():
            (tmp / name).write_bytes(data)
        meta = {"label": label or f"上传 upload {time.strftime('%Y-%m-%d %H:%M')}（基于 {base.label}）",
                "base": base.county_id, "files": sorted(chosen), "created": time.time()}  # fmt: skip
        write_atomic_json(tmp / META_NAME, meta)
        os.rename(tmp, root / county_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return CountySource(county_id, str(meta["label"]), root / county_id, True), []


def _fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of a county folder's files (a cached check is still valid)."""
    parts = [str(folder.resolve())]
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def check_county(source: CountySource, state_dir: Path) -> CountyCheck:
    """Validate a county folder; with no problem, its summary and its access report.

    Results are cached in the server's folder while the county's files are unchanged.
    """
    cache = state_dir / "checks" / f"{source.county_id}.json"
    stamp = _fingerprint(source.folder) if source.folder.is_dir() else ""
    if cache.exists():
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("stamp") == stamp:
                return _from_json(data["check"])
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("ignoring the unreadable cached check %s", cache)
    result = _check(source.folder)
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_atomic_json(cache, {"stamp": stamp, "check": _to_json(result)})
    return result


def _check(folder: Path) -> CountyCheck:
    from planner.access import access_summary, format_access_summary
    from planner.loader import format_summary, load_county, summarise
    from planner.scenario import default_scenario
    from planner.travel import plan_travel_times

    try:
        county = load_county(folder)
    except PlannerError as exc:
        return CountyCheck(ok=False, problems=problems_of(exc))
    summary = summarise(county)
    travel = plan_travel_times(county, default_scenario())
    report = access_summary(county, travel.travel_times)
    bands: pd.DataFrame = report.tables(zh=True)["bands"]
    return CountyCheck(
        ok=True,
        summary=summary,
        summary_text=format_summary(summary),
        access_text=format_access_summary(report),
        access_bands=json.loads(bands.to_json(orient="records", force_ascii=False)),
        access_columns=[str(c) for c in bands.columns],
    )


def _to_json(c: CountyCheck) -> dict[str, Any]:
    return {"ok": c.ok, "problems": [p.__dict__ for p in c.problems], "summary": c.summary,
            "summary_text": c.summary_text, "access_text": c.access_text, "access_bands": c.access_bands,
            "access_columns": c.access_columns}  # fmt: skip


def _from_json(d: dict[str, Any]) -> CountyCheck:
    return CountyCheck(ok=bool(d["ok"]), problems=[Problem(**p) for p in d["problems"]], summary=d["summary"],
                       summary_text=d["summary_text"], access_text=d["access_text"], access_bands=d["access_bands"],
                       access_columns=d["access_columns"])  # fmt: skip
