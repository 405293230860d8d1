"""School-places lever: new schools at candidate sites and expansions of existing schools.

A candidate site may host at most one standard design (``new_school_options`` of its
stage and no larger than the site's ``max_classes``); its land cost is paid once when it
opens. An existing school may take at most one of its expansion options (they are
alternatives, e.g. a 6- or a 12-classroom block). Both add classrooms, floor area and
sports area; a new school also brings the rooms and equipment of its design.

With the closures lever, a small public school (of the kinds and size the scenario
allows) may be closed (撤并): it then takes no pupils, all its teachers are redeployed
(planner/model/teachers.py), and its settlements go to other schools within their caps.
"""

from __future__ import annotations

import pandas as pd
import pulp

from planner.model.context import Lin, ModelContext
from planner.scenario import ClosureSettings

#: which site stages accept which design stages
_SITE_ACCEPTS = {"primary": {"primary"}, "junior": {"junior"}, "nine_year": {"nine_year"}}


def add_places(ctx: ModelContext) -> None:
    """Add existing capacity and resources, and the build/expand decisions."""
    inp, sc = ctx.inp, ctx.scenario
    units = inp.units
    for unit, row in units[~units["is_new"]].iterrows():
        ctx.classrooms[unit].add(None, float(row["classrooms"]))
        for k in ("floor_area", "sports_area", "equipment", "multimedia"):
            ctx.resource[(unit, "", k)].add(None, float(row[k]))
        ctx.music_rooms[unit].add(None, float(row["music_rooms"]))
        ctx.art_rooms[unit].add(None, float(row["art_rooms"]))

    sites = units[units["is_new"]]
    opts = inp.site_options
    for unit, row in sites.iterrows():
        is_open = Lin()
        ctx.site_open[unit] = is_open
        if not sc.levers.new_schools:
            continue
        allowed = opts[
            opts["stage"].isin(_SITE_ACCEPTS[row["site_stage"]]) & (opts["classes"] <= float(row["max_classes"]))
        ]
        for o in allowed.sort_values("option_id").itertuples(index=False):
            z = ctx.var("build", (unit, o.option_id), up=1, cat=pulp.LpBinary)
            is_open.add(z)
            ctx.classrooms[unit].add(z, float(o.classes))
            for k in ("floor_area", "sports_area", "equipment", "multimedia"):
                ctx.resource[(unit, "", k)].add(z, float(getattr(o, k)))
            ctx.music_rooms[unit].add(z, float(o.music_rooms))
            ctx.art_rooms[unit].add(z, float(o.art_rooms))
            ctx.capital_yuan.add(z, float(o.cost_yuan) + float(row["land_cost_yuan"]))
        if not is_open.is_constant():
            ctx.constrain(is_open, "<=", 1, f"one_design_{unit}")

    if sc.levers.closures:
        add_closures(ctx)

    if sc.levers.expansions and len(inp.expansions):
        for unit, group in inp.expansions.groupby("unit_id", sort=True):
            if unit not in units.index or not bool(units.loc[unit, "public"]):
                continue
            one = Lin()
            for e in group.sort_values("option_id").itertuples(index=False):
                y = ctx.var("expand", e.option_id, up=1, cat=pulp.LpBinary)
                one.add(y)
                ctx.classrooms[unit].add(y, float(e.added_classrooms))
                ctx.resource[(unit, "", "floor_area")].add(y, float(e.floor_area))
                ctx.resource[(unit, "", "sports_area")].add(y, float(e.sports_area))
                ctx.capital_yuan.add(y, float(e.cost_yuan))
            if len(group) > 1:
                ctx.constrain(one, "<=", 1, f"one_expansion_{unit}")


def closable_units(ctx: ModelContext) -> list[str]:
    """Public existing schools the scenario allows to close."""
    return closable_schools(ctx.inp.units, ctx.inp.parts, ctx.scenario.closures)


def closable_schools(units: pd.DataFrame, parts: pd.DataFrame, cl: ClosureSettings) -> list[str]:
    """Public existing schools of ``cl.kinds`` with at most ``cl.max_pupils`` pupils (both stages).

    Parameters
    ----------
    units : DataFrame
        :attr:`ModelInputs.units`.
    parts : DataFrame
        :attr:`ModelInputs.parts` (index unit_id, stage; column ``pupils``).
    cl : ClosureSettings
        The scenario's ``closures``.
    """
    pupils = parts["pupils"].groupby(level=0).sum()
    out = []
    for unit, row in units.iterrows():
        if row["is_new"] or not row["public"] or row["kind"] not in cl.kinds:
            continue
        if float(pupils.get(unit, 0.0)) <= cl.max_pupils:
            out.append(unit)
    return sorted(out)


def add_closures(ctx: ModelContext) -> None:
    """A binary ``close[u]`` per closable school; ``ctx.closed[u]`` is its expression."""
    for unit in closable_units(ctx):
        c = ctx.var("close", unit, up=1, cat=pulp.LpBinary)
        lin = Lin()
        lin.add(c)
        ctx.closed[unit] = lin
