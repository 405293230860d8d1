"""Travel times in the shape the plan needs, from the road network (or straight lines).

:func:`plan_travel_times` asks :mod:`planner.network` for settlement→school/site times by
each stage's travel mode and for school-to-school times (teacher rotation), and returns
them as long tables. Only when the county has no road network does it fall back to
straight-line distances, and every output then says so (``method = "straight_line"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from planner.county import County


@dataclass(frozen=True)
class PlanTravel:
    """Travel tables for one county and scenario.

    Attributes
    ----------
    long : DataFrame
        settlement_id, stage, unit_id (school or candidate site), time_min, distance_m:
        only pairs within the network's cutoff.
    school_times : DataFrame
        from_unit, to_unit, time_min between schools and sites (teacher rotation).
    method : str
        ``network`` or ``straight_line``.
    travel_times : object
        The network layer's own result (for the access report).
    """

    long: pd.DataFrame
    school_times: pd.DataFrame
    method: str
    travel_times: Any


def plan_travel_times(county: County, scenario: Any) -> PlanTravel:
    """Travel tables for ``county`` under ``scenario``'s caps."""
    from planner.network import build_travel_times

    tt = build_travel_times(county, getattr(scenario, "travel", None))
    return from_network(tt)


def from_network(tt: Any) -> PlanTravel:
    """Adapt the network layer's TravelTimes to the plan's long tables."""
    return PlanTravel(tt.stage_pairs(), tt.school_times(), str(tt.method), tt)
