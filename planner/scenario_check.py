"""Checks of a scenario against the county it is run on (ids named in the scenario exist)."""

from __future__ import annotations

from planner.errors import ScenarioError


def validate_against_county(scenario: object, county: object) -> None:
    """Raise :class:`ScenarioError` when the scenario names a school or settlement the county lacks.

    Checks ``catchment_rules.contiguity_exempt`` and ``catchment_rules.feeder_splits_allowed``
    (schools or candidate sites) and ``catchment_rules.keep_settlements`` (settlements); also
    that a feeder split names a school that teaches primary pupils.

    Raises
    ------
    ScenarioError
        e.g. ``scenario combined, key catchment_rules.contiguity_exempt: school 'P999' does not
        exist in the county``.
    """
    rules = getattr(scenario, "catchment_rules", None)
    if rules is None:
        return
    name = getattr(scenario, "name", "?")
    schools = county.schools
    units = set(schools.index.astype(str))
    sites = getattr(county, "candidate_sites", None)
    if sites is not None:
        units |= set(sites.index.astype(str))
    for key in ("contiguity_exempt", "feeder_splits_allowed"):
        for sid in getattr(rules, key):
            if sid not in units:
                raise ScenarioError(
                    f"scenario {name}, key catchment_rules.{key}: school '{sid}' does not exist in the county"
                )
    for sid in rules.feeder_splits_allowed:
        if sid in schools.index and schools.loc[sid, "kind"] not in ("primary", "teaching_point", "nine_year"):
            raise ScenarioError(
                f"scenario {name}, key catchment_rules.feeder_splits_allowed: school '{sid}' has no primary pupils "
                f"(kind {schools.loc[sid, 'kind']})"
            )
    settlements = set(county.settlements.index.astype(str))
    for s in rules.keep_settlements:
        if s not in settlements:
            raise ScenarioError(
                f"scenario {name}, key catchment_rules.keep_settlements: settlement '{s}' does not exist in the county"
            )


__all__ = ["validate_against_county"]
