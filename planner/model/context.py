"""Shared state while the plan MILP is assembled.

Each lever module (``catchments``, ``places``, ``resources``, ``teachers``, ``balance``)
adds its variables and constraints to one :class:`ModelContext` and contributes linear
terms to the shared expressions: pupils per part, resources per part, costs and
objective terms. Expressions are accumulated as plain ``{variable: coefficient}`` dicts
and turned into PuLP expressions once (building term by term with ``+=`` is what makes
PuLP models slow).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulp

from planner.model.inputs import ModelInputs
from planner.scenario import Scenario

if TYPE_CHECKING:  # contiguity.py builds on this module
    from planner.model.contiguity import ContiguityRule

_SAFE = re.compile(r"[^A-Za-z0-9_]")


class Lin:
    """A linear expression being accumulated: ``{var: coef}`` plus a constant."""

    __slots__ = ("const", "terms")

    def __init__(self, const: float = 0.0) -> None:
        self.terms: dict[pulp.LpVariable, float] = defaultdict(float)
        self.const = float(const)

    def add(self, var: pulp.LpVariable | None, coef: float = 1.0) -> None:
        """Add ``coef * var`` (or ``coef`` when ``var`` is None)."""
        if var is None:
            self.const += coef
        elif coef:
            self.terms[var] += coef

    def add_lin(self, other: Lin, scale: float = 1.0) -> None:
        """Add ``scale * other``."""
        self.const += scale * other.const
        for v, c in other.terms.items():
            self.terms[v] += scale * c

    def expr(self) -> pulp.LpAffineExpression:
        """The PuLP expression."""
        return pulp.LpAffineExpression({v: c for v, c in self.terms.items() if c}, constant=self.const)

    def value(self) -> float:
        """Value at the current solution (variables without a value count as 0)."""
        return self.const + sum(c * (v.varValue or 0.0) for v, c in self.terms.items())

    def upper(self) -> float:
        """The largest value the expression can take within its variables' bounds (``inf`` if unbounded)."""
        return self._extreme(largest=True)

    def lower(self) -> float:
        """The smallest value the expression can take within its variables' bounds (``-inf`` if unbounded)."""
        return self._extreme(largest=False)

    def _extreme(self, *, largest: bool) -> float:
        total = self.const
        for v, c in self.terms.items():
            bound = v.upBound if (c > 0) == largest else v.lowBound
            if c and bound is None:
                return math.inf if largest else -math.inf
            total += c * (bound or 0.0)
        return total

    def is_integral(self) -> bool:
        """Whether the expression takes only whole values: integer variables, whole coefficients and constant."""
        whole = [self.const, *self.terms.values()]
        return all(float(c).is_integer() for c in whole) and all(v.cat == pulp.LpInteger for v in self.terms)

    def is_constant(self) -> bool:
        """Whether no variable has a non-zero coefficient."""
        return not any(self.terms.values())


class PlanProblem(pulp.LpProblem):
    """A PuLP problem whose list of variables is kept as rows are added, not collected again on every call.

    PuLP's ``LpProblem.variables()`` walks every coefficient of every row and sorts the list on each call: 75 ms
    on 确山's model (305,000 coefficients), called some 150 times in a run of the README command (each solve's
    hand-over and read-back, every start, polish, judge and region sweep). PuLP registers a row's variables as
    the row is added (``addConstraint``); this class registers the objective's when it is set or grows, and sorts
    by name (as PuLP does) only when the list has grown. The list is the one PuLP returns, in the same order.

    Rows must not gain variables after they are added (no module of the model edits a row in place); a row
    removed leaves its variables listed, as in PuLP.
    """

    def __init__(self, name: str = "NoName", sense: int = pulp.LpMinimize) -> None:
        super().__init__(name, sense)
        self._objective_seen: tuple[pulp.LpAffineExpression, int] | None = None
        self._sorted_n = -1

    def variables(self) -> list[pulp.LpVariable]:
        """The problem's variables sorted by name (PuLP's ``variables()``, without walking every row)."""
        objective = self.objective
        if objective is not None and (self._objective_seen is None or self._objective_seen[0] is not objective
                                      or self._objective_seen[1] != len(objective)):  # fmt: skip
            register = getattr(self, "_add_variables", None) or self.addVariables  # PuLP 3 / PuLP 2.8
            register(objective.keys())
            self._objective_seen = (objective, len(objective))
        if len(self._variables) != self._sorted_n:
            self._variables.sort(key=lambda v: v.name)
            self._sorted_n = len(self._variables)
        return self._variables


def safe(*parts: object) -> str:
    """A deterministic PuLP-safe name from parts."""
    return "_".join(_SAFE.sub("_", str(p)) for p in parts)


@dataclass
class ModelContext:
    """Everything shared between lever modules while building one model."""

    inp: ModelInputs
    scenario: Scenario
    prob: pulp.LpProblem
    #: pupils per part (unit_id, stage)
    pupils: dict[tuple[str, str], Lin] = field(default_factory=lambda: defaultdict(Lin))
    #: resource per (unit_id, stage, indicator) for teacher indicators and
    #: per (unit_id, "", indicator) for school-level indicators
    resource: dict[tuple[str, str, str], Lin] = field(default_factory=lambda: defaultdict(Lin))
    #: classrooms per unit (existing plus added)
    classrooms: dict[str, Lin] = field(default_factory=lambda: defaultdict(Lin))
    music_rooms: dict[str, Lin] = field(default_factory=lambda: defaultdict(Lin))
    art_rooms: dict[str, Lin] = field(default_factory=lambda: defaultdict(Lin))
    capital_yuan: Lin = field(default_factory=Lin)
    recurrent_yuan: Lin = field(default_factory=Lin)
    #: objective terms by group (for reporting what the objective is made of)
    objective: dict[str, Lin] = field(default_factory=lambda: defaultdict(Lin))
    #: 1 when a candidate site is opened (variables), per site
    site_open: dict[str, Lin] = field(default_factory=dict)
    #: 1 when a closable school is closed (variables), per school
    closed: dict[str, Lin] = field(default_factory=dict)
    #: lever variables, by lever, for extraction
    vars: dict[str, dict[Any, pulp.LpVariable]] = field(default_factory=lambda: defaultdict(dict))
    #: linear expressions kept for extraction and cuts
    exprs: dict[str, dict[Any, Lin]] = field(default_factory=lambda: defaultdict(dict))
    n_constraints: int = 0
    #: least pupils a part has in any plan beyond its constant (captive) pupils: the share of today's an
    #: existing school keeps (:func:`planner.model.catchments.keep_share`); read by the school rule's
    #: implied rows (:func:`planner.model.balance.min_pupils`)
    pupils_floor: dict[tuple[str, str], float] = field(default_factory=dict)
    #: the catchment contiguity rule (a :class:`planner.model.contiguity.ContiguityRule`) when the scenario
    #: turns it on; set by :func:`planner.model.contiguity.add_contiguity`, read by the start heuristic
    contiguity_rule: ContiguityRule | None = None

    def var(
        self,
        group: str,
        key: Any,
        *,
        low: float | None = 0,
        up: float | None = None,
        cat: str = pulp.LpContinuous,
    ) -> pulp.LpVariable:
        """Create and register a variable named after its group and key."""
        parts = key if isinstance(key, tuple) else (key,)
        v = pulp.LpVariable(safe(group, *parts), lowBound=low, upBound=up, cat=cat)
        self.vars[group][key] = v
        return v

    def constrain(self, lhs: Lin, sense: str, rhs: float, name: str) -> None:
        """Add ``lhs (<=|>=|==) rhs``; ``lhs`` constant part is moved to the right."""
        senses = {"<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE, "==": pulp.LpConstraintEQ}
        e = pulp.LpAffineExpression({v: c for v, c in lhs.terms.items() if c})
        self.prob.addConstraint(pulp.LpConstraint(e, senses[sense], rhs=rhs - lhs.const), name=safe(name))
        self.n_constraints += 1
