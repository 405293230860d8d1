"""Scenario files: validation with one-line messages, inheritance."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.errors import ScenarioError
from planner.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_scenarios_load(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.name == path.stem
    assert sc.description_zh


def test_extends_merges_key_by_key() -> None:
    sc = load_scenario(ROOT / "scenarios" / "combined_budget_minus_20pct.yaml")
    assert sc.budget.scale == 0.8
    assert sc.levers.rotation and sc.levers.new_schools  # inherited from combined
    strict = load_scenario(ROOT / "scenarios" / "strict_distance.yaml")
    assert strict.distance.primary_max_min.urban == 10
    assert strict.distance.boarding_max_min == 90  # default kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nlevers: {rotaton: true}\n", "key levers.rotaton: unknown key"),
        (
            "name: x\nbudget: {capital_yuan: -5}\n",
            "key budget.capital_yuan: Input should be greater than or equal to 0",
        ),
        ("name: x\nsolver: {name: gurobi}\n", "key solver.name"),
        ("name: x\nrotation: {min_share_of_eligible: lots}\n", "key rotation.min_share_of_eligible"),
        ("name: x\nlevers: [1, 2\n", "not valid YAML"),
        ("extends: nowhere\n", "scenario file does not exist"),
    ],
)
def test_bad_scenarios_give_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_extends_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_run_refuses_a_scenario_naming_an_unknown_school(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A lever naming a school the county does not have: one line, exit 2, no run directory."""
    from tiny_county import write_tiny_county

    from planner.cli import main

    data = write_tiny_county(tmp_path / "county")
    yml = tmp_path / "named.yaml"
    yml.write_text(
        f"extends: {ROOT / 'scenarios' / 'combined.yaml'}\n"
        "catchment_rules:\n  contiguity: true\n  contiguity_exempt: [P999]\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    assert main(["run", str(yml), "--data", str(data), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "错误 error: scenario named, key catchment_rules.contiguity_exempt: school 'P999' does not exist in the county"
    ]
    assert not out.exists()
