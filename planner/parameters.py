"""County parameters: metadata, coordinate datum, budgets and unit costs.

Read from ``parameters.yaml`` in a county folder and validated with pydantic (chosen
because it gives typed, documented models and precise error locations, which the loader
turns into one-line messages). Every money figure is in yuan.
"""

from __future__ import annotations

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

    @model_validator(mode="after")
    def _unique_options(self) -> Parameters:
        ids = [o.option_id for o in self.new_school_options]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"new_school_options: option_id {dup[0]} is used more than once")
        return self
