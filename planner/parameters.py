"""County parameters: metadata, coordinate datum, budgets and unit costs.

Read from ``parameters.yaml`` in a county folder and validated with pydantic (chosen
because it gives typed, documented models and precise error locations, which the loader
turns into one-line messages). Every money figure is in yuan.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # .inf / .nan are refused


class CountyMeta(_Strict):
    """Who the data describes."""

    adcode: str = Field(pattern=r"^\d{6}$", description="Six-digit administrative code.")
    name_zh: str
    name_en: str = ""
    province_zh: str = ""
    city_zh: str = ""


class Budget(_Strict):
    """Money available to a plan."""

    capital_yuan: float = Field(ge=0, description="Capital budget for buildings, land, equipment and rooms.")
    recurrent_yuan_per_year: float = Field(ge=0, description="Annual budget for new hires and rotation allowances.")


class UnitCosts(_Strict):
    """Unit costs used to price projects (documented in geodata/<county>/README.md)."""

    building_yuan_per_m2: float = Field(gt=0, description="Teaching building, construction and fit-out.")
    sports_ground_yuan_per_m2: float = Field(gt=0, description="Sports ground (track, courts) or hall, per m2.")
    equipment_yuan_per_yuan: float = Field(
        default=1.0, gt=0, description="Cost of one yuan of equipment value (1 unless procurement overheads apply)."
    )
    multimedia_room_yuan: float = Field(gt=0, description="Networked multimedia set for one classroom.")
    music_room_yuan: float = Field(
        gt=0, description="Fitting out one 96 m2 music room in existing space, instruments included."
    )
    art_room_yuan: float = Field(gt=0, description="Fitting out one 90 m2 art room in existing space.")
    teacher_hire_yuan_per_year: float = Field(gt=0, description="Salary and on-costs of one new teacher per year.")
    rotation_allowance_yuan_per_year: float = Field(
        ge=0, description="Allowance paid to one rotating teacher per year."
    )


class Issuer(_Strict):
    """Who signs the hand-in documents (落款 of the budget justification)."""

    unit_zh: str = Field(
        default="", description="Issuing unit, e.g. 确山县教育体育局; default: the county's name + 教育局."
    )
    date: dt.date | None = Field(
        default=None, description="Date of issue (YYYY-MM-DD); default: the day the documents are written."
    )


class FundingShare(_Strict):
    """One source of the plan's money and its share (资金来源)."""

    source_zh: str = Field(min_length=1, description="Source, e.g. 中央财政 / 省级财政 / 县级财政.")
    share: float = Field(gt=0, le=1, description="Share of both budgets this source pays (0-1).")


#: funding when parameters.yaml names none: the county pays all
DEFAULT_FUNDING: tuple[FundingShare, ...] = (FundingShare(source_zh="县级财政", share=1.0),)


class NewSchoolOption(_Strict):
    """A standard design for a new school at a candidate site."""

    option_id: str = Field(description="Identifier, e.g. P24 (primary, 24 classes).")
    stage: Literal["primary", "junior", "nine_year"] = Field(description="Stage(s) the design serves.")
    classes: int = Field(gt=0, description="Classes (ordinary classrooms) of the design.")
    floor_area_m2: float = Field(gt=0, description="Teaching and auxiliary floor area.")
    sports_area_m2: float = Field(ge=0, description="Sports ground and hall area.")
    multimedia_rooms: int = Field(ge=0, description="Networked multimedia classrooms.")
    music_rooms: int = Field(ge=0, description="Music rooms (each ≥ 96 m2).")
    art_rooms: int = Field(ge=0, description="Art rooms (each ≥ 90 m2).")
    equipment_value_yuan: float = Field(ge=0, description="Teaching equipment value.")
    cost_yuan: float = Field(gt=0, description="Construction and equipment, land excluded.")


class Parameters(_Strict):
    """Everything in ``parameters.yaml``."""

    county: CountyMeta
    synthetic: bool = Field(description="True when the data is generated, not surveyed.")
    data_source: str = ""
    datum: Literal["wgs84", "cgcs2000", "gcj02", "bd09"] = Field(
        default="wgs84",
        description="Datum of lon/lat in the tables. gcj02 (AMap, Tencent) and bd09 (Baidu) are converted on load.",
    )
    metric_crs: str | None = Field(
        default=None,
        description="Projected CRS for distances; default: the CGCS2000 3-degree Gauss-Kruger zone of the county.",
    )
    budget: Budget
    unit_costs: UnitCosts
    new_school_options: tuple[NewSchoolOption, ...] = ()
    issuer: Issuer = Field(default_factory=Issuer, description="落款 of the budget justification (unit, date).")
    funding: tuple[FundingShare, ...] = Field(
        default=DEFAULT_FUNDING,
        description="Funding sources and their shares (资金来源, e.g. central / provincial / county); shares sum "
        "to 1; default: 县级财政 1.0.",
    )

    @model_validator(mode="after")
    def _unique_options(self) -> Parameters:
        ids = [o.option_id for o in self.new_school_options]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"new_school_options: option_id {dup[0]} is used more than once")
        return self

    @model_validator(mode="after")
    def _funding_sums_to_one(self) -> Parameters:
        if not self.funding:
            raise ValueError("funding: name at least one source")
        names = [f.source_zh for f in self.funding]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"funding: source {dup[0]} is listed more than once")
        total = sum(f.share for f in self.funding)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"funding: shares must sum to 1 (they sum to {total:g})")
        return self

    @property
    def issuing_unit_zh(self) -> str:
        """The 落款's issuing unit: ``issuer.unit_zh``, else the county's education bureau."""
        return self.issuer.unit_zh or f"{self.county.name_zh}教育局"
