"""The road from a County and a Scenario to a Plan.

``instance`` prepares the model instance, ``pipeline`` runs it (:func:`plan_county`),
``readback`` reads the solution back into plan tables, ``plan`` holds the Plan and the county
after it, ``horizon`` the per-school projections of a horizon plan, and ``variants`` every
re-solve with one setting changed.
"""

from planner.plan.plan import Plan, SolverRecord, apply_plan

__all__ = ["Plan", "SolverRecord", "apply_plan"]
