"""Calibration targets of a synthetic county: the published figures the generator must hit.

The default profile is 确山县 (Queshan, adcode 411725) in 2023, from DOMAIN.md §4 (seed
000). Every count of :class:`CountyProfile` is an exact target at ``scale=1``; other scales
and other counties multiply the counts by a factor and keep the character (shares,
ratios, sizes) of Queshan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

#: Queshan's area in km² (DOMAIN.md §4); other counties scale their targets by area against it.
QUESHAN_AREA_KM2 = 1630.0

#: Real township-level units of Queshan (names only; their geometry is synthetic).
QUESHAN_SUBDISTRICTS: tuple[str, ...] = ("盘龙街道", "三里河街道", "生产街道")
QUESHAN_TOWNS: tuple[str, ...] = (
    "竹沟镇", "任店镇", "新安店镇", "留庄镇", "刘店镇", "李新店镇", "双河镇", "石滚河镇", "瓦岗镇", "普会寺镇",
)  # fmt: skip

#: Approximate WGS-84 seats used for Queshan's synthetic partition (lon, lat).
QUESHAN_SEAT_WGS84: tuple[float, float] = (114.03, 32.80)
QUESHAN_TOWN_SEATS_WGS84: dict[str, tuple[float, float]] = {
    "竹沟镇": (113.69, 32.80),
    "任店镇": (113.83, 32.82),
    "新安店镇": (114.145, 32.72),
    "留庄镇": (114.13, 32.825),
    "刘店镇": (113.94, 32.76),
    "李新店镇": (114.16, 32.60),
    "双河镇": (114.09, 32.535),
    "石滚河镇": (113.90, 32.665),
    "瓦岗镇": (113.77, 32.71),
    "普会寺镇": (114.02, 32.635),
}


@dataclass(frozen=True)
class CountyProfile:
    """Targets of one synthetic county.

    Attributes
    ----------
    adcode, name_zh, name_en, province_zh, city_zh : str
        County metadata.
    factor : float
        Size relative to Queshan at scale 1 (1.0 for the bundled county).
    n_subdistricts, n_towns : int
        Township-level units: urban sub-districts (the county seat) and towns.
    population : int
        Resident population.
    urban_share, town_share : float
        Shares of the population in county-seat neighbourhoods and in town seats.
    neighbourhoods_per_subdistrict, neighbourhoods_per_town : int
        Urban neighbourhoods (社区) per sub-district and per town seat.
    n_villages : int
        Natural villages (自然村), the rural settlements.
    n_primary_urban, n_primary_village, n_primary_private : int
        Public county-seat primary schools, public village primary schools, private primary schools.
    n_central_primary, n_boarding_central : int
        Town central primary schools (one per town) and how many of them board.
    n_teaching_points : int
        Teaching points (教学点).
    n_junior_urban, n_junior_town_extra, n_junior_private : int
        Public county-seat junior schools, public junior schools beyond one per town, private junior schools.
    n_nine_year_public, n_nine_year_private : int
        Nine-year schools.
    pupils_primary, pupils_junior : int
        Pupils over all primary-stage and junior-stage parts (special school excluded).
    private_pupils_primary, private_pupils_junior : tuple of int
        Pupils of the private schools (primary schools then the nine-year school; junior
        schools then the nine-year school).
    staff_primary_stage, staff_junior_stage : int
        Staff of primary + teaching-point schools and of junior + nine-year schools.
    special_pupils_primary, special_pupils_junior, special_staff : int
        The special-education school.
    n_candidate_sites_seat, n_candidate_sites_town : int
        Candidate sites for new schools in the county seat and in town seats.
    """

    adcode: str = "411725"
    name_zh: str = "确山县"
    name_en: str = "Queshan County"
    province_zh: str = "河南省"
    city_zh: str = "驻马店市"
    factor: float = 1.0
    n_subdistricts: int = 3
    n_towns: int = 10
    population: int = 510_000
    urban_share: float = 0.35
    town_share: float = 0.18
    neighbourhoods_per_subdistrict: int = 15
    neighbourhoods_per_town: int = 6
    n_villages: int = 2_700
    n_primary_urban: int = 7
    n_primary_village: int = 110
    n_primary_private: int = 2
    n_central_primary: int = 10
    n_boarding_central: int = 8
    n_teaching_points: int = 64
    n_junior_urban: int = 4
    n_junior_town_extra: int = 3
    n_junior_private: int = 1
    n_nine_year_public: int = 2
    n_nine_year_private: int = 1
    pupils_primary: int = 34_690
    pupils_junior: int = 24_450
    private_pupils_primary: tuple[int, ...] = (1_300, 900, 800)
    private_pupils_junior: tuple[int, ...] = (1_000, 600)
    staff_primary_stage: int = 3_470
    staff_junior_stage: int = 1_996
    special_pupils_primary: int = 180
    special_pupils_junior: int = 93
    special_staff: int = 44
    n_candidate_sites_seat: int = 4
    n_candidate_sites_town: int = 4

    @property
    def n_primary_stage(self) -> int:
        """Primary-stage schools: primary schools (all kinds) plus teaching points."""
        return (
            self.n_primary_urban
            + self.n_primary_village
            + self.n_primary_private
            + self.n_central_primary
            + self.n_teaching_points
        )

    @property
    def n_junior_stage(self) -> int:
        """Junior-stage schools: junior schools plus nine-year schools."""
        return (
            self.n_junior_urban
            + self.n_towns
            + self.n_junior_town_extra
            + self.n_junior_private
            + self.n_nine_year_public
            + self.n_nine_year_private
        )

    def scaled(self, factor: float) -> CountyProfile:
        """Return the profile with every count multiplied by ``factor`` (shares kept).

        Parameters
        ----------
        factor : float
            Size multiplier, > 0. ``1.0`` returns the profile unchanged.

        Returns
        -------
        CountyProfile
            Counts rounded to whole numbers, each unit kind kept at one or more.
        """
        if factor <= 0:
            raise ValueError(f"factor must be > 0, got {factor}")
        if factor == 1.0:
            return self

        def n(x: int, low: int = 1) -> int:
            return max(low, round(x * factor))

        n_towns = n(self.n_towns)
        return replace(
            self,
            factor=self.factor * factor,
            n_subdistricts=n(self.n_subdistricts),
            n_towns=n_towns,
            population=n(self.population),
            n_villages=n(self.n_villages),
            n_primary_urban=n(self.n_primary_urban),
            n_primary_village=n(self.n_primary_village),
            n_primary_private=n(self.n_primary_private, 0),
            n_central_primary=n_towns,
            n_boarding_central=min(n_towns, n(self.n_boarding_central, 0)),
            n_teaching_points=n(self.n_teaching_points, 0),
            n_junior_urban=n(self.n_junior_urban),
            n_junior_town_extra=n(self.n_junior_town_extra, 0),
            n_junior_private=n(self.n_junior_private, 0),
            n_nine_year_public=n(self.n_nine_year_public, 0),
            n_nine_year_private=n(self.n_nine_year_private, 0),
            pupils_primary=n(self.pupils_primary),
            pupils_junior=n(self.pupils_junior),
            private_pupils_primary=_resize(self.private_pupils_primary, n(self.n_primary_private, 0),
                                           n(self.n_nine_year_private, 0), factor),
            private_pupils_junior=_resize(self.private_pupils_junior, n(self.n_junior_private, 0),
                                          n(self.n_nine_year_private, 0), factor),
            staff_primary_stage=n(self.staff_primary_stage),
            staff_junior_stage=n(self.staff_junior_stage),
            special_pupils_primary=n(self.special_pupils_primary),
            special_pupils_junior=n(self.special_pupils_junior),
            special_staff=n(self.special_staff),
            n_candidate_sites_seat=n(self.n_candidate_sites_seat),
            n_candidate_sites_town=n(self.n_candidate_sites_town, 0),
        )  # fmt: skip


def _resize(sizes: tuple[int, ...], n_single: int, n_nine: int, factor: float) -> tuple[int, ...]:
    """Private-school pupils for ``n_single`` single-stage schools and ``n_nine`` nine-year ones.

    School sizes stay as in Queshan (cycled); the number of schools follows the factor.
    """
    single = sizes[:-1] or sizes
    nine = sizes[-1]
    return tuple(single[i % len(single)] for i in range(n_single)) + (nine,) * n_nine


QUESHAN = CountyProfile()


def profile_for(adcode: str, area_km2: float, names: dict[str, str] | None = None, scale: float = 1.0) -> CountyProfile:
    """Targets for county ``adcode``: Queshan's, scaled by area (other counties) and by ``scale``.

    Parameters
    ----------
    adcode : str
        Six-digit code; ``"411725"`` gives Queshan's exact targets.
    area_km2 : float
        Area of the county's boundary (used for counties other than Queshan).
    names : dict, optional
        ``name_zh``, ``province_zh``, ``city_zh`` of the county from the boundary file.
    scale : float
        Extra size multiplier (issue 8: 2, 4, 8 make a county that many times larger).

    Returns
    -------
    CountyProfile
    """
    names = names or {}
    if adcode == QUESHAN.adcode:
        base = QUESHAN
    else:
        factor = area_km2 / QUESHAN_AREA_KM2
        base = replace(
            QUESHAN.scaled(factor) if not math.isclose(factor, 1.0) else QUESHAN,
            adcode=adcode,
            name_zh=names.get("name_zh", f"县{adcode}"),
            name_en=names.get("name_en", f"County {adcode}"),
            province_zh=names.get("province_zh", ""),
            city_zh=names.get("city_zh", ""),
        )
    return base.scaled(scale) if scale != 1.0 else base
