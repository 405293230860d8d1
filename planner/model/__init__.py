"""The plan MILP and its solving.

One module per lever or rule (``places``, ``catchments``, ``contiguity``, ``feeder``,
``resources``, ``teachers``, ``balance``, ``horizon``) adds its variables and constraints to a
:class:`~planner.model.context.ModelContext` built from :class:`~planner.model.inputs.ModelInputs`;
``build`` assembles objective and budgets. Solving: ``backend`` runs a PuLP model with CBC or
HiGHS and reads what the solver proved, ``start`` finds the starting plan, ``regions`` improves
a plan region by region on large counties, and ``optimise`` is the loop that ties them
(with the CV cutting planes). The location-allocation library is :mod:`planner.locate`.
"""
