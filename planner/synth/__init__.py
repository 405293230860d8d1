"""Deterministic synthetic county data (issue: bundled default county 确山县, scale option).

``generate_county("411725", Path("geodata/queshan"))`` writes a complete county folder
(``county.gpkg``, the CSV tables, ``parameters.yaml``, README) calibrated to Queshan's
2023 totals; ``python -m planner.synth --county 411725 --out geodata/queshan`` does the same
from the command line. Everything but the county outline is synthetic and labelled so.
"""

from __future__ import annotations

from planner.synth.generate import DEFAULT_ADCODE, DEFAULT_SEED, SyntheticCounty, build_county, generate_county
from planner.synth.profile import QUESHAN, CountyProfile, profile_for
from planner.synth.stats import baseline_statistics, format_statistics

__all__ = [
    "DEFAULT_ADCODE",
    "DEFAULT_SEED",
    "QUESHAN",
    "CountyProfile",
    "SyntheticCounty",
    "baseline_statistics",
    "build_county",
    "format_statistics",
    "generate_county",
    "profile_for",
]
