"""The County object: validated tables and geometry of one county, in a metric CRS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from planner.parameters import Parameters


@dataclass(frozen=True)
class County:
    """One county's validated input data.

    Every GeoDataFrame is in :attr:`crs` (metres). Tables are indexed by their identifier
    (``township_id``, ``settlement_id``, ``school_id``, ...), which is also kept as a
    column, and keep the row order of the input files. Categorical fields hold the English
    codes of :mod:`planner.schema`.

    Attributes
    ----------
    parameters : Parameters
        Metadata, datum, budgets and unit costs (``parameters.yaml``).
    crs : str
        The metric CRS every geometry is in, e.g. ``"EPSG:4547"``.
    boundary : geopandas.GeoDataFrame
        One row: the county outline.
    townships, settlements, schools, candidate_sites, roads : geopandas.GeoDataFrame
        See ``docs/data.md`` for every field.
    teachers, expansion_options : pandas.DataFrame
        Non-spatial tables.
    source : pathlib.Path or None
        Folder the county was loaded from.
    warnings : tuple of str
        Borderline values found on load (plausibility warnings, ``docs/data.md``).
    """

    parameters: Parameters
    crs: str
    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    settlements: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame
    teachers: pd.DataFrame
    candidate_sites: gpd.GeoDataFrame
    expansion_options: pd.DataFrame
    roads: gpd.GeoDataFrame
    source: Path | None = None
    warnings: tuple[str, ...] = ()

    @property
    def name_zh(self) -> str:
        """Chinese name of the county."""
        return self.parameters.county.name_zh

    @property
    def synthetic(self) -> bool:
        """Whether the data is generated rather than surveyed."""
        return self.parameters.synthetic
