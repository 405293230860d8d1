"""Load and validate a county folder into a :class:`~planner.county.County`.

Every rule of ``docs/data.md`` is checked before any work starts. The first rule broken
is raised as one :class:`~planner.errors.DataError` naming the file, row or identifier,
field and rule. Rules are checked in a fixed order, so the same input always gives the
same message.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import yaml
from pydantic import ValidationError
from shapely.geometry import Point
from shapely.validation import explain_validity

from planner.county import County
from planner.datum import to_wgs84
from planner.errors import DataError
from planner.parameters import Parameters
from planner.plausibility import Finding, datum_findings, range_findings
from planner.schema import (
    SCHOOLS,
    SETTLEMENTS,
    TABLES,
    FieldSpec,
    TableSpec,
)

log = logging.getLogger(__name__)

GPKG_NAME = "county.gpkg"
PARAMETERS_NAME = "parameters.yaml"
#: Tables that may be absent (a county with no candidate sites or expansion options).
OPTIONAL_TABLES = frozenset({"candidate_sites", "expansion_options"})
#: Tables that may hold no rows.
MAY_BE_EMPTY = OPTIONAL_TABLES
#: How far outside the county boundary a point may lie (digitising slack), metres.
BOUNDARY_TOLERANCE_M = 200.0

_TRUE = {"true", "1", "yes", "y", "是", "t"}
_FALSE = {"false", "0", "no", "n", "否", "f"}
_HEADER_CODE = re.compile(r"\(\s*([A-Za-z0-9_]+)\s*\)\s*$")
#: largest count accepted in a whole-number field (beyond it the int64 arithmetic would lose digits)
MAX_COUNT = 10**12
#: "Save as CSV UTF-8" in the two languages clerks' Excel speaks
SAVE_AS_UTF8 = "in Excel use 另存为 Save As → 'CSV UTF-8 (逗号分隔)(*.csv)'"


# --------------------------------------------------------------------------- helpers


def metric_crs_for(lon: float, lat: float) -> str:
    """Return the CGCS2000 3-degree Gauss-Krüger CRS whose zone holds ``lon``.

    Outside China's longitudes (73.5°E–136.5°E) the WGS-84 UTM zone is used instead.
    """
    if 73.5 <= lon < 136.5:
        central = 75 + 3 * round((lon - 75) / 3)
        return f"EPSG:{4534 + (central - 75) // 3}"
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _row(i: int) -> int:
    """Spreadsheet row number of data row ``i`` (0-based; the header is row 1)."""
    return i + 2


def _clean_header(col: object) -> str:
    """A header as typed, with full-width brackets, letters and spaces made ASCII (NFKC) and spaces collapsed."""
    text = unicodedata.normalize("NFKC", str(col)).replace("\u3000", " ")
    return re.sub(r"\s+", " ", text).strip()


def _normalise_header(col: object, spec: TableSpec) -> str:
    """The field code a header names: ``school_id``, ``学校代码`` or ``学校代码（school_id）``."""
    text = _clean_header(col)
    m = _HEADER_CODE.search(text)
    if m:
        text = m.group(1)
    names = {f.name.lower(): f.name for f in spec.fields}
    if text.lower() in names:
        return names[text.lower()]
    squeezed = text.replace(" ", "")
    for f in spec.fields:
        if squeezed == f.zh:
            return f.name
    return text


def _column_letter(j: int) -> str:
    """Spreadsheet letter of 0-based column ``j`` (A, B, …, AA)."""
    letters = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def decode_text(path: Path) -> str:
    """Text of a file saved as UTF-8 (with or without BOM) or GBK / GB18030 (Excel and Notepad on Chinese Windows).

    Raises
    ------
    DataError
        Naming the file and how to re-save it, for UTF-16 or any other encoding.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(path.name, f"cannot be read ({exc.strerror or exc})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(path.name, f"is saved as UTF-16 ('Unicode text'); {SAVE_AS_UTF8}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise DataError(path.name, f"is neither UTF-8 nor GBK/GB18030 text; {SAVE_AS_UTF8}") from None
    log.info("%s: read as GBK/GB18030 (not UTF-8)", path.name)
    return text


def _with_header(df: pd.DataFrame) -> pd.DataFrame:
    """First row of a header-less read as the column names, kept exactly (duplicates too)."""
    if len(df) == 0:
        return df
    header = ["" if pd.isna(v) else str(v) for v in df.iloc[0]]
    body = df.iloc[1:].reset_index(drop=True)
    body.columns = header
    # blank header over a blank column: what Excel leaves after a deleted column's data
    keep = [j for j, h in enumerate(header) if h.strip() or (body.iloc[:, j].astype(str).str.strip() != "").any()]
    return body.iloc[:, keep]


def _find_table_files(folder: Path, name: str) -> list[Path]:
    """Files holding table ``name`` (``.csv``, ``.xlsx``, ``.xls``; case-insensitive as on Windows)."""
    wanted = {f"{name}.csv", f"{name}.xlsx", f"{name}.xls"}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower() in wanted)


class _Source:
    """Where a table came from, for messages."""

    def __init__(self, label: str, geometry_source: bool) -> None:
        self.label = label
        self.geometry_source = geometry_source


def _read_raw(folder: Path, spec: TableSpec, layers: set[str]) -> tuple[pd.DataFrame | None, _Source | None]:
    """Read a table as text columns (or a GeoDataFrame for GeoPackage layers).

    CSV and Excel tables are read without a header and the first row is taken as the
    header as typed, so a column given twice is seen (pandas would rename it ``x.1``).
    """
    gpkg = folder / GPKG_NAME
    files = [] if spec.gpkg_only else _find_table_files(folder, spec.name)
    sources = [f"{GPKG_NAME} layer {spec.name}"] * (spec.name in layers) + [p.name for p in files]
    if len(sources) > 1:
        raise DataError(
            " and ".join(sources),
            f"table {spec.zh} is given {len(sources)} times; keep one (the planner will not guess which is current)",
        )
    if spec.name in layers:
        try:
            gdf = pyogrio.read_dataframe(gpkg, layer=spec.name)
        except Exception as exc:
            raise DataError(f"{GPKG_NAME} layer {spec.name}", f"cannot be read ({exc})") from None
        return gdf, _Source(f"{GPKG_NAME} layer {spec.name}", True)
    if not files:
        return None, None
    path = files[0]
    if path.suffix.lower() == ".xls":
        raise DataError(path.name, "is an old-format Excel file (.xls); save it as .xlsx or as CSV UTF-8")
    if path.suffix.lower() == ".csv":
        text = decode_text(path)
        first = text.split("\n", 1)[0]
        sep = "\t" if "\t" in first and "," not in first else ","  # Excel's "text (tab delimited)" saved as .csv
        try:
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, header=None, sep=sep)
        except pd.errors.EmptyDataError:
            raise DataError(path.name, "is empty (no header row)") from None
        except Exception as exc:
            raise DataError(path.name, f"cannot be read as CSV ({exc})") from None
        return _with_header(df), _Source(path.name, False)
    try:
        df = pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False, header=None)
    except Exception as exc:
        raise DataError(path.name, f"cannot be read as an Excel workbook ({exc})") from None
    return _with_header(df), _Source(path.name, False)


def _parse_bool(text: str) -> bool | None:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    return None


def _ident(df: pd.DataFrame, spec: TableSpec, i: int) -> str | None:
    if spec.id_field and spec.id_field in df.columns:
        value = str(df[spec.id_field].iloc[i]).strip()
        if value and value.lower() != "nan":
            return f"{spec.id_field} {value}"
    return None


def _fail(src: _Source, df: pd.DataFrame, spec: TableSpec, i: int, field: str, rule: str) -> DataError:
    return DataError(src.label, rule, row=_row(i), ident=_ident(df, spec, i), field=field)


def _convert_field(df: pd.DataFrame, spec: TableSpec, f: FieldSpec, src: _Source) -> pd.Series:
    """Parse one column to its type, checking emptiness, type, minimum and choices."""
    raw = df[f.name]
    text = raw.astype(object).where(raw.notna(), "").map(lambda v: str(v).strip())
    text = text.replace({"nan": "", "None": "", "<NA>": ""})
    empty = text == ""
    if not f.nullable:
        bad = np.flatnonzero(empty.to_numpy())
        if bad.size:
            return _raise(_fail(src, df, spec, int(bad[0]), f.name, "must not be empty"))
    if f.kind == "str":
        return text
    if f.kind == "bool":
        parsed = text.map(_parse_bool)
        bad = np.flatnonzero((parsed.isna() & ~empty).to_numpy())
        if bad.size:
            i = int(bad[0])
            return _raise(_fail(src, df, spec, i, f.name, f"must be true/false (是/否), got {text.iloc[i]!r}"))
        return parsed.fillna(False).astype(bool)
    if f.kind == "category":
        lookup = {code.lower(): code for code in f.choices} | {zh: code for code, zh in f.choices.items()}
        parsed = text.map(lambda v: lookup.get(v.lower(), lookup.get(v)))
        bad = np.flatnonzero((parsed.isna() & ~empty).to_numpy())
        if bad.size:
            i = int(bad[0])
            allowed = ", ".join(f"{c} ({z})" for c, z in f.choices.items())
            return _raise(_fail(src, df, spec, i, f.name, f"must be one of {allowed}; got {text.iloc[i]!r}"))
        return parsed.fillna("")
    # numbers
    values = pd.to_numeric(text.where(~empty, None), errors="coerce")
    bad = np.flatnonzero((values.isna() & ~empty).to_numpy())
    if bad.size:
        i = int(bad[0])
        return _raise(_fail(src, df, spec, i, f.name, f"must be a number, got {text.iloc[i]!r}"))
    finite = values.dropna()
    nonfinite = finite[~np.isfinite(finite.to_numpy(dtype=float))]
    if len(nonfinite):
        i = df.index.get_loc(nonfinite.index[0])
        return _raise(_fail(src, df, spec, int(i), f.name, "must be a finite number"))
    huge = finite[finite.abs() > MAX_COUNT] if f.kind == "int" else finite.iloc[0:0]
    if len(huge):
        i = int(df.index.get_loc(huge.index[0]))
        return _raise(_fail(src, df, spec, i, f.name, f"{text.iloc[i]} is too large for a count (at most 10¹²)"))
    if f.kind == "int":
        frac = finite[(finite - np.round(finite)).abs() > 1e-9]
        if len(frac):
            i = int(df.index.get_loc(frac.index[0]))
            return _raise(_fail(src, df, spec, i, f.name, f"must be a whole number, got {text.iloc[i]}"))
    if f.minimum is not None:
        low = finite[finite < f.minimum]
        if len(low):
            i = int(df.index.get_loc(low.index[0]))
            what = "a whole number" if f.kind == "int" else "a number"
            return _raise(_fail(src, df, spec, i, f.name, f"must be {what} ≥ {f.minimum:g}, got {text.iloc[i]}"))
    if f.kind == "int":
        return values.fillna(0 if not f.nullable else np.nan).round().astype("Int64" if f.nullable else "int64")
    return values.astype(float)


def _raise(err: DataError) -> pd.Series:
    raise err


def _parse_table(df: pd.DataFrame, spec: TableSpec, src: _Source) -> pd.DataFrame:
    """Check columns and parse every field of ``spec``; returns a new frame."""
    original = [str(c) for c in df.columns]
    codes = [c if c == "geometry" else _normalise_header(c, spec) for c in original]
    for j, code in enumerate(codes):
        if code and codes.count(code) > 1:
            k = codes.index(code, j + 1)
            where = "" if src.geometry_source else f" (columns {_column_letter(j)} and {_column_letter(k)})"
            raise DataError(
                src.label,
                f"column given twice{where}: {original[j]!r} and {original[k]!r}; delete one",
                field=code,
            )
    df = df.set_axis(codes, axis=1).reset_index(drop=True)
    fields = [f for f in spec.fields if not (src.geometry_source and f.name in ("lon", "lat"))]
    for f in fields:
        if f.name not in df.columns:
            if f.required:
                raise DataError(src.label, f"required column is missing ({f.zh} / {f.name})", field=f.name)
            df[f.name] = "" if f.default is None else str(f.default)
    extra = [c for c in df.columns if c not in {f.name for f in spec.fields} | {"geometry"}]
    if extra:
        log.info("%s: ignoring columns not in the data contract: %s", src.label, ", ".join(map(str, extra)))
    out = pd.DataFrame(index=df.index)
    for f in fields:
        out[f.name] = _convert_field(df, spec, f, src)
        if f.unique:
            dups = out[f.name].duplicated(keep="first")
            if dups.any():
                i = int(np.flatnonzero(dups.to_numpy())[0])
                first = int(np.flatnonzero((out[f.name] == out[f.name].iloc[i]).to_numpy())[0])
                raise DataError(
                    src.label,
                    f"duplicate {f.name} {out[f.name].iloc[i]!r} (first used on row {_row(first)})",
                    row=_row(i),
                    field=f.name,
                )
    if "geometry" in df.columns:
        out["geometry"] = df["geometry"].to_numpy()
    return out


def _check_lonlat(out: pd.DataFrame, spec: TableSpec, src: _Source) -> None:
    lon = out["lon"].to_numpy(dtype=float)
    lat = out["lat"].to_numpy(dtype=float)
    swapped = (np.abs(lat) > 90) & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    projected = ((np.abs(lon) > 180) | (np.abs(lat) > 90)) & ~swapped
    for mask, rule in (
        (swapped, "latitude {lat:g} is beyond ±90°; lon and lat look swapped"),
        (
            projected,
            "({lon:g}, {lat:g}) are not degrees; projected metres are not accepted in lon/lat columns "
            "(give WGS-84/CGCS2000 or GCJ-02/BD-09 degrees and set datum in parameters.yaml)",
        ),
    ):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise _fail(src, out, spec, i, "lon/lat", rule.format(lon=lon[i], lat=lat[i]))


def _to_metric_points(out: pd.DataFrame, datum: str, crs: str) -> gpd.GeoDataFrame:
    lon, lat = to_wgs84(out["lon"].to_numpy(dtype=float), out["lat"].to_numpy(dtype=float), datum)
    out = out.copy()
    out["lon"] = lon
    out["lat"] = lat
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    return gdf.to_crs(crs)


def _layer_to_metric(gdf: gpd.GeoDataFrame, src: _Source, datum: str, crs: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise DataError(src.label, "layer has no coordinate reference system; save it with one (e.g. EPSG:4326)")
    if gdf.geometry.isna().any() or gdf.geometry.is_empty.any():
        i = int(np.flatnonzero((gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy())[0])
        raise DataError(src.label, "feature has no geometry", row=i + 1, field="geometry")
    if gdf.crs.is_geographic and datum in ("gcj02", "bd09"):
        from shapely import transform

        def _fix(coords: np.ndarray) -> np.ndarray:
            x, y = to_wgs84(coords[:, 0], coords[:, 1], datum)
            return np.column_stack([x, y])

        gdf = gdf.set_geometry(transform(gdf.geometry.to_numpy(), _fix)).set_crs(gdf.crs, allow_override=True)
    return gdf.to_crs(crs)


def _load_parameters(folder: Path) -> Parameters:
    path = folder / PARAMETERS_NAME
    if not path.exists():
        raise DataError(PARAMETERS_NAME, f"file is missing from {folder}")
    try:
        raw = yaml.safe_load(decode_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = f" ({exc.problem})" if getattr(exc, "problem", None) else ""
        raise DataError(PARAMETERS_NAME, f"is not valid YAML{where}{problem}") from None
    if not isinstance(raw, dict):
        raise DataError(PARAMETERS_NAME, "must be a mapping of keys to values")
    try:
        return Parameters.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        got = err.get("input")
        extra = f" (got {got!r})" if err["type"] not in ("missing",) and not isinstance(got, dict) else ""
        raise DataError(PARAMETERS_NAME, f"{msg}{extra}", field=loc) from None


def _check_metric_crs(params: Parameters) -> None:
    """``metric_crs``, when given, is a CRS pyproj knows, projected, in metres."""
    if params.metric_crs is None:
        return
    try:
        crs = pyproj.CRS.from_user_input(params.metric_crs)
    except pyproj.exceptions.CRSError:
        raise DataError(
            PARAMETERS_NAME,
            f"unknown coordinate reference system {params.metric_crs!r} (pyproj does not know it); give a projected "
            "CRS in metres such as EPSG:4547, or leave metric_crs out to use the county's Gauss-Krüger zone",
            field="metric_crs",
        ) from None
    units = {ax.unit_name for ax in crs.axis_info}
    if not crs.is_projected or units - {"metre", "meter"}:
        raise DataError(
            PARAMETERS_NAME,
            f"{params.metric_crs!r} is not a projected CRS in metres ({crs.name}, units {', '.join(sorted(units))}); "
            "distances need one, e.g. EPSG:4547, or leave metric_crs out",
            field="metric_crs",
        )


# --------------------------------------------------------------------------- main entry


def load_county(folder: str | Path, *, check_network: bool = True, strict: bool = False) -> County:
    """Load a county folder, validating every rule of the data contract.

    Parameters
    ----------
    folder : str or Path
        Folder with ``county.gpkg``, ``parameters.yaml`` and the tables (see
        :mod:`planner.schema` and ``docs/data.md``).
    check_network : bool
        Also check that the road network reaches every school, settlement and candidate
        site (needs :mod:`planner.network`; slower).
    strict : bool
        Treat borderline values (plausibility warnings) as errors.

    Returns
    -------
    County
        The validated county, every geometry in a metric CRS; its ``warnings`` list the
        borderline values (``docs/data.md``, plausibility).

    Raises
    ------
    DataError
        The first rule broken, as one line naming file, row, field and rule.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(str(folder), "county folder does not exist")
    params = _load_parameters(folder)
    _check_metric_crs(params)
    gpkg = folder / GPKG_NAME
    layers: set[str] = set()
    if gpkg.exists():
        try:
            layers = {str(name) for name, _ in pyogrio.list_layers(gpkg)}
        except Exception as exc:
            raise DataError(GPKG_NAME, f"is not a readable GeoPackage ({exc})") from None

    raw: dict[str, tuple[pd.DataFrame, _Source]] = {}
    for spec in TABLES:
        df, src = _read_raw(folder, spec, layers)
        if df is None or src is None:
            if spec.name in OPTIONAL_TABLES:
                cols = {f.name: pd.Series(dtype=str) for f in spec.fields}
                df, src = pd.DataFrame(cols), _Source(f"{spec.name}.csv", False)
            elif spec.gpkg_only:
                where = GPKG_NAME if gpkg.exists() else f"{GPKG_NAME} (file is missing)"
                raise DataError(where, f"layer '{spec.name}' ({spec.zh}) is missing")
            else:
                raise DataError(
                    f"{spec.name}.csv",
                    f"table {spec.zh} is missing: give {spec.name}.csv, {spec.name}.xlsx or a layer "
                    f"'{spec.name}' in {GPKG_NAME}",
                )
        if len(df) == 0 and spec.name not in MAY_BE_EMPTY:
            raise DataError(src.label, f"table {spec.zh} has no rows")
        raw[spec.name] = (df, src)

    parsed: dict[str, pd.DataFrame] = {}
    sources: dict[str, _Source] = {}
    for spec in TABLES:
        df, src = raw[spec.name]
        parsed[spec.name] = _parse_table(df, spec, src)
        sources[spec.name] = src

    # ---- geometry and CRS
    boundary_src = sources["boundary"]
    boundary = gpd.GeoDataFrame(parsed["boundary"], geometry="geometry", crs=raw["boundary"][0].crs)
    if boundary.crs is None:
        raise DataError(
            boundary_src.label, "layer has no coordinate reference system; save it with one (e.g. EPSG:4326)"
        )
    if len(boundary) != 1:
        raise DataError(boundary_src.label, f"must hold exactly one feature, the county outline (has {len(boundary)})")
    geo = boundary.to_crs("EPSG:4326").geometry.iloc[0]
    if geo is None or geo.is_empty:
        raise DataError(boundary_src.label, "feature has no geometry", row=1, field="geometry")
    c = geo.representative_point()
    crs = params.metric_crs or metric_crs_for(c.x, c.y)
    boundary = _layer_to_metric(boundary, boundary_src, params.datum, crs)
    outline = boundary.geometry.iloc[0]
    if outline.geom_type not in ("Polygon", "MultiPolygon"):
        raise DataError(boundary_src.label, f"geometry must be a polygon, got {outline.geom_type}", row=1)
    if not outline.is_valid:
        reason = explain_validity(outline)
        raise DataError(
            boundary_src.label,
            f"county outline is not a valid polygon ({reason}); repair it in GIS (QGIS: Vector ▸ Geometry Tools ▸ "
            "Fix Geometries) and check the result covers the whole county",
            row=1,
            field="geometry",
        )
    b_adcode = str(parsed["boundary"]["adcode"].iloc[0]).strip()
    if b_adcode != params.county.adcode:
        raise DataError(
            boundary_src.label,
            f"adcode {b_adcode} differs from county.adcode {params.county.adcode} in {PARAMETERS_NAME} "
            "(the outline of another county, or a typo)",
            row=1,
            field="adcode",
        )

    frames: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {"boundary": boundary}
    for spec in TABLES[1:]:
        df = parsed[spec.name]
        src = sources[spec.name]
        if spec.geometry is None:
            frames[spec.name] = df
            continue
        if src.geometry_source:
            gdf = gpd.GeoDataFrame(df, geometry="geometry", crs=raw[spec.name][0].crs)
            gdf = _layer_to_metric(gdf, src, params.datum, crs)
            wanted = {
                "Point": {"Point"},
                "Polygon": {"Polygon", "MultiPolygon"},
                "LineString": {"LineString", "MultiLineString"},
            }[spec.geometry]
            bad = ~gdf.geom_type.isin(wanted)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    src.label,
                    f"geometry must be {spec.geometry}, got {gdf.geom_type.iloc[i]}",
                    row=i + 1,
                    field="geometry",
                )
            if spec.geometry == "Point":
                wgs = gdf.to_crs("EPSG:4326")
                gdf["lon"] = wgs.geometry.x
                gdf["lat"] = wgs.geometry.y
            frames[spec.name] = gdf
        else:
            _check_lonlat(df, spec, src)
            frames[spec.name] = _to_metric_points(df, params.datum, crs)

    _check_valid_polygons(frames["townships"], sources["townships"])
    datum_warnings = _check_datum(frames, sources, params, crs, strict=strict)  # before a shifted point falls outside
    _check_inside(frames, sources, outline)

    # ---- index by id (keeping the id column)
    for spec in TABLES[1:]:
        if spec.id_field:
            frames[spec.name] = frames[spec.name].set_index(spec.id_field, drop=False)
            frames[spec.name].index.name = spec.id_field

    _check_references(frames, sources)
    _check_cross_rules(frames, sources)
    warnings = datum_warnings + _check_plausibility(frames, sources, params, strict=strict)

    county = County(
        parameters=params,
        crs=crs,
        boundary=boundary,
        townships=frames["townships"],
        settlements=frames["settlements"],
        schools=frames["schools"],
        teachers=frames["teachers"],
        candidate_sites=frames["candidate_sites"],
        expansion_options=frames["expansion_options"],
        roads=frames["roads"],
        source=folder,
        warnings=tuple(warnings),
    )
    if check_network:
        _check_network(county, sources)
    return county


# --------------------------------------------------------------------------- rules


def _check_inside(frames: dict[str, Any], sources: dict[str, _Source], outline: Any) -> None:
    """Every point lies in the county; explain the likely CRS mistake when not."""
    zone = outline.buffer(BOUNDARY_TOLERANCE_M)
    for name in ("settlements", "schools", "candidate_sites"):
        gdf = frames[name]
        if len(gdf) == 0:
            continue
        inside = gdf.geometry.within(zone).to_numpy()
        if inside.all():
            continue
        i = int(np.flatnonzero(~inside)[0])
        spec = next(t for t in TABLES if t.name == name)
        lon, lat = float(gdf["lon"].iloc[i]), float(gdf["lat"].iloc[i])
        hint = ""
        swapped = gpd.GeoSeries([Point(lat, lon)], crs="EPSG:4326").to_crs(gdf.crs).iloc[0]
        if -180 <= lat <= 180 and -90 <= lon <= 90 and swapped.within(zone):
            hint = "; lon and lat look swapped"
        else:
            dist_km = outline.distance(gdf.geometry.iloc[i]) / 1000
            hint = f"; it is {dist_km:,.1f} km outside (wrong coordinates or wrong datum?)"
        raise _fail(
            sources[name],
            gdf.reset_index(drop=True),
            spec,
            i,
            "lon/lat",
            f"point ({lon:.6f}, {lat:.6f}) lies outside the county boundary{hint}",
        )
    roads = frames["townships"]
    bad = ~roads.geometry.intersects(zone)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            sources["townships"].label,
            "township polygon lies outside the county boundary",
            row=i + 1,
            ident=f"township_id {roads['township_id'].iloc[i]}",
            field="geometry",
        )


def _check_valid_polygons(gdf: gpd.GeoDataFrame, src: _Source) -> None:
    """Township polygons are valid (a self-intersecting one would misplace settlements silently)."""
    bad = ~gdf.geometry.is_valid.to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            src.label,
            f"polygon is not valid ({explain_validity(gdf.geometry.iloc[i])}); repair it in GIS (QGIS: Vector ▸ "
            "Geometry Tools ▸ Fix Geometries)",
            row=i + 1,
            ident=f"township_id {gdf['township_id'].iloc[i]}",
            field="geometry",
        )


def _check_references(frames: dict[str, Any], sources: dict[str, _Source]) -> None:
    for spec in TABLES:
        df = frames[spec.name]
        for f in spec.fields:
            if not f.references:
                continue
            table, column = f.references.split(".")
            known = set(frames[table][column])
            values = df[f.name].to_numpy()
            unknown = [(i, v) for i, v in enumerate(values) if v != "" and v not in known]
            if unknown:
                i, v = unknown[0]
                what = next(t for t in TABLES if t.name == table).zh
                raise _fail(
                    sources[spec.name],
                    df.reset_index(drop=True),
                    spec,
                    i,
                    f.name,
                    f"refers to unknown {table[:-1].replace('_', ' ')} {v!r} (not in {what})",
                )


_STAGE_KINDS = {
    "primary": ("primary", "teaching_point", "nine_year"),
    "junior": ("junior", "nine_year"),
}


def _check_cross_rules(frames: dict[str, Any], sources: dict[str, _Source]) -> None:
    schools = frames["schools"]
    settlements = frames["settlements"]
    teachers = frames["teachers"]
    s_src, v_src, t_src = sources["schools"], sources["settlements"], sources["teachers"]
    sch_flat = schools.reset_index(drop=True)
    set_flat = settlements.reset_index(drop=True)

    # school kind vs stages taught
    for stage, kinds in _STAGE_KINDS.items():
        for col in (f"pupils_{stage}", f"classes_{stage}"):
            bad = (~sch_flat["kind"].isin((*kinds, "special"))) & (sch_flat[col] > 0)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise _fail(
                    s_src,
                    sch_flat,
                    SCHOOLS,
                    i,
                    col,
                    f"a {sch_flat['kind'].iloc[i]} school teaches no {stage} stage, so this must be 0",
                )
        bad = (sch_flat[f"pupils_{stage}"] > 0) & (sch_flat[f"classes_{stage}"] == 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(s_src, sch_flat, SCHOOLS, i, f"classes_{stage}", f"must be > 0 when pupils_{stage} > 0")

    # settlement pupils need a catchment school that teaches the stage
    for stage, kinds in _STAGE_KINDS.items():
        col = f"school_{stage}_id"
        missing = (set_flat[f"pupils_{stage}"] > 0) & (set_flat[col] == "")
        if missing.any():
            i = int(np.flatnonzero(missing.to_numpy())[0])
            raise _fail(
                v_src, set_flat, SETTLEMENTS, i, col, f"must name the current catchment school when pupils_{stage} > 0"
            )
        assigned = set_flat[col] != ""
        kind = set_flat[col].map(schools["kind"]).fillna("")
        own = set_flat[col].map(schools["ownership"]).fillna("")
        bad = assigned & (~kind.isin(kinds) | (own != "public"))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            sid = set_flat[col].iloc[i]
            raise _fail(
                v_src,
                set_flat,
                SETTLEMENTS,
                i,
                col,
                f"catchment school {sid} must be a public school teaching the {stage} stage "
                f"(it is {own.iloc[i]} {kind.iloc[i]})",
            )
        ages = range(6, 12) if stage == "primary" else range(12, 15)
        children = set_flat[[f"age_{a}" for a in ages]].sum(axis=1)
        bad = set_flat[f"pupils_{stage}"] > children
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(
                v_src,
                set_flat,
                SETTLEMENTS,
                i,
                f"pupils_{stage}",
                f"{set_flat[f'pupils_{stage}'].iloc[i]} pupils exceed the {children.iloc[i]} resident children "
                f"aged {ages.start}-{ages.stop - 1}",
            )

    # enrolment of public catchment schools equals the pupils of their catchment
    for stage in ("primary", "junior"):
        col = f"school_{stage}_id"
        catch = set_flat.groupby(col)[f"pupils_{stage}"].sum()
        public = (sch_flat["ownership"] == "public") & (sch_flat["kind"] != "special")
        expected = sch_flat["school_id"].map(catch).fillna(0).astype(int)
        bad = public & (expected != sch_flat[f"pupils_{stage}"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(
                s_src,
                sch_flat,
                SCHOOLS,
                i,
                f"pupils_{stage}",
                f"{sch_flat[f'pupils_{stage}'].iloc[i]} enrolled, but the settlements whose {col} is this "
                f"school hold {expected.iloc[i]} pupils (the two must agree for a public school)",
            )

    # boarding places only at boarding schools
    bad = (~sch_flat["is_boarding"]) & (sch_flat["boarding_places"] > 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(
            s_src, sch_flat, SCHOOLS, i, "boarding_places", "must be 0 for a school that is not a boarding school"
        )

    # teachers: stage taught by the school, and not more teachers than staff
    t_flat = teachers.reset_index(drop=True)
    kind = t_flat["school_id"].map(schools["kind"])
    teaches = np.array([k == "special" or k in _STAGE_KINDS[s] for k, s in zip(kind, t_flat["stage"], strict=True)])
    if not teaches.all():
        i = int(np.flatnonzero(~teaches)[0])
        from planner.schema import TEACHERS

        raise _fail(
            t_src,
            t_flat,
            TEACHERS,
            i,
            "stage",
            f"school {t_flat['school_id'].iloc[i]} is a {kind.iloc[i]} school and has no {t_flat['stage'].iloc[i]} stage",  # noqa: E501
        )
    counts = t_flat.groupby("school_id").size()
    n_teachers = sch_flat["school_id"].map(counts).fillna(0).astype(int)
    bad = n_teachers > sch_flat["staff_total"]
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(
            s_src,
            sch_flat,
            SCHOOLS,
            i,
            "staff_total",
            f"{sch_flat['staff_total'].iloc[i]} staff, but teachers table lists {n_teachers.iloc[i]} full-time teachers here",  # noqa: E501
        )

    # music and art room areas need rooms
    for kind_ in ("music", "art"):
        bad = (sch_flat[f"{kind_}_rooms"] == 0) & (sch_flat[f"{kind_}_rooms_area_m2"] > 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(s_src, sch_flat, SCHOOLS, i, f"{kind_}_rooms_area_m2", f"must be 0 when {kind_}_rooms is 0")


def _finding_error(f: Finding, sources: dict[str, _Source]) -> DataError:
    if f.table == "parameters":
        return DataError(PARAMETERS_NAME, f.rule, field=f.field)
    return DataError(sources[f.table].label, f.rule, row=_row(f.position or 0), ident=f.ident, field=f.field)


def _check_plausibility(
    frames: dict[str, Any], sources: dict[str, _Source], params: Parameters, *, strict: bool
) -> list[str]:
    """Raise the first implausible value (or borderline one, with ``strict``); return the warnings as lines."""
    findings = range_findings(params, frames["settlements"], frames["schools"], frames["teachers"],
                              frames["townships"])  # fmt: skip
    errors = [f for f in findings if f.level == "error" or strict]
    if errors:
        raise _finding_error(errors[0], sources)
    return [str(_finding_error(f, sources)) for f in findings]


def _check_datum(
    frames: dict[str, Any], sources: dict[str, _Source], params: Parameters, crs: str, *, strict: bool
) -> list[str]:
    """Raise when the points' offset from the roads is another datum's shift; return a borderline one as a line."""
    pts = pd.concat([frames["settlements"][["lon", "lat"]], frames["schools"][["lon", "lat"]]])
    datum = datum_findings(pts["lon"].to_numpy(float), pts["lat"].to_numpy(float), params.datum, frames["roads"], crs)
    if datum is None:
        return []
    err = DataError(f"{sources['settlements'].label} and {sources['schools'].label}", datum.rule, field="lon/lat")
    if datum.level == "error" or strict:
        raise err
    return [str(err)]


def _check_network(county: County, sources: dict[str, _Source]) -> None:
    """Every school, settlement and candidate site must be reachable by road."""
    try:
        from planner.network import unreachable_points
    except ImportError:  # network layer not installed in this build
        log.warning("road-network check skipped: planner.network is not available")
        return
    bad = unreachable_points(county)
    if bad is None or len(bad) == 0:
        return
    first = bad.iloc[0]
    table = str(first.get("table", "schools"))
    ident = str(first.get("id", ""))
    reason = str(first.get("reason", "is not connected to the road network"))
    spec = next(t for t in TABLES if t.name == table)
    frame = getattr(county, table)
    i = int(frame.index.get_loc(ident)) if ident in frame.index else None
    label = sources[table].label if table in sources else f"{table}.csv"
    raise DataError(
        label,
        f"road network does not reach it: {reason}",
        row=_row(i) if i is not None else None,
        ident=f"{spec.id_field} {ident}",
    )


def summarise(county: County) -> dict[str, Any]:
    """Headline counts of a county, for ``planner check`` and ``planner run``.

    Returns
    -------
    dict
        Schools by kind and stage, pupils by stage, teachers, staff, settlements, road
        length in km, candidate sites and expansion options.
    """
    s = county.schools
    compulsory = s[s["kind"] != "special"]
    primary_stage = compulsory["kind"].isin(["primary", "teaching_point"])
    junior_stage = compulsory["kind"].isin(["junior", "nine_year"])
    roads_km = float(county.roads.geometry.length.sum()) / 1000
    return {
        "county": county.name_zh,
        "adcode": county.parameters.county.adcode,
        "synthetic": county.synthetic,
        "crs": county.crs,
        "townships": len(county.townships),
        "settlements": len(county.settlements),
        "schools": len(compulsory),
        "primary_schools": int(primary_stage.sum()),
        "teaching_points": int((compulsory["kind"] == "teaching_point").sum()),
        "junior_schools": int(junior_stage.sum()),
        "nine_year_schools": int((compulsory["kind"] == "nine_year").sum()),
        "boarding_schools": int(compulsory["is_boarding"].sum()),
        "private_schools": int((compulsory["ownership"] == "private").sum()),
        "special_schools": int((s["kind"] == "special").sum()),
        "pupils_primary": int(compulsory["pupils_primary"].sum()),
        "pupils_junior": int(compulsory["pupils_junior"].sum()),
        "staff": int(compulsory["staff_total"].sum()),
        "teachers": int(county.teachers["school_id"].isin(compulsory.index).sum()),
        "road_km": round(roads_km, 1),
        "candidate_sites": len(county.candidate_sites),
        "expansion_options": len(county.expansion_options),
        "capital_budget_yuan": county.parameters.budget.capital_yuan,
        "warnings": list(county.warnings),
    }


def format_summary(summary: dict[str, Any]) -> str:
    """Render :func:`summarise` as a short bilingual text block."""
    synth = "（合成数据 synthetic data）" if summary["synthetic"] else ""
    lines = [
        f"{summary['county']} ({summary['adcode']}){synth}",
        f"  乡镇街道 townships            {summary['townships']:>8,}",
        f"  居民点 settlements            {summary['settlements']:>8,}",
        f"  学校 schools (primary+junior) {summary['schools']:>8,}",
        f"    小学 primary                {summary['primary_schools']:>8,}  (含教学点 incl. teaching points {summary['teaching_points']})",  # noqa: E501
        f"    初中 junior                 {summary['junior_schools']:>8,}  (含九年一贯制 incl. nine-year {summary['nine_year_schools']})",  # noqa: E501
        f"    寄宿制 boarding             {summary['boarding_schools']:>8,}   民办 private {summary['private_schools']}   特教 special {summary['special_schools']}",  # noqa: E501
        f"  小学在校生 primary pupils     {summary['pupils_primary']:>8,}",
        f"  初中在校生 junior pupils      {summary['pupils_junior']:>8,}",
        f"  教职工 staff                  {summary['staff']:>8,}   专任教师 full-time teachers {summary['teachers']:,}",
        f"  道路 roads (km)               {summary['road_km']:>10,.1f}",
        f"  备选地块 candidate sites      {summary['candidate_sites']:>8,}   改扩建方案 expansion options {summary['expansion_options']}",  # noqa: E501
        f"  资本预算 capital budget (万元) {summary['capital_budget_yuan'] / 1e4:>9,.0f}",
    ]
    warnings = summary.get("warnings", [])
    if warnings:
        lines.append(f"  ⚠ 数据提醒 {len(warnings)} borderline value(s) (warnings; --strict makes them errors):")
        lines += [f"    - {w}" for w in warnings]
    return "\n".join(lines)
