"""Enrolment projection: the pupils of the planning years, settlement by settlement.

A deterministic cohort projection from the children by single year of age
(``age_0`` … ``age_14``) of every settlement:

1. **Ageing.** From year *y* to *y + 1* every cohort moves up one year of age; the
   14-year-olds leave compulsory school age.
2. **Births.** The new 0-year-olds of a settlement are its base births × (1 + trend)^t,
   t = years after the base year. Base births are the base year's ``age_0`` (or the mean
   of ``age_0..age_2`` with ``base_births = "mean_0_2"``, which smooths small villages).
   Default trend −5 % a year: births in China fell by about half from 2016 (17.9 million)
   to 2023 (9.0 million), −9 % a year; the default assumes the fall continues at about
   half that pace. Set the rate to 0 for flat births.
3. **Internal migration.** Each year a share of the children (every age, including the
   newborn) of rural settlements (``migration_rural_per_year``) and of town seats
   (``migration_town_per_year``) moves to the county seat's urban settlements
   (``area_type == "urban"``), distributed in proportion to the urban settlements'
   base-year children aged 0-14. Children are conserved: what leaves one settlement
   arrives in another. Without urban settlements nobody moves (logged).
4. **Enrolment.** Primary = ages 6-11, junior = ages 12-14. Public pupils of a
   settlement = its enrolment ratio × its resident children of the stage. The ratio is
   calibrated per settlement and stage from the base year (public pupils by catchment /
   resident children), so the base-year projection reproduces today's pupils exactly; it
   includes children at private schools, boarding elsewhere or outside the county.
   Settlements without resident children of a stage in the base year use the county's
   ratio (and keep any base-year pupils as a constant offset, so the base year is still
   exact). ``private_shift_per_year`` moves a further share of the public pupils to
   private schools every year (negative: back to public schools).

Children and pupils are kept as exact (fractional) numbers; :func:`settlement_pupils`
rounds them to whole pupils for a plan.

Not modelled: private schools' own enrolment (a plan keeps their pupils constant; the
public side follows ``private_shift_per_year``), and a separate boarding share (boarding
pupils are part of their settlement's catchment pupils and follow its ratio).
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

AGES: tuple[int, ...] = tuple(range(15))
#: ages of each stage (completed years)
STAGE_AGES: dict[str, tuple[int, ...]] = {"primary": tuple(range(6, 12)), "junior": (12, 13, 14)}

#: births in China (National Bureau of Statistics, millions): the source of the default trend
BIRTHS_CHINA_MILLION = {2016: 17.86, 2023: 9.02}


class ProjectionSettings(BaseModel):
    """Assumptions of the enrolment projection (every one a scenario setting)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    births_trend_per_year: float = Field(
        -0.05,
        ge=-0.5,
        le=0.5,
        description="Annual change of births (−0.05 = 5 % fewer each year; China 2016-2023: about −9 %).",
    )
    base_births: Literal["age_0", "mean_0_2"] = Field(
        "age_0", description="Base births per settlement: the base year's age_0, or the mean of age_0..age_2."
    )
    migration_rural_per_year: float = Field(
        0.02, ge=0, le=1, description="Share of rural children moving to the county seat each year."
    )
    migration_town_per_year: float = Field(
        0.0, ge=0, le=1, description="Share of town-seat children moving to the county seat each year."
    )
    private_shift_per_year: float = Field(
        0.0,
        ge=-0.2,
        le=0.2,
        description="Share of public pupils moving to private schools each year (negative: back to public).",
    )


def _ages_matrix(settlements: pd.DataFrame) -> np.ndarray:
    cols = [f"age_{a}" for a in AGES]
    missing = [c for c in cols if c not in settlements.columns]
    if missing:
        raise ValueError(f"settlements lack the children-by-age fields {', '.join(missing)}")
    return settlements[cols].to_numpy(dtype=float)


def migration_weights(settlements: pd.DataFrame) -> np.ndarray:
    """Share of incoming migrants each settlement receives (urban: by base children 0-14)."""
    urban = (settlements["area_type"] == "urban").to_numpy()
    kids = _ages_matrix(settlements).sum(axis=1)
    w = np.where(urban, kids, 0.0)
    if w.sum() <= 0 and urban.any():
        w = urban.astype(float)
    return w / w.sum() if w.sum() > 0 else w


def project_children(
    settlements: pd.DataFrame, settings: ProjectionSettings, base_year: int, last_year: int
) -> dict[int, np.ndarray]:
    """Children by settlement (rows, in ``settlements`` order) and age (columns 0-14) per year.

    Parameters
    ----------
    settlements : DataFrame
        ``age_0`` … ``age_14`` and ``area_type``, one row per settlement.
    settings : ProjectionSettings
    base_year, last_year : int
        The base year holds today's children; the projection runs to ``last_year``.

    Returns
    -------
    dict
        Year -> array (n_settlements, 15).
    """
    if last_year < base_year:
        raise ValueError(f"last year {last_year} is before the base year {base_year}")
    ages = _ages_matrix(settlements)
    if settings.base_births == "age_0":
        births0 = ages[:, 0].copy()
    else:
        births0 = ages[:, :3].mean(axis=1)
    area = settlements["area_type"].to_numpy()
    out_rate = np.where(
        area == "rural",
        settings.migration_rural_per_year,
        np.where(area == "town", settings.migration_town_per_year, 0.0),
    )
    weights = migration_weights(settlements)
    if weights.sum() <= 0 and out_rate.any():
        log.warning("no urban (county seat) settlements: internal migration is not applied")
        out_rate = np.zeros_like(out_rate)
    out = {base_year: ages}
    cur = ages
    for year in range(base_year + 1, last_year + 1):
        t = year - base_year
        nxt = np.empty_like(cur)
        nxt[:, 1:] = cur[:, :-1]
        nxt[:, 0] = births0 * (1.0 + settings.births_trend_per_year) ** t
        leaving = nxt * out_rate[:, None]
        nxt = nxt - leaving + np.outer(weights, leaving.sum(axis=0))
        out[year] = nxt
        cur = nxt
    return out


def project_enrolment(
    settlements: pd.DataFrame, settings: ProjectionSettings, base_year: int, last_year: int
) -> pd.DataFrame:
    """Resident children and public pupils per settlement, year and stage.

    Parameters
    ----------
    settlements : DataFrame
        Index settlement_id; ``age_0`` … ``age_14``, ``area_type``, ``pupils_primary``,
        ``pupils_junior`` (base year, public schools by catchment).
    settings : ProjectionSettings
    base_year, last_year : int

    Returns
    -------
    DataFrame
        settlement_id, year, stage, children, pupils (exact numbers; the base year's
        pupils equal ``pupils_<stage>``).
    """
    children = project_children(settlements, settings, base_year, last_year)
    base = children[base_year]
    ids = settlements.index.to_numpy()
    frames = []
    for stage, band in STAGE_AGES.items():
        cols = list(band)
        kids0 = base[:, cols].sum(axis=1)
        pupils0 = settlements[f"pupils_{stage}"].to_numpy(dtype=float)
        county_ratio = pupils0[kids0 > 0].sum() / kids0[kids0 > 0].sum() if (kids0 > 0).any() else 1.0
        has = kids0 > 0
        ratio = np.where(has, pupils0 / np.where(has, kids0, 1.0), county_ratio)
        offset = np.where(has, 0.0, pupils0)
        if (~has & (pupils0 > 0)).any():
            log.warning(
                "%d settlements have %s pupils but no resident children of that age; their pupils are kept",
                int((~has & (pupils0 > 0)).sum()),
                stage,
            )
        for year, ch in sorted(children.items()):
            kids = ch[:, cols].sum(axis=1)
            keep = max(0.0, 1.0 - settings.private_shift_per_year * (year - base_year))
            frames.append(
                pd.DataFrame(
                    {
                        "settlement_id": ids,
                        "year": year,
                        "stage": stage,
                        "children": kids,
                        "pupils": (offset + ratio * kids) * keep,
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["year", "stage", "settlement_id"], kind="stable").reset_index(drop=True)


def settlement_pupils(projection: pd.DataFrame, year: int) -> pd.DataFrame:
    """Whole public pupils per settlement in ``year``: index settlement_id, pupils_primary, pupils_junior.

    Rounded half to even (numpy), never negative.
    """
    p = projection[projection["year"] == year]
    if not len(p):
        raise ValueError(f"the projection has no year {year}")
    wide = p.pivot(index="settlement_id", columns="stage", values="pupils")
    out = pd.DataFrame(index=wide.index)
    for stage in STAGE_AGES:
        out[f"pupils_{stage}"] = np.maximum(np.round(wide[stage].to_numpy(dtype=float)), 0).astype(np.int64)
    return out


def pupils_by_year(projection: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Rounded pupils per settlement, stage and year (long): settlement_id, stage, year, pupils."""
    rows = []
    for y in years:
        w = settlement_pupils(projection, y)
        for stage in STAGE_AGES:
            rows.append(
                pd.DataFrame(
                    {"settlement_id": w.index.to_numpy(), "stage": stage, "year": y,
                     "pupils": w[f"pupils_{stage}"].to_numpy()}
                )
            )  # fmt: skip
    return pd.concat(rows, ignore_index=True)


__all__ = [
    "AGES",
    "STAGE_AGES",
    "ProjectionSettings",
    "migration_weights",
    "project_children",
    "project_enrolment",
    "pupils_by_year",
    "settlement_pupils",
]
