"""Synthetic counties of 驻马店市 (Zhumadian prefecture) for prefecture batches (issue 9).

The bundled 确山县 (411725) is the calibrated county (``geodata/queshan``). The other nine
county-level units of the prefecture get synthetic data from the same generator, on their
real boundaries (``geodata/county_boundaries.geojson``), with targets derived from
Queshan's by two documented assumptions:

* **population** (people, pupils, staff, county-seat schools, private schools, the special
  school, candidate sites in the county seat and the budgets) scales with each county's
  resident population *relative to Queshan's* in :data:`RESIDENT_POPULATION_2011`;
* **area** (towns, villages, village primary schools, teaching points, town candidate sites)
  scales with the area of the real boundary against Queshan's 1,630 km², because
  villages and the village schools within walking distance of them follow land, not people.

Relative figures are used (not the absolute ones) so that every county keeps Queshan's
calibrated ratios (pupils per resident, staff per pupil): Queshan's own target is DOMAIN.md's
510,000 people, and another county of twice Queshan's residents gets 1,020,000.

Source of :data:`RESIDENT_POPULATION_2011`: resident population (常住人口, 万人) of the
county-level units of 驻马店市 in 2011 as tabulated from the 驻马店 statistical yearbook by
gotohui.com (驻马店 2011 data page); these are the most recent consistent per-county figures
the project has. They set relative sizes only; the data generated from them are
**synthetic** (合成数据) and describe no real school, village or person.

Generated folders are not committed (≈1.5-4 MB each, 9 counties); they are generated
deterministically on first use into a cache folder (:func:`prefecture_dir`), keyed by a
fingerprint of the generator's source, the assumptions and the seed, so a changed generator
never serves stale data. ``python -m planner.synth.prefecture --out DIR`` writes them anywhere.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from planner.synth.generate import DEFAULT_SEED, find_boundary_source, generate_county
from planner.synth.profile import QUESHAN, QUESHAN_AREA_KM2, CountyProfile

log = logging.getLogger(__name__)

#: 驻马店市 prefecture adcode and its county-level units (1 district + 9 counties).
PREFECTURE_ADCODE = "411700"
ZHUMADIAN_ADCODES: tuple[str, ...] = (
    "411702", "411721", "411722", "411723", "411724", "411725", "411726", "411727", "411728", "411729",
)  # fmt: skip

#: Resident population 2011 (万人), 驻马店 statistical yearbook via gotohui.com; relative sizes only.
RESIDENT_POPULATION_2011: dict[str, float] = {
    "411702": 85.35,  # 驿城区
    "411721": 69.80,  # 西平县
    "411722": 106.80,  # 上蔡县
    "411723": 72.75,  # 平舆县
    "411724": 64.40,  # 正阳县
    "411725": 41.60,  # 确山县 (the calibrated county: 510,000 in DOMAIN.md §4)
    "411726": 70.90,  # 泌阳县
    "411727": 69.60,  # 汝南县
    "411728": 43.20,  # 遂平县
    "411729": 84.34,  # 新蔡县
}

_REPO = Path(__file__).resolve().parents[2]
BUNDLED_QUESHAN = _REPO / "geodata" / "queshan"


def population_factor(adcode: str) -> float:
    """Size of ``adcode``'s population relative to Queshan's (Queshan = 1).

    Raises
    ------
    KeyError
        If ``adcode`` is not a county of 驻马店市.
    """
    return RESIDENT_POPULATION_2011[adcode] / RESIDENT_POPULATION_2011[QUESHAN.adcode]


def prefecture_profile(adcode: str, area_km2: float, names: dict[str, str] | None = None) -> CountyProfile:
    """Targets of a 驻马店 county: people by population, land units by area (see module docstring).

    Parameters
    ----------
    adcode : str
        County code, one of :data:`ZHUMADIAN_ADCODES`.
    area_km2 : float
        Area of the county's real boundary.
    names : dict, optional
        ``name_zh``, ``province_zh``, ``city_zh``.

    Returns
    -------
    CountyProfile
        ``factor`` is the population factor (it scales the budgets).
    """
    names = names or {}
    if adcode == QUESHAN.adcode:
        return QUESHAN
    by_pop = QUESHAN.scaled(population_factor(adcode))
    by_area = QUESHAN.scaled(area_km2 / QUESHAN_AREA_KM2)
    return replace(
        by_pop,
        adcode=adcode,
        name_zh=names.get("name_zh") or f"县{adcode}",
        name_en=names.get("name_en") or f"County {adcode}",
        province_zh=names.get("province_zh", ""),
        city_zh=names.get("city_zh", ""),
        n_towns=by_area.n_towns,
        n_central_primary=by_area.n_central_primary,
        n_boarding_central=by_area.n_boarding_central,
        n_villages=by_area.n_villages,
        n_primary_village=by_area.n_primary_village,
        n_teaching_points=by_area.n_teaching_points,
        n_candidate_sites_town=by_area.n_candidate_sites_town,
    )


def _area_km2(feature: dict) -> float:
    from planner.synth.geo import boundary_from_feature, make_frame

    boundary = boundary_from_feature(feature)
    return float(make_frame(boundary, 1.0).geometry_to_metric(boundary).area / 1e6)


def generate_prefecture_county(adcode: str, out_dir: Path, seed: int = DEFAULT_SEED) -> Path:
    """Write the synthetic folder of one 驻马店 county (Queshan: the bundled generator targets).

    Returns
    -------
    Path
        ``out_dir``.
    """
    from planner.synth.geo import read_boundary_feature

    if adcode not in RESIDENT_POPULATION_2011:
        raise KeyError(f"{adcode} is not a county of 驻马店市 ({', '.join(ZHUMADIAN_ADCODES)})")
    src = find_boundary_source(adcode)
    feature = read_boundary_feature(src, adcode)
    props = feature.get("properties", {})
    names = {"name_zh": str(props.get("district") or ""), "province_zh": str(props.get("province") or ""),
             "city_zh": str(props.get("city") or "")}  # fmt: skip
    profile = prefecture_profile(adcode, _area_km2(feature), names)
    generate_county(adcode, out_dir, 1.0, seed, src, profile=profile)
    if adcode != QUESHAN.adcode:
        readme = Path(out_dir) / "README.md"
        readme.write_text(readme.read_text("utf-8") + _assumption_note(adcode, profile, seed), "utf-8")
    return Path(out_dir)


def _assumption_note(adcode: str, profile: CountyProfile, seed: int) -> str:
    return f"""
## Prefecture assumptions (planner.synth.prefecture)

This folder was made by `python -m planner.synth.prefecture --county {adcode} --out DIR` (seed {seed}),
not by the command above: people, pupils, staff and budgets are Queshan's × {population_factor(adcode):.3f}
(resident population 2011, {RESIDENT_POPULATION_2011[adcode]:.2f} 万 against Queshan's
{RESIDENT_POPULATION_2011[QUESHAN.adcode]:.2f} 万, 驻马店 statistical yearbook via gotohui.com), and towns
({profile.n_towns}), villages ({profile.n_villages:,}), village primary schools ({profile.n_primary_village}) and
teaching points ({profile.n_teaching_points}) follow the boundary's area. **合成数据 SYNTHETIC DATA.**
"""


def fingerprint(seed: int = DEFAULT_SEED) -> str:
    """Short hash of the generator's source, the population table and the seed (cache key)."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(repr(sorted(RESIDENT_POPULATION_2011.items())).encode())
    h.update(str(seed).encode())
    return h.hexdigest()[:12]


def cache_root() -> Path:
    """Where generated counties are kept: ``$PLANNER_CACHE`` or ``~/.cache/planner`` (XDG)."""
    if os.environ.get("PLANNER_CACHE"):
        return Path(os.environ["PLANNER_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "planner"


def prefecture_dir(adcode: str, seed: int = DEFAULT_SEED, root: Path | None = None) -> Path:
    """The data folder of a 驻马店 county, generated on first use (atomically) into the cache.

    Queshan (411725) at the default seed is the bundled ``geodata/queshan``.
    """
    if adcode == QUESHAN.adcode and seed == DEFAULT_SEED and BUNDLED_QUESHAN.exists():
        return BUNDLED_QUESHAN
    target = (root or cache_root()) / "zhumadian" / fingerprint(seed) / adcode
    if (target / "parameters.yaml").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{adcode}.partial-", dir=target.parent))
    try:
        log.info("generating synthetic %s into %s", adcode, target)
        generate_prefecture_county(adcode, tmp, seed)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished it first
            if not (target / "parameters.yaml").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def prefecture_dirs(seed: int = DEFAULT_SEED, root: Path | None = None) -> list[Path]:
    """Data folders of all ten county-level units of 驻马店市 (generated where missing)."""
    return [prefecture_dir(a, seed, root) for a in ZHUMADIAN_ADCODES]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m planner.synth.prefecture``: write 驻马店 counties into ``--out``."""
    p = argparse.ArgumentParser(prog="python -m planner.synth.prefecture", description=__doc__.splitlines()[0])
    p.add_argument("--county", action="append", help="adcode (repeat; default: all ten)")
    p.add_argument("--out", type=Path, required=True, help="folder; one sub-folder per adcode")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for adcode in args.county or ZHUMADIAN_ADCODES:
        generate_prefecture_county(adcode, args.out / adcode, args.seed)
        print(f"{adcode} -> {args.out / adcode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
