"""planner serve without a browser: the scenario form, upload names, the problem table, and the
refusal to listen on a shared address without a token."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_county import write_tiny_county

from planner.cli import main
from planner.errors import DataError
from planner.loader import load_county
from planner.scenario import load_scenario
from planner.web.counties import DEFAULT_ID, CountySource, problems_of, store_upload
from planner.web.forms import form_values, parse_form, scenario_yaml
from planner.web.security import check_bind, is_loopback, is_safe_name

ROOT = Path(__file__).resolve().parents[1]


def _form(values: dict[str, str], levers: dict[str, bool]) -> dict[str, str]:
    out = dict(values)
    out.update({f"lever_{k}": "on" for k, on in levers.items() if on})
    return out


def test_form_round_trip_writes_the_scenario_it_shows(tmp_path: Path) -> None:
    base = load_scenario(ROOT / "scenarios" / "combined.yaml")
    values, levers = form_values(base)
    assert values["time_limit_s"] == "120" and values["rotation_pct"] == "10" and values["capital_wan"] == ""
    values.update(name="县里方案_1", capital_wan="8,000", recurrent_wan="150.5", primary_rural_min="35",
                  junior_town_min="50", rotation_pct="12.5", backbone_pct="25", time_limit_s="30")  # fmt: skip
    levers.update(closures=True, hires=False)
    res = parse_form(base, _form(values, levers))
    assert res.errors == {}
    sc = res.scenario
    assert sc is not None
    assert sc.budget.capital_yuan == 80_000_000 and sc.budget.recurrent_yuan_per_year == 1_505_000
    assert sc.distance.primary_max_min.rural == 35 and sc.distance.junior_max_min.town == 50
    assert sc.distance.primary_max_min.urban == base.distance.primary_max_min.urban
    assert sc.rotation.min_share_of_eligible == 0.125 and sc.rotation.min_backbone_share == 0.25
    assert sc.solver.time_limit_s == 30 and sc.solver.gap_rel == base.solver.gap_rel  # settings not shown are kept
    assert sc.levers.closures and not sc.levers.hires and sc.levers.rotation
    path = tmp_path / "县里方案_1.yaml"
    path.write_text(scenario_yaml(sc), encoding="utf-8")
    assert load_scenario(path) == sc  # the YAML written loads back to the same scenario


@pytest.mark.parametrize(
    ("field", "text", "words"),
    [
        ("capital_wan", "-5", "≥ 0"),
        ("capital_wan", "很多", "须为数字"),
        ("rotation_pct", "5", "国家要求下限"),
        ("backbone_pct", "101", "≤ 100"),
        ("primary_urban_min", "0", "> 0"),
        ("time_limit_s", "", "必填"),
        ("time_limit_s", "nan", "有限"),
        ("name", "../evil", "汉字、字母"),
        ("name", "a b", "汉字、字母"),
    ],
)
def test_form_refuses_a_bad_value_at_its_field(field: str, text: str, words: str) -> None:
    base = load_scenario(ROOT / "scenarios" / "combined.yaml")
    values, levers = form_values(base)
    values[field] = text
    res = parse_form(base, _form(values, levers))
    assert res.scenario is None
    assert list(res.errors) == [field] and words in res.errors[field]


def test_upload_keeps_contract_names_only(tmp_path: Path) -> None:
    county = write_tiny_county(tmp_path / "c")
    base = CountySource(DEFAULT_ID, "tiny", county, False)
    state = tmp_path / "state"
    got, problems = store_upload(base, [("../../etc/passwd", b"x"), ("schools.xlsx", b"")], state)
    assert got is None and [p.file for p in problems] == ["passwd", "schools.xlsx"]
    assert not (state / "counties").exists() or not any((state / "counties").iterdir())
    # a workbook sent from a Windows path replaces the base's CSV of that table
    got, problems = store_upload(base, [("C:\\Users\\科员\\Teachers.CSV", (county / "teachers.csv").read_bytes())],
                                 state)  # fmt: skip
    assert problems == [] and got is not None
    names = sorted(p.name for p in got.folder.iterdir() if not p.name.startswith("."))
    assert names == sorted(p.name for p in county.iterdir())
    assert got.folder.parent == state / "counties"
    load_county(got.folder)


def test_problem_table_row_names_file_row_field_and_rule() -> None:
    err = DataError("schools.xlsx", "must be a number, got 'abc'", row=4, ident="school_id P2", field="floor_area_m2")
    (p,) = problems_of(err)
    assert (p.file, p.row, p.field, p.rule) == ("schools.xlsx", "4 (school_id P2)", "floor_area_m2",
                                                "must be a number, got 'abc'")  # fmt: skip


def test_names_and_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    assert is_safe_name("统筹方案-2025_b")
    assert not is_safe_name("a/b") and not is_safe_name("..") and not is_safe_name("")
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "a-long-token")


@pytest.mark.parametrize(
    "args",
    [["--host", "0.0.0.0"], ["--host", "192.168.1.10", "--port", "0"], ["--host", "0.0.0.0", "--token", "short"]],
)
def test_serve_refuses_a_shared_address_without_a_token(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert "--token" in err and "Traceback" not in err


def test_serve_refuses_an_empty_password_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = tmp_path / "pw.txt"
    pw.write_text("\n", encoding="utf-8")
    assert main(["serve", "--host", "0.0.0.0", "--password-file", str(pw)]) == 2
    assert "pw.txt, row 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--port", "70000"], "--port 70000"), (["--parallel", "0"], "--parallel 0"),
     (["--data", "/nonexistent/county"], "县数据文件夹不存在")],
)  # fmt: skip
def test_serve_refuses_bad_options_with_a_message(args: list[str], words: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["serve", "--port", "0", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
