"""Output writers: each takes an :class:`~planner.assess.Assessment` or a Plan and nothing else.

- :mod:`planner.report.selfassessment` — the self-assessment workbook (自评表) and CSV copies.
"""
