"""The budget justification (预算编制说明) a finance bureau files, as Word (.docx) and Markdown.

:func:`write_budget_justification` writes ``budget_justification.docx`` and
``budget_justification.md`` with the same content, in Chinese only:

一、总体情况 — scenario (its Chinese name), budgets and amounts, the solve in words, schools
   passing before → after, re-zoning; then the summary tables: 表1 by project type against the
   budgets, 表2 by township, 表3 by year (phasing rule stated), 表4 funding sources
   (``parameters.yaml`` ``funding``, shares of both budgets);
二、项目安排 — projects grouped by township and school, each school's purchases (equipment,
   multimedia sets, music and art rooms) bundled into one procurement line (教学装备采购), each
   line with the standard it really serves and the school's value before → after the plan;
三、经常性支出 — recruits and rotation allowances, per year;
四、仍未达标事项 — what stays unmet, grouped by item and by what binds, the cost to meet it, and every
   cap that binds stated where it binds (recruits, capital budget, land, distance);
五、资金边际效益 — the re-solves at −/+ the marginal delta;
六、说明 — definitions, unit costs, data source;
落款 — issuing unit and date (``parameters.yaml`` ``issuer``);
附件1-3 — every project, every unmet item with its rule, the budget table.

The docx has page numbers (第 X 页 共 Y 页, PAGE / NUMPAGES fields in the footer). The content is
built once as a list of blocks and rendered twice, so the two files cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from planner.binding import REASONS_ZH
from planner.county import County
from planner.plan import Plan
from planner.plan.rezoning import rezoning_paragraph
from planner.plan.scope import scope_paragraph_zh
from planner.report.marginal import cost_totals
from planner.report.projects import PURCHASE_ZH, bundled_lines, project_lines, school_names, school_townships
from planner.report.workbook import budget_table
from planner.scenario import Scenario
from planner.schema import STAGE_ZH

log = logging.getLogger(__name__)

DOCX_NAME = "budget_justification.docx"
MD_NAME = "budget_justification.md"
TOTAL_ZH = "合计"
SUBTOTAL_ZH = "小计"
#: Header of the school-grouped project table (section 二), in order.
PROJECT_HEADER: tuple[str, ...] = (
    "序号", "乡镇", "学校", "项目", "建设或采购内容", "所补标准：规划前→规划后", "受益学生(人)", "金额(元)",
)  # fmt: skip
#: Header of the full project list (附件1).
ANNEX_PROJECT_HEADER: tuple[str, ...] = (
    "序号", "学校", "项目类型", "建设内容", "所补标准", "受益学生(人)", "金额(元)", "生均(元)",
)  # fmt: skip
#: Section headings, in order (the tests and docs/outputs.md name them).
SECTIONS: tuple[str, ...] = (
    "一、总体情况",
    "二、项目安排（按学校）",
    "三、经常性支出（每年）",
    "四、仍未达标事项及达标所需资金",
    "五、资金边际效益",
    "六、说明",
)
ANNEXES: tuple[str, ...] = ("附件1 资本性项目明细", "附件2 仍未达标事项明细", "附件3 预算对照表")
#: capital phasing: a new school is built over two years, half each; expansions and purchases in the first
NEW_SCHOOL_YEARS = 2
#: years of the plan period when the scenario has no horizon (三年行动计划)
PLAN_YEARS = 3


def yuan(x: float) -> str:
    """Yuan with thousands separators and two decimals (``1,234,567.00``)."""
    return f"{x:,.2f}"


def wan(x: float) -> str:
    """Ten-thousands of yuan (万元) with two decimals."""
    return f"{x / 1e4:,.2f}万元"


def pct(x: float) -> str:
    """A share as a percentage with one decimal (``12.3%``); blank for NaN."""
    return "" if x != x else f"{x:.1%}"


def scenario_zh(scenario: Scenario | None, code: str) -> str:
    """The scenario's Chinese name: ``description_zh`` up to its first colon (统筹方案), else the code."""
    desc = scenario.description_zh.strip() if scenario is not None else ""
    if desc:
        return re.split(r"[：:（(]", desc, maxsplit=1)[0].strip() or code
    return code


def solver_zh(plan: Plan) -> str:
    """The solve in Chinese words: proven optimal, or feasible with its gap, or no plan."""
    s = plan.solver
    if s.status == "optimal":
        return "求得最优解（已证明最优）"
    if s.status == "feasible":
        gap = f"，与已证明下界的相对间隙{s.gap:.2%}" if s.gap is not None and s.gap == s.gap else ""
        return f"限时求解得到可行方案{gap}（未证明最优）"
    return f"未求得可行方案（{s.status}），采用不作调整的方案"


def issue_date(county: County) -> dt.date:
    """The 落款 date: ``issuer.date`` of parameters.yaml, else today."""
    return county.parameters.issuer.date or dt.date.today()


def plan_years(scenario: Scenario | None, county: County) -> list[int]:
    """Years of the plan period: the scenario's horizon, else :data:`PLAN_YEARS` years after the issue year."""
    if scenario is not None and scenario.horizon is not None:
        return scenario.horizon.years
    first = issue_date(county).year + 1
    return list(range(first, first + PLAN_YEARS))


def phasing(lines: pd.DataFrame, recurrent_yuan_per_year: float, years: list[int]) -> pd.DataFrame:
    """Money by year: new schools split evenly over :data:`NEW_SCHOOL_YEARS`, the rest in the first year.

    Columns: year, new_school_yuan, expansion_yuan, purchase_yuan, capital_yuan, recurrent_yuan,
    total_yuan. Capital sums to the lines' total over the years; recurrent is paid every year.
    """
    n_new = max(1, min(NEW_SCHOOL_YEARS, len(years)))
    new = float(lines.loc[lines["kind"] == "new_school", "cost_yuan"].sum())
    exp = float(lines.loc[lines["kind"] == "expansion", "cost_yuan"].sum())
    other = float(lines.loc[~lines["kind"].isin(["new_school", "expansion"]), "cost_yuan"].sum())
    rows = []
    for i, y in enumerate(years):
        ns = new / n_new if i < n_new else 0.0
        ex = exp if i == 0 else 0.0
        pu = other if i == 0 else 0.0
        cap = ns + ex + pu
        rec = recurrent_yuan_per_year
        rows.append({"year": y, "new_school_yuan": ns, "expansion_yuan": ex, "purchase_yuan": pu, "capital_yuan": cap,
                     "recurrent_yuan": rec, "total_yuan": cap + rec})  # fmt: skip
    return pd.DataFrame(rows)


@dataclass
class _Doc:
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.blocks.append((f"h{level}", text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def right(self, text: str) -> None:
        self.blocks.append(("right", text))

    def page_break(self) -> None:
        self.blocks.append(("break", ""))

    def table(self, header: list[str], rows: list[list[str]], caption: str = "") -> None:
        if caption:
            self.blocks.append(("caption", caption))
        self.blocks.append(("table", (header, rows)))


# --------------------------------------------------------------------------- content


def _rezoning_zh(text: str) -> str:
    """The re-zoning paragraph with its file pointer turned into a pointer to the workbook."""
    return re.sub(r"明细见[^。]*。", "明细见规划方案工作簿“学区划分”“就近入学”表。", text)


def _summary(d: _Doc, plan: Plan, county: County, scenario: Scenario | None, lines: pd.DataFrame, n_items: int) -> None:
    """一、总体情况 with 表1-4; ``lines`` are the bundled project lines, ``n_items`` the plan's projects."""
    c = plan.costs
    name_zh = scenario_zh(scenario, plan.scenario_name)
    d.h(2, SECTIONS[0])
    method = "路网通行时间" if plan.distance_method == "network" else "直线距离估算（无路网数据）"
    hired = int(plan.hires["count"].sum()) if len(plan.hires) else 0
    d.p(
        f"本说明依据{name_zh}编制。资本性预算{wan(c['capital_budget_yuan'])}，安排资本性项目{len(lines)}项（新建学校"
        f"{int((lines['kind'] == 'new_school').sum())}所、改扩建{int((lines['kind'] == 'expansion').sum())}项、"
        f"{int((lines['kind'] == 'purchase').sum())}所学校的教学装备采购，逐项明细{n_items}项见附件1），"
        f"合计{wan(c['capital_yuan'])}，占预算"
        f"{pct(c['capital_yuan'] / c['capital_budget_yuan']) if c['capital_budget_yuan'] else '—'}；"
        f"经常性预算每年{wan(c['recurrent_budget_yuan_per_year'])}，安排每年{wan(c['recurrent_yuan_per_year'])}"
        f"（新招聘教师{hired}人及交流轮岗补贴）。"
    )
    d.p(f"方案由优化模型求得：{solver_zh(plan)}。学区与通学时间按{method}计算。")
    sb, sa = plan.before.summary, plan.after.summary
    for s_b, s_a in zip(sb.itertuples(index=False), sa.itertuples(index=False), strict=True):
        verdict = "达到" if bool(s_a.passes) else "尚未达到"
        d.p(f"{s_a.stage_zh}：达标学校由{s_b.schools_passing}所增至{s_a.schools_passing}所（参评{s_a.schools_assessed}所），"
            f"差异系数超标项由{s_b.cv_over}项变为{s_a.cv_over}项；规划实施后{verdict}优质均衡评估要求。")  # fmt: skip
    rezoning = plan.extra_tables.get("rezoning")
    if rezoning is not None and len(rezoning):
        d.p(_rezoning_zh(rezoning_paragraph(rezoning)))
    scope = plan.extra_tables.get("scope_changes")
    if scope is not None and len(scope):
        d.p(scope_paragraph_zh(scope, plan.after.standards.scope.teaching_point_min_pupils))

    # 表1 by project type against the budgets
    cap_b, rec_b = float(c["capital_budget_yuan"]), float(c["recurrent_budget_yuan_per_year"])
    cap, rec = float(c["capital_yuan"]), float(c["recurrent_yuan_per_year"])
    rows: list[list[str]] = []
    for kind, zh in (("new_school", "新建学校"), ("expansion", "改扩建"), ("purchase", PURCHASE_ZH),
                     ("closure", "撤并")):  # fmt: skip
        g = lines[lines["kind"] == kind]
        if len(g):
            amt = float(g["cost_yuan"].sum())
            rows.append(["资本性", zh, f"{len(g)}", yuan(amt), pct(amt / cap_b if cap_b else math.nan)])
    rows.append(["资本性", SUBTOTAL_ZH, f"{len(lines)}", yuan(cap), pct(cap / cap_b if cap_b else math.nan)])
    rows.append(["资本性", "预算", "", yuan(cap_b), ""])
    rows.append(["资本性", "结余", "", yuan(cap_b - cap), pct((cap_b - cap) / cap_b if cap_b else math.nan)])
    uc = county.parameters.unit_costs
    hires_yuan = float(plan.hires["cost_yuan_per_year"].sum()) if len(plan.hires) else 0.0
    rot = int((plan.exchange_list["kind"] == "rotation").sum()) if len(plan.exchange_list) else 0
    rec_share = (lambda x: pct(x / rec_b)) if rec_b else (lambda x: "")
    rows += [
        ["经常性(每年)", "新招聘教师", f"{hired}", yuan(hires_yuan), rec_share(hires_yuan)],
        ["经常性(每年)", "交流轮岗补贴", f"{rot}", yuan(rot * uc.rotation_allowance_yuan_per_year),
         rec_share(rot * uc.rotation_allowance_yuan_per_year)],
        ["经常性(每年)", SUBTOTAL_ZH, "", yuan(rec), rec_share(rec)],
        ["经常性(每年)", "预算", "", yuan(rec_b), ""],
        ["经常性(每年)", "结余", "", yuan(rec_b - rec), rec_share(rec_b - rec)],
    ]  # fmt: skip
    d.table(["类别", "项目类型", "数量", "金额(元)", "占预算"], rows, caption="表1 资金安排汇总（按项目类型）")
    d.p("数量：新建、改扩建为项目数，教学装备采购为学校数（每校合并为一个采购项目），经常性支出为人数。")

    # 表2 by township
    names_t = (
        plan.hires.assign(township=plan.hires["school_id"].map(school_townships(plan, county)).fillna(""))
        if len(plan.hires)
        else pd.DataFrame(columns=["township", "cost_yuan_per_year", "count"])
    )
    towns = sorted(set(lines["township_zh"]) | set(names_t["township"]))
    rows2 = []
    for t in towns:
        g = lines[lines["township_zh"] == t]
        h = names_t[names_t["township"] == t]
        amt = float(g["cost_yuan"].sum())
        rows2.append([t or "（未定）", f"{g['school_id'].nunique()}", f"{len(g)}", yuan(amt),
                      pct(amt / cap if cap else math.nan),
                      f"{int(h['count'].sum())}", yuan(float(h["cost_yuan_per_year"].sum()))])  # fmt: skip
    rows2.append([TOTAL_ZH, f"{lines['school_id'].nunique()}", f"{len(lines)}", yuan(float(lines["cost_yuan"].sum())),
                  pct(1.0) if cap else "", f"{hired}", yuan(hires_yuan)])  # fmt: skip
    d.table(["乡镇", "学校数", "资本性项目数", "资本性金额(元)", "占资本性支出", "招聘教师(人)",
             "招聘经费(元/年)"], rows2,
            caption="表2 资金安排汇总（按乡镇）")  # fmt: skip

    # 表3 by year
    years = plan_years(scenario, county)
    ph = phasing(lines, rec, years)
    rows3 = [[f"{r.year}年", yuan(r.new_school_yuan), yuan(r.expansion_yuan), yuan(r.purchase_yuan),
              yuan(r.capital_yuan), yuan(r.recurrent_yuan), yuan(r.total_yuan)]
             for r in ph.itertuples(index=False)]  # fmt: skip
    rows3.append([TOTAL_ZH, yuan(ph["new_school_yuan"].sum()), yuan(ph["expansion_yuan"].sum()),
                  yuan(ph["purchase_yuan"].sum()), yuan(ph["capital_yuan"].sum()), yuan(ph["recurrent_yuan"].sum()),
                  yuan(ph["total_yuan"].sum())])  # fmt: skip
    d.table(["年度", "新建学校(元)", "改扩建(元)", "教学装备采购(元)", "资本性小计(元)", "经常性(元)",
             "合计(元)"], rows3,
            caption="表3 分年度资金安排")  # fmt: skip
    d.p(f"分年度安排规则：规划期{years[0]}—{years[-1]}年；新建学校建设期{NEW_SCHOOL_YEARS}年，每年安排一半；改扩建和教学装备采购"
        f"在第一年安排；新招聘教师和交流轮岗补贴每年安排。资本性预算{wan(cap_b)}为规划期合计，"
        f"经常性预算{wan(rec_b)}为每年额度。")  # fmt: skip

    # 表4 funding sources
    rows4 = []
    for f in county.parameters.funding:
        rows4.append([f.source_zh, pct(f.share), yuan(cap * f.share), yuan(rec * f.share)])
    rows4.append([TOTAL_ZH, pct(sum(f.share for f in county.parameters.funding)), yuan(cap), yuan(rec)])
    d.table(["资金来源", "分担比例", "资本性(元)", "经常性(元/年)"], rows4, caption="表4 资金来源")
    d.p("资金来源及分担比例取自县级参数，资本性和经常性支出按同一比例分担。")


def _projects(d: _Doc, b: pd.DataFrame) -> None:
    d.h(2, SECTIONS[1])
    rows: list[list[str]] = []
    for i, r in enumerate(b.itertuples(index=False), start=1):
        rows.append([str(i), r.township_zh, f"{r.name_zh}（{r.school_id}）", r.kind_zh, r.content_zh,
                     r.effect_zh or r.serves_zh, f"{r.pupils_served:,d}",
                     yuan(r.cost_yuan)])  # fmt: skip
    rows.append([TOTAL_ZH, "", "", "", "", "", "", yuan(float(b["cost_yuan"].sum()) if len(b) else 0.0)])
    d.table(list(PROJECT_HEADER), rows, caption="表5 资本性项目安排（按乡镇、学校）")
    d.p(f"每所学校的教学仪器设备、网络多媒体教室、音乐和美术专用教室合并为一个“{PURCHASE_ZH}”项目，统一政府采购；"
        "受益学生：新建学校为划入的学生数，其余为该校规划后在校生数（两学段合计）。逐项明细见附件1。")  # fmt: skip


def _recurrent(d: _Doc, plan: Plan, county: County) -> None:
    d.h(2, SECTIONS[2])
    names = school_names(plan, county)
    uc = county.parameters.unit_costs
    c = plan.costs
    parts = plan.after.parts.set_index(["school_id", "stage"])["pupils"]
    rows = []
    for h in plan.hires.itertuples(index=False):
        n = int(parts.get((h.school_id, h.stage), 0))
        rows.append([f"{names.get(h.school_id, '')}（{h.school_id}）", STAGE_ZH.get(h.stage, h.stage),
                     "招聘体育、艺术教师" if h.pe_art else "招聘教师", f"{int(h.count)}", f"{n:,d}",
                     yuan(h.cost_yuan_per_year)])  # fmt: skip
    ex = plan.exchange_list
    kinds = ex["kind"].value_counts() if len(ex) else pd.Series(dtype=int)
    rot = int(kinds.get("rotation", 0))  # the allowance goes with the outbound leg
    rows.append(["全县", "", f"交流轮岗补贴（每人每年{yuan(uc.rotation_allowance_yuan_per_year)}元）", f"{rot}", "",
                 yuan(rot * uc.rotation_allowance_yuan_per_year)])  # fmt: skip
    rows.append([TOTAL_ZH, "", "", "", "", yuan(c["recurrent_yuan_per_year"])])
    d.table(["学校", "学段", "事项", "人数", "该学段学生(人)", "金额(元/年)"], rows, caption="表6 经常性支出（每年）")
    n_rot, n_ret = int(kinds.get("rotation", 0)), int(kinds.get("return", 0))
    n_new, n_it = int(kinds.get("redeployment", 0)), int(kinds.get("itinerant", 0))
    walk = f"，走教{n_it}人（计入原校，不计入接收学校指标）" if n_it else ""
    d.p(f"教师交流按政策方向安排：城区、镇区和教师指标达标的学校向农村学校和薄弱学校轮岗{n_rot}人，"
        f"双向交流回流{n_ret}人（每校回流不超过其接收的轮岗人数），新建学校调配{n_new}人"
        f"（仅从城区、镇区学校调配，其余由新招聘教师补充）{walk}。任何学校不调出其某一学科的最后一名教师；"
        "规划前已低于编制标准的学校不减少教师。交流轮岗补贴按赴农村学校和薄弱学校轮岗的人数计算。")  # fmt: skip


def _caps(plan: Plan, county: County, scenario: Scenario | None, unmet: pd.DataFrame | None) -> list[str]:
    """One sentence per cap that binds some unmet item, stating the cap."""
    if unmet is None or not len(unmet):
        return []
    codes = unmet["binds"].astype(str).str.split(";").explode()
    counts = codes.value_counts()
    out: list[str] = []
    c = plan.costs
    uc = county.parameters.unit_costs
    if counts.get("staffing", 0):
        hired = int(plan.hires["count"].sum()) if len(plan.hires) else 0
        cap = scenario.hires.max_total if scenario is not None else hired
        left = float(c["recurrent_budget_yuan_per_year"]) - float(c["recurrent_yuan_per_year"])
        more = int(left // uc.teacher_hire_yuan_per_year) if uc.teacher_hire_yuan_per_year else 0
        out.append(f"招聘名额：本方案新招聘教师上限{cap}人，已招聘{hired}人，名额用尽，{int(counts['staffing'])}项教师类指标"
                   f"因此未达标；经常性预算每年尚余{wan(left)}，按每人每年{wan(uc.teacher_hire_yuan_per_year)}可再招聘"
                   f"{more}人，需编制部门核增招聘名额后方可使用。")  # fmt: skip
    if counts.get("capital_budget", 0):
        left = float(c["capital_budget_yuan"]) - float(c["capital_yuan"])
        out.append(f"资本性预算：预算{wan(c['capital_budget_yuan'])}已安排{wan(c['capital_yuan'])}，结余{wan(left)}，"
                   f"不足以购置下一项所需设施，{int(counts['capital_budget'])}项因资金不足未达标。")  # fmt: skip
    if counts.get("recurrent_budget", 0):
        out.append(f"经常性预算：每年{wan(c['recurrent_budget_yuan_per_year'])}已基本用完，"
                   f"{int(counts['recurrent_budget'])}项因经常性经费不足未达标。")  # fmt: skip
    if counts.get("land", 0):
        rows = unmet[unmet["binds"].astype(str).str.contains("land")]
        schools = rows.drop_duplicates("school_id")
        listed = "、".join(schools["name_zh"].astype(str).head(8)) + ("等" if len(schools) > 8 else "")
        out.append(f"用地：{len(schools)}所学校（{listed}）无可选的扩建方案或扩建用地，校舍、运动场或教室不足的"
                   f"{len(rows)}项无法通过改扩建解决，需另行落实用地。")  # fmt: skip
    if counts.get("distance_cap", 0) or counts.get("capacity", 0):
        if scenario is not None:
            p, j = scenario.distance.primary_max_min, scenario.distance.junior_max_min
            caps = (f"小学城区{p.urban:g}、镇区{p.town:g}、农村{p.rural:g}分钟，初中城区{j.urban:g}、镇区{j.town:g}、"
                    f"农村{j.rural:g}分钟")  # fmt: skip
        else:
            caps = "按方案设定"
        n = int(counts.get("distance_cap", 0) + counts.get("capacity", 0))
        out.append(f"服务半径：通学时间上限为{caps}；{n}项因服务半径内没有其他学校或学位不足而无法通过调整学区解决。")
    if counts.get("rotation_pool", 0):
        out.append(f"交流人员：{int(counts['rotation_pool'])}项因服务半径内符合条件的交流教师不足未达标。")
    if counts.get("private_school", 0):
        out.append(f"民办学校：{int(counts['private_school'])}项属民办学校，由举办者自筹解决，不列入本预算。")
    return out


def _unmet(d: _Doc, plan: Plan, county: County, scenario: Scenario | None, costs: pd.DataFrame) -> None:
    d.h(2, SECTIONS[3])
    t = cost_totals(costs)
    unmet = plan.extra_tables.get("unmet")
    if not len(costs):
        d.p("规划实施后，资源配置7项指标和可核查的政府保障项目全部达标。")
    else:
        n_ind = int((costs["source"] == "indicator").sum())
        n_g = int((costs["source"] == "guarantee").sum())
        d.p(f"规划实施后仍有{n_ind}个学校-指标低于标准、{n_g}项政府保障项目未达标。按附件2所列规则估算，公办学校全部达标还需"
            f"资本性资金{wan(t['capital_yuan'])}，经常性资金每年{wan(t['recurrent_yuan_per_year_lower'])}至"
            f"{wan(t['recurrent_yuan_per_year_upper'])}（教师类各项可能重叠，一名本科学历体育教师可同时计入两项指标和编制；"
            "下限为每校每学段取最大一项）。"
            + (f"民办学校另需资本性{wan(t['private_capital_yuan'])}、经常性每年"
               f"{wan(t['private_recurrent_yuan_per_year'])}，由举办者自筹，不列入本预算。"
               if t["private_capital_yuan"] or t["private_recurrent_yuan_per_year"] else "")
            + (f"另有{t['not_priced']}项需调整学校布局或学区划片，未估价。" if t["not_priced"] else ""))  # fmt: skip
        # grouped: item x what binds
        binds = {}
        if unmet is not None and len(unmet):
            u = unmet[unmet["source"] != "distance"]
            binds = {(r.item, r.school_id or "", r.stage or ""): str(r.binds) for r in u.itertuples(index=False)}
        g = costs.assign(
            binds=[binds.get((r.item, r.school_id or "", r.stage or ""), "trade_off") for r in costs.itertuples()],
            cost=costs["cost_yuan"].fillna(0.0),
        )
        g["binds_zh"] = ["；".join(REASONS_ZH.get(b, b) for b in str(x).split(";")) for x in g["binds"]]
        kind = {"capital": "资本性", "recurrent": "经常性(每年)", "not_priced": "未估价"}
        summary = (g.groupby(["item_zh", "binds_zh", "cost_kind"], sort=False)
                   .agg(n=("item", "size"), schools=("school_id", "nunique"), cost=("cost", "sum"))
                   .reset_index())  # fmt: skip
        rows = [[r.item_zh, r.binds_zh, f"{r.n}", f"{r.schools}", kind.get(r.cost_kind, r.cost_kind),
                 yuan(r.cost) if r.cost_kind != "not_priced" else "—"]
                for r in summary.itertuples(index=False)]  # fmt: skip
        d.table(["未达标事项", "制约因素", "项数", "学校数", "性质", "达标所需资金(元)"], rows,
                caption="表7 仍未达标事项汇总（按事项和制约因素）")  # fmt: skip
    caps = _caps(plan, county, scenario, unmet)
    if caps:
        d.p("制约因素说明：")
        for s in caps:
            d.p(s)
    far = unmet[unmet["source"] == "distance"] if unmet is not None and len(unmet) else None
    if far is not None and len(far):
        none = far[far["binds"] == "distance_cap"]
        full = far[far["binds"] != "distance_cap"]
        d.p(f"服务半径外就读：{len(far)}个居民点学段（{int(far['pupils_affected'].sum()):,}名学生）仍在服务半径以外就读，其中"
            f"{len(none)}个（{int(none['pupils_affected'].sum()):,}名）服务半径内没有学校或已建校址，需新建学校或调整服务半径；"
            f"{len(full)}个（{int(full['pupils_affected'].sum()):,}名）服务半径内的学校学位不足。")  # fmt: skip


def _marginal(d: _Doc, marginal: pd.DataFrame | None) -> None:
    d.h(2, SECTIONS[4])
    if marginal is None or not len(marginal):
        d.p("本次未进行预算增减测算。")
        return
    m = marginal.sort_values("scale").reset_index(drop=True)
    status_zh = {"optimal": "最优", "feasible": "可行（未证明最优）"}
    rows = [[r.label, yuan(r.capital_budget_yuan), yuan(r.recurrent_budget_yuan_per_year), yuan(r.capital_yuan),
             yuan(r.recurrent_yuan_per_year), f"{int(r.unmet_indicators)}", f"{r.shortfall_index:.3f}",
             f"{int(r.schools_passing)}", f"{int(r.cv_over)}", f"{int(r.guarantee_unmet)}",
             status_zh.get(str(r.status), str(r.status))
             + ("" if r.gap is None or r.gap != r.gap else f"，间隙{r.gap:.2%}")]
            for r in m.itertuples(index=False)]  # fmt: skip
    head = ["预算变动", "资本性预算(元)", "经常性预算(元/年)", "资本性支出(元)", "经常性支出(元/年)", "未达标校-指标数",
            "缺口指数", "达标学校数", "差异系数超标项", "保障项未达标", "求解结果"]  # fmt: skip
    d.table(head, rows, caption="表8 预算增减测算")
    base = m[m["label"] == "0%"]
    if len(base):
        b0 = base.iloc[0]
        for r in m.itertuples(index=False):
            if r.label == "0%":
                continue
            more = r.scale > b0["scale"]
            di = r.shortfall_index - float(b0["shortfall_index"])
            n0, n1 = int(b0["unmet_indicators"]), int(r.unmet_indicators)
            change = f"保持{n0}个不变" if n1 == n0 else f"由{n0}个{'减少' if n1 < n0 else '增加'}至{n1}个"
            d.p(f"预算{'增加' if more else '减少'}{abs(r.scale / b0['scale'] - 1):.0%}"
                f"（资本性{wan(r.capital_budget_yuan)}、经常性每年{wan(r.recurrent_budget_yuan_per_year)}）："
                f"未达标校-指标数{change}，缺口指数{float(b0['shortfall_index']):.3f}→{r.shortfall_index:.3f}"
                f"（{di:+.3f}），达标学校{int(r.schools_passing)}所"
                f"（基准{int(b0['schools_passing'])}所）。")  # fmt: skip
            trade = _passing_against_unmet(int(b0["schools_passing"]), int(r.schools_passing), n0, n1)
            if trade:
                d.p(trade)
    if (m["status"] != "optimal").any():
        labels = "、".join(m.loc[m["status"] != "optimal", "label"])
        d.p("注：" + labels + "的测算为限时求解，未证明最优，各预算之间的差异"
            "是所得方案之间的差异，可能不单调。")  # fmt: skip
    d.p("未达标校-指标数：规划后评估中低于标准的“学校学段×指标”个数；缺口指数：这些学校-指标的Σ(1−实际值/标准)，"
        "每项在0（刚好不达标）到1（完全没有该项资源）之间。两者均由评估程序对各次求解结果重新评估得出。")  # fmt: skip


def _passing_against_unmet(passing0: int, passing1: int, unmet0: int, unmet1: int) -> str:
    """The sentence a finance bureau needs where a re-solve passes fewer schools with fewer unmet school-indicators
    (or more with more) than the plan: why the two counts move apart; empty where they do not.

    The objective counts what inspectors count first, whole schools passing, then the balance (CVs), then single
    shortfalls; so a budget's plan may leave more single indicators unmet and make more schools pass whole. The
    sentence states that order and the counts, not a story of where the money went (确山's −10%: fewer unmet
    items, but a larger shortfall index).
    """
    if not ((passing1 < passing0 and unmet1 < unmet0) or (passing1 > passing0 and unmet1 > unmet0)):
        return ""
    fewer = passing1 < passing0
    k, j = abs(passing1 - passing0), abs(unmet1 - unmet0)
    return (
        f"注：此处达标学校{'少' if fewer else '多'}{k}所，未达标校-指标数却{'少' if fewer else '多'}{j}个，"
        "两者方向相反。规划按督导评估的先后计分：先计达标学校数（按校计），其次差异系数，最后才计单项缺口；"
        f"{'基准方案' if fewer else '该方案'}以多{k}所学校整校达标为先，未达标的单项个数不是优先减少的目标。"
    )


def _notes(d: _Doc, plan: Plan, county: County) -> None:
    d.h(2, SECTIONS[5])
    uc = county.parameters.unit_costs
    d.p("评估标准：《县域义务教育优质均衡发展督导评估办法》（教督〔2017〕6号）。单价取自县级参数："
        f"校舍每平方米{yuan(uc.building_yuan_per_m2)}元，运动场馆每平方米{yuan(uc.sports_ground_yuan_per_m2)}元，"
        f"多媒体教室每间{yuan(uc.multimedia_room_yuan)}元，音乐教室每间{yuan(uc.music_room_yuan)}元，"
        f"美术教室每间{yuan(uc.art_room_yuan)}元，"
        f"新招聘教师每人每年{yuan(uc.teacher_hire_yuan_per_year)}元。")  # fmt: skip
    if county.synthetic:
        d.p("数据来源：本县数据为程序生成的合成数据，仅用于演示规划方法，数字不代表任何真实学校和村庄。")
    elif county.parameters.data_source:
        d.p(f"数据来源：{county.parameters.data_source}")


def _sign(d: _Doc, county: County) -> None:
    day = issue_date(county)
    d.p("")
    d.right(county.parameters.issuing_unit_zh)
    d.right(f"{day.year}年{day.month}月{day.day}日")


def _annexes(d: _Doc, lines: pd.DataFrame, plan: Plan, county: County, costs: pd.DataFrame) -> None:
    d.page_break()
    d.h(2, ANNEXES[0])
    rows = []
    for i, r in enumerate(lines.itertuples(index=False), start=1):
        per = "—" if not r.pupils_served else yuan(r.cost_yuan / r.pupils_served)
        rows.append([str(i), f"{r.name_zh}（{r.school_id}）", r.kind_zh, r.content_zh, r.serves_zh,
                     f"{r.pupils_served:,d}", yuan(r.cost_yuan), per])  # fmt: skip
    rows.append([TOTAL_ZH, "", "", "", "", "", yuan(float(lines["cost_yuan"].sum()) if len(lines) else 0.0), ""])
    d.table(list(ANNEX_PROJECT_HEADER), rows)
    d.page_break()
    d.h(2, ANNEXES[1])
    if not len(costs):
        d.p("无。")
    else:
        unmet = plan.extra_tables.get("unmet")
        binds: dict[tuple[str, str, str], str] = {}
        if unmet is not None and len(unmet):
            u = unmet[unmet["source"] != "distance"]
            binds = {(r.item, r.school_id or "", r.stage or ""): str(r.binds_zh) for r in u.itertuples(index=False)}
        kind = {"capital": "资本性", "recurrent": "经常性(每年)", "not_priced": "未估价"}
        rows5 = []
        for r in costs.itertuples(index=False):
            school = f"{r.name_zh}（{r.school_id}）" if r.school_id else "全县"
            if not r.public:
                school += "〔民办〕"
            stage = STAGE_ZH.get(r.stage, "") if r.stage else ""
            rows5.append([school, stage, r.item_zh, f"{r.shortfall:,.2f}{r.unit}",
                          binds.get((r.item, r.school_id or "", r.stage or ""), ""), kind.get(r.cost_kind, r.cost_kind),
                          "—" if pd.isna(r.cost_yuan) else yuan(r.cost_yuan), r.rule_zh])  # fmt: skip
        d.table(["学校", "学段", "未达标事项", "差额", "制约因素", "性质", "估算金额(元)", "估算规则"], rows5)
    d.page_break()
    d.h(2, ANNEXES[2])
    b = budget_table(plan, county)
    zh = {"capital": "资本性", "recurrent": "经常性(每年)"}
    rows6 = [[zh[r.section], r.item_zh, "" if pd.isna(r.count) else f"{int(r.count)}", yuan(r.amount_yuan),
              "" if pd.isna(r.share_of_budget) else pct(r.share_of_budget)]
             for r in b.itertuples(index=False)]  # fmt: skip
    d.table(["类别", "项目", "数量", "金额(元)", "占预算"], rows6)


def _content(
    plan: Plan, county: County, marginal: pd.DataFrame | None, costs: pd.DataFrame, scenario: Scenario | None
) -> _Doc:
    d = _Doc()
    name = county.name_zh or "本县"
    d.h(1, f"{name}{scenario_zh(scenario, '')}义务教育优质均衡发展项目预算编制说明")
    if county.synthetic:
        d.p("（本说明基于合成数据生成，仅供演示，不代表真实学校情况。）")
    lines = project_lines(plan, county)
    bundled = bundled_lines(lines)
    _summary(d, plan, county, scenario, bundled, len(lines))
    _projects(d, bundled)
    _recurrent(d, plan, county)
    _unmet(d, plan, county, scenario, costs)
    _marginal(d, marginal)
    _notes(d, plan, county)
    _sign(d, county)
    _annexes(d, lines, plan, county, costs)
    return d


# --------------------------------------------------------------------------- rendering


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: _Doc) -> str:
    """Markdown of the blocks (pipe tables)."""
    out: list[str] = []
    for kind, body in doc.blocks:
        if kind.startswith("h"):
            out.append("#" * int(kind[1:]) + " " + body)
        elif kind in ("p", "right"):
            out.append(body)
        elif kind == "caption":
            out.append(f"**{body}**")
        elif kind == "break":
            out.append("---")
        else:
            header, rows = body
            out.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            out.append("|" + "|".join("---" for _ in header) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
        out.append("")
    return "\n".join(out)


def _field(paragraph: Any, instr: str) -> None:
    """Append a Word field (``PAGE``, ``NUMPAGES``) to ``paragraph``: begin, instruction, separate, result, end."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def run_with(child: Any) -> None:
        r = OxmlElement("w:r")
        r.append(child)
        paragraph._p.append(r)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instr} "
    run_with(text)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    res = OxmlElement("w:t")
    res.text = "1"
    run_with(res)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def render_docx(doc: _Doc, path: Path, *, title: str = "") -> None:
    """A Word document of the blocks: headings, paragraphs, real tables, page numbers; CJK font set."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    d = Document()
    sec = d.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Cm(29.7), Cm(21.0)
    for m in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, m, Cm(2.0))
    for style_name in ("Normal", "Heading 1", "Heading 2", "Table Grid", "Caption"):
        st = d.styles[style_name]
        rpr = st.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(fonts)
        fonts.set(qn("w:eastAsia"), "SimSun" if style_name in ("Normal", "Table Grid", "Caption") else "SimHei")
    d.styles["Normal"].font.size = Pt(10.5)
    foot = sec.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    foot.add_run("第 ")
    _field(foot, "PAGE")
    foot.add_run(" 页 共 ")
    _field(foot, "NUMPAGES")
    foot.add_run(" 页")
    for kind, body in doc.blocks:
        if kind.startswith("h"):
            h = d.add_heading(body, level=int(kind[1:]))
            if kind == "h1":
                h.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif kind == "p":
            d.add_paragraph(body)
        elif kind == "right":
            d.add_paragraph(body).alignment = WD_ALIGN_PARAGRAPH.RIGHT
        elif kind == "caption":
            cap = d.add_paragraph(body, style="Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif kind == "break":
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        else:
            header, rows = body
            t = d.add_table(rows=1 + len(rows), cols=len(header))
            t.style = d.styles["Table Grid"]
            t.alignment = WD_TABLE_ALIGNMENT.CENTER
            hdr = t.rows[0]
            # the header row repeats on every page the table runs over
            trpr = hdr._tr.get_or_add_trPr()
            rep = trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"})
            trpr.append(rep)
            for j, h in enumerate(header):
                cell = hdr.cells[j]
                cell.text = h
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row, r in zip(list(t.rows)[1:], rows, strict=True):
                cells = row.cells
                for cell, v in zip(cells, r, strict=True):
                    cell.text = str(v)
                if (r and r[0] in (TOTAL_ZH, SUBTOTAL_ZH)) or (len(r) > 1 and r[1] == SUBTOTAL_ZH):
                    for cell in cells:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
            d.add_paragraph()
    d.core_properties.title = title
    d.core_properties.author = ""
    d.save(path)


def write_budget_justification(
    plan: Plan,
    county: County,
    out_dir: Path,
    *,
    marginal: pd.DataFrame | None,
    cost_to_meet: pd.DataFrame,
    scenario: Scenario | None = None,
) -> list[Path]:
    """Write the budget justification as ``.docx`` and ``.md`` into ``out_dir``.

    Parameters
    ----------
    plan : Plan
    county : County
        The county before the plan (names, unit costs, funding, issuer, synthetic flag).
    out_dir : Path
        Folder, created if missing; files of the same names are overwritten.
    marginal : DataFrame or None
        :func:`planner.plan.variants.marginal_budget` table (None: the section says no
        re-solve was made).
    cost_to_meet : DataFrame
        :func:`planner.report.marginal.cost_to_meet` of the plan.
    scenario : Scenario, optional
        The plan's scenario: its Chinese name, the caps stated where they bind (recruits,
        distance) and its horizon years. Without it the code name is used and caps are
        described without their values.

    Returns
    -------
    list of Path
        ``budget_justification.docx`` and ``budget_justification.md``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = _content(plan, county, marginal, cost_to_meet, scenario)
    docx_path, md_path = out_dir / DOCX_NAME, out_dir / MD_NAME
    render_docx(doc, docx_path, title=f"{county.name_zh}{scenario_zh(scenario, plan.scenario_name)}预算编制说明")
    md_path.write_text(render_markdown(doc), encoding="utf-8")
    log.info("budget justification written to %s", out_dir)
    return [docx_path, md_path]


__all__ = [
    "ANNEXES",
    "ANNEX_PROJECT_HEADER",
    "DOCX_NAME",
    "MD_NAME",
    "PROJECT_HEADER",
    "SECTIONS",
    "SUBTOTAL_ZH",
    "TOTAL_ZH",
    "issue_date",
    "phasing",
    "plan_years",
    "render_markdown",
    "scenario_zh",
    "solver_zh",
    "wan",
    "write_budget_justification",
    "yuan",
]
