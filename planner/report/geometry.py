"""Catchment polygons (学区范围): one polygon per school and stage, covering the county.

A catchment in the data is a list of settlements (villages, neighbourhoods); a map needs an
area. The area of a settlement is its Voronoi cell (the land closer to it than to any other
settlement), clipped to the county boundary; a school's catchment is the union of the cells
of its settlements. The cells partition the county, so the catchments of one stage have no
gaps and no overlaps inside the county (up to floating-point slivers far below 1 m²).

Rules
-----
- A settlement with an assignment for the stage gives its cell to that school.
- A settlement with no assignment for the stage (no pupils of that stage, so nobody is
  zoned from it) gives its cell to the school of the *nearest assigned settlement*
  (straight-line distance; ties broken by settlement_id): its future pupils would most
  naturally be zoned with their nearest neighbouring village, and the rule keeps
  catchments compact. The polygon layer counts these cells in ``n_filled``.
- Settlements at the same point share one cell; it goes to the school with the most pupils
  among them (then the smallest school_id) and a warning is logged.

The cells are :func:`planner.adjacency.settlement_cells` (the same cells the contiguity rule's
adjacency graph is built from).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from planner.adjacency import settlement_cells
from planner.county import County

log = logging.getLogger(__name__)

STAGES = ("primary", "junior")

#: columns of the catchment layer
CATCHMENT_COLUMNS = ["school_id", "name_zh", "stage", "pupils", "n_settlements", "n_filled", "area_km2", "geometry"]


def county_area(county: County) -> shapely.Geometry:
    """The county boundary as one valid (multi)polygon in ``county.crs``."""
    return shapely.make_valid(shapely.union_all(county.boundary.to_crs(county.crs).geometry.to_numpy()))


def current_assignments(county: County) -> pd.DataFrame:
    """The catchments in force before the plan, in the plan's ``assignments`` shape.

    Parameters
    ----------
    county : County
        Uses ``settlements.school_primary_id`` / ``school_junior_id`` (a settlement that
        names a school keeps it even with no pupils: that is the published zoning).

    Returns
    -------
    DataFrame
        settlement_id, stage, school_id, pupils.
    """
    s = county.settlements
    frames = []
    for stage in STAGES:
        col = f"school_{stage}_id"
        ids = s[col].astype("string").str.strip()
        named = ids.notna() & ids.ne("")
        frames.append(
            pd.DataFrame(
                {
                    "settlement_id": s.index[named].astype(str),
                    "stage": stage,
                    "school_id": ids[named].astype(str).to_numpy(),
                    "pupils": s.loc[named, f"pupils_{stage}"].astype(int).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def cell_owners(county: County, assignments: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Which school each settlement's cell belongs to for ``stage`` (the module's rules).

    Returns
    -------
    DataFrame
        Indexed by settlement_id: ``school_id``, ``pupils`` (0 where not assigned) and
        ``filled`` (True where the cell went to the nearest assigned settlement's school).
    """
    s = county.settlements
    a = assignments[assignments["stage"] == stage]
    if a.duplicated("settlement_id").any():
        dup = a.loc[a.duplicated("settlement_id"), "settlement_id"].iloc[0]
        raise ValueError(f"assignments: settlement {dup} is assigned twice for stage {stage}")
    a = a.set_index(a["settlement_id"].astype(str))
    unknown = a.index.difference(s.index.astype(str))
    if len(unknown):
        raise ValueError(f"assignments: settlement {unknown[0]} is not in the county")
    ids = s.index.astype(str)
    school = pd.Series(a["school_id"].astype(str), index=a.index).reindex(ids)
    if "pupils" in a.columns:
        pupils = a["pupils"].reindex(ids).fillna(0)
    else:
        pupils = pd.Series(s[f"pupils_{stage}"].to_numpy(), index=ids).where(school.notna(), 0)
    filled = school.isna().to_numpy()
    if filled.all():
        raise ValueError(f"no settlement is assigned to a school for stage {stage}")
    if filled.any():
        xy = np.column_stack([s.geometry.x.to_numpy(), s.geometry.y.to_numpy()])
        # order assigned settlements by id so that the nearest of equals is the smallest id
        donors = np.flatnonzero(~filled)
        donors = donors[np.argsort(ids[donors].to_numpy(), kind="stable")]
        tree = cKDTree(xy[donors])
        dist, _ = tree.query(xy[filled], k=1)
        # among donors at the same (minimum) distance, take the smallest settlement_id
        near = tree.query_ball_point(xy[filled], r=dist * (1 + 1e-12) + 1e-9)
        pick = [donors[min(n)] for n in near]
        school.iloc[np.flatnonzero(filled)] = school.iloc[pick].to_numpy()
    return pd.DataFrame(
        {"school_id": school.to_numpy(), "pupils": pupils.to_numpy(dtype=float), "filled": filled}, index=ids
    )


def catchment_polygons(
    county: County,
    assignments: pd.DataFrame,
    stage: str,
    *,
    cells: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """One polygon per school of ``stage``: the union of its settlements' Voronoi cells.

    Parameters
    ----------
    county : County
        Settlements, boundary and school names (pass ``plan.after_county`` for "after" so
        that new schools are named).
    assignments : DataFrame
        ``settlement_id``, ``stage``, ``school_id`` and optionally ``pupils``: the plan's
        ``assignments`` for "after", :func:`current_assignments` for "before".
    stage : {"primary", "junior"}
    cells : GeoDataFrame, optional
        Precomputed :func:`planner.adjacency.settlement_cells` (they depend only on the settlements and the
        boundary; pass them to build several layers of one county faster).

    Returns
    -------
    GeoDataFrame
        In ``county.crs``, one row per school, sorted by school_id: school_id, name_zh, stage,
        pupils (of the assigned settlements), n_settlements (cells in the polygon, including
        filled ones), n_filled (cells of settlements with no assignment, given by the
        nearest-assigned-settlement rule), area_km2, geometry (MultiPolygon). Empty when no
        settlement is assigned for the stage.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, not {stage!r}")
    if not (assignments["stage"] == stage).any():  # no pupils of this stage anywhere: no catchments
        return gpd.GeoDataFrame(pd.DataFrame(columns=CATCHMENT_COLUMNS), geometry="geometry", crs=county.crs)
    if cells is None:
        cells = settlement_cells(county)
    owners = cell_owners(county, assignments, stage)
    xy = county.settlements.geometry
    dup = pd.Series(list(zip(xy.x, xy.y, strict=True)), index=owners.index)
    shared = dup.duplicated(keep=False)
    geoms = pd.Series(cells.geometry.to_numpy(), index=owners.index)
    if shared.any():
        # one cell for a point: to the school with most pupils there (then smallest id)
        for _, grp in owners[shared].groupby(dup[shared]):
            ranked = grp.sort_values(["pupils", "school_id"], ascending=[False, True])
            if ranked["school_id"].nunique() > 1:
                log.warning(
                    "settlements %s share one location but go to different %s schools; the area goes to %s",
                    ", ".join(grp.index), stage, ranked["school_id"].iloc[0],
                )  # fmt: skip
            cell = shapely.union_all(geoms[grp.index].to_numpy())
            geoms[grp.index] = shapely.Polygon()
            geoms[ranked.index[0]] = cell
    names = county.schools["name_zh"].astype(str)
    rows = []
    for sid, grp in owners.groupby("school_id", sort=True):
        geom = shapely.union_all(geoms[grp.index].to_numpy())
        geom = _polygonal(geom)
        rows.append(
            {
                "school_id": str(sid),
                "name_zh": names.get(sid, str(sid)),
                "stage": stage,
                "pupils": round(float(grp["pupils"].sum())),
                "n_settlements": len(grp),
                "n_filled": int(grp["filled"].sum()),
                "area_km2": shapely.area(geom) / 1e6,
                "geometry": geom,
            }
        )
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=CATCHMENT_COLUMNS), geometry="geometry", crs=county.crs)
    return out


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygon parts (a union may carry stray lines or points) as one MultiPolygon."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if p.geom_type == "MultiPolygon" else [p])
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()
