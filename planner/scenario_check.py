"""Checks of a scenario against the county it is run on (ids named in the scenario exist, budgets plausible)."""

from __future__ import annotations

from planner.errors import ScenarioError
from planner.plausibility import classify
from planner.schema import PLAUSIBILITY_BY_KEY


def budget_warnings(scenario: object, county: object, *, strict: bool = False) -> list[str]:
    """Check the budgets a scenario plans with (its own or the county's, times ``budget.scale``).

    The ranges are the ``capital_budget`` and ``recurrent_budget`` rules of
    ``docs/data.md``; 0 (no money of that kind) is allowed.

    Returns
    -------
    list of str
        Borderline budgets, one line each.

    Raises
    ------
    ScenarioError
        A budget outside the plausible range (or a borderline one with ``strict``).
    """
    name = getattr(scenario, "name", "?")
    b = getattr(scenario, "budget", None)
    county_budget = county.parameters.budget
    scale = getattr(b, "scale", 1.0)
    lines = []
    for key, field, own, default in (
        ("capital_budget", "capital_yuan", getattr(b, "capital_yuan", None), county_budget.capital_yuan),
        ("recurrent_budget", "recurrent_yuan_per_year", getattr(b, "recurrent_yuan_per_year", None),
         county_budget.recurrent_yuan_per_year),
    ):  # fmt: skip
        value = (default if own is None else own) * scale
        if value == 0:
            continue
        rule = PLAUSIBILITY_BY_KEY[key]
        level = classify(rule, value)
        if level is None:
            continue
        text = (
            f"scenario {name}, key budget.{field}: {value:,.0f} {rule.unit} is outside the "
            f"{'plausible' if level == 'error' else 'usual'} range of a county's {rule.what} "
            f"({rule.error_low if level == 'error' else rule.warn_low:,.0f}-"
            f"{rule.error_high if level == 'error' else rule.warn_high:,.0f}; docs/data.md rule {rule.key})"
        )
        if level == "error" or strict:
            raise ScenarioError(text)
        lines.append(text)
    return lines


def validate_against_county(scenario: object, county: object) -> None:
    """Raise :class:`ScenarioError` when the scenario names a school or settlement the county lacks.

    Also when a budget it plans with is implausible (:func:`budget_warnings`).

    Checks ``catchment_rules.contiguity_exempt`` and ``catchment_rules.feeder_splits_allowed``
    (schools or candidate sites) and ``catchment_rules.keep_settlements`` (settlements); also
    that a feeder split names a school that teaches primary pupils.

    Raises
    ------
    ScenarioError
        e.g. ``scenario combined, key catchment_rules.contiguity_exempt: school 'P999' does not
        exist in the county``.
    """
    budget_warnings(scenario, county)
    cheapest = getattr(scenario, "cheapest", None)
    for part in getattr(cheapest, "parts", ()):
        sid = part.split(":", 1)[0]
        if sid not in set(county.schools.index.astype(str)):
            raise ScenarioError(
                f"scenario {getattr(scenario, 'name', '?')}, key cheapest.parts: school '{sid}' does not exist in "
                "the county"
            )
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


__all__ = ["budget_warnings", "validate_against_county"]
