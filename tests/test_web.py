"""planner serve end to end: every page driven in headless Chromium (Debian's, as the HTML map test),
against a real server process on the tiny county with real solves (time limit 5 s).

Each page's numbers are checked against the files the run wrote and against the county itself.
Each page is screenshot: into a temporary folder, or with ``PLANNER_WEB_SCREENSHOTS=docs/web`` into the
folder docs/web.md links to (how the committed screenshots are made; a plain test run leaves the tree
clean). Every request a page makes is recorded: nothing may leave the server (the application works
offline).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from openpyxl import load_workbook
from tiny_county import SCHOOLS, SETTLEMENTS, write_tiny_county
from web_server import Server, csrf, submit_run, wait_state

from planner.errors import DataError
from planner.loader import load_county
from planner.report.compare import comparison_table
from planner.scenario import load_scenario
from planner.schema import SCHOOLS as SCHOOLS_SPEC
from planner.templates import write_template

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[1]
SHOTS_ENV = "PLANNER_WEB_SCREENSHOTS"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = pytest.mark.xdist_group("web")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """The server on the tiny county, and two runs of the same scenario submitted at once."""
    base = tmp_path_factory.mktemp("web")
    county = write_tiny_county(base / "county")
    server = Server(county, base / "runs")
    client = server.client()
    token = csrf(client)
    ids: list[str] = []

    def post() -> None:
        ids.append(submit_run(client, token, "baseline", time_limit_s="5"))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        yield server, client, county, ids
    finally:
        client.close()
        server.stop()


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory: pytest.TempPathFactory):
    """Headless Chromium; every request that is not to the server is recorded and aborted."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (CI installs Debian's chromium in .ci/run)")
    from playwright.sync_api import sync_playwright

    server = site[0]
    outside: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(server.url):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        ctx.route("**/*", route)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page, outside, errors
        ctx.close()
    assert outside == [], "a page tried to reach the internet"
    assert errors == []


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go (``$PLANNER_WEB_SCREENSHOTS``, relative to the repository, or a temporary folder)."""
    folder = os.environ.get(SHOTS_ENV)
    out = ROOT / folder if folder else tmp_path_factory.mktemp("shots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _shot(page, folder: Path, name: str) -> None:
    page.evaluate("() => document.fonts.ready.then(() => true)")  # the package's CJK font, served by the app
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert (folder / f"{name}.png").stat().st_size > 10_000


def _cells(page, selector: str) -> list[list[str]]:
    script = "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    return page.eval_on_selector_all(f"{selector} tbody tr", script)


# --------------------------------------------------------------------------- county


def test_county_folder_summary_and_access_report(site, browser, shots) -> None:
    server, *_ = site
    page, *_ = browser
    page.goto(server.url + "county")
    page.click("#county-list a.button")
    page.wait_for_selector("#check-ok")
    text = page.inner_text("#summary")
    compulsory = [s for s in SCHOOLS if s[4] != "special"]
    assert f"学校 schools (primary+junior) {len(compulsory):>8,}" in text
    assert f"小学在校生 primary pupils     {sum(s[10] for s in compulsory):>8,}" in text
    rows = _cells(page, "#access")
    head = page.eval_on_selector_all("#access thead th", "hs => hs.map(h => h.innerText.trim())")
    nearest = head.index("按最近学校计学生数 (pupils_nearest)")
    for stage, col in (("primary", 8), ("junior", 9)):  # every pupil of the stage is in one band
        assert sum(int(r[nearest]) for r in rows if r[0] == stage) == sum(s[col] for s in SETTLEMENTS)
    _shot(page, shots, "county")


def _schools_workbooks(county_dir: Path, folder: Path) -> tuple[Path, Path]:
    """The county's schools.xlsx as the template writes it, and a copy whose row 4 floor area is text."""
    county = load_county(county_dir, check_network=False)
    good = folder / "good" / "schools.xlsx"
    good.parent.mkdir(parents=True)
    write_template(SCHOOLS_SPEC, good, county)
    bad = folder / "bad" / "schools.xlsx"
    bad.parent.mkdir(parents=True)
    wb = load_workbook(good)
    ws = wb.worksheets[0]
    col = next(c.column for c in ws[1] if str(c.value).endswith("(floor_area_m2)"))
    ws.cell(row=4, column=col, value="约三千")
    wb.save(bad)
    return good, bad


def test_upload_shows_the_problem_then_accepts_the_fix(site, browser, tmp_path: Path, shots) -> None:
    server, _, county_dir, _ = site
    page, *_ = browser
    good, bad = _schools_workbooks(county_dir, tmp_path)
    # what the loader says about the same folder (the page must show exactly this)
    folder = tmp_path / "expected"
    shutil.copytree(county_dir, folder)
    (folder / "schools.csv").unlink()
    shutil.copy(bad, folder / "schools.xlsx")
    with pytest.raises(DataError) as info:
        load_county(folder)
    exc = info.value

    page.goto(server.url + "county")
    page.set_input_files("#upload-form input[type=file]", [str(bad)])
    page.click("#upload-form button")
    page.wait_for_selector("#problems")
    (row,) = _cells(page, "#problems")
    assert row == [exc.source, f"{exc.row} ({exc.ident})", exc.field, exc.rule]
    assert (exc.source, exc.row, exc.field) == ("schools.xlsx", 4, "floor_area_m2")
    _shot(page, shots, "county_problems")

    page.goto(server.url + "county")
    page.set_input_files("#upload-form input[type=file]", [str(good)])
    page.fill("#upload-form input[name=label]", "修正后 fixed")
    page.click("#upload-form button")
    page.wait_for_selector("#check-ok")
    page.goto(server.url + "county")
    assert "修正后 fixed" in page.inner_text("#county-list")


# --------------------------------------------------------------------------- scenario and run


def test_scenario_form_refuses_bad_values_then_saves_and_runs(site, browser, shots) -> None:
    server, *_ = site
    page, *_ = browser
    page.goto(server.url + "scenario?base=combined")
    page.fill("input[name=capital_wan]", "-300")
    page.fill("input[name=rotation_pct]", "5")
    page.fill("input[name=name]", "web plan")
    page.click("button[value=save]")
    page.wait_for_selector("#form-error")
    assert "≥ 0" in page.inner_text("#error-capital_wan")
    assert "国家要求下限" in page.inner_text("#error-rotation_pct")
    assert page.inner_text("#error-name")
    assert page.input_value("input[name=capital_wan]") == "-300"  # what was typed stays, to be fixed
    _shot(page, shots, "scenario_errors")

    page.fill("input[name=capital_wan]", "800")
    page.fill("input[name=rotation_pct]", "12")
    page.fill("input[name=name]", "web_plan")
    page.fill("input[name=time_limit_s]", "5")
    page.uncheck("input[name=lever_hires]")
    page.click("button[value=save]")
    page.wait_for_selector("#saved")
    saved = load_scenario(server.runs / ".web" / "scenarios" / "web_plan.yaml")
    assert saved.budget.capital_yuan == 8_000_000 and saved.rotation.min_share_of_eligible == 0.12
    assert saved.solver.time_limit_s == 5 and not saved.levers.hires and saved.levers.rotation
    _shot(page, shots, "scenario")

    page.click("button[value=run]")
    page.wait_for_url("**/runs/j-*")
    run_url = page.url
    # the page follows the run live (no reload): a stage is ticked while the run is still going
    page.wait_for_selector("#stages li.done", timeout=90_000)
    assert page.url == run_url
    page.reload()  # the run survives a reload
    assert page.url == run_url
    # the solver's best plan and bound appear while it solves (unless the run ends first)
    page.wait_for_function(
        "() => document.querySelector('#summary') !== null || "
        "(document.getElementById('solver-best').textContent !== '-' && "
        "document.getElementById('solver-bound').textContent !== '-')",
        timeout=90_000,
    )
    if page.query_selector("#summary") is None:
        assert "运行中" in page.inner_text("#run-state")
        assert float(page.inner_text("#solver-best")) >= float(page.inner_text("#solver-bound")) - 1e-6
        assert int(page.inner_text("#solver-solve")) >= 1
        _shot(page, shots, "run_progress")
    page.wait_for_selector("#summary", timeout=120_000)  # the page turns into the results when the run ends


def test_results_page_numbers_are_the_run_directory_s(site, browser, shots) -> None:
    server, client, *_ = site
    page, *_ = browser
    page.goto(server.url + "runs")
    page.click("#run-list a:text-is('web_plan')")
    page.wait_for_selector("#summary")
    run_dir = next(d for d in server.runs.iterdir() if d.name.startswith("web_plan-"))
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    before = pd.read_csv(run_dir / "before" / "summary.csv", encoding="utf-8-sig").set_index("stage")
    after = pd.read_csv(run_dir / "after" / "summary.csv", encoding="utf-8-sig").set_index("stage")
    for row in _cells(page, "#passing"):
        stage = row[0].split()[1]
        assert row[1] == f"{before.loc[stage, 'schools_passing']}/{before.loc[stage, 'schools_assessed']}"
        assert row[2] == f"{after.loc[stage, 'schools_passing']}/{after.loc[stage, 'schools_assessed']}"
    projects = pd.read_csv(run_dir / "plan" / "projects.csv", encoding="utf-8-sig")
    capital_wan = projects["cost_yuan"].sum() / 1e4
    assert page.inner_text("#capital").startswith(f"{capital_wan:,.0f} 万元" if capital_wan >= 100
                                                  else f"{capital_wan:,.1f} 万元")  # fmt: skip
    assert "800 万元" in page.inner_text("#capital")  # the budget typed in the form
    exchange = pd.read_csv(run_dir / "plan" / "exchange_list.csv", encoding="utf-8-sig")
    assert page.inner_text("#teachers-moved") == str(len(exchange))
    assign = pd.read_csv(run_dir / "plan" / "assignments.csv", encoding="utf-8-sig")
    assert page.inner_text("#rezoned") == str(int(assign.loc[assign["changed"].astype(bool), "pupils"].sum()))
    status = page.inner_text("#status-zh")
    assert ("已证明最优" in status) == (manifest["solver"]["status"] == "optimal")
    after_cv = pd.read_csv(run_dir / "after" / "balance.csv", encoding="utf-8-sig")
    cvs = _cells(page, "#cvs")
    assert [float(r[3]) for r in cvs] == pytest.approx(after_cv["cv"].round(3).tolist(), abs=1e-9)

    frame = page.frame_locator("#map")
    frame.locator("body[data-ready='1']").wait_for(timeout=15_000)
    widths = _loaded_widths(page, "img.static-map")
    assert len(widths) == sum(f.startswith("maps/") and f.endswith(".png") for f in manifest["files"]) > 0
    assert all(w > 0 for w in widths)
    links = page.eval_on_selector_all("#downloads a", "as => as.map(a => a.getAttribute('href'))")
    assert len(links) == len(manifest["files"])
    r = client.get(next(h for h in links if h.endswith("/plan_workbook.xlsx")))
    assert r.status_code == 200 and r.content == (run_dir / "plan_workbook.xlsx").read_bytes()
    _shot(page, shots, "results")


def test_two_submissions_at_once_give_two_runs_solved_one_at_a_time(site) -> None:
    server, client, _, ids = site
    assert len(set(ids)) == 2
    for rid in ids:
        assert wait_state(client, rid, {"finished", "failed", "interrupted"})["state"] == "finished"
    jobs = [server.runs / ".web" / "jobs" / rid[2:] for rid in ids]
    targets = [Path(json.loads((j / "job.json").read_text("utf-8"))["target"]) for j in jobs]
    assert targets[0] != targets[1]
    for t in targets:
        manifest = json.loads((t / "manifest.json").read_text("utf-8"))
        assert manifest["scenario"]["name"] == "baseline"
        assert all((t / f).is_file() for f in manifest["files"])
    spans = sorted(
        (json.loads((j / "started.json").read_text("utf-8"))["started"],
         json.loads((j / "result.json").read_text("utf-8"))["finished_at"]) for j in jobs
    )  # fmt: skip
    assert spans[0][1] <= spans[1][0]  # one solve at a time


def _loaded_widths(page: Page, selector: str) -> list[int]:
    """The natural widths of the images ``selector`` names, once each has loaded or failed (a broken image is
    complete too, at width 0): on a slow machine the last chart was still on its way when the table was there
    (CI: widths 1950, 840, 0)."""
    page.wait_for_function(f"() => [...document.querySelectorAll({json.dumps(selector)})].every(i => i.complete)")
    return page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.naturalWidth)")


def test_compare_page_shows_planner_compare_s_table_and_charts(site, browser, shots) -> None:
    server, client, _, ids = site
    page, *_ = browser
    wait_state(client, ids[0], {"finished"})
    # the form's run too: the compare page lists finished runs only (a row missing waits out Page.check's 30 s)
    jobs = [d for d in (server.runs / ".web" / "jobs").iterdir() if (d / "job.json").is_file()]
    web_jobs = [d.name for d in jobs if json.loads((d / "job.json").read_text("utf-8"))["scenario_name"] == "web_plan"]
    assert len(web_jobs) == 1
    wait_state(client, f"j-{web_jobs[0]}", {"finished"})
    page.goto(server.url + "compare")
    assert "web_plan" in page.inner_text("#compare-form"), page.inner_text("#compare-form")
    page.check("#compare-form tr:has-text('web_plan') input")
    page.check(f"#compare-form input[value='{ids[0]}']")
    page.click("#compare-form button")
    page.wait_for_selector("#compare-table table")
    runs = [next(d for d in server.runs.iterdir() if d.name.startswith("web_plan-"))]
    job = json.loads((server.runs / ".web" / "jobs" / ids[0][2:] / "job.json").read_text("utf-8"))
    runs.append(Path(job["target"]))
    expected = comparison_table(runs)
    rows = _cells(page, "#compare-table")
    assert [r[1] for r in rows] == expected["scenario"].tolist() == ["web_plan", "baseline"]
    head = page.eval_on_selector_all("#compare-table thead th", "hs => hs.map(h => h.innerText.trim())")
    cap = head.index("资本性支出 capital (yuan)")
    assert [float(r[cap].replace(",", "")) for r in rows] == pytest.approx(expected["capital_yuan"].tolist())
    widths = _loaded_widths(page, "img.chart")
    assert widths and all(w > 0 for w in widths)
    _shot(page, shots, "compare")
    page.goto(server.url + "runs")
    _shot(page, shots, "runs")


# --------------------------------------------------------------------------- safety


def test_forms_need_their_csrf_token_and_the_same_origin(site) -> None:
    server, client, *_ = site
    token = csrf(client)
    r = client.post("/runs", data={"county": "default", "scenario": "combined"})
    assert r.status_code == 403 and "表单已过期" in r.text and "Traceback" not in r.text
    r = client.post("/runs", data={"csrf": token, "county": "default", "scenario": "combined"},
                    headers={"Origin": "http://evil.example"})  # fmt: skip
    assert r.status_code == 403
    import httpx

    with httpx.Client(base_url=server.url) as stranger:  # no cookie: a form posted from another site
        r = stranger.post("/runs", data={"csrf": token, "county": "default", "scenario": "combined"})
        assert r.status_code == 403


def test_run_files_only_through_the_run_list(site) -> None:
    _, client, _, ids = site
    rid = ids[0]
    assert client.get(f"/runs/{rid}/files/manifest.json").status_code == 404  # not in the manifest's list
    for bad in ("%2e%2e/%2e%2e/etc/passwd", "..%2f..%2fjob.json", "/etc/passwd", "plan/../manifest.json"):
        r = client.get(f"/runs/{rid}/files/{bad}")
        assert r.status_code == 404 and "Traceback" not in r.text, bad
    assert client.get("/runs/d-..%2f.web").status_code == 404
    assert client.get("/runs/j-nope/progress").status_code == 404
    assert client.get("/county/..%2f..%2fetc").status_code == 404
    assert client.get("/compare/0123456789abcdef/files/..%2fjob.json").status_code == 404
    r = client.get("/scenario?base=../../etc/passwd")
    assert r.status_code == 404 and "不存在" in r.text and "Traceback" not in r.text


def test_oversized_upload_is_refused_with_a_message(tmp_path: Path) -> None:
    county = write_tiny_county(tmp_path / "county")
    server = Server(county, tmp_path / "runs", "--max-upload-mb", "1")
    try:
        with server.client() as client:
            token = csrf(client, "/county")
            r = client.post("/county/upload", data={"csrf": token, "base": "default"},
                            files={"files": ("schools.csv", b"x" * (2 * 1024 * 1024))})  # fmt: skip
            assert r.status_code == 413 and "上传内容过大" in r.text and "Traceback" not in r.text
            assert not (tmp_path / "runs" / ".web" / "counties").exists()
    finally:
        server.stop()


def test_token_guards_every_page(tmp_path: Path) -> None:
    county = write_tiny_county(tmp_path / "county")
    server = Server(county, tmp_path / "runs", "--token", "s3cret-token")
    try:
        with server.client() as client:
            r = client.get("/runs")
            assert r.status_code == 303 and r.headers["location"] == "/login"
            token = csrf(client, "/login")
            assert client.post("/login", data={"csrf": token, "token": "wrong-token"}).status_code == 401
            assert client.post("/login", data={"csrf": token, "token": "s3cret-token"}).status_code == 303
            assert client.get("/runs").status_code == 200
    finally:
        # uvicorn shuts down gracefully, then ends by the signal it caught
        assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)


def test_a_run_on_a_county_with_a_problem_fails_with_the_loader_s_message(site, tmp_path: Path) -> None:
    # the upload takes the broken workbook (only names and emptiness are checked on upload); the run's loader
    # then refuses it. Uploaded here over HTTP, so the test does not hang on the browser test's upload.
    server, client, county_dir, _ = site
    _, bad = _schools_workbooks(county_dir, tmp_path)
    token = csrf(client, "/county")
    with bad.open("rb") as fh:
        r = client.post("/county/upload", data={"csrf": token, "base": "default", "label": "坏数据 broken"},
                        files={"files": ("schools.xlsx", fh.read())})  # fmt: skip
    assert r.status_code == 303, r.text[:800]
    broken = r.headers["location"].rsplit("/", 1)[1]
    rid = submit_run(client, csrf(client), "baseline", county=broken)
    j = wait_state(client, rid, {"finished", "failed", "interrupted"})
    assert j["state"] == "failed"
    assert j["message"].startswith("schools.xlsx, row 4 (school_id") and "floor_area_m2" in j["message"]
    page = client.get(f"/runs/{rid}")
    assert page.status_code == 200 and "失败 failed" in page.text and "floor_area_m2" in page.text
    assert not [
        d for d in server.runs.iterdir() if d.name.startswith("baseline-") and not (d / "manifest.json").exists()
    ]


def test_an_incomplete_run_directory_gives_a_message_not_a_traceback(site) -> None:
    server, client, _, ids = site
    wait_state(client, ids[1], {"finished"})  # its run directory exists once it has finished
    job = json.loads((server.runs / ".web" / "jobs" / ids[1][2:] / "job.json").read_text("utf-8"))
    copy = server.runs / "copied-by-hand"
    shutil.copytree(job["target"], copy)
    (copy / "after" / "summary.csv").unlink()
    r = client.get("/runs/d-copied-by-hand")
    assert r.status_code == 400 and "after/summary.csv is missing" in r.text and "Traceback" not in r.text
