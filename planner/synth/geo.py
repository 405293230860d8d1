"""Geometry of a synthetic county: boundary, township partition, point placement.

All generation happens in a metric frame (the CGCS2000 3-degree Gauss-Krüger zone the
loader also uses); :class:`Frame` converts to WGS-84 lon/lat rounded to 6 decimals
(about 0.1 m) at the end. Every function takes a numpy ``Generator`` and depends on
nothing else that varies between runs.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.spatial import cKDTree
from shapely.geometry import MultiPolygon, Point, Polygon, shape

from planner.datum import gcj02_to_wgs84
from planner.loader import metric_crs_for

log = logging.getLogger(__name__)

#: Decimals of lon/lat written to every output file.
LONLAT_DECIMALS = 6
#: Grid of the written geometries, degrees.
GRID_DEG = 10.0**-LONLAT_DECIMALS


# --------------------------------------------------------------------------- boundary source


def read_boundary_feature(path: Path, adcode: str) -> dict[str, Any]:
    """Return the GeoJSON feature of ``adcode`` from a FeatureCollection file, unchanged.

    Parameters
    ----------
    path : Path
        GeoJSON FeatureCollection (e.g. ``county_boundaries.geojson``) or a file holding
        the single feature.
    adcode : str
        Six-digit code in the feature's ``adcode`` property.

    Raises
    ------
    KeyError
        When no feature has that adcode.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    features = data["features"] if data.get("type") == "FeatureCollection" else [data]
    for feat in features:
        if str(feat.get("properties", {}).get("adcode")) == adcode:
            return feat
    raise KeyError(f"no feature with adcode {adcode} in {path}")


def feature_collection_text(feature: dict[str, Any]) -> str:
    """The single feature as a GeoJSON FeatureCollection text (coordinates unchanged)."""
    fc = {
        "type": "FeatureCollection",
        "name": f"boundary_{feature['properties']['adcode']}_gcj02",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": [feature],
    }
    return json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n"


def gcj02_geometry_to_wgs84(geom: Any) -> Any:
    """Convert a lon/lat geometry from GCJ-02 to WGS-84 (every vertex)."""

    def fix(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, fix)


# --------------------------------------------------------------------------- frame


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


@dataclass(frozen=True)
class Frame:
    """The metric working frame of one county and its conversion to WGS-84.

    Attributes
    ----------
    crs : str
        Metric CRS (EPSG code) of the working frame.
    origin : tuple of float
        Metric point about which the county is scaled.
    stretch : float
        Linear scale factor applied to the real boundary (``sqrt(scale)``).
    """

    crs: str
    origin: tuple[float, float]
    stretch: float

    def _fwd(self) -> Transformer:
        return _transformer("EPSG:4326", self.crs)

    def _inv(self) -> Transformer:
        return _transformer(self.crs, "EPSG:4326")

    def to_metric(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
        """WGS-84 lon/lat of the real county -> scaled metric x, y (n × 2)."""
        x, y = self._fwd().transform(np.asarray(lon, float), np.asarray(lat, float))
        ox, oy = self.origin
        return np.column_stack([ox + (np.asarray(x) - ox) * self.stretch, oy + (np.asarray(y) - oy) * self.stretch])

    def to_lonlat(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """Metric x, y (n × 2) -> WGS-84 lon/lat (n × 2) rounded to :data:`LONLAT_DECIMALS`."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        if len(xy) == 0:
            return xy
        lon, lat = self._inv().transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), LONLAT_DECIMALS)

    def geometry_to_metric(self, geom: Any) -> Any:
        """A WGS-84 geometry of the real county -> scaled metric geometry."""
        return shapely.transform(geom, lambda c: self.to_metric(c[:, 0], c[:, 1]))

    def geometry_to_lonlat(self, geom: Any) -> Any:
        """A metric geometry -> WGS-84, vertices on the 1e-6° grid, kept valid."""
        out = shapely.transform(geom, self.to_lonlat)
        return shapely.set_precision(out, GRID_DEG)


def make_frame(boundary_wgs: Any, scale: float) -> Frame:
    """Working frame for a boundary (WGS-84) scaled by ``scale`` in area about its centroid."""
    c = boundary_wgs.representative_point()
    crs = metric_crs_for(c.x, c.y)
    xy = _transformer("EPSG:4326", crs).transform(boundary_wgs.centroid.x, boundary_wgs.centroid.y)
    return Frame(crs=crs, origin=(float(xy[0]), float(xy[1])), stretch=float(np.sqrt(scale)))


# --------------------------------------------------------------------------- sampling


def sample_in(poly: Any, n: int, rng: np.random.Generator, weight: Any = None) -> NDArray[np.float64]:
    """Draw ``n`` points uniformly (or by a density ``weight(xy) in [0, 1]``) inside ``poly``."""
    if n <= 0:
        return np.zeros((0, 2))
    minx, miny, maxx, maxy = poly.bounds
    out: list[NDArray[np.float64]] = []
    have = 0
    frac = max(poly.area / ((maxx - minx) * (maxy - miny)), 0.05)
    while have < n:
        m = int((n - have) / frac * 1.3) + 16
        xy = np.column_stack([rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)])
        keep = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
        if weight is not None:
            keep &= rng.uniform(0, 1, m) < weight(xy)
        xy = xy[keep]
        out.append(xy)
        have += len(xy)
    return np.concatenate(out)[:n]


def thin(xy: NDArray[np.float64], min_dist: float, keep_first: NDArray[np.float64] | None = None) -> NDArray[np.bool_]:
    """Greedy spacing: mask of points (in order) at least ``min_dist`` from every kept point.

    Points in ``keep_first`` (already placed) count as kept.
    """
    cell = min_dist
    grid: dict[tuple[int, int], list[int]] = {}
    pts: list[tuple[float, float]] = []

    def near(x: float, y: float) -> bool:
        cx, cy = int(np.floor(x / cell)), int(np.floor(y / cell))
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in grid.get((cx + dx, cy + dy), ()):
                    px, py = pts[j]
                    if (px - x) ** 2 + (py - y) ** 2 < min_dist**2:
                        return True
        return False

    def add(x: float, y: float) -> None:
        pts.append((x, y))
        grid.setdefault((int(np.floor(x / cell)), int(np.floor(y / cell))), []).append(len(pts) - 1)

    if keep_first is not None:
        for x, y in keep_first:
            add(float(x), float(y))
    mask = np.zeros(len(xy), bool)
    for i, (x, y) in enumerate(xy):
        if not near(float(x), float(y)):
            add(float(x), float(y))
            mask[i] = True
    return mask


def farthest_points(
    xy: NDArray[np.float64], k: int, weights: NDArray[np.float64] | None = None, start: int | None = None
) -> list[int]:
    """Indices of ``k`` well-spread points (greedy farthest-point sampling, optionally weighted)."""
    n = len(xy)
    if k >= n:
        return list(range(n))
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    first = int(np.argmax(w)) if start is None else start
    chosen = [first]
    d = np.hypot(*(xy - xy[first]).T)
    for _ in range(k - 1):
        score = d * w
        score[chosen] = -1
        j = int(np.argmax(score))
        chosen.append(j)
        d = np.minimum(d, np.hypot(*(xy - xy[j]).T))
    return chosen


# --------------------------------------------------------------------------- partition


def partition(
    boundary: Any,
    seats: NDArray[np.float64],
    weights: NDArray[np.float64],
    rng: np.random.Generator,
    n_cells: int = 2500,
    dense: tuple[float, float, float] | None = None,
    n_dense: int = 0,
) -> list[Any]:
    """Split ``boundary`` into one region per seat, with organic (cell-wise) edges.

    A fine Voronoi tessellation of random points is clipped to the boundary; each cell goes
    to the seat with the smallest weighted distance ``d / weight`` (small weight: small
    region), and the cells of a seat are merged. Detached fragments join the region they
    share the longest edge with, so every region is one polygon where the boundary allows.

    ``dense`` = (x, y, radius) adds ``n_dense`` extra points there, for finer edges.

    Returns
    -------
    list of shapely geometries, one per seat, covering the boundary without overlaps.
    """
    pts = sample_in(boundary, n_cells, rng)
    if dense is not None and n_dense > 0:  # finer cells where small regions meet (the county seat)
        zone = Point(dense[0], dense[1]).buffer(dense[2]).intersection(boundary)
        pts = np.vstack([pts, sample_in(zone, n_dense, rng)])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=boundary.envelope.buffer(1000))
    )
    cells = shapely.intersection(cells, boundary)
    cells = cells[~shapely.is_empty(cells)]
    cells = np.array([c for c in cells if c.area > 0.0], dtype=object)
    cent = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    d = np.hypot(cent[:, None, 0] - seats[None, :, 0], cent[:, None, 1] - seats[None, :, 1]) / weights[None, :]
    owner = np.argmin(d, axis=1)
    # each seat owns at least the cell holding it
    for s, (x, y) in enumerate(seats):
        hit = np.flatnonzero(shapely.contains_xy(cells, x, y))
        if len(hit):
            owner[hit[0]] = s
    regions = _merge(cells, owner, len(seats))
    # fold detached fragments into the neighbour sharing the longest edge
    for _ in range(3):
        changed = False
        for s in range(len(seats)):
            parts = shapely.get_parts(regions[s])
            if len(parts) <= 1:
                continue
            seat_pt = Point(seats[s])
            main = max(range(len(parts)), key=lambda i: (parts[i].contains(seat_pt), parts[i].area))
            for i, frag in enumerate(parts):
                if i == main:
                    continue
                best, best_len = None, 0.0
                for t in range(len(seats)):
                    if t == s:
                        continue
                    shared = frag.boundary.intersection(regions[t].boundary).length
                    if shared > best_len:
                        best, best_len = t, shared
                if best is None:
                    continue
                in_frag = shapely.contains_xy(frag, cent[:, 0], cent[:, 1]) & (owner == s)
                owner[in_frag] = best
                changed = True
        if not changed:
            break
        regions = _merge(cells, owner, len(seats))
    return regions


def _merge(cells: NDArray[Any], owner: NDArray[np.int64], n: int) -> list[Any]:
    out = []
    for s in range(n):
        group = cells[owner == s]
        if len(group) == 0:
            out.append(Polygon())
            continue
        merged = shapely.coverage_union_all(group)
        out.append(shapely.make_valid(merged) if not merged.is_valid else merged)
    return out


def as_polygonal(geom: Any) -> Any:
    """Keep only the polygonal parts of a geometry (drops slivers turned into lines)."""
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, (Polygon, MultiPolygon))]
    polys: list[Polygon] = []
    for p in parts:
        polys.extend(shapely.get_parts(p))
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def nearest(tree_xy: NDArray[np.float64], xy: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Distance to and index of the nearest of ``tree_xy`` for each of ``xy``."""
    d, i = cKDTree(tree_xy).query(xy)
    return np.asarray(d), np.asarray(i)


def boundary_from_feature(feature: dict[str, Any]) -> Any:
    """The feature's geometry converted from GCJ-02 to WGS-84 and made valid."""
    geom = gcj02_geometry_to_wgs84(shape(feature["geometry"]))
    return geom if geom.is_valid else shapely.make_valid(geom)
