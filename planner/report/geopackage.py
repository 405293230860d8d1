"""The plan's GeoPackage (``plan.gpkg``) with QGIS styles, and reading it back.

Styles: one QML file per layer kind ships in ``planner/report/styles``. They are written
next to the GeoPackage (``<stem>_styles/<layer>.qml``, for "Load Style…" by hand) and stored
in the GeoPackage's ``layer_styles`` table as each layer's default style — the table QGIS
itself uses ("Save as default" → "Datasource database"), so QGIS applies the symbology as
soon as a layer is added.

Field aliases: every field with a Chinese name (:data:`FIELD_ALIASES_ZH`, plus the Chinese part of the
HTML map's bilingual labels) gets it as its alias in the GeoPackage schema extension's
``gpkg_data_columns`` table (column ``name``, the English column name in ``description``). GDAL
(≥ 3.3) reads that ``name`` as the field's alternative name, which QGIS shows as the field's alias in
the attribute table and forms.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyogrio.errors

from planner.errors import DataError

log = logging.getLogger(__name__)

STYLES_DIR = Path(__file__).with_name("styles")

#: the QGIS style table (as QGIS creates it in a GeoPackage)
STYLE_TABLE = "layer_styles"
_CREATE_STYLES = """
CREATE TABLE IF NOT EXISTS "layer_styles" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256),
    "f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT,
    "useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30),
    "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""


#: the GeoPackage schema extension's table of column descriptions (GeoPackage 1.3, §2.3 / Annex F.2)
DATA_COLUMNS_TABLE = "gpkg_data_columns"
_CREATE_DATA_COLUMNS = """
CREATE TABLE IF NOT EXISTS "gpkg_data_columns" (
    table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT,
    mime_type TEXT, constraint_name TEXT,
    CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
    CONSTRAINT gdc_tn UNIQUE (table_name, name)
)"""

#: Chinese aliases of the fields the HTML map's labels do not cover
FIELD_ALIASES_ZH: dict[str, str] = {
    "kind": "类型",
    "item": "项目代码",
    "item_zh": "项目",
    "quantity": "数量",
    "unit_zh": "单位",
    "unit": "单位",
    "content_zh": "建设或采购内容",
    "serves_zh": "所补标准",
    "effect_zh": "规划前→规划后",
    "pupils_served": "受益学生（人）",
    "township_zh": "乡镇",
    "source": "来源",
    "shortfall": "差额",
    "pupils_affected": "涉及学生（人）",
    "binds": "制约因素代码",
    "binds_zh": "制约因素",
    "detail_zh": "说明",
    "cost_kind": "资金性质",
    "color": "填充色",
}


#: aliases of one layer that differ from the shared ones
LAYER_ALIASES_ZH: dict[str, dict[str, str]] = {
    "projects": {"kind": "项目类型代码", "kind_zh": "项目类型", "item": "方案代码", "item_zh": "方案"},
    "unmet": {"item": "事项代码", "item_zh": "未达标事项"},
}


def _zh_part(label: str) -> str:
    """The Chinese part of a bilingual label: up to the first space before a Latin letter."""
    m = re.match(r"^(.*?)\s+[A-Za-z]", label)
    return (m.group(1) if m else label).strip()


def field_aliases(columns: list[str], layer: str = "") -> dict[str, str]:
    """Column -> Chinese alias for a layer's columns, unique within the layer (a repeated alias gets the
    column name appended); columns without a Chinese name are left out."""
    from planner.report.webmap import FIELD_LABELS

    out: dict[str, str] = {}
    used: set[str] = set()
    own = LAYER_ALIASES_ZH.get(layer, {})
    for col in columns:
        shared = _zh_part(FIELD_LABELS[col]) if col in FIELD_LABELS else ""
        alias = own.get(col) or FIELD_ALIASES_ZH.get(col) or shared
        if not alias:
            continue
        if alias in used:
            alias = f"{alias}（{col}）"
        used.add(alias)
        out[col] = alias
    return out


def style_for(layer: str) -> Path | None:
    """The QML file shipped for a layer name (``catchments_*`` share one), or None."""
    stem = "catchments" if layer.startswith("catchments") else layer
    path = STYLES_DIR / f"{stem}.qml"
    return path if path.is_file() else None


def write_geopackage(layers: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    """Write the layers into one GeoPackage, with QGIS styles.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        Layer name -> layer (e.g. :func:`planner.report.layers.plan_layers`); written in
        the dict's order. Empty layers are written too (with their columns), so every run's
        GeoPackage has the same layers.
    path : Path
        The ``.gpkg`` to create; an existing file is replaced.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    for name, gdf in layers.items():
        out = _writable(gdf)
        geom_type = _geometry_type(out)
        pyogrio.write_dataframe(out, path, layer=name, driver="GPKG", geometry_type=geom_type, promote_to_multi=False)
        log.debug("wrote layer %s (%d features) to %s", name, len(out), path)
    styles = {name: style_for(name) for name in layers}
    styles = {name: p for name, p in styles.items() if p is not None}
    if styles:
        sidecar = path.with_name(f"{path.stem}_styles")
        sidecar.mkdir(exist_ok=True)
        for name, qml in styles.items():
            (sidecar / f"{name}.qml").write_text(qml.read_text("utf-8"), "utf-8")
        _embed_styles(path, {name: qml.read_text("utf-8") for name, qml in styles.items()})
    _write_aliases(path, {name: field_aliases([c for c in gdf.columns if c != gdf.geometry.name], name)
                          for name, gdf in layers.items()})  # fmt: skip
    return path


def _write_aliases(path: Path, aliases: dict[str, dict[str, str]]) -> None:
    """Store each layer's field aliases in ``gpkg_data_columns`` and register the schema extension."""
    with closing(sqlite3.connect(path)) as con, con:
        con.execute(_CREATE_DATA_COLUMNS)
        con.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT "
            "NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, "
            "extension_name))"
        )
        # registered as GDAL registers it: one row for the table, no column
        con.execute(
            "INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
            "VALUES ('gpkg_data_columns', NULL, 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', "
            "'read-write')"
        )
        for table, cols in aliases.items():
            for col, alias in cols.items():
                con.execute(
                    "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, description) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (table, col, alias, alias, col),
                )


def read_layers(gpkg_path: Path) -> dict[str, gpd.GeoDataFrame]:
    """Read every spatial layer of a GeoPackage (skips ``layer_styles`` and other tables).

    Parameters
    ----------
    gpkg_path : Path
        A GeoPackage written by :func:`write_geopackage`.

    Raises
    ------
    DataError
        The file is missing or is not a GeoPackage.

    Returns
    -------
    dict of str to GeoDataFrame
        Layer name -> layer, in file order. Boolean fields come back as bool; boolean fields
        with missing values (``passes_*``) were stored as integers 1/0/NULL and come back as
        floats 1.0/0.0/NaN.
    """
    gpkg_path = Path(gpkg_path)
    if not gpkg_path.is_file():
        raise DataError(str(gpkg_path), "the plan GeoPackage is missing (written by planner run)")
    try:
        listed = pyogrio.list_layers(gpkg_path)
    except pyogrio.errors.DataSourceError as exc:
        raise DataError(str(gpkg_path), f"not a readable GeoPackage ({exc})") from None
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, geom_type in listed:
        if geom_type is None or name in (STYLE_TABLE, DATA_COLUMNS_TABLE):
            continue
        out[str(name)] = gpd.read_file(gpkg_path, layer=name, engine="pyogrio")
    return out


def _writable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Nullable dtypes as ones GDAL writes: booleans with gaps as 1/0/NULL integers, strings with None."""
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        dt = out[col].dtype
        if isinstance(dt, pd.BooleanDtype):
            if out[col].isna().any():
                out[col] = out[col].astype("Int8")  # NULL where missing; GDAL has no nullable bool
            else:
                out[col] = out[col].astype(bool)
        elif isinstance(dt, pd.StringDtype):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _geometry_type(gdf: gpd.GeoDataFrame) -> str:
    types = set(gdf.geometry.dropna().geom_type)
    if not types:
        return "Unknown"
    if types <= {"Polygon", "MultiPolygon"}:
        return "MultiPolygon" if "MultiPolygon" in types else "Polygon"
    if types <= {"LineString", "MultiLineString"}:
        return "MultiLineString" if "MultiLineString" in types else "LineString"
    if types <= {"Point", "MultiPoint"}:
        return "MultiPoint" if "MultiPoint" in types else "Point"
    return "Unknown"


def _embed_styles(path: Path, qml: dict[str, str]) -> None:
    """Store each layer's QML as its default style in the ``layer_styles`` table."""
    with closing(sqlite3.connect(path)) as con, con:
        geom_col = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        con.execute(_CREATE_STYLES)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
            "VALUES (?, 'attributes', ?, 'QGIS layer styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            (STYLE_TABLE, STYLE_TABLE),
        )
        for layer, text in qml.items():
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                '"styleName", "styleQML", "styleSLD", "useAsDefault", description, owner, ui) '
                "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL)",
                (layer, geom_col.get(layer, "geom"), layer, text, f"planner style for {layer}"),
            )
