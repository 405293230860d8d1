"""Schools of a synthetic county: where they stand, whom they serve, what they have, who teaches.

The baseline is meant to fail the national standard the way real counties do (DOMAIN.md
§1, seed 001): crowded county-seat schools with 大班额 and too little floor and sports area
per pupil, rural schools with plenty of space but few backbone and PE/art teachers,
uneven equipment and multimedia rooms, tiny teaching points. Every number is drawn from
ranges chosen for that character; totals (pupils, staff) are then made exact.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from planner.synth import names
from planner.synth.people import largest_remainder
from planner.synth.profile import CountyProfile

log = logging.getLogger(__name__)

#: Contexts (internal): what kind of place a school is, which sets its character.
PRIMARY_KINDS = ("primary", "teaching_point", "nine_year")
JUNIOR_KINDS = ("junior", "nine_year")
PRIVATE_PRIMARY_NAMES = ("博文小学", "英才小学", "育英小学", "启航小学", "明德小学", "博雅小学", "启智小学", "求实小学")
PRIVATE_JUNIOR_NAMES = ("启明中学", "博才中学", "育华中学", "致远中学", "弘毅中学", "励志中学")
PRIVATE_NINE_NAMES = ("育才实验学校", "华英学校", "东方外国语学校", "博思学校")
URBAN_NINE_NAMES = ("新区实验学校", "城南学校", "城东学校", "城北学校", "城西学校", "开发区学校")

# Staffing: pupils per staff member by context (before the exact-total rescaling).
_STAFF_RATIO = {
    "urban": (17.0, 19.5), "private": (16.0, 19.0), "central": (9.0, 11.0), "central_boarding": (5.5, 7.0),
    "village": (6.5, 8.5), "tp": (8.0, 11.0),
    "urban_junior": (13.0, 15.0), "private_junior": (12.0, 14.0), "town_junior": (10.0, 12.0),
    "rural_junior": (8.5, 10.5),
}  # fmt: skip
# Full-time teachers as a share of staff.
_TEACHER_SHARE = {
    "urban": (0.88, 0.93), "private": (0.85, 0.90), "central": (0.90, 0.95), "central_boarding": (0.82, 0.88),
    "village": (0.92, 0.97), "tp": (1.0, 1.0), "urban_junior": (0.88, 0.93), "private_junior": (0.86, 0.91),
    "town_junior": (0.86, 0.92), "rural_junior": (0.86, 0.92), "special": (0.85, 0.88),
}  # fmt: skip
EDUCATION = ("secondary", "college", "bachelor", "master")
_EDU = {
    ("primary", "urban"): (0.02, 0.33, 0.62, 0.03),
    ("primary", "private"): (0.02, 0.40, 0.55, 0.03),
    ("primary", "central"): (0.08, 0.45, 0.45, 0.02),
    ("primary", "village"): (0.22, 0.48, 0.30, 0.00),
    ("primary", "tp"): (0.45, 0.40, 0.15, 0.00),
    ("junior", "urban"): (0.00, 0.10, 0.84, 0.06),
    ("junior", "private"): (0.00, 0.15, 0.80, 0.05),
    ("junior", "town"): (0.01, 0.22, 0.75, 0.02),
    ("junior", "rural"): (0.03, 0.40, 0.56, 0.01),
}
BACKBONE = ("none", "school", "county", "city", "province", "national")
_BACKBONE = {
    "urban": (0.55, 0.17, 0.18, 0.07, 0.025, 0.005),
    "private": (0.70, 0.15, 0.10, 0.04, 0.01, 0.00),
    "town": (0.68, 0.17, 0.11, 0.03, 0.01, 0.00),
    "village": (0.79, 0.12, 0.08, 0.01, 0.00, 0.00),
    "tp": (0.93, 0.06, 0.01, 0.00, 0.00, 0.00),
}
_SUBJECTS = {
    "primary": (("chinese", 0.32), ("math", 0.27), ("english", 0.08), ("science", 0.05), ("moral", 0.04),
                ("it", 0.02), ("other", 0.04)),
    "junior": (("chinese", 0.15), ("math", 0.15), ("english", 0.14), ("physics", 0.07), ("chemistry", 0.05),
               ("biology", 0.05), ("history", 0.06), ("geography", 0.05), ("moral", 0.06), ("it", 0.03),
               ("other", 0.02)),
}  # fmt: skip
# Share of PE, music and art teachers by (stage, context group).
_PE_ART = {
    ("primary", "urban"): 0.18, ("primary", "private"): 0.16, ("primary", "central"): 0.10,
    ("primary", "village"): 0.09, ("primary", "tp"): 0.02,
    ("junior", "urban"): 0.16, ("junior", "private"): 0.14, ("junior", "town"): 0.12, ("junior", "rural"): 0.07,
}  # fmt: skip


def _ctx_group(ctx: str) -> str:
    """Context -> coarse group used by the teacher profiles."""
    return {
        "urban": "urban", "urban_nine": "urban", "urban_junior": "urban", "private": "private",
        "private_junior": "private", "private_nine": "private", "central": "town", "central_boarding": "town",
        "town_junior": "town", "village": "village", "rural_junior": "village", "rural_nine": "village", "tp": "tp",
        "special": "urban",
    }[ctx]  # fmt: skip


# --------------------------------------------------------------------------- placement


def _offset_point(x: float, y: float, poly: Any, rng: np.random.Generator) -> tuple[float, float]:
    """A point 60-180 m from (x, y), inside ``poly`` (a school beside its settlement's centre)."""
    for _ in range(20):
        a = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(60, 180)
        px, py = x + r * np.cos(a), y + r * np.sin(a)
        if shapely.contains_xy(poly, px, py):
            return float(px), float(py)
    return float(x), float(y)


def place_schools(
    st: pd.DataFrame,
    townships: pd.DataFrame,
    polys: list[Any],
    seat: NDArray[np.float64],
    profile: CountyProfile,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Choose every school's host settlement and position, kind, ownership and context.

    Returns a frame with school_id, name_zh, township_id, settlement_id, kind, ownership,
    is_boarding, ctx (internal context), x, y.
    """
    inner = {tid: p.buffer(-40.0) for tid, p in zip(townships["township_id"], polys, strict=True)}
    tname = dict(zip(townships["township_id"], townships["name_zh"], strict=True))
    county = profile.name_zh
    rows: list[dict[str, Any]] = []
    xy = st[["x", "y"]].to_numpy()
    urban = np.flatnonzero(st["area_type"].to_numpy() == "urban")
    pop = st["population"].to_numpy().astype(float)
    d_seat = np.hypot(xy[:, 0] - seat[0], xy[:, 1] - seat[1])

    def add(host: int, kind: str, ctx: str, name: str, ownership: str = "public", boarding: bool = False) -> None:
        rows.append(
            {
                "host": int(host),
                "kind": kind,
                "ctx": ctx,
                "name_zh": name,
                "ownership": ownership,
                "is_boarding": boarding,
            }
        )

    def spread(cands: NDArray[np.int64], k: int, w: NDArray[np.float64] | None = None) -> list[int]:
        from planner.synth.geo import farthest_points

        if k <= 0 or len(cands) == 0:
            return []
        picks = farthest_points(xy[cands], k, None if w is None else w)
        return [int(cands[i]) for i in picks]

    # county seat: public primary and junior schools spread over the city, by population
    for i, h in enumerate(spread(urban, profile.n_primary_urban, np.sqrt(pop[urban])), start=1):
        add(h, "primary", "urban", f"{county}第{names.ordinal(i)}小学")
    for i, h in enumerate(spread(urban, profile.n_junior_urban, np.sqrt(pop[urban])), start=1):
        add(h, "junior", "urban_junior", f"{county}第{names.ordinal(i)}初级中学")
    n_nine_urban = profile.n_nine_year_public // 2 + profile.n_nine_year_public % 2 * 0
    n_nine_urban = max(0, min(n_nine_urban, profile.n_nine_year_public))
    fringe = urban[np.argsort(-d_seat[urban], kind="stable")]
    for i in range(n_nine_urban):
        add(fringe[i * 3 % len(fringe)], "nine_year", "urban_nine", f"{county}{URBAN_NINE_NAMES[i % 6]}")

    # towns: a central primary and a junior school at every seat
    towns = townships[townships["kind"] == "town"]
    tw_rural = st[st["area_type"] == "rural"].groupby("township_id")["population"].sum()
    boarding_towns = set(
        tw_rural.reindex(towns["township_id"])
        .fillna(0)
        .sort_values(ascending=False, kind="stable")
        .index[: profile.n_boarding_central]
    )
    seat_host = {}
    for tid in towns["township_id"]:
        hosts = np.flatnonzero((st["township_id"] == tid).to_numpy() & (st["area_type"] == "town").to_numpy())
        h = int(hosts[0]) if len(hosts) else int(np.flatnonzero((st["township_id"] == tid).to_numpy())[0])
        seat_host[tid] = h
        b = tid in boarding_towns
        add(h, "primary", "central_boarding" if b else "central", f"{county}{tname[tid]}中心小学", boarding=b)
    for tid in towns["township_id"]:
        add(seat_host[tid], "junior", "town_junior", f"{county}{tname[tid]}第一初级中学", boarding=rng.random() < 0.8)

    rural = st["area_type"].to_numpy() == "rural"
    # extra junior schools and rural nine-year schools: big villages far from the seat in the largest towns
    big_towns = list(tw_rural.reindex(towns["township_id"]).fillna(0).sort_values(ascending=False, kind="stable").index)
    n_nine_rural = profile.n_nine_year_public - n_nine_urban
    used_hosts: set[int] = set()
    for i in range(profile.n_junior_town_extra + n_nine_rural):
        tid = big_towns[i % len(big_towns)]
        cands = np.flatnonzero((st["township_id"] == tid).to_numpy() & rural)
        sx, sy = xy[seat_host[tid]]
        score = np.hypot(xy[cands, 0] - sx, xy[cands, 1] - sy) * np.sqrt(pop[cands])
        order = [int(c) for c in cands[np.argsort(-score, kind="stable")] if int(c) not in used_hosts]
        h = order[0]
        used_hosts.add(h)
        vname = st["name_zh"].iloc[h].removesuffix("村")
        if i < profile.n_junior_town_extra:
            add(h, "junior", "rural_junior", f"{county}{tname[tid]}第二初级中学", boarding=True)
        else:
            add(h, "nine_year", "rural_nine", f"{county}{tname[tid]}{vname}九年一贯制学校", boarding=True)

    # village primary schools, spread in each township by rural pupils
    rural_pupils = st[rural].groupby("township_id")["pupils_primary"].sum().reindex(townships["township_id"]).fillna(0)
    n_village = largest_remainder(rural_pupils.to_numpy(), profile.n_primary_village)
    existing = np.array([xy[r["host"]] for r in rows])
    village_hosts: list[int] = []
    for tid, k in zip(townships["township_id"], n_village, strict=True):
        cands = np.flatnonzero((st["township_id"] == tid).to_numpy() & rural & (st["pupils_primary"] >= 2).to_numpy())
        cands = np.array([c for c in cands if int(c) not in used_hosts], dtype=np.int64)
        if k == 0 or len(cands) == 0:
            continue
        w = np.sqrt(pop[cands])
        d0 = np.min(
            np.hypot(xy[cands, None, 0] - existing[None, :, 0], xy[cands, None, 1] - existing[None, :, 1]), axis=1
        )
        chosen: list[int] = []
        d = d0.copy()
        for _ in range(min(int(k), len(cands))):
            j = int(np.argmax(d * w))
            chosen.append(int(cands[j]))
            d = np.minimum(d, np.hypot(xy[cands, 0] - xy[cands[j], 0], xy[cands, 1] - xy[cands[j], 1]))
        for h in chosen:
            used_hosts.add(h)
            village_hosts.append(h)
            add(h, "primary", "village", f"{tname[tid]}{st['name_zh'].iloc[h].removesuffix('村')}小学")
    # teaching points: remote villages far from every other school (more in hilly, sparse townships)
    existing = np.array([xy[r["host"]] for r in rows])
    cands = np.flatnonzero(rural & (st["pupils_primary"] >= 4).to_numpy())
    cands = np.array([c for c in cands if int(c) not in used_hosts], dtype=np.int64)
    d = np.min(np.hypot(xy[cands, None, 0] - existing[None, :, 0], xy[cands, None, 1] - existing[None, :, 1]), axis=1)
    noise = rng.uniform(0.7, 1.3, len(cands))
    for _ in range(min(profile.n_teaching_points, len(cands))):
        j = int(np.argmax(d * noise))
        h = int(cands[j])
        tid = st["township_id"].iloc[h]
        add(h, "teaching_point", "tp", f"{tname[tid]}{st['name_zh'].iloc[h].removesuffix('村')}教学点")
        d = np.minimum(d, np.hypot(xy[cands, 0] - xy[h, 0], xy[cands, 1] - xy[h, 1]))
        d[j] = -1

    # private schools and the special school in the county seat
    central = urban[np.argsort(d_seat[urban], kind="stable")]
    pick = rng.permutation(central[: max(3, len(central) // 2)])
    k = 0
    for i in range(profile.n_primary_private):
        add(pick[k % len(pick)], "primary", "private", f"{county}{PRIVATE_PRIMARY_NAMES[i % 8]}", "private")
        k += 1
    for i in range(profile.n_junior_private):
        add(pick[k % len(pick)], "junior", "private_junior", f"{county}{PRIVATE_JUNIOR_NAMES[i % 6]}", "private")
        k += 1
    for i in range(profile.n_nine_year_private):
        add(
            pick[k % len(pick)],
            "nine_year",
            "private_nine",
            f"{county}{PRIVATE_NINE_NAMES[i % 4]}",
            "private",
            boarding=True,
        )
        k += 1
    add(pick[k % len(pick)], "special", "special", f"{county}特殊教育学校", boarding=True)

    df = pd.DataFrame(rows)
    # disambiguate repeated names (scaled counties reuse name lists)
    dup = df.groupby("name_zh").cumcount()
    df.loc[dup > 0, "name_zh"] = df.loc[dup > 0, "name_zh"] + (dup[dup > 0] + 1).map(lambda i: f"（{i}）")
    prefix = {"primary": "P", "teaching_point": "TP", "junior": "J", "nine_year": "N", "special": "X"}
    order = {"primary": 0, "teaching_point": 1, "junior": 2, "nine_year": 3, "special": 4}
    df["_o"] = df["kind"].map(order)
    df = df.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    df.insert(
        0,
        "school_id",
        [f"{prefix[k]}{i + 1:03d}" for k, i in zip(df["kind"], df.groupby("kind").cumcount(), strict=True)],
    )
    df["settlement_id"] = st["settlement_id"].to_numpy()[df["host"]]
    df["township_id"] = st["township_id"].to_numpy()[df["host"]]
    pts = [_offset_point(xy[h, 0], xy[h, 1], inner[t], rng) for h, t in zip(df["host"], df["township_id"], strict=True)]
    df["x"] = [p[0] for p in pts]
    df["y"] = [p[1] for p in pts]
    return df


# --------------------------------------------------------------------------- catchments

_PRIMARY_PULL = {
    "urban": 1.2,
    "urban_nine": 1.2,
    "central": 1.6,
    "central_boarding": 2.2,
    "village": 1.0,
    "tp": 1.0,
    "rural_nine": 1.5,
}
_JUNIOR_PULL = {"urban_junior": 1.0, "urban_nine": 0.8, "town_junior": 1.0, "rural_junior": 0.9, "rural_nine": 0.8}


def assign_catchments(st: pd.DataFrame, sch: pd.DataFrame, rng: np.random.Generator) -> None:
    """Set ``school_primary_id`` and ``school_junior_id`` of every settlement, in place.

    County-seat neighbourhoods go to the county-seat schools; town-seat neighbourhoods to
    their town's central primary and first junior school; villages to a school of their own
    township by distance weighted by the school's pull (boarding central schools draw
    from far, teaching points only from next door). A school's host settlement is always
    in its catchment. Private and special schools have no catchment.
    """
    xy = st[["x", "y"]].to_numpy()
    area = st["area_type"].to_numpy()
    tid = st["township_id"].to_numpy()
    public = sch[sch["ownership"] == "public"]
    for stage, kinds, pull_of in (("primary", PRIMARY_KINDS, _PRIMARY_PULL), ("junior", JUNIOR_KINDS, _JUNIOR_PULL)):
        cand = public[public["kind"].isin(kinds)].reset_index(drop=True)
        cxy = st.loc[st.index[cand["host"]], ["x", "y"]].to_numpy()
        pull = cand["ctx"].map(pull_of).to_numpy() * rng.uniform(0.8, 1.25, len(cand))
        d = np.hypot(xy[:, None, 0] - cxy[None, :, 0], xy[:, None, 1] - cxy[None, :, 1]) / pull[None, :]
        ctx = cand["ctx"].to_numpy()
        is_urban_school = np.isin(ctx, ["urban", "urban_nine", "urban_junior"])
        same_tw = tid[:, None] == cand["township_id"].to_numpy()[None, :]
        allowed = np.where((area == "urban")[:, None], is_urban_school[None, :], same_tw)
        if stage == "primary":
            town_seat = (area == "town")[:, None]
            allowed &= ~town_seat | np.isin(ctx, ["central", "central_boarding"])[None, :]
        else:
            town_seat = (area == "town")[:, None]
            allowed &= ~town_seat | (ctx == "town_junior")[None, :]
        none = ~allowed.any(axis=1)
        allowed[none] = True  # fall back to the nearest school anywhere
        d = np.where(allowed, d, np.inf)
        choice = _balanced_choice(
            d,
            st[f"pupils_{stage}"].to_numpy(float),
            np.isin(ctx, ["urban", "urban_nine", "urban_junior"]),
            np.where(ctx == "urban_nine", 0.8, 1.0),
            rng,
        )
        host_of = dict(zip(cand["host"], range(len(cand)), strict=False))
        for h, j in host_of.items():
            choice[h] = j
        # prefer the host's own school when a settlement hosts several of this stage
        st[f"school_{stage}_id"] = cand["school_id"].to_numpy()[choice]


def _balanced_choice(
    d: NDArray[np.float64],
    pupils: NDArray[np.float64],
    balanced: NDArray[np.bool_],
    weight: NDArray[np.float64],
    rng: np.random.Generator,
    rounds: int = 60,
) -> NDArray[np.int64]:
    """Nearest school by ``d``, with the pulls of the ``balanced`` schools tuned so their loads
    approach random, uneven targets (county-seat schools differ in size but none takes the whole city).
    """
    pull = np.ones(d.shape[1])
    share = np.ones(d.shape[1])
    share[balanced] = rng.permutation(np.linspace(0.5, 1.7, int(balanced.sum()))) * weight[balanced]
    choice = np.argmin(d, axis=1)
    if balanced.sum() < 2:
        return choice
    best, best_err = choice, np.inf
    for _ in range(rounds):
        load = np.bincount(choice, weights=pupils, minlength=d.shape[1])
        total = load[balanced].sum()
        target = share[balanced] / share[balanced].sum() * total
        err = float(np.abs(np.log(np.maximum(load[balanced], 1.0) / target)).max())
        if err < best_err:
            best, best_err = choice, err
        pull[balanced] *= np.clip((target / np.maximum(load[balanced], 1.0)) ** 0.25, 0.85, 1.15)
        pull[balanced] /= np.exp(np.log(pull[balanced]).mean())
        choice = np.argmin(d / pull[None, :], axis=1)
    return best


def enrol(st: pd.DataFrame, sch: pd.DataFrame, profile: CountyProfile) -> None:
    """Pupils of every school: catchment sums for public schools, given figures otherwise, in place."""
    for stage in ("primary", "junior"):
        sums = st.groupby(f"school_{stage}_id")[f"pupils_{stage}"].sum()
        sch[f"pupils_{stage}"] = sch["school_id"].map(sums).fillna(0).astype(np.int64)
    priv_p = list(profile.private_pupils_primary)
    priv_j = list(profile.private_pupils_junior)
    n_pp = profile.n_primary_private
    n_pj = profile.n_junior_private
    for i, idx in enumerate(sch.index[(sch["ctx"] == "private")]):
        sch.loc[idx, "pupils_primary"] = priv_p[i]
    for i, idx in enumerate(sch.index[(sch["ctx"] == "private_junior")]):
        sch.loc[idx, "pupils_junior"] = priv_j[i]
    for i, idx in enumerate(sch.index[(sch["ctx"] == "private_nine")]):
        sch.loc[idx, "pupils_primary"] = priv_p[n_pp + i]
        sch.loc[idx, "pupils_junior"] = priv_j[n_pj + i]
    sp = sch["kind"] == "special"
    sch.loc[sp, "pupils_primary"] = profile.special_pupils_primary
    sch.loc[sp, "pupils_junior"] = profile.special_pupils_junior


# --------------------------------------------------------------------------- resources


def _u(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(*lo_hi))


#: largest class the generator gives a teaching point (pupils); the bundled counties' stay far below it
TP_MAX_CLASS = 60.0


def _classes(p: int, size: float, minimum: int = 1) -> int:
    return 0 if p <= 0 else max(minimum, int(np.ceil(p / size)))


def add_resources(sch: pd.DataFrame, rng: np.random.Generator) -> None:
    """Classes, classrooms, areas, equipment, rooms and boarding places of every school, in place."""
    out: dict[str, list[Any]] = {
        k: []
        for k in (
            "classes_primary",
            "classes_junior",
            "classrooms",
            "floor_area_m2",
            "sports_area_m2",
            "equipment_value_yuan",
            "multimedia_rooms",
            "music_rooms",
            "music_rooms_area_m2",
            "art_rooms",
            "art_rooms_area_m2",
            "boarding_places",
        )
    }
    for r in sch.itertuples(index=False):
        pp, pj, ctx = int(r.pupils_primary), int(r.pupils_junior), r.ctx
        # classes
        if ctx == "tp":
            # up to 4 multi-grade classes; a teaching point that draws more pupils than 4 classes of 60 hold
            # (in the larger prefecture counties) gets classes of at most 60, inside docs/data.md's usual range
            cp = max(min(4, max(1, int(np.ceil(pp / 12)))), _classes(pp, TP_MAX_CLASS))
        elif ctx == "village":
            cp = max(min(6, int(np.ceil(pp / 10))), _classes(pp, rng.uniform(30, 45)))
        elif ctx in ("urban", "urban_nine"):
            cp = _classes(pp, rng.uniform(56, 68))
        elif ctx in ("private", "private_nine"):
            cp = _classes(pp, rng.uniform(45, 55), 6)
        elif ctx in ("central", "central_boarding"):
            cp = _classes(pp, rng.uniform(44, 58), 6)
        elif ctx == "rural_nine":
            cp = _classes(pp, rng.uniform(38, 50), 6)
        elif ctx == "special":
            cp = _classes(pp, 12.0)
        else:
            cp = 0
        if ctx in ("urban_junior", "urban_nine"):
            cj = _classes(pj, rng.uniform(58, 70))
        elif ctx in ("private_junior", "private_nine"):
            cj = _classes(pj, rng.uniform(48, 55), 3)
        elif ctx == "town_junior":
            cj = _classes(pj, rng.uniform(50, 62), 3)
        elif ctx in ("rural_junior", "rural_nine"):
            cj = _classes(pj, rng.uniform(45, 56), 3)
        elif ctx == "special":
            cj = _classes(pj, 12.0)
        else:
            cj = 0
        classes = cp + cj
        spare = {
            "urban": (0, 1),
            "urban_nine": (0, 1),
            "urban_junior": (0, 1),
            "tp": (0, 2),
            "village": (1, 6),
            "rural_nine": (1, 5),
            "rural_junior": (1, 5),
            "special": (2, 4),
        }.get(ctx, (1, 4))
        classrooms = classes + int(rng.integers(spare[0], spare[1] + 1))
        # floor and sports area: per pupil in crowded schools, per room or plot in small rural ones
        fp = {
            "urban": (2.4, 4.0),
            "urban_nine": (2.8, 4.4),
            "private": (4.0, 5.5),
            "private_nine": (4.2, 5.8),
            "central": (3.8, 6.5),
            "central_boarding": (4.0, 7.0),
            "rural_nine": (5.5, 9.0),
        }
        fj = {
            "urban_junior": (3.2, 5.2),
            "urban_nine": (3.4, 5.4),
            "private_junior": (5.0, 6.5),
            "private_nine": (5.0, 6.8),
            "town_junior": (4.5, 7.5),
            "rural_junior": (6.0, 10.0),
            "rural_nine": (6.0, 10.0),
        }
        sp_ = {
            "urban": (2.0, 5.0),
            "urban_nine": (3.0, 6.0),
            "private": (3.0, 6.0),
            "private_nine": (4.0, 7.0),
            "central": (5.5, 11.0),
            "central_boarding": (6.0, 12.0),
            "rural_nine": (8.0, 15.0),
        }
        sj = {
            "urban_junior": (3.0, 7.0),
            "urban_nine": (4.0, 8.0),
            "private_junior": (4.0, 8.0),
            "private_nine": (5.0, 8.0),
            "town_junior": (7.0, 13.0),
            "rural_junior": (9.0, 16.0),
            "rural_nine": (9.0, 16.0),
        }
        if ctx == "village":
            floor = classrooms * rng.uniform(75, 100) + rng.uniform(200, 600)
            sports = rng.uniform(1500, 5000)
        elif ctx == "tp":
            floor = classrooms * rng.uniform(60, 80) + rng.uniform(40, 120)
            sports = rng.uniform(300, 1500)
        elif ctx == "special":
            floor, sports = rng.uniform(2500, 3200), rng.uniform(1500, 2500)
        else:
            floor = pp * _u(rng, fp.get(ctx, (0, 0))) + pj * _u(rng, fj.get(ctx, (0, 0)))
            sports = pp * _u(rng, sp_.get(ctx, (0, 0))) + pj * _u(rng, sj.get(ctx, (0, 0)))
        # equipment value per pupil: even in the city, uneven in the countryside
        if ctx == "village":
            eq = pp * rng.lognormal(np.log(2200), 0.5)
        elif ctx == "tp":
            eq = pp * rng.lognormal(np.log(1400), 0.7)
        elif ctx == "special":
            eq = rng.uniform(1.5e6, 2.5e6)
        else:
            ep = {
                "urban": (1500, 2600),
                "urban_nine": (1600, 2600),
                "private": (2500, 4000),
                "private_nine": (2500, 4000),
                "central": (1500, 3000),
                "central_boarding": (1500, 3200),
                "rural_nine": (1000, 3000),
            }
            ej = {
                "urban_junior": (1900, 3200),
                "urban_nine": (1900, 3000),
                "private_junior": (2800, 4200),
                "private_nine": (2800, 4200),
                "town_junior": (1800, 3400),
                "rural_junior": (1500, 3400),
                "rural_nine": (1200, 3200),
            }
            eq = pp * _u(rng, ep.get(ctx, (0, 0))) + pj * _u(rng, ej.get(ctx, (0, 0)))
        # multimedia rooms: about one per class in the city, fewer in villages
        share = {
            "urban": (0.85, 1.0),
            "urban_nine": (0.85, 1.0),
            "urban_junior": (0.85, 1.0),
            "private": (1.0, 1.15),
            "private_junior": (1.0, 1.15),
            "private_nine": (1.0, 1.15),
            "central": (0.8, 1.1),
            "central_boarding": (0.8, 1.1),
            "town_junior": (0.95, 1.25),
            "rural_junior": (0.8, 1.2),
            "rural_nine": (0.6, 1.0),
            "village": (0.2, 1.0),
            "special": (0.8, 1.0),
        }
        if ctx == "tp":
            mm = int(rng.integers(0, 2))
        else:
            mm = int(np.rint(classes * _u(rng, share[ctx])))
        # music and art rooms: one each per 12 classes is the rule; many schools fall short
        need = max(1, int(np.ceil(classes / 12)))
        if ctx in ("urban", "urban_junior", "urban_nine", "private", "private_junior", "private_nine", "special"):
            music = max(1, need - int(rng.integers(0, 3)))
            art = max(1, need - int(rng.integers(0, 3)))
        elif ctx in ("central", "central_boarding", "town_junior", "rural_junior", "rural_nine"):
            music = int(rng.random() < 0.8) * max(1, need - int(rng.integers(0, 2)))
            art = int(rng.random() < 0.75) * max(1, need - int(rng.integers(0, 2)))
        elif ctx == "village":
            music, art = int(rng.random() < 0.35), int(rng.random() < 0.3)
        else:
            music = art = 0
        music_area = sum(rng.uniform(72, 115) for _ in range(music))
        art_area = sum(rng.uniform(68, 110) for _ in range(art))
        if r.is_boarding:
            places = int(
                np.rint(
                    (
                        pp * rng.uniform(0.2, 0.4)
                        if cj == 0
                        else pj * rng.uniform(0.4, 0.7) + pp * rng.uniform(0.1, 0.25)
                    )
                    + (20 if ctx == "special" else 0)
                )
            )
            places = max(places, 20)
        else:
            places = 0
        for k, v in (
            ("classes_primary", cp),
            ("classes_junior", cj),
            ("classrooms", classrooms),
            ("floor_area_m2", floor),
            ("sports_area_m2", sports),
            ("equipment_value_yuan", eq),
            ("multimedia_rooms", mm),
            ("music_rooms", music),
            ("music_rooms_area_m2", music_area),
            ("art_rooms", art),
            ("art_rooms_area_m2", art_area),
            ("boarding_places", places),
        ):
            out[k].append(v)
    for k, v in out.items():
        sch[k] = v
    for k in ("floor_area_m2", "sports_area_m2", "music_rooms_area_m2", "art_rooms_area_m2"):
        sch[k] = np.round(sch[k].astype(float), 1)
    sch["equipment_value_yuan"] = np.round(sch["equipment_value_yuan"].astype(float) / 100) * 100


# --------------------------------------------------------------------------- staff and teachers


def _staff_weight(r: Any, rng: np.random.Generator) -> float:
    ctx = r.ctx
    if ctx == "tp":
        return max(2.0, r.pupils_primary / _u(rng, _STAFF_RATIO["tp"]))  # one or two teachers per multi-grade class
    if ctx in ("urban_nine", "rural_nine", "private_nine"):
        pj_ctx = {"urban_nine": "urban_junior", "rural_nine": "rural_junior", "private_nine": "private_junior"}[ctx]
        pp_ctx = {"urban_nine": "urban", "rural_nine": "central", "private_nine": "private"}[ctx]
        return r.pupils_primary / _u(rng, _STAFF_RATIO[pp_ctx]) + r.pupils_junior / _u(rng, _STAFF_RATIO[pj_ctx])
    p = r.pupils_primary + r.pupils_junior
    return max(6.0 if ctx == "village" else 10.0, p / _u(rng, _STAFF_RATIO[ctx]))


def add_staff(sch: pd.DataFrame, profile: CountyProfile, rng: np.random.Generator) -> None:
    """``staff_total`` of every school, summing exactly to the primary- and junior-stage targets, in place."""
    weights = np.array([_staff_weight(r, rng) if r.kind != "special" else 0.0 for r in sch.itertuples(index=False)])
    staff = np.zeros(len(sch), np.int64)
    groups = (
        (sch["kind"].isin(["primary", "teaching_point"]).to_numpy(), profile.staff_primary_stage),
        (sch["kind"].isin(["junior", "nine_year"]).to_numpy(), profile.staff_junior_stage),
    )
    minimum = np.where(sch["kind"].to_numpy() == "teaching_point", 2, 6)
    for mask, total in groups:
        alloc = largest_remainder(weights[mask], total)
        low = minimum[mask]
        while (alloc < low).any():  # lift tiny schools to their minimum, taking from the largest
            short = int((low - alloc)[alloc < low].sum())
            alloc = np.maximum(alloc, low)
            for _ in range(short):
                alloc[int(np.argmax(alloc - low))] -= 1
        staff[mask] = alloc
    staff[(sch["kind"] == "special").to_numpy()] = profile.special_staff
    sch["staff_total"] = staff


def make_teachers(sch: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One row per full-time teacher (about 90% of staff), with stage, education, backbone, subject, tenure."""
    rows: list[tuple[Any, ...]] = []
    for r in sch.itertuples(index=False):
        n = int(np.rint(r.staff_total * _u(rng, _TEACHER_SHARE.get(r.ctx, (0.9, 0.95)))))
        n = max(1, min(n, int(r.staff_total)))
        p_share = r.pupils_primary / max(1, r.pupils_primary + r.pupils_junior)
        if r.kind in ("primary", "teaching_point"):
            n_p = n
        elif r.kind == "junior":
            n_p = 0
        else:
            n_p = int(np.rint(n * p_share))
        grp = _ctx_group(r.ctx)
        for stage, k in (("primary", n_p), ("junior", n - n_p)):
            if k <= 0:
                continue
            if stage == "primary":
                key = grp if grp != "town" else "central"
            else:
                key = {"urban": "urban", "private": "private", "town": "town", "village": "rural", "tp": "rural"}[grp]
            edu = rng.choice(len(EDUCATION), size=k, p=np.array(_EDU[(stage, key)]))
            bb = rng.choice(len(BACKBONE), size=k, p=np.array(_BACKBONE[grp]))
            pe_art = _PE_ART[(stage, key)]
            subj_names = [s for s, _ in _SUBJECTS[stage]] + ["pe", "music", "art"]
            base = np.array([w for _, w in _SUBJECTS[stage]])
            probs = np.concatenate([base / base.sum() * (1 - pe_art), np.array([0.45, 0.275, 0.275]) * pe_art])
            subj = rng.choice(len(subj_names), size=k, p=probs)
            new = rng.random(k) < (0.45 if grp in ("village", "tp") else 0.40)
            mean_long = 12.0 if grp == "tp" else 8.0
            years = np.where(new, rng.integers(0, 6, k), np.minimum(30, 6 + np.floor(rng.exponential(mean_long, k))))
            for e, b, s, y in zip(edu, bb, subj, years, strict=True):
                rows.append((r.school_id, stage, EDUCATION[e], BACKBONE[b], subj_names[s], int(y)))
    df = pd.DataFrame(rows, columns=["school_id", "stage", "education", "backbone_level", "subject", "years_at_school"])
    df.insert(0, "teacher_id", [f"T{i + 1:05d}" for i in range(len(df))])
    return df
