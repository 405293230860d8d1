"""``planner serve``: the planner in a browser, for bureau staff who never open a terminal.

A server-rendered web application (Starlette + Jinja2, served by uvicorn) on 127.0.0.1 by
default. Pages: county (upload the Excel templates or choose a county folder, see the
validation problems, the summary and the access report), scenario (a form over a scenario of
``scenarios/``, saved as YAML), runs (a queue of ``planner run`` solves in separate processes,
with live stages and solver progress), results (summary, maps, downloads) and compare
(``planner compare``'s table and charts). Every script, style and image is served from this
package; the application works with no internet.

Modules, one concern each: :mod:`~planner.web.settings` (what the server is given),
:mod:`~planner.web.security` (binding, token, CSRF, upload limits, safe names),
:mod:`~planner.web.counties` (county folders, uploads, validation, summaries),
:mod:`~planner.web.forms` (the scenario form), :mod:`~planner.web.jobs` (the run queue and the
run list), :mod:`~planner.web.progress` (the progress file a run writes),
:mod:`~planner.web.worker` (the process that runs one solve), :mod:`~planner.web.results`
(a run's read-outs), :mod:`~planner.web.app` (routes) and :mod:`~planner.web.server` (start-up).
"""
