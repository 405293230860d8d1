"""The scenario form: a scenario of ``scenarios/`` with levers, budgets, caps, rotation targets
and the time limit changed by a planner, checked field by field, and written as YAML.

:func:`form_values` gives the form's fields for a scenario; :func:`parse_form` checks what the
browser sent and returns the scenario (validated by :func:`planner.scenario.scenario_from_dict`,
the same rules as a YAML file) or a message per field. Budgets are typed in 万元 (10,000 yuan).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from planner.errors import ScenarioError
from planner.scenario import Levers, Scenario, load_scenario, scenario_from_dict
from planner.web.security import is_safe_name

YUAN_PER_WAN = 10_000
#: national floor of the exchange policy (DOMAIN.md §1.2): 10% of eligible teachers, 20% of them backbone
ROTATION_FLOOR_PCT = 10.0
BACKBONE_FLOOR_PCT = 20.0
#: longest solver time limit the form accepts (seconds)
MAX_TIME_LIMIT_S = 4 * 3600

LEVER_LABELS: dict[str, str] = {
    "catchments": "学区划片调整 re-zoning",
    "new_schools": "新建学校 new schools",
    "expansions": "改扩建 expansions",
    "resources": "设施设备与功能室 equipment and rooms",
    "rotation": "教师交流轮岗 teacher rotation",
    "hires": "补充招聘教师 teacher recruitment",
    "closures": "撤并小规模学校 closures",
    "itinerant": "走教 itinerant teaching",
}


@dataclass(frozen=True)
class NumberField:
    """A number the form asks for: its name, label, unit, bounds and whether it may be left empty."""

    name: str
    label: str
    unit: str
    minimum: float
    maximum: float
    optional: bool = False
    above_minimum: bool = False  # strictly greater than ``minimum``


CAP_AREAS = (("urban", "城区 urban"), ("town", "镇区 town"), ("rural", "乡村 rural"))

NUMBER_FIELDS: tuple[NumberField, ...] = (
    NumberField("capital_wan", "资本性预算 capital budget", "万元", 0, 1e7, optional=True),
    NumberField("recurrent_wan", "经常性预算 recurrent budget", "万元/年", 0, 1e6, optional=True),
    *(NumberField(f"primary_{a}_min", f"小学 primary {zh}", "分钟 min", 0, 240, above_minimum=True)
      for a, zh in CAP_AREAS),
    *(NumberField(f"junior_{a}_min", f"初中 junior {zh}", "分钟 min", 0, 240, above_minimum=True)
      for a, zh in CAP_AREAS),
    NumberField("rotation_pct", "交流轮岗教师占符合条件教师比例 teachers rotated / eligible", "%",
                ROTATION_FLOOR_PCT, 100),
    NumberField("backbone_pct", "骨干教师占交流教师比例 backbone / rotated", "%", BACKBONE_FLOOR_PCT, 100),
    NumberField("time_limit_s", "求解时间上限 solver time limit", "秒 s", 0, MAX_TIME_LIMIT_S, above_minimum=True),
)  # fmt: skip
FIELDS_BY_NAME = {f.name: f for f in NUMBER_FIELDS}


@dataclass
class FormResult:
    """What :func:`parse_form` found: the scenario, or messages by field name (``""``: the whole form)."""

    values: dict[str, str]
    levers: dict[str, bool]
    errors: dict[str, str] = field(default_factory=dict)
    scenario: Scenario | None = None


def _num(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:g}" if abs(v) < 1e15 else f"{v:.0f}"


def form_values(scenario: Scenario) -> tuple[dict[str, str], dict[str, bool]]:
    """The form's text fields and lever checkboxes for ``scenario``."""
    d = scenario.distance
    b = scenario.budget
    values = {
        "name": scenario.name,
        "description_zh": scenario.description_zh,
        "capital_wan": _num(None if b.capital_yuan is None else b.capital_yuan / YUAN_PER_WAN),
        "recurrent_wan": _num(None if b.recurrent_yuan_per_year is None else b.recurrent_yuan_per_year / YUAN_PER_WAN),
        "rotation_pct": _num(round(scenario.rotation.min_share_of_eligible * 100, 6)),
        "backbone_pct": _num(round(scenario.rotation.min_backbone_share * 100, 6)),
        "time_limit_s": _num(scenario.solver.time_limit_s),
    }
    for area, _ in CAP_AREAS:
        values[f"primary_{area}_min"] = _num(getattr(d.primary_max_min, area))
        values[f"junior_{area}_min"] = _num(getattr(d.junior_max_min, area))
    levers = {k: bool(getattr(scenario.levers, k)) for k in Levers.model_fields}
    return values, levers


def parse_number(f: NumberField, text: str) -> tuple[float | None, str | None]:
    """The number typed into field ``f`` and ``None``, or ``None`` and the message shown at the field."""
    text = text.strip().replace(",", "").replace("，", "")
    if not text:
        return None, None if f.optional else "必填 required"
    try:
        v = float(text)
    except ValueError:
        return None, f"须为数字 must be a number (got {text[:30]!r})"
    if not math.isfinite(v):
        return None, "须为有限数字 must be a finite number"
    low_ok = v > f.minimum if f.above_minimum else v >= f.minimum
    if not low_ok:
        sign = ">" if f.above_minimum else "≥"
        why = "（国家要求下限 the national floor）" if f.name in ("rotation_pct", "backbone_pct") else ""
        return None, f"须 {sign} {f.minimum:g}{why} must be {sign} {f.minimum:g} {f.unit}"
    if v > f.maximum:
        return None, f"须 ≤ {f.maximum:g} must be at most {f.maximum:g} {f.unit}"
    return v, None


def parse_form(base: Scenario, form: Mapping[str, Any]) -> FormResult:
    """Check the form against ``base`` (the scenario it started from) and build the new scenario.

    Parameters
    ----------
    base : Scenario
        The scenario the form was filled from (every setting the form does not show is kept).
    form : mapping
        Field name → text; a lever is on when ``lever_<name>`` is present.

    Returns
    -------
    FormResult
        ``scenario`` set when every field passed, else ``errors`` by field.
    """
    values = {k: str(form.get(k, "") or "") for k in ("name", "description_zh", *FIELDS_BY_NAME)}
    levers = {k: f"lever_{k}" in form for k in Levers.model_fields}
    result = FormResult(values=values, levers=levers)
    name = values["name"].strip()
    if not is_safe_name(name):
        result.errors["name"] = ("须为 1–60 个汉字、字母、数字、下划线或连字符 must be 1-60 letters (Chinese too), "
                                 "digits, '_' or '-' (no spaces, dots or slashes)")  # fmt: skip
    if len(values["description_zh"]) > 500:
        result.errors["description_zh"] = "至多 500 字 at most 500 characters"
    nums: dict[str, float | None] = {}
    for f in NUMBER_FIELDS:
        v, err = parse_number(f, values[f.name])
        if err:
            result.errors[f.name] = err
        nums[f.name] = v
    if result.errors:
        return result
    raw = base.model_dump(mode="json")
    raw["name"] = name
    raw["description_zh"] = values["description_zh"].strip()
    raw["levers"] = levers
    raw["budget"]["capital_yuan"] = None if nums["capital_wan"] is None else nums["capital_wan"] * YUAN_PER_WAN
    rec = nums["recurrent_wan"]
    raw["budget"]["recurrent_yuan_per_year"] = None if rec is None else rec * YUAN_PER_WAN
    for area, _ in CAP_AREAS:
        raw["distance"]["primary_max_min"][area] = nums[f"primary_{area}_min"]
        raw["distance"]["junior_max_min"][area] = nums[f"junior_{area}_min"]
    raw["rotation"]["min_share_of_eligible"] = nums["rotation_pct"] / 100  # type: ignore[operator]
    raw["rotation"]["min_backbone_share"] = nums["backbone_pct"] / 100  # type: ignore[operator]
    raw["solver"]["time_limit_s"] = nums["time_limit_s"]
    try:
        result.scenario = scenario_from_dict(raw, source=f"{name}.yaml")
    except ScenarioError as exc:
        result.errors[""] = str(exc)
    return result


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario as a complete YAML file (every setting written; loads back to the same scenario)."""
    head = f"# 方案 {scenario.name}: written by planner serve (the web application's scenario form)\n"
    body = yaml.safe_dump(scenario.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
    return head + body


def scenario_files(scenarios_dir: Path, saved_dir: Path) -> dict[str, Path]:
    """Scenario name → file: the saved ones (written by the form) and those of ``scenarios/``.

    A name of ``scenarios/`` cannot be saved over, so each name is one file.
    """
    out: dict[str, Path] = {}
    for folder in (scenarios_dir, saved_dir):
        if folder.is_dir():
            for p in sorted(folder.glob("*.yaml")):
                if is_safe_name(p.stem):
                    out.setdefault(p.stem, p)
    return out


def load_named(files: dict[str, Path], name: str) -> Scenario:
    """Load the scenario called ``name`` (a key of :func:`scenario_files`).

    Raises
    ------
    ScenarioError
        No such scenario, or its file breaks a rule.
    """
    if name not in files:
        raise ScenarioError(f"方案 scenario '{name[:60]}' 不存在 does not exist")
    return load_scenario(files[name])
