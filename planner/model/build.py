"""Assemble the plan MILP: levers, standards, budgets and the objective.

Order matters only for what each lever reads: places first (capacity, site-open
expressions), then catchments (pupils), resources, teachers, and last the standards and
guarantee items, which read pupils and resources.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pulp

from planner.model.balance import add_guarantees, add_standards
from planner.model.catchments import add_catchments
from planner.model.context import Lin, ModelContext, PlanProblem
from planner.model.contiguity import add_contiguity
from planner.model.feeder import add_feeder
from planner.model.horizon import add_horizon_capacity
from planner.model.inputs import ModelInputs
from planner.model.places import add_places
from planner.model.resources import add_resources
from planner.model.teachers import add_teachers, rotation_start
from planner.scenario import Scenario

#: objective groups in priority order (reported with their values)
OBJECTIVE_GROUPS: tuple[str, ...] = (
    "limits",  # bottom lines and policy rules: capacity, size, travel cap, rotation policy, contiguity, CV made worse
    "failing",  # schools failing the school rule, one each
    "cv",  # CVs over their threshold
    "guarantee",  # music and art rooms
    "school_rule",  # shortfall below the school rule (pupil-equivalents)
    "full_standard",  # shortfall below the full standard (pupil-equivalents)
    "cost",
    "travel",
    "rezoned",
    "moved",
)


@dataclass
class BuiltModel:
    """A built model and how long it took."""

    ctx: ModelContext
    build_s: float

    @property
    def prob(self) -> pulp.LpProblem:
        """The PuLP problem."""
        return self.ctx.prob


def build_model(inp: ModelInputs, scenario: Scenario) -> BuiltModel:
    """Build the plan MILP for ``inp`` under ``scenario`` (no CV cuts yet)."""
    t0 = time.perf_counter()
    prob = PlanProblem(f"plan_{scenario.name}", pulp.LpMinimize)
    ctx = ModelContext(inp=inp, scenario=scenario, prob=prob)
    add_places(ctx)
    add_catchments(ctx)
    add_contiguity(ctx)  # catchment_rules.contiguity (no-op otherwise)
    add_feeder(ctx)  # catchment_rules.feeder (no-op otherwise)
    add_resources(ctx)
    add_teachers(ctx)
    rotation_start(ctx)
    add_standards(ctx)
    add_guarantees(ctx)
    add_horizon_capacity(ctx)  # horizon plans: capacity in every year (no-op otherwise)

    ctx.constrain(ctx.capital_yuan, "<=", inp.capital_budget_yuan, "capital_budget")
    ctx.constrain(ctx.recurrent_yuan, "<=", inp.recurrent_budget_yuan, "recurrent_budget")
    cost = Lin()
    cost.add_lin(ctx.capital_yuan, scenario.weights.cost_per_10k_yuan / 1e4)
    cost.add_lin(ctx.recurrent_yuan, scenario.weights.cost_per_10k_yuan / 1e4)
    ctx.objective["cost"] = cost
    set_objective(ctx)
    return BuiltModel(ctx=ctx, build_s=time.perf_counter() - t0)


def set_objective(ctx: ModelContext) -> None:
    """(Re)set the objective from the current groups (CV slacks may have been added)."""
    total = Lin()
    for group in OBJECTIVE_GROUPS:
        total.add_lin(ctx.objective[group])
    ctx.prob.setObjective(total.expr())
