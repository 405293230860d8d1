"""Optimisation models of the planner.

The plan MILP (``build``, ``optimise`` and one module per lever) and the public
location-allocation core (:mod:`planner.model.location`): p-median and capacitated facility
location from a cost matrix, solved to proven optimality, with the honest solver-status
reading of :mod:`planner.model.solve`.
"""

from planner.model.location import CapacitatedFacilityLocation, CostData, LocationResult, PMedian
from planner.model.solve import SolverRun

__all__ = ["CapacitatedFacilityLocation", "CostData", "LocationResult", "PMedian", "SolverRun"]
