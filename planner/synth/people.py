"""Townships and settlements of a synthetic county: where people live, how old the children are.

Births in Henan fell by about half from 2016 to 2023, so the single-year cohorts of
2023 shrink from age 7 (born 2016) to age 0; ages 12-14 (born 2009-2011) are the
largest, which is why the county has more junior pupils per year of age than primary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry import Point
from shapely.ops import nearest_points

from planner.synth import names
from planner.synth.geo import Frame, as_polygonal, farthest_points, partition, sample_in, thin
from planner.synth.profile import (
    QUESHAN,
    QUESHAN_SEAT_WGS84,
    QUESHAN_SUBDISTRICTS,
    QUESHAN_TOWN_SEATS_WGS84,
    QUESHAN_TOWNS,
    CountyProfile,
)

log = logging.getLogger(__name__)

#: Relative size of each single-year cohort, ages 0..14 in 2023 (birth years 2023..2009).
COHORT = np.array([0.56, 0.62, 0.70, 0.80, 0.92, 1.00, 1.15, 1.12, 1.04, 1.06, 1.08, 1.10, 1.30, 1.32, 1.30])
#: Share of the population in a cohort of relative size 1.
COHORT_UNIT = 0.01345
#: Children per resident, relative, by area type (young families move to the county seat).
CHILD_FACTOR = {"urban": 1.12, "town": 1.04, "rural": 0.94}
#: Share of resident children enrolled in the county's public schools by catchment (mean).
ENROL_RATE = {
    "primary": {"urban": 0.78, "town": 0.74, "rural": 0.66},
    "junior": {"urban": 0.86, "town": 0.84, "rural": 0.80},
}

#: Radius of the county seat's built-up area at scale 1, metres.
URBAN_RADIUS_M = 2600.0
#: Radius of a town seat's built-up area, metres.
TOWN_RADIUS_M = 900.0


@dataclass
class Layout:
    """Townships and settlements in the metric frame (internal to the generator)."""

    townships: pd.DataFrame  # township_id, name_zh, kind, seat_x, seat_y
    polygons: list[Any]  # metric polygon per township, same order
    seat_xy: tuple[float, float]  # county seat centre
    urban_radius_m: float
    settlements: pd.DataFrame  # settlement_id ... x, y


def largest_remainder(weights: NDArray[np.float64], total: int) -> NDArray[np.int64]:
    """Integers proportional to ``weights`` summing exactly to ``total`` (stable tie-break)."""
    w = np.asarray(weights, float)
    if total == 0 or w.sum() <= 0:
        return np.zeros(len(w), np.int64)
    raw = w / w.sum() * total
    base = np.floor(raw).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return base


def adjust_to_total(
    values: NDArray[np.int64], caps: NDArray[np.int64], target: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Add or remove units one by one (random, proportional to room) until ``values`` sums to ``target``.

    ``0 <= values <= caps`` holds throughout; raises ``ValueError`` if the target is out of reach.
    """
    v = np.asarray(values, np.int64).copy()
    caps = np.asarray(caps, np.int64)
    if not 0 <= target <= int(caps.sum()):
        raise ValueError(f"target {target} outside 0..{int(caps.sum())}")
    while (diff := target - int(v.sum())) != 0:
        room = (caps - v) if diff > 0 else v.copy()
        room = room.astype(float)
        k = min(abs(diff), int(room.sum()))
        picks = rng.choice(len(v), size=k, replace=True, p=room / room.sum())
        add = np.bincount(picks, minlength=len(v))
        add = np.minimum(add, room.astype(np.int64))
        v += add if diff > 0 else -add
    return v


# --------------------------------------------------------------------------- townships


def _county_seat(boundary: Any, profile: CountyProfile, frame: Frame) -> NDArray[np.float64]:
    if profile.adcode == QUESHAN.adcode:
        xy = frame.to_metric(np.array([QUESHAN_SEAT_WGS84[0]]), np.array([QUESHAN_SEAT_WGS84[1]]))[0]
        if boundary.buffer(-3000 * frame.stretch).contains(Point(xy)):
            return xy
    c = shapely.maximum_inscribed_circle(boundary, tolerance=100.0)
    return np.array(shapely.get_coordinates(c)[0])


def build_townships(
    boundary: Any, profile: CountyProfile, frame: Frame, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[Any], NDArray[np.float64], float]:
    """Township table, metric polygons, county-seat point and urban radius.

    Sub-districts sit around the county seat and get small regions (weighted partition);
    towns get the rest. Queshan's real town names come first, in the order of the profile.
    """
    seat = _county_seat(boundary, profile, frame)
    r_urban = URBAN_RADIUS_M * frame.stretch
    # sub-district seats: spread inside the urban disk
    disk = Point(seat).buffer(r_urban * 0.8).intersection(boundary)
    cand = sample_in(disk, 400, rng)
    sd_xy = cand[farthest_points(cand, profile.n_subdistricts)] if profile.n_subdistricts > 1 else seat[None, :]
    sd_xy = seat + (sd_xy - seat) * 0.7
    # town seats: Queshan's approximate ones first (scaled), then well-spread extra ones
    known: list[tuple[str, NDArray[np.float64]]] = []
    if profile.adcode == QUESHAN.adcode:
        inner = boundary.buffer(-1500 * frame.stretch)
        for nm in QUESHAN_TOWNS[: profile.n_towns]:
            lon, lat = QUESHAN_TOWN_SEATS_WGS84[nm]
            xy = frame.to_metric(np.array([lon]), np.array([lat]))[0]
            if not inner.contains(Point(xy)):  # too near the border: move it inside
                log.debug("moving the seat of %s inside the boundary", nm)
                xy = np.array(nearest_points(inner, Point(xy))[0].coords[0])
                xy = xy + (seat - xy) / np.hypot(*(seat - xy)) * 200.0
            known.append((nm, xy))
    rural = boundary.difference(Point(seat).buffer(r_urban * 2.5))
    cand = sample_in(
        rural.buffer(-1200 * frame.stretch) if not rural.buffer(-1200 * frame.stretch).is_empty else rural, 4000, rng
    )
    fixed = np.array([seat, *[xy for _, xy in known]])
    n_extra = profile.n_towns - len(known)
    d = np.min(np.hypot(cand[:, None, 0] - fixed[None, :, 0], cand[:, None, 1] - fixed[None, :, 1]), axis=1)
    extra: list[NDArray[np.float64]] = []
    for _ in range(n_extra):
        j = int(np.argmax(d))
        extra.append(cand[j])
        d = np.minimum(d, np.hypot(*(cand - cand[j]).T))
    town_xy = np.array([xy for _, xy in known] + extra).reshape(-1, 2)

    taken = set(QUESHAN_SUBDISTRICTS) | set(QUESHAN_TOWNS)
    if profile.adcode == QUESHAN.adcode:
        sd_names = list(QUESHAN_SUBDISTRICTS[: profile.n_subdistricts])
        sd_names += names.made_up_townships(profile.n_subdistricts - len(sd_names), "街道", rng, taken)
    else:
        sd_names = names.made_up_townships(profile.n_subdistricts, "街道", rng, taken)
    town_names = [nm for nm, _ in known] + names.made_up_townships(n_extra, "镇", rng, taken)

    seats = np.vstack([sd_xy, town_xy])
    weights = np.concatenate([np.full(len(sd_xy), 0.5), rng.uniform(0.85, 1.15, len(town_xy))])
    polys = partition(
        boundary,
        seats,
        weights,
        rng,
        n_cells=int(2500 * max(1.0, profile.factor**0.5)),
        dense=(float(seat[0]), float(seat[1]), r_urban * 2.5),
        n_dense=60 * profile.n_subdistricts,
    )
    empty = [i for i, p in enumerate(polys) if p.is_empty]
    if empty:
        raise RuntimeError(f"township partition left {len(empty)} units without land; try another seed")
    polys = [as_polygonal(p) for p in polys]
    code = profile.adcode
    rows = []
    for i, nm in enumerate(sd_names):
        rows.append((f"{code}{i + 1:03d}", nm, "subdistrict", *sd_xy[i]))
    for i, nm in enumerate(town_names):
        rows.append((f"{code}{100 + i:03d}", nm, "town", *town_xy[i]))
    table = pd.DataFrame(rows, columns=["township_id", "name_zh", "kind", "seat_x", "seat_y"])
    return table, polys, seat, r_urban


# --------------------------------------------------------------------------- settlements


def _density(seat: NDArray[np.float64], span: float, rng: np.random.Generator) -> Any:
    """A smooth random settlement-density field in [0.25, 1] (hills and plains)."""
    k = 12
    cx = seat[0] + rng.uniform(-1, 1, k) * span
    cy = seat[1] + rng.uniform(-1, 1, k) * span
    s = rng.uniform(0.15, 0.35, k) * span
    a = rng.uniform(-0.6, 0.6, k)

    def f(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        z = np.zeros(len(xy))
        for i in range(k):
            z += a[i] * np.exp(-((xy[:, 0] - cx[i]) ** 2 + (xy[:, 1] - cy[i]) ** 2) / (2 * s[i] ** 2))
        return np.clip(0.65 + z, 0.25, 1.0)

    return f


def build_settlements(
    boundary: Any,
    townships: pd.DataFrame,
    polys: list[Any],
    seat: NDArray[np.float64],
    r_urban: float,
    profile: CountyProfile,
    frame: Frame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Urban neighbourhoods, town-seat neighbourhoods and villages with population and ages.

    Returns a frame with settlement_id, name_zh, township_id, kind, area_type, x, y,
    population and age_0..age_14 (pupils are added by :func:`add_pupils`).
    """
    tw_index = {tid: i for i, tid in enumerate(townships["township_id"])}
    inner = [p.buffer(-60.0) for p in polys]
    rows: list[dict[str, Any]] = []
    placed = np.zeros((0, 2))

    # county-seat neighbourhoods, denser towards the centre
    urban_disk = Point(seat).buffer(r_urban)
    urban_names = iter(names.urban_names(profile.n_subdistricts * profile.neighbourhoods_per_subdistrict))
    for tid, kind in zip(townships["township_id"], townships["kind"], strict=True):
        if kind != "subdistrict":
            continue
        area = inner[tw_index[tid]].intersection(urban_disk)
        if area.is_empty:
            area = inner[tw_index[tid]]
        cand = sample_in(area, 600, rng, weight=lambda xy: np.exp(-np.hypot(*(xy - seat).T) / r_urban))
        keep = np.flatnonzero(thin(cand, 280.0 * frame.stretch**0, placed))[: profile.neighbourhoods_per_subdistrict]
        for j in keep:
            rows.append(
                {
                    "name_zh": next(urban_names),
                    "township_id": tid,
                    "kind": "neighbourhood",
                    "area_type": "urban",
                    "x": cand[j, 0],
                    "y": cand[j, 1],
                }
            )
        placed = np.vstack([placed, cand[keep]])

    # town-seat neighbourhoods, the first one at the seat
    cols = ["township_id", "name_zh", "kind", "seat_x", "seat_y"]
    for tid, nm, kind, sx, sy in townships[cols].itertuples(index=False):
        if kind != "town":
            continue
        disk = Point(sx, sy).buffer(TOWN_RADIUS_M).intersection(inner[tw_index[tid]])
        cand = np.vstack([[sx, sy], sample_in(disk, 200, rng)])
        keep = np.flatnonzero(thin(cand, 250.0, placed))[: profile.neighbourhoods_per_town]
        for k, j in enumerate(keep):
            rows.append(
                {
                    "name_zh": names.town_names(profile.neighbourhoods_per_town, names.stem_of(nm))[k],
                    "township_id": tid,
                    "kind": "neighbourhood",
                    "area_type": "town",
                    "x": cand[j, 0],
                    "y": cand[j, 1],
                }
            )
        placed = np.vstack([placed, cand[keep]])

    # villages over the countryside, away from the built-up areas
    town_seats = townships.loc[townships["kind"] == "town", ["seat_x", "seat_y"]].to_numpy()
    built = shapely.union_all(
        [Point(seat).buffer(r_urban + 400), *[Point(p).buffer(TOWN_RADIUS_M + 300) for p in town_seats]]
    )
    countryside = boundary.buffer(-150.0).difference(built)
    span = np.sqrt(boundary.area) / 2
    dens = _density(seat, span, rng)
    cand = sample_in(countryside, int(profile.n_villages * 2.2), rng, weight=dens)
    spacing = 0.42 * np.sqrt(countryside.area / profile.n_villages)
    mask = thin(cand, spacing, placed)
    vxy = cand[mask][: profile.n_villages]
    if len(vxy) < profile.n_villages:
        more = sample_in(countryside, (profile.n_villages - len(vxy)) * 4, rng)
        m2 = thin(more, spacing * 0.6, np.vstack([placed, vxy]))
        vxy = np.vstack([vxy, more[m2][: profile.n_villages - len(vxy)]])
    owner = _owner(vxy, inner, polys)
    ok = owner >= 0
    vxy, owner = vxy[ok], owner[ok]
    vill_names: dict[int, list[str]] = {}
    counts = np.bincount(owner, minlength=len(polys))
    for t in range(len(polys)):
        vill_names[t] = names.village_names(int(counts[t]), rng)
    used = dict.fromkeys(range(len(polys)), 0)
    for (x, y), t in zip(vxy, owner, strict=True):
        rows.append(
            {
                "name_zh": vill_names[int(t)][used[int(t)]],
                "township_id": townships["township_id"].iloc[int(t)],
                "kind": "village",
                "area_type": "rural",
                "x": x,
                "y": y,
            }
        )
        used[int(t)] += 1

    df = pd.DataFrame(rows)
    # order: by township, then urban/town neighbourhoods first, then villages west to east
    df["_t"] = df["township_id"].map(tw_index)
    df["_k"] = (df["kind"] == "village").astype(int)
    df = df.sort_values(["_t", "_k", "x", "y"], kind="stable").drop(columns=["_t", "_k"]).reset_index(drop=True)
    df.insert(0, "settlement_id", [f"S{i + 1:05d}" for i in range(len(df))])
    _populate(df, seat, r_urban, townships, profile, rng)
    return df


def _owner(xy: NDArray[np.float64], inner: list[Any], polys: list[Any]) -> NDArray[np.int64]:
    """Township index holding each point (well inside it), -1 if none."""
    owner = np.full(len(xy), -1, np.int64)
    for t, p in enumerate(inner):
        hit = shapely.contains_xy(p, xy[:, 0], xy[:, 1]) & (owner < 0)
        owner[hit] = t
    del polys
    return owner


def _populate(
    df: pd.DataFrame,
    seat: NDArray[np.float64],
    r_urban: float,
    townships: pd.DataFrame,
    profile: CountyProfile,
    rng: np.random.Generator,
) -> None:
    """Population (exact total) and single-year ages of every settlement, in place."""
    n = len(df)
    area = df["area_type"].to_numpy()
    urban, town, rural = area == "urban", area == "town", area == "rural"
    total_urban = int(np.rint(profile.population * profile.urban_share))
    total_town = int(np.rint(profile.population * profile.town_share))
    total_rural = profile.population - total_urban - total_town
    w = np.zeros(n)
    d_seat = np.hypot(df["x"] - seat[0], df["y"] - seat[1]).to_numpy()
    w[urban] = rng.lognormal(0, 0.35, urban.sum()) * (1.6 - 0.8 * np.clip(d_seat[urban] / r_urban, 0, 1))
    town_size = dict(zip(townships["township_id"], rng.lognormal(0, 0.3, len(townships)), strict=True))
    w[town] = rng.lognormal(0, 0.3, town.sum()) * df.loc[town, "township_id"].map(town_size).to_numpy()
    w[town & (df.groupby("township_id").cumcount() == 0).to_numpy()] *= 1.8  # the seat itself
    w[rural] = rng.lognormal(0, 0.6, rural.sum())
    pop = np.zeros(n, np.int64)
    for mask, total in ((urban, total_urban), (town, total_town), (rural, total_rural)):
        pop[mask] = largest_remainder(w[mask], total)
    pop = np.maximum(pop, 0)
    df["population"] = pop
    factor = np.array([CHILD_FACTOR[a] for a in area])
    for a in range(15):
        p = np.clip(COHORT[a] * COHORT_UNIT * factor * rng.uniform(0.85, 1.15, n), 0, 1)
        df[f"age_{a}"] = rng.binomial(pop, p)


def add_pupils(df: pd.DataFrame, public_primary: int, public_junior: int, rng: np.random.Generator) -> None:
    """Catchment pupils per settlement summing exactly to the public-school totals, in place.

    Each settlement enrols a share of its resident children of the stage's ages
    (the rest attend private schools or schools outside the county).
    """
    area = df["area_type"].to_numpy()
    for stage, ages, target in (("primary", range(6, 12), public_primary), ("junior", range(12, 15), public_junior)):
        children = df[[f"age_{a}" for a in ages]].sum(axis=1).to_numpy()
        rate = np.array([ENROL_RATE[stage][a] for a in area]) * rng.uniform(0.85, 1.1, len(df))
        pupils = rng.binomial(children, np.clip(rate, 0, 0.97))
        df[f"pupils_{stage}"] = adjust_to_total(pupils, children, target, rng)
