"""Routes of the web application (Starlette), server-rendered with Jinja2 templates.

Pages: ``/`` (start), ``/county`` and ``/county/{id}`` (county folders, uploads and their
check), ``/scenario`` (the scenario form), ``/runs`` and ``/runs/{id}`` (the queue, a run's
progress or its results, its files), ``/compare`` and ``/compare/{key}`` (comparisons). Every
error is shown as a page with a message, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from planner.errors import PlannerError
from planner.web import comparisons, counties, forms, results
from planner.web.jobs import STATE_ZH, JobSpec, RunEntry, RunQueue
from planner.web.progress import STAGE_WORDS
from planner.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SecurityMiddleware,
    checked_form,
    same_text,
    session_value,
)
from planner.web.settings import WebSettings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
INLINE_SUFFIXES = (".html", ".png", ".pdf", ".md", ".csv")


def _wan(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}"


def _cv(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def _number(v: float) -> str:
    """A comparison cell: yuan and pupils to the unit, CVs and minutes to three decimals."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3f}"


def create_app(settings: WebSettings) -> Starlette:
    """The web application for ``settings`` (its queue starts and stops with the app)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["wan"] = _wan
    templates.env.filters["cv"] = _cv
    queue = RunQueue(settings.runs_dir, settings.state_dir, settings.parallel_runs, on_finished=results.run_results)
    saved_dir = settings.state_dir / "scenarios"
    secret = secrets.token_bytes(32)

    def render(request: Request, name: str, status_code: int = 200, **ctx: Any) -> Response:
        ctx.update(request=request, csrf_field=CSRF_FIELD, csrf=getattr(request.state, "csrf", ""),
                   login=bool(settings.token))  # fmt: skip
        return templates.TemplateResponse(request, name, ctx, status_code=status_code)

    async def form_of(request: Request) -> Any:
        return await checked_form(request, settings.max_upload_bytes)

    def sources() -> list[counties.CountySource]:
        return counties.county_sources(settings.data_dir, settings.state_dir)

    def scenario_files() -> dict[str, Path]:
        return forms.scenario_files(settings.scenarios_dir, saved_dir)

    def finished_entries() -> list[RunEntry]:
        return [e for e in queue.entries() if e.state == "finished"]

    def entry_or_404(run_id: str) -> RunEntry:
        entry = queue.entry(run_id)
        if entry is None:
            raise HTTPException(404, "运行记录不存在（只能从运行列表进入）no such run in the run list")
        return entry

    # ------------------------------------------------------------------ home and login

    async def home(request: Request) -> Response:
        entries = queue.entries()
        counts = {s: sum(e.state == s for e in entries) for s in STATE_ZH}
        return render(request, "home.html", counts=counts, state_zh=STATE_ZH, recent=entries[:5])

    async def login_page(request: Request) -> Response:
        if not settings.token:
            return RedirectResponse("/", status_code=303)
        return render(request, "login.html")

    async def login(request: Request) -> Response:
        form = await form_of(request)
        if not settings.token or not same_text(str(form.get("token") or ""), settings.token):
            await asyncio.sleep(1.0)  # a wrong token costs a second: guessing is slow
            return render(request, "login.html", status_code=401, error="口令不正确 wrong access token")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session_value(settings.token, secret), httponly=True, samesite="strict")
        return response

    # ------------------------------------------------------------------ county

    async def county_page(request: Request, problems: list[counties.Problem] | None = None,
                          status_code: int = 200) -> Response:  # fmt: skip
        return render(request, "county.html", status_code=status_code, sources=sources(), problems=problems or [],
                      allowed=sorted(counties.allowed_upload_names()))  # fmt: skip

    async def county(request: Request) -> Response:
        return await county_page(request)

    async def county_upload(request: Request) -> Response:
        form = await form_of(request)
        base = counties.find_county(settings.data_dir, settings.state_dir, str(form.get("base") or ""))
        if base is None:
            raise HTTPException(400, "请选择基础县数据 choose the county the upload completes")
        files = []
        for item in form.getlist("files"):
            if isinstance(item, UploadFile) and item.filename:
                files.append((item.filename, await item.read()))
        label = str(form.get("label") or "").strip()[:80]
        source, problems = await run_in_threadpool(counties.store_upload, base, files, settings.state_dir, label)
        if source is None:
            return await county_page(request, problems, status_code=400)
        return RedirectResponse(f"/county/{source.county_id}", status_code=303)

    async def county_check(request: Request) -> Response:
        source = counties.find_county(settings.data_dir, settings.state_dir, request.path_params["county_id"])
        if source is None:
            raise HTTPException(404, "县数据不存在 no such county folder")
        check = await run_in_threadpool(counties.check_county, source, settings.state_dir)
        return render(request, "county_check.html", status_code=200 if check.ok else 422, source=source, check=check)

    # ------------------------------------------------------------------ scenario

    def scenario_ctx(base_name: str, values: dict[str, str], levers: dict[str, bool], errors: dict[str, str],
                     **extra: Any) -> dict[str, Any]:  # fmt: skip
        return dict(base_name=base_name, values=values, levers=levers, errors=errors,
                    lever_labels=forms.LEVER_LABELS, number_fields=forms.NUMBER_FIELDS, cap_areas=forms.CAP_AREAS,
                    scenario_names=sorted(scenario_files()), sources=sources(), **extra)  # fmt: skip

    async def scenario(request: Request) -> Response:
        files = scenario_files()
        base_name = request.query_params.get("base") or ("combined" if "combined" in files else next(iter(files), ""))
        try:
            base = forms.load_named(files, base_name)
        except PlannerError as exc:
            raise HTTPException(404, str(exc)) from None
        values, levers = forms.form_values(base)
        saved = request.query_params.get("saved") == "1"
        return render(request, "scenario.html", **scenario_ctx(base_name, values, levers, {}, saved=saved))

    async def scenario_save(request: Request) -> Response:
        form = await form_of(request)
        files = scenario_files()
        base_name = str(form.get("base") or "")
        try:
            base = forms.load_named(files, base_name)
        except PlannerError as exc:
            raise HTTPException(400, str(exc)) from None
        parsed = forms.parse_form(base, form)
        name = parsed.values["name"].strip()
        if not parsed.errors and name in files and files[name].parent.resolve() != saved_dir.resolve():
            parsed.errors["name"] = (
                f"与内置方案同名，请换一个名称 '{name}' is a scenario of scenarios/; choose another name"
            )
        action = str(form.get("action") or "save")
        county = None
        if action == "run":
            county = counties.find_county(settings.data_dir, settings.state_dir, str(form.get("county") or ""))
            if county is None:
                parsed.errors["county"] = "请选择县数据 choose a county"
        if parsed.errors or parsed.scenario is None:
            ctx = scenario_ctx(base_name, parsed.values, parsed.levers, parsed.errors)
            return render(request, "scenario.html", status_code=400, **ctx)
        saved_dir.mkdir(parents=True, exist_ok=True)
        text = forms.scenario_yaml(parsed.scenario)
        tmp = saved_dir / f".{name}.yaml.partial"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(saved_dir / f"{name}.yaml")
        if action == "run" and county is not None:
            job_id = submit(county, name, text, None, marginal=False, maps=True)
            return RedirectResponse(f"/runs/j-{job_id}", status_code=303)
        return RedirectResponse(f"/scenario?base={name}&saved=1", status_code=303)

    # ------------------------------------------------------------------ runs

    def submit(county: counties.CountySource, scenario_name: str, text: str, time_limit_s: float | None, *,
               marginal: bool, maps: bool) -> str:  # fmt: skip
        spec = JobSpec(county.county_id, county.label, str(county.folder.resolve()), scenario_name, time_limit_s,
                       marginal, maps)  # fmt: skip
        return queue.submit(spec, text)

    async def runs(request: Request, errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
        return render(request, "runs.html", status_code=status_code, entries=queue.entries(), sources=sources(),
                      scenario_names=sorted(scenario_files()), errors=errors or {})  # fmt: skip

    async def runs_page(request: Request) -> Response:
        return await runs(request)

    async def run_start(request: Request) -> Response:
        form = await form_of(request)
        errors: dict[str, str] = {}
        county = counties.find_county(settings.data_dir, settings.state_dir, str(form.get("county") or ""))
        if county is None:
            errors["county"] = "请选择县数据 choose a county"
        files = scenario_files()
        name = str(form.get("scenario") or "")
        if name not in files:
            errors["scenario"] = "请选择方案 choose a scenario"
        limit_text = str(form.get("time_limit_s") or "").strip()
        time_limit: float | None = None
        if limit_text:
            field = forms.FIELDS_BY_NAME["time_limit_s"]
            time_limit, err = forms.parse_number(field, limit_text)
            if err:
                errors["time_limit_s"] = err
        if errors or county is None:
            return await runs(request, errors, status_code=400)
        try:  # a broken file is refused now, not in the queue; the job gets the whole scenario ('extends' followed)
            text = forms.scenario_yaml(forms.load_named(files, name))
        except PlannerError as exc:
            return await runs(request, {"scenario": str(exc)}, status_code=400)
        job_id = submit(county, name, text, time_limit, marginal="marginal" in form, maps="maps" in form)
        return RedirectResponse(f"/runs/j-{job_id}", status_code=303)

    async def run_page(request: Request) -> Response:
        entry = entry_or_404(request.path_params["run_id"])
        if entry.state == "finished" and entry.run_dir is not None:
            res = await run_in_threadpool(results.run_results, entry.run_dir)
            return render(request, "run_results.html", entry=entry, res=res)
        return render(
            request, "run_progress.html", entry=entry, progress=queue.progress(entry), stage_words=STAGE_WORDS
        )

    async def run_progress(request: Request) -> Response:
        entry = entry_or_404(request.path_params["run_id"])
        return JSONResponse({"state": entry.state, "state_zh": entry.state_zh, "message": entry.message,
                             "progress": queue.progress(entry)})  # fmt: skip

    async def run_file(request: Request) -> Response:
        entry = entry_or_404(request.path_params["run_id"])
        if entry.run_dir is None:
            raise HTTPException(404, "此运行尚无结果 this run has no results yet")
        path = results.run_file(entry.run_dir, request.path_params["path"])
        if path is None:
            raise HTTPException(404, "文件不在此运行的清单中 no such file in this run's manifest")
        inline = path.suffix.lower() in INLINE_SUFFIXES
        return FileResponse(path, filename=path.name, content_disposition_type="inline" if inline else "attachment")

    # ------------------------------------------------------------------ compare

    async def compare(request: Request) -> Response:
        return render(request, "compare.html", entries=finished_entries(), error="")

    async def compare_make(request: Request) -> Response:
        form = await form_of(request)
        chosen = [str(v) for v in form.getlist("run")]
        by_id = {e.run_id: e for e in finished_entries()}
        picked = [(rid, by_id[rid].run_dir) for rid in chosen if rid in by_id and by_id[rid].run_dir is not None]
        if len(picked) < 2 or len(picked) != len(chosen):
            return render(request, "compare.html", status_code=400, entries=list(by_id.values()),
                          error="请至少选择两个已完成的运行 choose at least two finished runs")  # fmt: skip
        key = await run_in_threadpool(comparisons.make_comparison, picked, settings.state_dir)  # type: ignore[arg-type]
        return RedirectResponse(f"/compare/{key}", status_code=303)

    async def compare_view(request: Request) -> Response:
        comp = comparisons.load_comparison(settings.state_dir, request.path_params["key"])
        if comp is None:
            raise HTTPException(404, "比较结果不存在 no such comparison")
        table_html = comp.table.to_html(index=False, classes="data", border=0, na_rep="-",
                                        float_format=_number)  # fmt: skip
        return render(request, "compare_result.html", comp=comp, table_html=table_html)

    async def compare_file(request: Request) -> Response:
        path = comparisons.comparison_file(settings.state_dir, request.path_params["key"], request.path_params["name"])
        if path is None:
            raise HTTPException(404, "文件不存在 no such file")
        inline = path.suffix.lower() in INLINE_SUFFIXES
        return FileResponse(path, filename=path.name, content_disposition_type="inline" if inline else "attachment")

    async def cjk_font(request: Request) -> Response:
        # the CJK font the package bundles for its maps: Chinese renders on a PC without one, offline
        from planner.report.fonts import FONT_PATH

        return FileResponse(FONT_PATH, media_type="font/ttf", headers={"Cache-Control": "max-age=86400"})

    # ------------------------------------------------------------------ errors

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = str(getattr(exc, "detail", "")) or "出错了 something went wrong"
        if status == 404 and detail == "Not Found":
            detail = "页面不存在 page not found"
        return render(request, "error.html", status_code=status, status=status, message=detail)

    async def planner_error(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", status_code=400, status=400, message=str(exc))

    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        message = f"内部错误 internal error: {type(exc).__name__}（详情见服务器日志 details in the server's log）"
        return render(request, "error.html", status_code=500, status=500, message=message)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        if not scenario_files():  # outside the repository: the built-in combined scenario, as planner run does
            from planner.scenario import default_scenario

            saved_dir.mkdir(parents=True, exist_ok=True)
            (saved_dir / "combined.yaml").write_text(forms.scenario_yaml(default_scenario()), encoding="utf-8")
        queue.start()
        try:
            yield
        finally:
            await run_in_threadpool(queue.stop)

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/county", county, methods=["GET"]),
        Route("/county/upload", county_upload, methods=["POST"]),
        Route("/county/{county_id}", county_check, methods=["GET"]),
        Route("/scenario", scenario, methods=["GET"]),
        Route("/scenario", scenario_save, methods=["POST"]),
        Route("/runs", runs_page, methods=["GET"]),
        Route("/runs", run_start, methods=["POST"]),
        Route("/runs/{run_id}", run_page, methods=["GET"]),
        Route("/runs/{run_id}/progress", run_progress, methods=["GET"]),
        Route("/runs/{run_id}/files/{path:path}", run_file, methods=["GET"]),
        Route("/compare", compare, methods=["GET"]),
        Route("/compare", compare_make, methods=["POST"]),
        Route("/compare/{key}", compare_view, methods=["GET"]),
        Route("/compare/{key}/files/{name}", compare_file, methods=["GET"]),
        Route("/static/font/cjk.ttf", cjk_font, methods=["GET"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware, token=settings.token, secret=secret)],
        exception_handlers={HTTPException: http_error, PlannerError: planner_error, Exception: internal_error},
        lifespan=lifespan,
    )
    app.state.queue = queue
    return app
