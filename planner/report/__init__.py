"""Output writers: each takes an :class:`~planner.assess.Assessment` or a Plan (and the tables
computed from them) and nothing else; nothing here solves a model.

- :mod:`planner.report.run` — the run directory: every writer below for one plan.
- :mod:`planner.report.selfassessment` — the self-assessment workbook (自评表) and CSV copies.
- :mod:`planner.report.workbook`, :mod:`planner.report.justification` — the plan workbook and the
  budget justification; :mod:`planner.report.marginal` prices what stays unmet (the ±δ budget
  re-solves are :mod:`planner.plan.variants`).
- :mod:`planner.report.geometry`, :mod:`planner.report.layers`, :mod:`planner.report.geopackage`,
  :mod:`planner.report.maps`, :mod:`planner.report.webmap`, :mod:`planner.report.notice`,
  :mod:`planner.report.fairness` — catchment geometry, map layers, GeoPackage, static and HTML maps,
  the public notice and its catchment read-outs.
- :mod:`planner.report.projection`, :mod:`planner.report.sweep`, :mod:`planner.report.compare` —
  enrolment projection, budget sweep and run comparison outputs.
"""
