"""Road network, snapping and travel-time matrices (路网与通行时间).

The flow is

1. a :class:`RoadNetwork` — noded road edges in the county's metric CRS — built from a
   road-line layer (:func:`network_from_lines`, e.g. ``county.roads`` or any GeoPackage /
   shapefile via :func:`read_road_lines`) or from a GraphML file saved by OSMnx
   (:func:`network_from_graphml`; osmnx is not needed to read it);
2. per travel mode (:class:`TravelModes`: walking, bicycle, school bus, car), every
   settlement, school and candidate site joins the network at its nearest passable edge
   (the edge is split at the projected point; the leg point → road is walked);
3. one Dijkstra per school or site outward over a CSR graph built once per mode
   (:func:`scipy.sparse.csgraph.dijkstra` with ``limit``), keeping only the pairs within
   the cutoff: :class:`TravelTimes`, long-form tables settlement → site and site → site.

When a county has no roads, :func:`straight_line_travel_times` gives straight-line
distances at a nominal speed, labelled ``method = "straight_line"`` everywhere.

See ``docs/network.md`` for the defaults and the reasoning behind them.
"""

from __future__ import annotations

import ast
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from planner.errors import PlannerError

log = logging.getLogger(__name__)

Mode = Literal["walk", "bicycle", "bus", "car"]
MODES: tuple[str, ...] = ("walk", "bicycle", "bus", "car")
MODE_ZH: dict[str, str] = {"walk": "步行", "bicycle": "自行车", "bus": "校车", "car": "小汽车"}

#: Road classes, most important first. The first six are the data contract's
#: ``roads.road_class`` codes; ``expressway`` and ``path`` come from OpenStreetMap data.
ROAD_CLASSES: tuple[str, ...] = (
    "expressway",
    "national",
    "provincial",
    "county",
    "urban",
    "township",
    "village",
    "path",
)
ROAD_CLASS_ZH: dict[str, str] = {
    "expressway": "高速公路",
    "national": "国道",
    "provincial": "省道",
    "county": "县道",
    "urban": "城市道路",
    "township": "乡道",
    "village": "村道",
    "path": "步道",
}
_RANK = {c: i for i, c in enumerate(ROAD_CLASSES)}

#: OpenStreetMap ``highway`` values → road class.
OSM_HIGHWAY_CLASS: dict[str, str] = {
    "motorway": "expressway",
    "motorway_link": "expressway",
    "trunk": "national",
    "trunk_link": "national",
    "primary": "provincial",
    "primary_link": "provincial",
    "secondary": "county",
    "secondary_link": "county",
    "tertiary": "township",
    "tertiary_link": "township",
    "unclassified": "village",
    "road": "village",
    "track": "village",
    "service": "village",
    "residential": "urban",
    "living_street": "urban",
    "busway": "urban",
    "pedestrian": "path",
    "footway": "path",
    "path": "path",
    "steps": "path",
    "cycleway": "path",
    "bridleway": "path",
    "corridor": "path",
}

#: Default school-bus speeds (km/h) by road class: average running speeds on rural roads,
#: never above the 60 km/h school-bus limit off expressways (校车安全管理条例 art. 35).
BUS_KMH: dict[str, float] = {
    "expressway": 70.0,
    "national": 50.0,
    "provincial": 45.0,
    "county": 40.0,
    "urban": 25.0,
    "township": 30.0,
    "village": 20.0,
    "path": 0.0,
}
#: Default car speeds (km/h) by road class (teachers' school-to-school trips).
CAR_KMH: dict[str, float] = {
    "expressway": 90.0,
    "national": 60.0,
    "provincial": 55.0,
    "county": 45.0,
    "urban": 30.0,
    "township": 35.0,
    "village": 25.0,
    "path": 0.0,
}
#: Classes walkers and cyclists may not use.
NO_WALKING: frozenset[str] = frozenset({"expressway"})
#: Straight-line fallback speed of the motor modes: their speed on a township road (乡道).
STRAIGHT_LINE_CLASS = "township"


class NetworkError(PlannerError):
    """The road network cannot give a travel time the plan needs (one line, names the point)."""

    exit_code = 2


class TravelModes(BaseModel):
    """Travel modes, speeds and network settings (scenario-settable; all fields have defaults).

    Speeds are average travel speeds in km/h. Walking and cycling run at one speed on every
    road except expressways; the school bus and the car have a speed per road class, and a
    road's own ``speed_kmh`` (or an OSM ``maxspeed``) replaces the class speed for them, the
    bus never above ``bus_max_kmh``. A speed of 0 closes a class to the mode.

    Attributes
    ----------
    walk_kmh, bicycle_kmh : float
        Walking (primary pupils) and cycling (junior pupils) speed on any road.
    bus_kmh, car_kmh : dict
        Road class → speed. Partial mappings are completed from the defaults.
    bus_max_kmh : float
        Upper bound on the bus speed when a road's own speed is given.
    access_kmh : float
        Speed of the leg between a point (settlement, school, site) and its road: walking.
    stage_modes : dict
        Stage → mode pupils of that stage use (default primary walk, junior bicycle).
    school_mode : str
        Mode of school-to-school trips (teacher rotation).
    cutoff_min : float
        Pairs farther apart than this travel time are not kept.
    snap_max_m : float
        Points farther than this from any road are reported (they are still joined, with
        the walked access leg counted in their times).
    node_tolerance_m : float
        Line ends closer than this to another line end or line are joined when noding.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    walk_kmh: float = Field(4.0, gt=0, description="Walking speed on any road (primary pupils).")
    bicycle_kmh: float = Field(12.0, gt=0, description="Cycling speed on any road (junior pupils).")
    bus_kmh: dict[str, float] = Field(default_factory=lambda: dict(BUS_KMH), description="School bus by class.")
    car_kmh: dict[str, float] = Field(default_factory=lambda: dict(CAR_KMH), description="Car by class.")
    bus_max_kmh: float = Field(60.0, gt=0, description="School-bus speed limit off expressways.")
    access_kmh: float = Field(4.0, gt=0, description="Walking speed of the leg from a point to its road.")
    stage_modes: dict[str, Mode] = Field(
        default_factory=lambda: {"primary": "walk", "junior": "bicycle"}, description="Mode per stage."
    )
    school_mode: Mode = Field("car", description="Mode of school-to-school trips (teacher rotation).")
    cutoff_min: float = Field(120.0, gt=0, description="Pairs beyond this travel time are dropped.")
    snap_max_m: float = Field(1000.0, gt=0, description="Points farther from any road are reported.")
    node_tolerance_m: float = Field(5.0, ge=0, description="Gap closed between line ends and lines when noding.")

    @field_validator("bus_kmh", "car_kmh", mode="before")
    @classmethod
    def _complete_speeds(cls, value: Any, info: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        unknown = sorted(set(value) - set(ROAD_CLASSES))
        if unknown:
            raise ValueError(f"unknown road class {unknown[0]!r}; expected one of {', '.join(ROAD_CLASSES)}")
        base = dict(BUS_KMH if info.field_name == "bus_kmh" else CAR_KMH)
        base.update({k: float(v) for k, v in value.items()})
        if any(v < 0 for v in base.values()):
            raise ValueError("speeds must be 0 (closed) or positive")
        return base

    @field_validator("stage_modes", mode="before")
    @classmethod
    def _complete_stages(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        unknown = sorted(set(value) - {"primary", "junior"})
        if unknown:
            raise ValueError(f"unknown stage {unknown[0]!r}; expected primary or junior")
        return {"primary": "walk", "junior": "bicycle", **value}

    @model_validator(mode="after")
    def _some_road(self) -> TravelModes:
        for mode in ("bus", "car"):
            if not any(v > 0 for v in self.class_speeds(mode).values()):
                raise ValueError(f"{mode}_kmh closes every road class")
        return self

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None, source: str = "travel") -> TravelModes:
        """Build from a (partial) mapping, e.g. the ``travel:`` block of a scenario YAML.

        Raises
        ------
        NetworkError
            One line naming the key and the rule broken.
        """
        try:
            return cls.model_validate(dict(raw or {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            raise NetworkError(f"{source}, key {loc}: {msg}") from None

    def class_speeds(self, mode: str) -> dict[str, float]:
        """Road class → speed (km/h) of ``mode``; 0 where the mode may not go."""
        if mode in ("walk", "bicycle"):
            v = self.walk_kmh if mode == "walk" else self.bicycle_kmh
            return {c: (0.0 if c in NO_WALKING else v) for c in ROAD_CLASSES}
        if mode == "bus":
            return dict(self.bus_kmh)
        if mode == "car":
            return dict(self.car_kmh)
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")

    def straight_line_kmh(self, mode: str) -> float:
        """Nominal speed of ``mode`` for the straight-line fallback (motor modes: township road)."""
        return self.class_speeds(mode)[STRAIGHT_LINE_CLASS if self.is_motor(mode) else "village"]

    @staticmethod
    def is_motor(mode: str) -> bool:
        """Whether ``mode`` follows one-way streets and road speed limits."""
        return mode in ("bus", "car")


# --------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class RoadNetwork:
    """Noded road edges in a metric CRS.

    Attributes
    ----------
    crs : str
        Metric CRS of the coordinates.
    nodes : numpy.ndarray
        ``(n, 2)`` node coordinates (metres).
    edges : pandas.DataFrame
        One row per edge: ``u``, ``v`` (node positions), ``length_m``, ``road_class``,
        ``speed_kmh`` (the road's own motor speed, NaN when not given), ``oneway``
        (traffic only u → v for motor modes), ``name``.
    geometry : numpy.ndarray
        Shapely LineStrings of the edges, each running from node ``u`` to node ``v``.
    source : str
        Where the network came from (``roads`` layer, a file path).
    """

    crs: str
    nodes: np.ndarray
    edges: pd.DataFrame
    geometry: np.ndarray
    source: str = "roads"

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.nodes.shape[0])

    @property
    def length_km(self) -> float:
        """Total edge length in km."""
        return float(self.edges["length_m"].sum()) / 1000.0

    def to_networkx(self) -> nx.MultiGraph:
        """The network as a networkx MultiGraph (node attrs x, y; edge attrs as :attr:`edges`).

        Directed one-way information is kept in the ``oneway`` edge attribute.
        """
        g = nx.MultiGraph(crs=self.crs, source=self.source)
        for i, (x, y) in enumerate(self.nodes):
            g.add_node(i, x=float(x), y=float(y))
        cols = ["length_m", "road_class", "speed_kmh", "oneway", "name"]
        for e, row in enumerate(self.edges[["u", "v", *cols]].itertuples(index=False)):
            attrs = dict(zip(cols, row[2:], strict=True))
            g.add_edge(int(row[0]), int(row[1]), key=e, geometry=self.geometry[e], **attrs)
        return g

    def components(self) -> tuple[int, np.ndarray]:
        """Connected components of the road graph ignoring direction: (count, label per node)."""
        e = self.edges
        n = self.n_nodes
        adj = csr_matrix((np.ones(len(e)), (e["u"].to_numpy(), e["v"].to_numpy())), shape=(n, n))
        return connected_components(adj, directed=False)


def normalise_road_class(value: object) -> str:
    """Map a road-class value (contract code, Chinese label or OSM ``highway``) to a class code."""
    if isinstance(value, (list, tuple)):
        classes = [normalise_road_class(v) for v in value]
        return min(classes, key=_RANK.__getitem__) if classes else "village"
    s = str(value).strip()
    if s.startswith("[") and s.endswith("]"):
        try:
            return normalise_road_class(ast.literal_eval(s))
        except (ValueError, SyntaxError):
            pass
    if s in _RANK:
        return s
    zh = {v: k for k, v in ROAD_CLASS_ZH.items()}
    if s in zh:
        return zh[s]
    if s in OSM_HIGHWAY_CLASS:
        return OSM_HIGHWAY_CLASS[s]
    log.warning("unknown road class %r treated as village road", value)
    return "village"


_SPEED_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?", re.IGNORECASE)


def parse_maxspeed(value: object) -> float:
    """Parse an OSM ``maxspeed`` ("50", "30 mph", "['40', '60']") to km/h; NaN if none.

    Lists give their mean, as OSMnx does.
    """
    if value is None:
        return math.nan
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else math.nan
    if isinstance(value, (list, tuple)):
        vals = [parse_maxspeed(v) for v in value]
        vals = [v for v in vals if not math.isnan(v)]
        return float(np.mean(vals)) if vals else math.nan
    s = str(value).strip()
    if s.startswith("["):
        try:
            return parse_maxspeed(ast.literal_eval(s))
        except (ValueError, SyntaxError):
            return math.nan
    m = _SPEED_RE.search(s)
    if not m:
        return math.nan
    v = float(m.group(1))
    if m.group(2) and m.group(2).lower() == "mph":
        v *= 1.609344
    return v if v > 0 else math.nan


def _parse_bool(value: object) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_parse_bool(v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    s = str(value).strip().lower()
    if s.startswith("["):
        try:
            return _parse_bool(ast.literal_eval(s.replace("true", "True").replace("false", "False")))
        except (ValueError, SyntaxError):
            return False
    return s in ("true", "yes", "1", "-1")


def _assemble(
    pieces: np.ndarray,
    road_class: np.ndarray,
    speed_kmh: np.ndarray,
    oneway: np.ndarray,
    names: np.ndarray,
    crs: str,
    source: str,
    length_m: np.ndarray | None = None,
) -> RoadNetwork:
    """Nodes from the end points of noded pieces (merged at 1 mm); edges in piece order."""
    start = shapely.get_coordinates(shapely.get_point(pieces, 0))
    end = shapely.get_coordinates(shapely.get_point(pieces, -1))
    allxy = np.round(np.vstack([start, end]), 3)
    uniq, inv = np.unique(allxy, axis=0, return_inverse=True)
    inv = inv.ravel()
    n = len(pieces)
    length = shapely.length(pieces) if length_m is None else np.asarray(length_m, dtype=float)
    edges = pd.DataFrame(
        {
            "u": inv[:n].astype(np.int64),
            "v": inv[n:].astype(np.int64),
            "length_m": length.astype(float),
            "road_class": road_class.astype(object),
            "speed_kmh": speed_kmh.astype(float),
            "oneway": oneway.astype(bool),
            "name": names.astype(object),
        }
    )
    return RoadNetwork(crs=crs, nodes=uniq, edges=edges, geometry=np.asarray(pieces, dtype=object), source=source)


def network_from_lines(
    roads: gpd.GeoDataFrame,
    *,
    node_tolerance_m: float = 5.0,
    class_field: str = "road_class",
    speed_field: str = "speed_kmh",
    name_field: str = "name_zh",
    source: str = "roads",
) -> RoadNetwork:
    """Build a noded network from road centre lines in a metric CRS.

    Lines are noded at every crossing and touching point (GEOS union of the linework; a
    crossing without a junction, e.g. a bridge, is also joined, which a county road layer
    rarely distinguishes). Before noding, line ends within ``node_tolerance_m`` of each other
    are merged and a line end within that distance of another line is joined to it, so
    small digitising gaps do not cut villages off. Each noded piece keeps the class and
    speed of the line it came from (the most important class where lines overlap).

    Parameters
    ----------
    roads : GeoDataFrame
        LineString / MultiLineString features in a projected CRS (metres), with a road-class
        column (contract codes, Chinese labels or OSM ``highway`` values) and optionally a
        speed column (km/h).
    node_tolerance_m : float
        Gap closed between line ends and lines.

    Returns
    -------
    RoadNetwork
    """
    if roads.crs is None or roads.crs.is_geographic:
        raise NetworkError(f"{source}: road lines must be in a projected (metric) CRS, got {roads.crs}")
    crs = roads.crs.to_string()
    g = roads[roads.geometry.notna() & ~roads.geometry.is_empty]
    geoms = g.geometry.to_numpy()
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 1  # LineString
    parts, idx = parts[keep], idx[keep]
    if len(parts) == 0:
        raise NetworkError(f"{source}: no road lines")
    cls = (
        np.array([normalise_road_class(v) for v in g[class_field].to_numpy()], dtype=object)[idx]
        if class_field in g.columns
        else np.full(len(parts), "village", dtype=object)
    )
    spd = (
        pd.to_numeric(g[speed_field], errors="coerce").to_numpy(dtype=float)[idx]
        if speed_field in g.columns
        else np.full(len(parts), np.nan)
    )
    names = (
        g[name_field].fillna("").astype(str).to_numpy(dtype=object)[idx]
        if name_field in g.columns
        else np.full(len(parts), "", dtype=object)
    )
    if node_tolerance_m > 0:
        parts, cls, spd, names = _close_gaps(parts, cls, spd, names, node_tolerance_m)
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(parts)))
    noded = noded[shapely.length(noded) > 1e-6]
    # attributes of each piece: the most important source line it lies on
    mid = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    tree = shapely.STRtree(parts)
    pi, li = tree.query(mid, predicate="dwithin", distance=1e-3)
    best = np.full(len(noded), -1, dtype=np.int64)
    if len(pi):
        order = np.lexsort((li, np.array([_RANK[c] for c in cls[li]]), pi))
        pi, li = pi[order], li[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        best[pi[first]] = li[first]
    missing = np.flatnonzero(best < 0)
    if len(missing):
        qi, nearest = tree.query_nearest(mid[missing], return_distance=False, all_matches=False)
        best[missing[qi]] = nearest
    net = _assemble(noded, cls[best], spd[best], np.zeros(len(noded), bool), names[best], crs, source)
    log.info("road network: %d lines -> %d edges, %d nodes, %.1f km", len(g), len(net.edges), net.n_nodes,
             net.length_km)  # fmt: skip
    return net


def _close_gaps(
    parts: np.ndarray, cls: np.ndarray, spd: np.ndarray, names: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge line ends closer than ``tol``; join a dangling end to a line within ``tol``."""
    coords, ring = shapely.get_coordinates(parts, return_index=True)
    counts = np.bincount(ring, minlength=len(parts))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    last = first + counts - 1
    ends = np.r_[first, last]
    pts = coords[ends]
    # 1. merge end points within tol (groups of close pairs, each moved onto its first point)
    pairs = cKDTree(pts).query_pairs(tol, output_type="ndarray")
    if len(pairs):
        n = len(pts)
        adj = csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        n_groups, group = connected_components(adj, directed=False)
        rep = np.full(n_groups, n)
        np.minimum.at(rep, group, np.arange(n))
        root = rep[group]
        moved = root != np.arange(n)
        coords[ends[moved]] = pts[root[moved]]
        parts = shapely.linestrings(coords, indices=ring)
        pts = coords[ends]
    # 2. dangling ends near another line: add a short connector overshooting it by 1 cm
    end_pts = shapely.points(pts)
    owner = np.r_[np.arange(len(parts)), np.arange(len(parts))]
    tree = shapely.STRtree(parts)
    pi, li = tree.query(end_pts, predicate="dwithin", distance=tol)
    other = owner[pi] != li
    pi, li = pi[other], li[other]
    if len(pi) == 0:
        return parts, cls, spd, names
    d = shapely.distance(end_pts[pi], parts[li])
    touching = np.zeros(len(pts), bool)
    touching[pi[d <= 1e-6]] = True
    cand = ~touching[pi]
    pi, li, d = pi[cand], li[cand], d[cand]
    if len(pi) == 0:
        return parts, cls, spd, names
    order = np.lexsort((li, d, pi))
    pi, li = pi[order], li[order]
    firsts = np.r_[True, pi[1:] != pi[:-1]]
    pi, li = pi[firsts], li[firsts]
    target = shapely.get_coordinates(
        shapely.line_interpolate_point(parts[li], shapely.line_locate_point(parts[li], end_pts[pi]))
    )
    src = pts[pi]
    vec = target - src
    norm = np.linalg.norm(vec, axis=1, keepdims=True)
    ok = norm[:, 0] > 1e-9
    tip = target[ok] + vec[ok] / norm[ok] * 0.01
    connectors = shapely.linestrings(np.stack([src[ok], tip], axis=1))
    owners = owner[pi[ok]]
    log.info("road network: joined %d dangling line ends to a line within %.1f m", len(connectors), tol)
    return (
        np.r_[parts, connectors],
        np.r_[cls, cls[owners]],
        np.r_[spd, spd[owners]],
        np.r_[names, names[owners]],
    )


def read_road_lines(
    path: str | Path,
    crs: str,
    *,
    layer: str | None = None,
    datum: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read road lines from a GeoPackage or shapefile into the metric ``crs``.

    Lines stored in GCJ-02 or BD-09 degrees (``datum``) are converted to WGS-84 first
    (:mod:`planner.datum`). Pass the result to :func:`network_from_lines`.
    """
    from planner.datum import to_wgs84

    gdf = gpd.read_file(path, layer=layer)
    if gdf.crs is None:
        raise NetworkError(f"{path}: road layer has no coordinate reference system")
    if gdf.crs.is_geographic and datum in ("gcj02", "bd09"):

        def _fix(c: np.ndarray) -> np.ndarray:
            return np.column_stack(to_wgs84(c[:, 0], c[:, 1], datum))

        gdf = gdf.set_geometry(shapely.transform(gdf.geometry.to_numpy(), _fix), crs=gdf.crs)
    return gdf.to_crs(crs)


def network_from_graph(g: nx.Graph, crs: str, *, datum: str = "wgs84", source: str = "graph") -> RoadNetwork:
    """Convert an OSMnx-style networkx graph to a :class:`RoadNetwork` in ``crs``.

    Reads the conventions OSMnx uses when saving GraphML: graph attribute ``crs`` (default
    ``epsg:4326``); node attributes ``x``, ``y`` in that CRS; edge attributes ``length``
    (metres), ``highway`` (an OSM class or a list of them as text), optional ``maxspeed``
    (km/h or mph text, or a list), ``oneway`` and ``geometry`` (WKT in the graph CRS). All
    attribute values may be strings. A directed graph keeps its direction for motor modes;
    walking and cycling use every edge both ways.

    Parameters
    ----------
    g : networkx.Graph
        Any networkx graph class.
    crs : str
        Metric CRS of the result (e.g. ``county.crs``).
    datum : str
        Datum of geographic coordinates (``wgs84``, ``gcj02``, ``bd09``); OSM data is WGS-84.
    """
    from pyproj import CRS, Transformer

    from planner.datum import to_wgs84

    if g.number_of_edges() == 0:
        raise NetworkError(f"{source}: the graph has no edges")
    src_crs = CRS.from_user_input(str(g.graph.get("crs", "epsg:4326")))
    tf = Transformer.from_crs(src_crs, CRS.from_user_input(crs), always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0].astype(float), xy[:, 1].astype(float)
        if src_crs.is_geographic and datum in ("gcj02", "bd09"):
            x, y = to_wgs84(x, y, datum)
        px, py = tf.transform(x, y)
        return np.column_stack([px, py])

    node_ids = list(g.nodes)
    pos = {n: i for i, n in enumerate(node_ids)}
    raw = np.array([[float(g.nodes[n]["x"]), float(g.nodes[n]["y"])] for n in node_ids])
    xy = project(raw)
    directed = g.is_directed()
    data = list(g.edges(data=True))
    geoms, cls, spd, oneway, names, lengths = [], [], [], [], [], []
    for u, v, d in data:
        pu, pv = xy[pos[u]], xy[pos[v]]
        wkt = d.get("geometry")
        if wkt:
            line = shapely.from_wkt(str(wkt)) if not isinstance(wkt, shapely.Geometry) else wkt
            c = project(shapely.get_coordinates(line))
            # make the geometry run from u to v, ending exactly on the nodes
            if np.hypot(*(c[0] - pu)) > np.hypot(*(c[0] - pv)):
                c = c[::-1]
            c[0], c[-1] = pu, pv
            line = shapely.linestrings(c)
        else:
            line = shapely.linestrings([pu, pv])
        geoms.append(line)
        cls.append(normalise_road_class(d.get("highway", "unclassified")))
        spd.append(parse_maxspeed(d.get("maxspeed")))
        oneway.append(directed and _parse_bool(d.get("oneway", False)))
        names.append("" if d.get("name") is None else str(d.get("name")))
        length = d.get("length")
        lengths.append(float(length) if length not in (None, "") else float(shapely.length(line)))
    pieces = np.array(geoms, dtype=object)
    start = np.array([pos[u] for u, _, _ in data])
    end = np.array([pos[v] for _, v, _ in data])
    edges = pd.DataFrame(
        {
            "u": start.astype(np.int64),
            "v": end.astype(np.int64),
            "length_m": np.asarray(lengths, dtype=float),
            "road_class": np.array(cls, dtype=object),
            "speed_kmh": np.asarray(spd, dtype=float),
            "oneway": np.asarray(oneway, dtype=bool),
            "name": np.array(names, dtype=object),
        }
    )
    keep = edges["u"].to_numpy() != edges["v"].to_numpy()
    edges = edges[keep].reset_index(drop=True)
    net = RoadNetwork(crs=crs, nodes=xy, edges=edges, geometry=pieces[keep], source=source)
    log.info("road network from %s: %d edges, %d nodes, %.1f km", source, len(edges), net.n_nodes, net.length_km)
    return net


def network_from_graphml(path: str | Path, crs: str, *, datum: str = "wgs84") -> RoadNetwork:
    """Read a GraphML road graph saved by OSMnx (``ox.save_graphml``) without osmnx.

    Parameters
    ----------
    path : str or Path
        The ``.graphml`` file.
    crs : str
        Metric CRS of the result (e.g. ``county.crs``).
    datum : str
        Datum of the node coordinates when they are degrees (OSM: ``wgs84``).

    Raises
    ------
    NetworkError
        The file is missing, not GraphML, or lacks node coordinates.
    """
    path = Path(path)
    if not path.exists():
        raise NetworkError(f"{path}: GraphML file does not exist")
    try:
        g = nx.read_graphml(path, force_multigraph=True)
    except Exception as exc:  # networkx raises several XML and parse errors
        raise NetworkError(f"{path.name}: not a readable GraphML file ({type(exc).__name__}: {exc})") from None
    bad = next((n for n, d in g.nodes(data=True) if "x" not in d or "y" not in d), None)
    if bad is not None:
        raise NetworkError(f"{path.name}: node {bad} has no x/y coordinates (is this an OSMnx GraphML file?)")
    return network_from_graph(g, crs, datum=datum, source=path.name)


# --------------------------------------------------------------------------- points and snapping


@dataclass(frozen=True)
class _Points:
    """Origins/destinations: ids, names, table, coordinates."""

    ids: np.ndarray
    names: np.ndarray
    table: np.ndarray
    xy: np.ndarray

    @classmethod
    def of(cls, frames: Iterable[tuple[str, gpd.GeoDataFrame | None]]) -> _Points:
        ids, names, tables, xys = [], [], [], []
        for table, gdf in frames:
            if gdf is None or len(gdf) == 0:
                continue
            idcol = _id_values(gdf, table)
            ids.append(np.asarray(idcol, dtype=object))
            names.append(
                gdf["name_zh"].fillna("").astype(str).to_numpy(dtype=object)
                if "name_zh" in gdf.columns
                else np.full(len(gdf), "", dtype=object)
            )
            tables.append(np.full(len(gdf), table, dtype=object))
            xys.append(shapely.get_coordinates(gdf.geometry.to_numpy()).reshape(len(gdf), 2))
        if not ids:
            return cls(np.array([], object), np.array([], object), np.array([], object), np.zeros((0, 2)))
        return cls(np.concatenate(ids), np.concatenate(names), np.concatenate(tables), np.vstack(xys))

    def __len__(self) -> int:
        return len(self.ids)


_ID_COLUMN = {"settlements": "settlement_id", "schools": "school_id", "candidate_sites": "site_id"}


def _id_values(gdf: pd.DataFrame, table: str) -> pd.Index:
    """Identifiers of a point table: its id column, else its index."""
    col = _ID_COLUMN.get(table)
    if col and col in gdf.columns:
        return pd.Index(gdf[col].astype(str))
    return pd.Index(gdf.index.astype(str))


@dataclass(frozen=True)
class _Snap:
    edge: np.ndarray  # edge row per point, -1 when the mode has no road
    t: np.ndarray  # position along the edge geometry, 0..1
    dist_m: np.ndarray  # point → road


def _passable_speeds(net: RoadNetwork, modes: TravelModes, mode: str) -> np.ndarray:
    """Speed (km/h) of ``mode`` on each edge; 0 where closed."""
    table = modes.class_speeds(mode)
    cls_speed = net.edges["road_class"].map(table).to_numpy(dtype=float)
    if modes.is_motor(mode):
        own = net.edges["speed_kmh"].to_numpy(dtype=float)
        if mode == "bus":
            own = np.minimum(own, modes.bus_max_kmh)
        cls_speed = np.where((cls_speed > 0) & np.isfinite(own) & (own > 0), own, cls_speed)
    return cls_speed


def _snap(net: RoadNetwork, pts: _Points, passable: np.ndarray) -> _Snap:
    n = len(pts)
    edge = np.full(n, -1, dtype=np.int64)
    t = np.zeros(n)
    dist = np.full(n, np.inf)
    cand = np.flatnonzero(passable)
    if n == 0 or len(cand) == 0:
        return _Snap(edge, t, dist)
    geoms = net.geometry[cand]
    tree = shapely.STRtree(geoms)
    points = shapely.points(pts.xy)
    pi, gi = tree.query_nearest(points, return_distance=False, all_matches=True)
    # ties (a point equidistant from several edges, e.g. at a junction): lowest edge index
    order = np.lexsort((gi, pi))
    pi, gi = pi[order], gi[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    pi, gi = pi[first], gi[first]
    edge[pi] = cand[gi]
    t[pi] = shapely.line_locate_point(geoms[gi], points[pi], normalized=True)
    dist[pi] = shapely.distance(geoms[gi], points[pi])
    return _Snap(edge, np.nan_to_num(t), dist)


# --------------------------------------------------------------------------- per-mode graph


@dataclass(frozen=True)
class _ModeGraph:
    """CSR graph of one mode.

    Node numbering: road nodes ``[0, n_road)``; then per point ``i`` a projection node (where
    the point meets its road: the edge is split there, so points on one edge reach each
    other along it), an out-node (leaves the point) and an in-node (arrives at the point).
    Out-nodes have no incoming arcs and in-nodes no outgoing ones, so no route passes
    through a point.
    """

    time: csr_matrix  # minutes
    dist: csr_matrix  # metres
    n_road: int
    n_points: int
    snap: _Snap
    vmax_kmh: float
    #: the one road speed of the mode when every usable road has it (walking, cycling), else None
    uniform_kmh: float | None
    access_kmh: float

    def out_node(self, i: np.ndarray) -> np.ndarray:
        return self.n_road + self.n_points + np.asarray(i)

    def in_node(self, i: np.ndarray) -> np.ndarray:
        return self.n_road + 2 * self.n_points + np.asarray(i)


def _mode_graph(net: RoadNetwork, pts: _Points, modes: TravelModes, mode: str) -> _ModeGraph:
    speed = _passable_speeds(net, modes, mode)
    passable = speed > 0
    snap = _snap(net, pts, passable)
    e = net.edges
    u = e["u"].to_numpy()
    v = e["v"].to_numpy()
    length = e["length_m"].to_numpy(dtype=float)
    two_way = ~(e["oneway"].to_numpy(dtype=bool) & modes.is_motor(mode))
    mpm = np.where(passable, speed, np.nan) * 1000.0 / 60.0  # metres per minute
    n_road, n_pts = net.n_nodes, len(pts)
    # road arcs (an edge carrying points also keeps its whole-edge arc: same cost as its chain)
    fwd_r, fwd_c, fwd_e, fwd_len = [u], [v], [np.arange(len(e))], [length]
    ok = np.flatnonzero(snap.edge >= 0)
    if len(ok):
        # split each edge at its points, in order along the edge: u -> q1 -> ... -> qk -> v
        se, st = snap.edge[ok], snap.t[ok]
        order = np.lexsort((ok, st, se))
        ok, se, st = ok[order], se[order], st[order]
        q = n_road + ok
        new_edge = np.r_[True, se[1:] != se[:-1]]
        last = np.r_[se[1:] != se[:-1], True]
        prev_node = np.where(new_edge, u[se], np.r_[-1, q[:-1]])
        prev_t = np.where(new_edge, 0.0, np.r_[0.0, st[:-1]])
        fwd_r += [prev_node, q[last]]
        fwd_c += [q, v[se[last]]]
        fwd_e += [se, se[last]]
        fwd_len += [(st - prev_t) * length[se], (1.0 - st[last]) * length[se[last]]]
    r, c, eidx, seg = (np.concatenate(x) for x in (fwd_r, fwd_c, fwd_e, fwd_len))
    keep = passable[eidx]
    r, c, eidx, seg = r[keep], c[keep], eidx[keep], seg[keep]
    # reverse arcs on two-way edges; also on near-zero pieces of one-way edges (a point at a
    # junction stands at the junction, whichever edge it was snapped to)
    back = two_way[eidx] | (seg <= 0.5)
    rows = [r, c[back]]
    cols = [c, r[back]]
    dw = [seg, seg[back]]
    tw = [seg / mpm[eidx], (seg / mpm[eidx])[back]]
    if len(ok):
        acc_m = snap.dist_m[ok]
        acc_t = acc_m / (modes.access_kmh * 1000.0 / 60.0)
        q = n_road + ok
        rows += [n_road + n_pts + ok, q]
        cols += [q, n_road + 2 * n_pts + ok]
        dw += [acc_m, acc_m]
        tw += [acc_t, acc_t]
    n = n_road + 3 * n_pts
    r, c = np.concatenate(rows), np.concatenate(cols)
    tm = _min_csr(r, c, np.maximum(np.concatenate(tw), 1e-9), n)
    dm = _min_csr(r, c, np.maximum(np.concatenate(dw), 1e-6), n)
    vmax = float(max(speed.max(initial=0.0), modes.access_kmh))
    usable = speed[passable]
    uniform = float(usable[0]) if len(usable) and np.all(usable == usable[0]) else None
    return _ModeGraph(tm, dm, n_road, n_pts, snap, vmax, uniform, modes.access_kmh)


def _min_csr(r: np.ndarray, c: np.ndarray, w: np.ndarray, n: int) -> csr_matrix:
    """CSR matrix keeping the smallest weight of parallel arcs (scipy would sum them)."""
    order = np.lexsort((w, c, r))
    r, c, w = r[order], c[order], w[order]
    first = np.r_[True, (r[1:] != r[:-1]) | (c[1:] != c[:-1])]
    return csr_matrix((w[first], (r[first], c[first])), shape=(n, n))


def _reach(
    g: csr_matrix, sources: np.ndarray, targets: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shortest distances from ``sources`` to ``targets`` within ``limit``: (source pos, target pos, value)."""
    if len(sources) == 0 or len(targets) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    chunk = max(1, int(2.5e7 // max(g.shape[0], 1)))
    si, ti, val = [], [], []
    for k in range(0, len(sources), chunk):
        d = dijkstra(g, directed=True, indices=sources[k : k + chunk], limit=limit)[:, targets]
        a, b = np.nonzero(np.isfinite(d))
        si.append(a + k)
        ti.append(b)
        val.append(d[a, b])
    return np.concatenate(si), np.concatenate(ti), np.concatenate(val)


# --------------------------------------------------------------------------- travel times


PAIR_COLUMNS = ["settlement_id", "site_id", "site_type", "mode", "time_min", "distance_m", "method"]
SITE_PAIR_COLUMNS = ["from_id", "to_id", "mode", "time_min", "distance_m", "method"]
SNAP_COLUMNS = ["table", "id", "name_zh", "mode", "road_class", "distance_to_road_m", "far"]


@dataclass(frozen=True)
class TravelTimes:
    """Travel times and distances from settlements to schools and candidate sites, by mode.

    Only pairs within :attr:`cutoff_min` are kept (plus any pairs asked for explicitly, such
    as each settlement's current catchment schools). Treat the tables as read-only.

    Attributes
    ----------
    pairs : DataFrame
        Long form, one row per settlement × site × mode within the cutoff: ``settlement_id``,
        ``site_id`` (a school_id or a candidate site_id), ``site_type`` (``school`` or
        ``candidate_site``), ``mode``, ``time_min``, ``distance_m``, ``method``. Sorted by
        mode, settlement (input order), time, site.
    site_pairs : DataFrame
        School/site → school/site in :attr:`school_mode` (teacher rotation): ``from_id``,
        ``to_id``, ``mode``, ``time_min``, ``distance_m``, ``method``; no self pairs.
    method : str
        ``network`` (along roads) or ``straight_line`` (fallback, no roads given).
    modes : TravelModes
        Settings used.
    settlement_ids, site_ids : tuple of str
        Row and column order of :meth:`matrix`; sites are schools then candidate sites.
    snapping : DataFrame
        How every point joined the network per mode: ``table``, ``id``, ``name_zh``,
        ``mode``, ``road_class``, ``distance_to_road_m``, ``far`` (beyond ``snap_max_m``).
    timings_s : dict
        Seconds spent per step (graph build, snapping and matrices per mode).

    Notes
    -----
    ``time_min`` is the fastest route's time, including the walked legs from each point to
    its road. ``distance_m`` is the shortest road distance between the two points, legs
    included (for walking and cycling this is the route timed; for motor modes the fastest
    route may be longer).
    """

    pairs: pd.DataFrame
    site_pairs: pd.DataFrame
    method: str
    modes: TravelModes
    settlement_ids: tuple[str, ...]
    site_ids: tuple[str, ...]
    snapping: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SNAP_COLUMNS))
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def cutoff_min(self) -> float:
        """Largest travel time kept (minutes)."""
        return float(self.modes.cutoff_min)

    @property
    def school_mode(self) -> str:
        """Mode of :attr:`site_pairs`."""
        return self.modes.school_mode

    @property
    def far_points(self) -> pd.DataFrame:
        """Points farther than ``snap_max_m`` from their road (one row per point and mode)."""
        return self.snapping[self.snapping["far"]].reset_index(drop=True)

    def stage_mode(self, stage: str) -> str:
        """Mode pupils of ``stage`` travel by."""
        return self.modes.stage_modes[stage]

    def for_mode(self, mode: str) -> pd.DataFrame:
        """Rows of :attr:`pairs` for ``mode``."""
        if mode not in set(self.pairs["mode"]) and len(self.pairs):
            raise KeyError(f"mode {mode!r} was not computed (have {sorted(set(self.pairs['mode']))})")
        return self.pairs[self.pairs["mode"] == mode].reset_index(drop=True)

    def stage_pairs(self) -> pd.DataFrame:
        """Settlement → site per stage, in the stage's mode: the plan model's travel table.

        Returns
        -------
        DataFrame
            ``settlement_id``, ``stage``, ``unit_id``, ``time_min``, ``distance_m`` (every site,
            whatever it teaches; the model keeps the ones of the stage).
        """
        out = []
        for stage in ("primary", "junior"):
            p = self.for_mode(self.stage_mode(stage))
            out.append(
                pd.DataFrame(
                    {
                        "settlement_id": p["settlement_id"],
                        "stage": stage,
                        "unit_id": p["site_id"],
                        "time_min": p["time_min"],
                        "distance_m": p["distance_m"],
                    }
                )
            )
        return pd.concat(out, ignore_index=True)

    def school_times(self) -> pd.DataFrame:
        """Site → site travel for teacher rotation: ``from_unit``, ``to_unit``, ``time_min``."""
        s = self.site_pairs
        return pd.DataFrame({"from_unit": s["from_id"], "to_unit": s["to_id"], "time_min": s["time_min"]})

    def matrix(self, mode: str, value: Literal["time_min", "distance_m"] = "time_min") -> csr_matrix:
        """Sparse settlement × site matrix of ``value`` for ``mode`` (rows :attr:`settlement_ids`,
        columns :attr:`site_ids`; pairs beyond the cutoff are absent, not zero)."""
        p = self.for_mode(mode)
        r = pd.Index(self.settlement_ids).get_indexer(p["settlement_id"])
        c = pd.Index(self.site_ids).get_indexer(p["site_id"])
        # store exact zeros as a tiny positive so they stay explicit
        vals = np.maximum(p[value].to_numpy(dtype=float), 1e-12)
        return csr_matrix((vals, (r, c)), shape=(len(self.settlement_ids), len(self.site_ids)))

    def nearest(self, mode: str, site_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Nearest (least time) site per settlement for ``mode``, among ``site_ids`` if given.

        Only pairs within the cutoff count (pairs kept beyond it, such as current catchment
        schools, are not a complete picture of what lies beyond).

        Returns
        -------
        DataFrame
            Indexed by settlement_id (every settlement, input order): ``site_id``, ``time_min``,
            ``distance_m``; NaN where no site lies within the cutoff.
        """
        p = self.for_mode(mode)
        p = p[p["time_min"] <= self.cutoff_min]
        if site_ids is not None:
            p = p[p["site_id"].isin(set(site_ids))]
        best = p.sort_values(["settlement_id", "time_min", "site_id"]).drop_duplicates("settlement_id")
        best = best.set_index("settlement_id")[["site_id", "time_min", "distance_m"]]
        return best.reindex(pd.Index(self.settlement_ids, name="settlement_id"))


def travel_times(
    network: RoadNetwork,
    settlements: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    candidate_sites: gpd.GeoDataFrame | None = None,
    *,
    modes: TravelModes | None = None,
    compute: Iterable[str] | None = None,
    required: pd.DataFrame | None = None,
    check_connected: bool = True,
) -> TravelTimes:
    """Settlement → school/site and school/site → school/site travel over a road network.

    Parameters
    ----------
    network : RoadNetwork
        Roads in the same metric CRS as the points.
    settlements, schools, candidate_sites : GeoDataFrame
        Points with their id columns (``settlement_id``, ``school_id``, ``site_id``) or ids
        as the index, and ``name_zh`` for messages.
    modes : TravelModes
        Speeds and settings (defaults if omitted).
    compute : iterable of str
        Settlement modes to compute; default the stage modes (walk and bicycle).
    required : DataFrame
        ``settlement_id``, ``site_id`` pairs kept whatever their time (e.g. current catchment
        schools), computed without cutoff.
    check_connected : bool
        Raise :class:`NetworkError` when a settlement has no road path to any school.

    Returns
    -------
    TravelTimes
    """
    modes = modes or TravelModes()
    compute = tuple(dict.fromkeys(compute or modes.stage_modes.values()))
    for m in (*compute, modes.school_mode):
        if m not in MODES:
            raise NetworkError(f"unknown travel mode {m!r}; expected one of {', '.join(MODES)}")
    sett = _Points.of([("settlements", settlements)])
    sites = _Points.of([("schools", schools), ("candidate_sites", candidate_sites)])
    pts = _Points(
        np.r_[sett.ids, sites.ids],
        np.r_[sett.names, sites.names],
        np.r_[sett.table, sites.table],
        np.vstack([sett.xy, sites.xy]),
    )
    ns = len(sett)
    s_pos = np.arange(ns)
    c_pos = np.arange(ns, len(pts))
    site_type = np.where(sites.table == "schools", "school", "candidate_site")
    timings: dict[str, float] = {}
    pair_frames, snap_frames = [], []
    site_frame = pd.DataFrame(columns=SITE_PAIR_COLUMNS)
    req = _required_positions(required, sett.ids, sites.ids)

    for mode in dict.fromkeys((*compute, modes.school_mode)):
        t0 = time.perf_counter()
        g = _mode_graph(network, pts, modes, mode)
        timings[f"graph_{mode}_s"] = time.perf_counter() - t0
        snap_frames.append(_snap_table(network, pts, g.snap, mode, modes.snap_max_m))
        _warn_far(snap_frames[-1], mode, modes.snap_max_m)
        t0 = time.perf_counter()
        gt_t = g.time.T.tocsr()
        gt_d = g.dist.T.tocsr()
        if mode in compute:
            if check_connected:
                _check_connected(g, sett, sites, mode)
            src = g.in_node(c_pos)
            tgt = g.out_node(s_pos)
            si, ti, tv = _reach(gt_t, src, tgt, modes.cutoff_min)
            frame = pd.DataFrame({"site": si, "settlement": ti, "time_min": tv})
            if req is not None and len(req):
                frame = _add_required(frame, req, gt_t, src, tgt)
            frame["distance_m"] = _pair_distances(g, gt_d, src, tgt, frame, s_pos, c_pos, modes.cutoff_min)
            frame = frame.sort_values(["settlement", "time_min", "site"], kind="stable")
            pair_frames.append(
                pd.DataFrame(
                    {
                        "settlement_id": sett.ids[frame["settlement"].to_numpy()],
                        "site_id": sites.ids[frame["site"].to_numpy()],
                        "site_type": site_type[frame["site"].to_numpy()],
                        "mode": mode,
                        "time_min": frame["time_min"].to_numpy(),
                        "distance_m": frame["distance_m"].to_numpy(),
                        "method": "network",
                    }
                )
            )
            timings[f"matrix_{mode}_s"] = time.perf_counter() - t0
        if mode == modes.school_mode:
            t0 = time.perf_counter()
            src = g.in_node(c_pos)
            tgt = g.out_node(c_pos)
            si, ti, tv = _reach(gt_t, src, tgt, modes.cutoff_min)
            fr = pd.DataFrame({"site": si, "settlement": ti, "time_min": tv})
            fr = fr[fr["site"] != fr["settlement"]]
            fr["distance_m"] = _pair_distances(g, gt_d, src, tgt, fr, c_pos, c_pos, modes.cutoff_min)
            fr = fr.sort_values(["settlement", "time_min", "site"], kind="stable")
            site_frame = pd.DataFrame(
                {
                    "from_id": sites.ids[fr["settlement"].to_numpy()],
                    "to_id": sites.ids[fr["site"].to_numpy()],
                    "mode": mode,
                    "time_min": fr["time_min"].to_numpy(),
                    "distance_m": fr["distance_m"].to_numpy(),
                    "method": "network",
                }
            )
            timings[f"school_pairs_{mode}_s"] = time.perf_counter() - t0
    pairs = pd.concat(pair_frames, ignore_index=True) if pair_frames else pd.DataFrame(columns=PAIR_COLUMNS)
    return TravelTimes(
        pairs=pairs[PAIR_COLUMNS],
        site_pairs=site_frame[SITE_PAIR_COLUMNS].reset_index(drop=True),
        method="network",
        modes=modes,
        settlement_ids=tuple(str(i) for i in sett.ids),
        site_ids=tuple(str(i) for i in sites.ids),
        snapping=pd.concat(snap_frames, ignore_index=True),
        timings_s=timings,
    )


def _required_positions(
    required: pd.DataFrame | None, sett_ids: np.ndarray, site_ids: np.ndarray
) -> pd.DataFrame | None:
    if required is None or len(required) == 0:
        return None
    r = pd.Index(sett_ids).get_indexer(required["settlement_id"].astype(str))
    c = pd.Index(site_ids).get_indexer(required["site_id"].astype(str))
    ok = (r >= 0) & (c >= 0)
    return pd.DataFrame({"settlement": r[ok], "site": c[ok]}).drop_duplicates()


def _add_required(
    frame: pd.DataFrame, req: pd.DataFrame, g: csr_matrix, src: np.ndarray, tgt: np.ndarray
) -> pd.DataFrame:
    """Pairs asked for but beyond the cutoff: Dijkstra without limit from their sites."""
    have = frame[["site", "settlement"]].merge(req, how="right", indicator=True)
    missing = have[have["_merge"] == "right_only"]
    if missing.empty:
        return frame
    sites = np.unique(missing["site"].to_numpy())
    extra = []
    for k in range(0, len(sites), 64):
        part = sites[k : k + 64]
        d = dijkstra(g, directed=True, indices=src[part])[:, tgt]
        sub = missing[missing["site"].isin(part)]
        row = pd.Index(part).get_indexer(sub["site"])
        vals = d[row, sub["settlement"].to_numpy()]
        ok = np.isfinite(vals)
        extra.append(pd.DataFrame({"site": sub["site"].to_numpy()[ok], "settlement": sub["settlement"].to_numpy()[ok],
                                   "time_min": vals[ok]}))  # fmt: skip
    return pd.concat([frame, *extra], ignore_index=True)


def _pair_distances(
    g: _ModeGraph,
    gt_d: csr_matrix,
    src: np.ndarray,
    tgt: np.ndarray,
    frame: pd.DataFrame,
    origin_pos: np.ndarray,
    dest_pos: np.ndarray,
    cutoff_min: float,
) -> np.ndarray:
    """Shortest road distance of each (site, settlement) pair of ``frame`` (origin = settlement).

    With one speed on every usable road (walking, cycling) the fastest route is the shortest
    one, and its length follows from its time; otherwise a Dijkstra on lengths is run.
    """
    if frame.empty:
        return np.zeros(0)
    if g.uniform_kmh is not None:
        o = origin_pos[frame["settlement"].to_numpy()]
        d = dest_pos[frame["site"].to_numpy()]
        acc_m = g.snap.dist_m[o] + g.snap.dist_m[d]
        acc_t = acc_m / (g.access_kmh * 1000.0 / 60.0)
        road_m = np.maximum(frame["time_min"].to_numpy() - acc_t, 0.0) * g.uniform_kmh * 1000.0 / 60.0
        return road_m + acc_m
    limit = cutoff_min / 60.0 * g.vmax_kmh * 1000.0 * 1.0001
    return _distances(gt_d, src, tgt, frame, limit)


def _distances(g: csr_matrix, src: np.ndarray, tgt: np.ndarray, frame: pd.DataFrame, limit: float) -> np.ndarray:
    """Shortest road distance for the (site, settlement) pairs of ``frame``."""
    out = np.full(len(frame), np.nan)
    if frame.empty:
        return out
    site = frame["site"].to_numpy()
    sett = frame["settlement"].to_numpy()
    order = np.argsort(site, kind="stable")
    uniq, starts = np.unique(site[order], return_index=True)
    ends = np.r_[starts[1:], len(order)]
    chunk = max(1, int(2.5e7 // max(g.shape[0], 1)))
    for k in range(0, len(uniq), chunk):
        part = uniq[k : k + chunk]
        d = dijkstra(g, directed=True, indices=src[part], limit=limit)[:, tgt]
        for j in range(len(part)):
            rows = order[starts[k + j] : ends[k + j]]
            out[rows] = d[j, sett[rows]]
    missing = ~np.isfinite(out)
    for s in np.unique(site[missing]):  # required pairs beyond the distance limit
        rows = np.flatnonzero(missing & (site == s))
        d = dijkstra(g, directed=True, indices=src[[s]])[0, tgt]
        out[rows] = d[sett[rows]]
    return out


def _snap_table(net: RoadNetwork, pts: _Points, snap: _Snap, mode: str, max_m: float) -> pd.DataFrame:
    cls = np.where(snap.edge >= 0, net.edges["road_class"].to_numpy(dtype=object)[np.maximum(snap.edge, 0)], None)
    return pd.DataFrame(
        {
            "table": pts.table,
            "id": pts.ids,
            "name_zh": pts.names,
            "mode": mode,
            "road_class": cls,
            "distance_to_road_m": snap.dist_m,
            "far": snap.dist_m > max_m,
        }
    )


def _warn_far(table: pd.DataFrame, mode: str, max_m: float) -> None:
    far = table[table["far"]]
    if len(far):
        first = far.iloc[0]
        log.warning(
            "%d point(s) are more than %.0f m from any road usable by %s, e.g. %s %s (%s) at %.0f m; "
            "their times include the walk to the road",
            len(far), max_m, mode, first["table"], first["id"], first["name_zh"], first["distance_to_road_m"],
        )  # fmt: skip


def _check_connected(g: _ModeGraph, sett: _Points, sites: _Points, mode: str) -> None:
    """Every settlement must reach some school by road (weak components of the mode graph)."""
    _, label = connected_components(g.time, directed=True, connection="weak")
    ns = len(sett)
    school = np.flatnonzero(sites.table == "schools")
    school_labels = set(label[g.in_node(ns + school)].tolist()) if len(school) else set()
    s_label = label[g.out_node(np.arange(ns))]
    no_road = g.snap.edge[:ns] < 0
    bad = np.flatnonzero(no_road | ~np.isin(s_label, list(school_labels)))
    if len(bad):
        i = int(bad[0])
        more = f" (and {len(bad) - 1} more settlement(s))" if len(bad) > 1 else ""
        raise NetworkError(
            f"settlement {sett.ids[i]} ({sett.names[i]}) has no road path to any school by {mode} ({MODE_ZH[mode]}): "
            f"its nearest road is not connected to a road any school is on{more}; connect the road layer or "
            "check its location"
        )


def straight_line_travel_times(
    settlements: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    candidate_sites: gpd.GeoDataFrame | None = None,
    *,
    modes: TravelModes | None = None,
    compute: Iterable[str] | None = None,
    detour_factor: float = 1.0,
    required: pd.DataFrame | None = None,
) -> TravelTimes:
    """Fallback when no road network is given: straight-line distance at a nominal speed.

    ``distance_m`` = straight-line distance × ``detour_factor``; ``time_min`` at
    :meth:`TravelModes.straight_line_kmh`. Every table carries ``method = "straight_line"``.
    """
    modes = modes or TravelModes()
    compute = tuple(dict.fromkeys(compute or modes.stage_modes.values()))
    sett = _Points.of([("settlements", settlements)])
    sites = _Points.of([("schools", schools), ("candidate_sites", candidate_sites)])
    site_type = np.where(sites.table == "schools", "school", "candidate_site")
    d = np.hypot(sett.xy[:, None, 0] - sites.xy[None, :, 0], sett.xy[:, None, 1] - sites.xy[None, :, 1])
    d = d * detour_factor
    req = _required_positions(required, sett.ids, sites.ids)
    frames = []
    for mode in compute:
        tmin = d / (modes.straight_line_kmh(mode) * 1000.0 / 60.0)
        keep = tmin <= modes.cutoff_min
        if req is not None:
            keep[req["settlement"].to_numpy(), req["site"].to_numpy()] = True
        r, c = np.nonzero(keep)
        fr = pd.DataFrame({"r": r, "c": c, "t": tmin[r, c]}).sort_values(["r", "t", "c"], kind="stable")
        r, c = fr["r"].to_numpy(), fr["c"].to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "settlement_id": sett.ids[r],
                    "site_id": sites.ids[c],
                    "site_type": site_type[c],
                    "mode": mode,
                    "time_min": fr["t"].to_numpy(),
                    "distance_m": d[r, c],
                    "method": "straight_line",
                }
            )
        )
    dd = np.hypot(sites.xy[:, None, 0] - sites.xy[None, :, 0], sites.xy[:, None, 1] - sites.xy[None, :, 1])
    dd = dd * detour_factor
    tt = dd / (modes.straight_line_kmh(modes.school_mode) * 1000.0 / 60.0)
    a, b = np.nonzero((tt <= modes.cutoff_min) & ~np.eye(len(sites), dtype=bool))
    site_pairs = pd.DataFrame(
        {
            "from_id": sites.ids[a],
            "to_id": sites.ids[b],
            "mode": modes.school_mode,
            "time_min": tt[a, b],
            "distance_m": dd[a, b],
            "method": "straight_line",
        }
    )
    log.warning("no road network: travel times are straight-line estimates (method=straight_line)")
    return TravelTimes(
        pairs=pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PAIR_COLUMNS),
        site_pairs=site_pairs,
        method="straight_line",
        modes=modes,
        settlement_ids=tuple(str(i) for i in sett.ids),
        site_ids=tuple(str(i) for i in sites.ids),
    )


def current_catchment_pairs(settlements: pd.DataFrame) -> pd.DataFrame:
    """``settlement_id``, ``site_id`` of every settlement's current primary and junior school."""
    out = []
    ids = _id_values(settlements, "settlements")
    for col in ("school_primary_id", "school_junior_id"):
        if col in settlements.columns:
            s = settlements[col].fillna("").astype(str).to_numpy()
            keep = s != ""
            out.append(pd.DataFrame({"settlement_id": np.asarray(ids)[keep], "site_id": s[keep]}))
    return (
        pd.concat(out, ignore_index=True).drop_duplicates()
        if out
        else pd.DataFrame(columns=["settlement_id", "site_id"])
    )


def county_network(county: Any, *, graphml: str | Path | None = None, modes: TravelModes | None = None) -> RoadNetwork:
    """The county's road network: from an OSMnx GraphML file if given, else ``county.roads``."""
    modes = modes or TravelModes()
    if graphml is not None:
        return network_from_graphml(graphml, county.crs)
    return network_from_lines(county.roads, node_tolerance_m=modes.node_tolerance_m)


def county_travel_times(
    county: Any,
    modes: TravelModes | None = None,
    *,
    graphml: str | Path | None = None,
    network: RoadNetwork | None = None,
    compute: Iterable[str] | None = None,
) -> TravelTimes:
    """Travel times of a :class:`~planner.county.County` (roads, or GraphML, or straight lines).

    Each settlement's current catchment schools are always kept, even beyond the cutoff.
    With no roads and no GraphML the straight-line fallback is used (and labelled).
    """
    modes = modes or TravelModes()
    required = current_catchment_pairs(county.settlements)
    roads = getattr(county, "roads", None)
    if network is None and graphml is None and (roads is None or len(roads) == 0):
        return straight_line_travel_times(
            county.settlements, county.schools, county.candidate_sites, modes=modes, compute=compute, required=required
        )
    t0 = time.perf_counter()
    net = network or county_network(county, graphml=graphml, modes=modes)
    build = time.perf_counter() - t0
    tt = travel_times(
        net, county.settlements, county.schools, county.candidate_sites, modes=modes, compute=compute,
        required=required,
    )  # fmt: skip
    return replace(tt, timings_s={"network_build_s": build, **tt.timings_s})


def build_travel_times(county: Any, modes: TravelModes | None = None, **kwargs: Any) -> TravelTimes:
    """Alias of :func:`county_travel_times` (the name :mod:`planner.travel` uses)."""
    return county_travel_times(county, modes, **kwargs)


def unreachable_points(
    county: Any, modes: TravelModes | None = None, network: RoadNetwork | None = None
) -> pd.DataFrame:
    """Schools, settlements and candidate sites the road network does not serve.

    A point is listed when it is farther than ``snap_max_m`` from any road, or when its
    nearest road lies on a component not connected to the main network (the component with
    the most road length). Mode restrictions are ignored here (any road counts).

    Returns
    -------
    DataFrame
        ``table`` (``schools``, ``settlements``, ``candidate_sites``), ``id``, ``name_zh``,
        ``reason`` (one line, English), ``distance_to_road_m``; empty when all is well or
        when the county has no roads (the straight-line fallback applies then).
    """
    modes = modes or TravelModes()
    cols = ["table", "id", "name_zh", "reason", "distance_to_road_m"]
    roads = getattr(county, "roads", None)
    if network is None and (roads is None or len(roads) == 0):
        return pd.DataFrame(columns=cols)
    net = network or network_from_lines(roads, node_tolerance_m=modes.node_tolerance_m)
    pts = _Points.of([("schools", county.schools), ("settlements", county.settlements),
                      ("candidate_sites", getattr(county, "candidate_sites", None))])  # fmt: skip
    if len(pts) == 0:
        return pd.DataFrame(columns=cols)
    snap = _snap(net, pts, np.ones(len(net.edges), bool))
    n_comp, label = net.components()
    comp_len = np.bincount(label[net.edges["u"].to_numpy()], weights=net.edges["length_m"].to_numpy(),
                           minlength=n_comp)  # fmt: skip
    main = int(np.argmax(comp_len))
    edge_comp = label[net.edges["u"].to_numpy()]
    rows = []
    for i in range(len(pts)):
        d = float(snap.dist_m[i])
        if d > modes.snap_max_m:
            reason = f"it is {d:.0f} m from the nearest road (more than {modes.snap_max_m:.0f} m)"
        elif edge_comp[snap.edge[i]] != main:
            c = edge_comp[snap.edge[i]]
            reason = (
                f"its nearest road belongs to a road network of {comp_len[c] / 1000:.1f} km that is not connected "
                f"to the county's main road network ({comp_len[main] / 1000:.0f} km)"
            )
        else:
            continue
        rows.append((pts.table[i], str(pts.ids[i]), pts.names[i], reason, d))
    return pd.DataFrame(rows, columns=cols)
