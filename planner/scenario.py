"""Scenarios: which levers a plan may pull, its caps, budget, objective and solver settings.

A scenario is a YAML file validated by pydantic (typed models with exact error
locations, turned into one-line :class:`~planner.errors.ScenarioError` messages). A
scenario may ``extends:`` another file in the same folder; keys given override the parent
key by key (nested mappings are merged).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from planner.errors import ScenarioError
from planner.network import TravelModes
from planner.projection import ProjectionSettings
from planner.standards import deep_merge


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # .inf / .nan are refused


class Levers(_Strict):
    """Which decisions the optimiser may take."""

    catchments: bool = Field(True, description="Re-assign settlements to schools (re-zoning).")
    new_schools: bool = Field(True, description="Build new schools at candidate sites.")
    expansions: bool = Field(True, description="Expand existing schools (expansion_options).")
    resources: bool = Field(True, description="Buy equipment, multimedia classrooms, music and art rooms.")
    rotation: bool = Field(True, description="Rotate eligible teachers between schools (交流轮岗).")
    hires: bool = Field(True, description="Recruit new teachers (recurrent budget).")
    closures: bool = Field(False, description="Close or merge small schools and teaching points (撤并).")
    itinerant: bool = Field(
        False,
        description="走教: a PE, music, art or IT teacher serves a nearby school with none of that subject "
        "(counted at the home school only; docs/model.md).",
    )


class BudgetSettings(_Strict):
    """Budget of the plan; defaults come from the county's parameters.yaml."""

    capital_yuan: float | None = Field(None, ge=0, description="Capital budget; default: the county's.")
    recurrent_yuan_per_year: float | None = Field(
        None, ge=0, description="Annual recurrent budget; default: the county's."
    )
    scale: float = Field(1.0, ge=0, description="Multiplier on both budgets (0.8 = 20% less).")


class AreaCaps(_Strict):
    """A travel-time cap by settlement area type (minutes)."""

    urban: float = Field(gt=0)
    town: float = Field(gt=0)
    rural: float = Field(gt=0)


class DistanceSettings(_Strict):
    """Travel-time caps on catchment assignments (DOMAIN.md §2 defaults, documented in docs/model.md).

    Walking times for primary pupils (urban 500 m ≈ 8 min; rural 2.5 km ≈ 30-40 min) and
    school-bus / bicycle times for junior pupils (urban 1 km; rural 5 km, 45-60 min).

    就近入学 (nearby enrolment): a settlement may keep today's school, or go to a school or
    candidate site within its cap and no farther than max(today's school, its nearest school
    within the cap) + ``rezoning_tolerance_min``; while today's school is within the cap, no
    re-zoned trip grows by more than the tolerance. A boarding school takes settlements beyond
    the day cap (up to ``boarding_max_min``) only where no public day school of the stage is
    within it. Settlements of a school the closures lever may close may also go, if it closes,
    to the schools within the cap and the tolerance of their nearest other school.
    """

    primary_max_min: AreaCaps = AreaCaps(urban=15, town=30, rural=40)
    junior_max_min: AreaCaps = AreaCaps(urban=20, town=45, rural=60)
    boarding_max_min: float = Field(
        90,
        gt=0,
        description="Cap for pupils assigned to a boarding school, for settlements with no public day school of the "
        "stage within their day cap (elsewhere a boarding school takes pupils within the day cap only).",
    )
    candidates_per_settlement: int = Field(6, ge=1, description="Nearest schools considered per settlement and stage.")
    rezoning_tolerance_min: float | None = Field(
        10,
        ge=0,
        description="就近入学: a settlement is re-zoned only to a school (or candidate site) no farther than "
        "max(today's school, its nearest school within the cap) + this many minutes; null: to any school within "
        "the cap (docs/catchments.md).",
    )


class RotationSettings(_Strict):
    """Teacher exchange policy (DOMAIN.md §1.2); stricter targets allowed."""

    min_share_of_eligible: float = Field(0.10, ge=0, le=1, description="Teachers rotated / eligible teachers.")
    min_backbone_share: float = Field(0.20, ge=0, le=1, description="Backbone teachers / teachers rotated.")
    max_travel_min: float = Field(90, gt=0, description="School-to-school travel cap for a rotation (car).")
    eligible_years: int = Field(6, ge=0, description="Consecutive years at a school that make a teacher eligible.")
    term_years: int = Field(3, ge=1, description="Term of a rotation, return or 走教 posting (years).")
    itinerant_max_min: float = Field(30, gt=0, description="School-to-school travel cap for 走教 (car, minutes).")


class ClosureSettings(_Strict):
    """Which schools the closures lever may close (their pupils go to other schools)."""

    max_pupils: int = Field(100, ge=0, description="Only schools with at most this many pupils today.")
    kinds: tuple[Literal["teaching_point", "primary", "junior"], ...] = Field(
        ("teaching_point",), description="School kinds that may be closed."
    )


class HireSettings(_Strict):
    """Recruitment of new teachers."""

    max_total: int = Field(60, ge=0, description="Most teachers recruited by the plan.")


class PurchaseSettings(_Strict):
    """Purchases of the resources lever (equipment)."""

    min_lot_yuan: float = Field(
        10000,
        ge=0,
        description="Smallest equipment purchase a school gets (one procurement lot, yuan): a school's equipment "
        "purchase is 0 or at least this much (0: any amount).",
    )


class ObjectiveWeights(_Strict):
    """Weights of the objective, in the inspectors' order (docs/model.md, "The objective").

    Tiers, each outweighing what the tiers below it can trade for one of its units: the bottom
    lines and policy rules (``limits``, ``policy``, ``cv_worse``) → schools failing the school rule
    (``failing_school``, each school one, whatever its size) → CVs over their threshold (``cv``) →
    guarantee items (``guarantee``) → shortfalls (``school_rule``, ``full_standard``) → cost → disruption
    (``travel_per_pupil_min``, ``rezoned_pupil``, ``moved_teacher``).
    """

    limits: float = Field(
        200000,
        ge=0,
        description="Per pupil over classroom capacity (45 / 50 a class), over the school-size limit (2000 / 2500) "
        "or beyond the travel-time cap when a school within it exists: the bottom lines of DOMAIN.md §1.2 and §2, "
        "kept whenever the county can (above one failing school, so no school passes at their expense).",
    )
    policy: float = Field(
        100000,
        ge=0,
        description="Per teacher short of the rotation policy (10% / 20%), per catchment left non-contiguous and "
        "per extra junior school a primary school feeds: rules the plan keeps whenever it can.",
    )
    cv_worse: float = Field(
        200000,
        ge=0,
        description="Per 0.01 of CV above the larger of its threshold and its value before the plan: no balance "
        "is made worse (a CV within its threshold stays within it, one over it does not rise).",
    )
    cv_crossed: float = Field(
        20_000_000,
        ge=0,
        description="Once per CV within its threshold before the plan that the plan pushes above it: the county "
        "newly fails that balance, which no number of schools passing pays for (200 failing school parts; "
        "cv_worse alone let a rise of 0.005 cost one school).",
    )
    failing_school: float = Field(
        100000,
        ge=0,
        description="Per school (stage part) failing the 6-of-7 + 85% school rule: what the inspectors count. "
        "Above any shortfall one school's pass can trade (a school of 2,500 pupils missing every indicator "
        "in full is 17,500 pupil-equivalents at the school_rule weight).",
    )
    cv: float = Field(1000, ge=0, description="Per 0.01 of CV above its threshold (1.0 of CV = one failing school).")
    guarantee: float = Field(50, ge=0, description="Per music or art room short of one per 12 classes.")
    school_rule: float = Field(1, ge=0, description="Per pupil-equivalent below the 6-of-7 + 85% school rule.")
    full_standard: float = Field(0.1, ge=0, description="Per pupil-equivalent below a full indicator standard.")
    cost_per_10k_yuan: float = Field(0.01, ge=0, description="Per 10,000 yuan spent (capital + recurrent).")
    travel_per_pupil_min: float = Field(1e-4, ge=0, description="Per pupil-minute of travel.")
    rezoned_pupil: float = Field(0.005, ge=0, description="Per pupil moved from the current catchment school.")
    moved_teacher: float = Field(0.05, ge=0, description="Per teacher rotated.")


class SolverSettings(_Strict):
    """MILP solver and limits."""

    name: Literal["cbc", "highs"] = "highs"
    time_limit_s: float = Field(120, gt=0)
    gap_rel: float = Field(0.01, ge=0, le=1)
    cv_iterations: int = Field(4, ge=0, description="Cutting-plane rounds for the CV thresholds.")
    threads: int = Field(2, ge=1)
    start_heuristic: bool = Field(
        True,
        description="LP-guided fix-and-optimise start: solve the LP relaxation, fix the integer variables it "
        "leaves integral, solve that sub-MIP and start the full MIP from its plan (docs/performance.md).",
    )
    start_share: float = Field(
        0.5, gt=0, lt=1, description="Share of time_limit_s the start heuristic may use at most."
    )
    full_mip: bool = Field(
        True,
        description="After the start heuristic, run the full MIP (and the CV rounds). False: the start's plan is "
        "the answer, its gap measured against the LP bound — minutes quicker, since HiGHS can overrun the time "
        "limit in the full MIP's root node (docs/performance.md).",
    )
    decompose: Literal["off", "auto", "regions"] = Field(
        "auto",
        description="Region fix-and-optimise after the start heuristic, in place of the full MIP "
        "(planner/model/regions.py): 'regions' always, 'off' never, 'auto' for HiGHS models of 50,000 "
        "variables or more (counties about twice the bundled one and larger). A heuristic: its plan is judged "
        "against the LP relaxation's bound, or the bound by regions when higher (docs/performance.md, 'Scale').",
    )
    region_sweep: bool = Field(
        True,
        description="Before the full MIP, up to three sweeps of the region fix-and-optimise over the start "
        "heuristic's plan (HiGHS; at most a fifth of time_limit_s), when that plan lies further from the LP bound "
        "than half of what it pays above the unavoidable penalties: each region's schools, projects and "
        "catchments re-optimised with the rest of the plan fixed. Where rounding the LP left pupils over the "
        "bottom lines (a cut budget, a large county) it repairs what the full MIP does not reach in its time "
        "(docs/performance.md).",
    )
    bottom_lines_first: bool = Field(
        True,
        description="While the start heuristic runs, solve the bottom lines (the objective's limits group) alone "
        "as a MIP in a second process (HiGHS, planner/model/bottom_lines.py). Where its proven least lies above "
        "the LP's it is the floor of the reported gap, and the row 'limits >= least' guides the region sweeps "
        "(valid for every plan, it hands their sub-MIPs what only the MIP proved); it is taken out before the "
        "full MIP (docs/model.md).",
    )
    region_bound: bool = Field(
        True,
        description="Prove a bound region by region alongside the solve (planner/model/lagrange.py): the "
        "Lagrangian decomposition at the LP's duals, each region's schools, projects and catchments a small "
        "MIP, in a second process (HiGHS, where the county has two regions or more). The better of it and the "
        "solver's own bound is reported (docs/performance.md).",
    )


class HorizonSettings(_Strict):
    """A multi-year plan (docs/model.md): indicators and CV judged on the target year's pupils,
    capacity and school size held in every year of the horizon (planner/projection.py)."""

    base_year: int = Field(2025, ge=2000, le=2100, description="Year of the county data (today's pupils).")
    first_year: int = Field(ge=2000, le=2100, description="First year of the horizon.")
    last_year: int = Field(ge=2000, le=2100, description="Last year of the horizon.")
    target_year: int = Field(ge=2000, le=2100, description="Year whose pupils the indicators and CV are judged on.")
    projection: ProjectionSettings = ProjectionSettings()

    @model_validator(mode="after")
    def _ordered(self) -> HorizonSettings:
        if self.first_year < self.base_year:
            raise ValueError(f"first_year {self.first_year} is before base_year {self.base_year}")
        if self.last_year < self.first_year:
            raise ValueError(f"last_year {self.last_year} is before first_year {self.first_year}")
        if not self.first_year <= self.target_year <= self.last_year:
            span = f"{self.first_year}-{self.last_year}"
            raise ValueError(f"target_year {self.target_year} is outside the horizon {span}")
        return self

    @property
    def years(self) -> list[int]:
        """The years of the horizon, first to last."""
        return list(range(self.first_year, self.last_year + 1))


class CatchmentRules(_Strict):
    """Rules a catchment plan must follow to go on public notice (划片范围公示); docs/catchments.md."""

    contiguity: bool = Field(False, description="Each school's catchment per stage is one connected area.")
    contiguity_exempt: tuple[str, ...] = Field(
        (),
        description="Schools whose catchments may be non-contiguous (boarding schools keep the rule too, except "
        "the settlements the rule lists as unavoidable).",
    )
    keep_settlements: tuple[str, ...] = Field((), description="Settlements that keep today's schools.")
    feeder: bool = Field(False, description="Each primary school's catchment feeds one junior school (对口).")
    feeder_splits_allowed: tuple[str, ...] = Field(
        (), description="Primary schools whose pupils may go on to more than one junior school."
    )
    public_notice: bool = Field(False, description="Write the public-notice maps and lists (划片范围公示).")


class ReportSettings(_Strict):
    """What ``planner run`` writes besides the plan tables (docs/outputs.md)."""

    maps: bool = Field(True, description="GeoPackage, static maps (PNG/PDF) and the offline HTML map.")
    marginal_budget: bool = Field(
        True, description="Re-solve with the budgets scaled by 1 ± marginal_delta for the budget justification."
    )
    marginal_delta: float = Field(0.10, gt=0, lt=1, description="Budget change of the marginal re-solves (0.10 = 10%).")
    marginal_time_limit_s: float | None = Field(
        None,
        gt=0,
        description="Time limit of each marginal re-solve; default: a third of the solver's (40 s at 120 s).",
    )


class CheapestSettings(_Strict):
    """The cheapest passing plan (``objective: min_cost_to_pass``; planner/model/cheapest.py, docs/model.md)."""

    bottom_lines: Literal["today", "best"] = Field(
        "today",
        description="today: the bottom lines and policy rules (pupils over capacity, over the size limit, beyond "
        "the travel cap; the rotation policy) in total no worse than the plan's start (today's catchments, the "
        "policy's rotations): the cost of passing. best: no worse than the plan with the budgets lifted, which also "
        "fixes every bottom line money can (new schools where pupils have none within reach): the cost of passing "
        "and of the bottom lines.",
    )
    parts: tuple[str, ...] = Field(
        (),
        description="Pass these school parts only, the cheapest way: a school id (every assessed part of it) or "
        "'id:primary' / 'id:junior'; the budgets are lifted and no CV is made worse (none is pursued), the bottom "
        "lines held at today's. Empty: every part money can pass, and every CV money can bring within threshold.",
    )

    @field_validator("parts")
    @classmethod
    def _stages(cls, parts: tuple[str, ...]) -> tuple[str, ...]:
        for p in parts:
            if ":" in p and p.split(":", 1)[1] not in ("primary", "junior"):
                raise ValueError(f"part {p!r}: the stage after ':' must be primary or junior")
        return parts


class Scenario(_Strict):
    """Everything a plan is asked to do."""

    name: str
    description_zh: str = ""
    description_en: str = ""
    levers: Levers = Levers()
    budget: BudgetSettings = BudgetSettings()
    distance: DistanceSettings = DistanceSettings()
    travel: TravelModes = Field(default_factory=TravelModes, description="Travel modes and speeds (docs/network.md).")
    rotation: RotationSettings = RotationSettings()
    hires: HireSettings = HireSettings()
    purchases: PurchaseSettings = PurchaseSettings()
    closures: ClosureSettings = ClosureSettings()
    weights: ObjectiveWeights = ObjectiveWeights()
    solver: SolverSettings = SolverSettings()
    max_rezoned_pupils: int | None = Field(
        None, ge=0, description="Cap on pupils (both stages) moved from today's catchment school; null: no cap."
    )
    min_school_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="An existing public school keeps at least this share of today's pupils of each stage "
        "unless the closures lever closes it (re-zoning may not hollow a school out; 0 turns the rule off).",
    )
    report: ReportSettings = ReportSettings()
    catchment_rules: CatchmentRules = CatchmentRules()
    horizon: HorizonSettings | None = Field(None, description="Plan for the pupils of a horizon of years (projection).")
    objective: Literal["balance", "min_cost_to_pass"] = Field(
        "balance",
        description="balance: the weighted objective in the inspectors' order within the budget (docs/model.md). "
        "min_cost_to_pass: the cheapest plan that passes every school part that can pass at all and keeps every "
        "CV within its threshold, the budgets lifted; what no money can fix is listed with what binds "
        "(planner/model/cheapest.py).",
    )
    cheapest: CheapestSettings = CheapestSettings()


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if not path.exists():
        raise ScenarioError(f"{path}: scenario file does not exist")
    if path.resolve() in seen:
        raise ScenarioError(f"{path.name}: 'extends' forms a cycle")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise ScenarioError(f"{path.name}: not UTF-8 text; save it as UTF-8 (记事本: 另存为, 编码 UTF-8)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = f" ({exc.problem})" if getattr(exc, "problem", None) else ""
        raise ScenarioError(f"{path.name}: not valid YAML{where}{problem}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path.name}: must be a mapping of keys to values")
    parent = raw.pop("extends", None)
    if parent:
        ppath = path.parent / (parent if str(parent).endswith((".yaml", ".yml")) else f"{parent}.yaml")
        inherited = _read(ppath, (*seen, path.resolve()))
        inherited.pop("name", None)  # a scenario is named by its own file unless it says otherwise
        raw = deep_merge(inherited, raw)
    return raw


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (following ``extends``).

    Raises
    ------
    ScenarioError
        One line naming the file, the key and the rule broken.
    """
    path = Path(path)
    raw = _read(path)
    raw.setdefault("name", path.stem)
    return scenario_from_dict(raw, source=path.name)


def scenario_from_dict(raw: dict[str, Any], source: str = "scenario") -> Scenario:
    """Validate a scenario given as a mapping."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = f"{err['msg']} (got {err.get('input')!r})"
        raise ScenarioError(f"{source}, key {loc}: {msg}") from None


def default_scenario(name: str = "combined") -> Scenario:
    """All levers on, national defaults."""
    return Scenario(name=name)
