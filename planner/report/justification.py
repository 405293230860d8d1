"""The budget justification (预算编制说明) for the finance bureau, as Word (.docx) and Markdown.

:func:`write_budget_justification` writes ``budget_justification.docx`` and
``budget_justification.md`` with the same content, in Chinese:

一、总体情况 — scenario, budgets, amounts, solver status and gap, distance method;
二、资本性项目明细 — one row per project: school, kind, content, the standard it serves
   and the school's value of it before → after the plan, pupils served, cost, cost per
   pupil; a total row equal to ``plan.projects.cost_yuan.sum()`` (a real Word table);
三、经常性支出明细 — recruits by school and rotation allowances, per year;
四、预算对照 — totals against the capital and recurrent budgets;
五、仍未达标事项及所需资金 — the standards still unmet after the plan and what meeting
   them would cost (:func:`planner.report.marginal.cost_to_meet`, rules stated);
六、资金边际效益 — the unmet-standard total at −10% / 0 / +10% budget from re-solving,
   each with its solver status and gap (:func:`planner.plan.variants.marginal_budget`);
七、说明 — definitions, data source, "synthetic data" when the county is synthetic.

The content is built once as a list of blocks (headings, paragraphs, tables) and rendered
twice, so the two files cannot disagree.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from planner.binding import binds_by_item
from planner.county import County
from planner.plan import Plan
from planner.plan.rezoning import rezoning_paragraph
from planner.report.marginal import cost_totals
from planner.report.workbook import budget_table, project_table, school_names
from planner.schema import STAGE_ZH
from planner.standards import INDICATORS_BY_KEY

log = logging.getLogger(__name__)

DOCX_NAME = "budget_justification.docx"
MD_NAME = "budget_justification.md"
TOTAL_ZH = "合计"
#: Header of the project table (section 二), in order.
PROJECT_HEADER: tuple[str, ...] = (
    "序号", "学校", "项目类型", "建设内容", "所补标准及规划前→规划后", "受益学生(人)", "金额(元)", "生均(元)",
)  # fmt: skip


def yuan(x: float) -> str:
    """Yuan with thousands separators and two decimals (``1,234,567.00``)."""
    return f"{x:,.2f}"


def wan(x: float) -> str:
    """Ten-thousands of yuan (万元) with two decimals."""
    return f"{x / 1e4:,.2f}万元"


@dataclass
class _Doc:
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.blocks.append((f"h{level}", text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", (header, rows)))


# --------------------------------------------------------------------------- what each project fixes


def _ind_change(plan: Plan, sid: str, key: str) -> list[str]:
    ind = INDICATORS_BY_KEY[key]
    b = plan.before.indicators
    a = plan.after.indicators
    out = []
    for r in a[(a["school_id"] == sid) & (a["indicator"] == key)].itertuples(index=False):
        prev = b[(b["school_id"] == sid) & (b["indicator"] == key) & (b["stage"] == r.stage)]
        before = f"{prev['value'].iloc[0]:,.2f}" if len(prev) else "—"
        out.append(f"{ind.zh}（{STAGE_ZH[r.stage]}）{before}→{r.value:,.2f}{ind.unit_zh}，标准{r.standard:g}，"
                   f"{'达标' if r.met else '未达标'}")  # fmt: skip
    return out


def _guar_change(plan: Plan, sid: str, item: str) -> list[str]:
    b, a = plan.before.guarantee, plan.after.guarantee
    out = []
    for r in a[(a["school_id"] == sid) & (a["item"] == item)].itertuples(index=False):
        prev = b[(b["school_id"] == sid) & (b["item"] == item) & (b["stage"] == r.stage)]
        before = (
            f"{prev['value'].iloc[0]:,.1f}" if len(prev) and prev["value"].iloc[0] == prev["value"].iloc[0] else "—"
        )
        stage = f"（{STAGE_ZH[r.stage]}）" if r.stage else ""
        out.append(
            f"{r.item_zh}{stage}{before}→{r.value:,.1f}{r.unit}，要求{r.limit:g}，{'达标' if r.met else '未达标'}"
        )
    return out


def project_effect(plan: Plan, kind: str, sid: str) -> str:
    """The standard a project serves at its school, with the value before → after the plan."""
    if kind == "equipment":
        lines = _ind_change(plan, sid, "equipment")
    elif kind == "multimedia":
        lines = _ind_change(plan, sid, "multimedia")
    elif kind in ("music_room", "art_room"):
        lines = _guar_change(plan, sid, "music_rooms" if kind == "music_room" else "art_rooms")
    elif kind == "expansion":
        lines = (_guar_change(plan, sid, "class_size") + _ind_change(plan, sid, "floor_area")
                 + _ind_change(plan, sid, "sports_area"))  # fmt: skip
    elif kind == "new_school":
        n = int(plan.assignments.loc[plan.assignments["school_id"] == sid, "pupils"].sum())
        lines = [f"新增学位，划入学生{n}人"]
    else:
        lines = ["布局调整"]
    return "；".join(lines) if lines else "—"


# --------------------------------------------------------------------------- content


def _content(plan: Plan, county: County, marginal: pd.DataFrame | None, costs: pd.DataFrame) -> _Doc:
    d = _Doc()
    name = county.name_zh or "本县"
    c = plan.costs
    d.h(1, f"{name}义务教育优质均衡发展项目预算编制说明")
    if county.synthetic:
        d.p("⚠ 本说明基于合成数据生成，仅供演示，不代表真实学校情况（synthetic data, for demonstration only）。")

    # 一
    d.h(2, "一、总体情况")
    method = "路网通行时间" if plan.distance_method == "network" else "直线距离估算（无路网数据）"
    d.p(
        f"规划方案：{plan.scenario_name}。资本性预算{yuan(c['capital_budget_yuan'])}元（{wan(c['capital_budget_yuan'])}），"
        f"安排资本性项目{len(plan.projects)}个，合计{yuan(c['capital_yuan'])}元（{wan(c['capital_yuan'])}）；"
        f"经常性预算每年{yuan(c['recurrent_budget_yuan_per_year'])}元，安排每年{yuan(c['recurrent_yuan_per_year'])}元。"
    )
    status = plan.solver.description
    d.p(f"求解状态：{status}（求解器 {plan.solver.solver}）。学区与通学时间按{method}计算。")
    sb, sa = plan.before.summary, plan.after.summary
    for s_b, s_a in zip(sb.itertuples(index=False), sa.itertuples(index=False), strict=True):
        d.p(f"{s_a.stage_zh}：达标学校由{s_b.schools_passing}所变为{s_a.schools_passing}所（参评{s_a.schools_assessed}所），"
            f"差异系数超标项由{s_b.cv_over}项变为{s_a.cv_over}项。{s_a.verdict_zh}")  # fmt: skip
    rezoning = plan.extra_tables.get("rezoning")
    if rezoning is not None and len(rezoning):
        d.p(rezoning_paragraph(rezoning))

    # 二
    d.h(2, "二、资本性项目明细")
    p = project_table(plan, county)
    rows = []
    for i, r in enumerate(p.itertuples(index=False), start=1):
        per = "—" if r.pupils_served == 0 or math.isnan(r.cost_per_pupil_yuan) else yuan(r.cost_per_pupil_yuan)
        rows.append([str(i), f"{r.name_zh}（{r.school_id}）", r.kind_zh, r.detail_zh,
                     f"{r.serves}：{project_effect(plan, r.kind, r.school_id)}", f"{r.pupils_served:,d}",
                     yuan(r.cost_yuan), per])  # fmt: skip
    total = float(p["cost_yuan"].sum())
    rows.append([TOTAL_ZH, "", "", "", "", "", yuan(total), ""])
    d.table(list(PROJECT_HEADER), rows)
    d.p("受益学生：新建学校为其划入的学生数，其余项目为该校规划后在校生数（两学段合计）；生均 = 金额 ÷ 受益学生。")

    # 三
    d.h(2, "三、经常性支出明细（每年）")
    names = school_names(plan, county)
    uc = county.parameters.unit_costs
    parts = plan.after.parts.set_index(["school_id", "stage"])["pupils"]
    rows3 = []
    for h in plan.hires.itertuples(index=False):
        n = int(parts.get((h.school_id, h.stage), 0))
        rows3.append([f"{names.get(h.school_id, '')}（{h.school_id}）", STAGE_ZH.get(h.stage, h.stage),
                      "招聘体育、艺术教师" if h.pe_art else "招聘教师", f"{int(h.count)}", f"{n:,d}",
                      yuan(h.cost_yuan_per_year)])  # fmt: skip
    ex = plan.exchange_list
    kinds = ex["kind"].value_counts() if len(ex) else pd.Series(dtype=int)
    rot = int(kinds.get("rotation", 0))  # the allowance goes with the outbound leg
    rows3.append(["全县", "", f"交流轮岗补贴（每人每年{yuan(uc.rotation_allowance_yuan_per_year)}元）", f"{rot}", "",
                  yuan(rot * uc.rotation_allowance_yuan_per_year)])  # fmt: skip
    rows3.append([TOTAL_ZH, "", "", "", "", yuan(c["recurrent_yuan_per_year"])])
    d.table(["学校", "学段", "事项", "人数", "该学段学生(人)", "金额(元/年)"], rows3)
    n_rot, n_ret = int(kinds.get("rotation", 0)), int(kinds.get("return", 0))
    n_new, n_it = int(kinds.get("redeployment", 0)), int(kinds.get("itinerant", 0))
    walk = f"，走教{n_it}人（计入原校，不计入接收学校指标）" if n_it else ""
    d.p(f"教师交流按政策方向安排：城区、镇区和教师指标达标的学校向农村学校和薄弱学校轮岗{n_rot}人，"
        f"双向交流回流{n_ret}人（每校回流不超过其接收的轮岗人数），新建学校调配{n_new}人"
        f"（仅从城区、镇区学校调配，其余由新招聘教师补充）{walk}。任何学校不调出其某一学科的最后一名教师；"
        "规划前已低于编制标准的学校不减少教师。交流轮岗补贴按赴农村学校和薄弱学校轮岗的人数计算。")  # fmt: skip

    # 四
    d.h(2, "四、预算对照")
    b = budget_table(plan, county)
    rows4 = [[{"capital": "资本性", "recurrent": "经常性(每年)"}[r.section], r.item_zh,
              "" if pd.isna(r.count) else f"{int(r.count)}", yuan(r.amount_yuan),
              "" if pd.isna(r.share_of_budget) else f"{r.share_of_budget:.1%}"]
             for r in b.itertuples(index=False)]  # fmt: skip
    d.table(["类别", "项目", "数量", "金额(元)", "占预算"], rows4)

    # 五
    d.h(2, "五、仍未达标事项及达标所需资金")
    t = cost_totals(costs)
    if not len(costs):
        d.p("规划实施后，资源配置7项指标和可核查的政府保障项目全部达标。")
    else:
        n_ind = int((costs["source"] == "indicator").sum())
        n_g = int((costs["source"] == "guarantee").sum())
        d.p(f"规划实施后仍有{n_ind}个学校-指标低于标准、{n_g}项政府保障项目未达标。按下表规则估算，公办学校全部达标还需"
            f"资本性资金{yuan(t['capital_yuan'])}元（{wan(t['capital_yuan'])}），经常性资金每年"
            f"{yuan(t['recurrent_yuan_per_year_lower'])}元至{yuan(t['recurrent_yuan_per_year_upper'])}元"
            f"（教师类各项可能重叠：一名本科学历体育教师可同时计入指标1、指标3和编制；下限为每校每学段取最大一项）。"
            + (f"民办学校另需资本性{yuan(t['private_capital_yuan'])}元、经常性每年"
               f"{yuan(t['private_recurrent_yuan_per_year'])}元，由举办者自筹，不列入本预算。"
               if t["private_capital_yuan"] or t["private_recurrent_yuan_per_year"] else "")
            + (f"另有{t['not_priced']}项需调整学校布局或学区划片，未估价。" if t["not_priced"] else ""))  # fmt: skip
        kind = {"capital": "资本性", "recurrent": "经常性(每年)", "not_priced": "未估价"}
        binds = binds_by_item(plan.extra_tables.get("unmet"))
        rows5 = []
        for r in costs.itertuples(index=False):
            school = f"{r.name_zh}（{r.school_id}）" if r.school_id else "全县"
            if not r.public:
                school += "〔民办〕"
            cost = "—" if pd.isna(r.cost_yuan) else yuan(r.cost_yuan)
            stage = STAGE_ZH.get(r.stage, "") if r.stage else ""
            short = f"{r.shortfall:,.2f}{r.unit}"
            why = binds.get((r.item, r.school_id or "", r.stage or ""), "")
            rows5.append([school, stage, r.item_zh, short, why, kind.get(r.cost_kind, r.cost_kind), cost, r.rule_zh])
        d.table(["学校", "学段", "未达标事项", "差额", "制约因素", "性质", "估算金额(元)", "估算规则"], rows5)
    far = plan.extra_tables.get("unmet")
    far = far[far["source"] == "distance"] if far is not None else None
    if far is not None and len(far):
        none = far[far["binds"] == "distance_cap"]
        full = far[far["binds"] != "distance_cap"]
        d.p(
            f"服务半径：{len(far)}个居民点学段（{int(far['pupils_affected'].sum()):,}名学生）仍在服务半径以外就读，其中"
            f"{len(none)}个（{int(none['pupils_affected'].sum()):,}名）服务半径内没有学校或已建校址，需新建学校或调整服务半径；"
            f"{len(full)}个（{int(full['pupils_affected'].sum()):,}名）服务半径内的学校学位不足。"
            "明细见 plan/unmet.csv。"
        )

    # 六
    d.h(2, "六、资金边际效益（预算增减10%的测算）")
    if marginal is None or not len(marginal):
        d.p("本次未进行预算增减测算。")
    else:
        m = marginal.sort_values("scale").reset_index(drop=True)
        rows6 = [[r.label, yuan(r.capital_budget_yuan), yuan(r.recurrent_budget_yuan_per_year), yuan(r.capital_yuan),
                  yuan(r.recurrent_yuan_per_year), f"{int(r.unmet_indicators)}", f"{r.shortfall_index:.3f}",
                  f"{int(r.schools_passing)}", f"{int(r.cv_over)}", f"{int(r.guarantee_unmet)}",
                  r.solver_description or r.status]
                 for r in m.itertuples(index=False)]  # fmt: skip
        head6 = ["预算变动", "资本性预算(元)", "经常性预算(元/年)", "资本性支出(元)", "经常性支出(元/年)",
                 "未达标校-指标数", "缺口指数", "达标学校数", "差异系数超标项", "保障项未达标",
                 "求解状态"]  # fmt: skip
        d.table(head6, rows6)
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
                    f"（{di:+.3f}），达标学校{int(r.schools_passing)}所（基准{int(b0['schools_passing'])}所）；"
                    f"求解：{r.solver_description or r.status}。")  # fmt: skip
        for n in marginal.attrs.get("notes", []):
            d.p(f"注：{n}")
        d.p("未达标校-指标数：规划后评估中低于标准的“学校学段×指标”个数；缺口指数：这些学校-指标的Σ(1−实际值/标准)，"
            "每项在0（刚好不达标）到1（完全没有该项资源）之间。两者均由评估引擎对各次求解结果重新评估得出，而非模型估计。"
            "优化目标还兼顾差异系数、费用、通学时间和学区调整，"
            "限时求解只给出可行解及其间隙，故各预算之间的比较可能不单调。")  # fmt: skip

    # 七
    d.h(2, "七、说明")
    d.p(f"评估标准：{plan.after.standards.source}。单价取自县级参数（parameters.yaml）：校舍每平方米{yuan(uc.building_yuan_per_m2)}元，"
        f"运动场馆每平方米{yuan(uc.sports_ground_yuan_per_m2)}元，多媒体教室每间{yuan(uc.multimedia_room_yuan)}元，"
        f"音乐教室每间{yuan(uc.music_room_yuan)}元，美术教室每间{yuan(uc.art_room_yuan)}元，"
        f"新招聘教师每人每年{yuan(uc.teacher_hire_yuan_per_year)}元。")  # fmt: skip
    src = county.parameters.data_source
    if src:
        d.p(f"数据来源：{src}")
    if county.synthetic:
        d.p("本县数据为合成数据（synthetic data），仅用于演示规划方法，数字不代表任何真实学校。")
    for n in plan.notes:
        d.p(f"注：{n}")
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
        elif kind == "p":
            out.append(body)
        else:
            header, rows = body
            out.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            out.append("|" + "|".join("---" for _ in header) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
        out.append("")
    return "\n".join(out)


def render_docx(doc: _Doc, path: Path, *, title: str = "") -> None:
    """A Word document of the blocks: headings, paragraphs, real tables; CJK font set."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    d = Document()
    sec = d.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Cm(29.7), Cm(21.0)
    for m in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, m, Cm(2.0))
    for style_name in ("Normal", "Heading 1", "Heading 2", "Table Grid"):
        st = d.styles[style_name]
        rpr = st.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(fonts)
        fonts.set(qn("w:eastAsia"), "SimSun" if style_name in ("Normal", "Table Grid") else "SimHei")
    d.styles["Normal"].font.size = Pt(10.5)
    for kind, body in doc.blocks:
        if kind.startswith("h"):
            d.add_heading(body, level=int(kind[1:]))
        elif kind == "p":
            d.add_paragraph(body)
        else:
            header, rows = body
            t = d.add_table(rows=1 + len(rows), cols=len(header))
            t.style = d.styles["Table Grid"]
            for j, h in enumerate(header):
                cell = t.rows[0].cells[j]
                cell.text = h
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row, r in zip(list(t.rows)[1:], rows, strict=True):
                cells = row.cells
                for cell, v in zip(cells, r, strict=True):
                    cell.text = str(v)
                if r and r[0] == TOTAL_ZH:
                    for cell in cells:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
            d.add_paragraph()
    d.core_properties.title = title
    d.core_properties.author = "planner"
    d.save(path)


def write_budget_justification(
    plan: Plan,
    county: County,
    out_dir: Path,
    *,
    marginal: pd.DataFrame | None,
    cost_to_meet: pd.DataFrame,
) -> list[Path]:
    """Write the budget justification as ``.docx`` and ``.md`` into ``out_dir``.

    Parameters
    ----------
    plan : Plan
    county : County
        The county before the plan (names, unit costs, synthetic flag).
    out_dir : Path
        Folder, created if missing; files of the same names are overwritten.
    marginal : DataFrame or None
        :func:`planner.plan.variants.marginal_budget` table (None: the section says no
        re-solve was made).
    cost_to_meet : DataFrame
        :func:`planner.report.marginal.cost_to_meet` of the plan.

    Returns
    -------
    list of Path
        ``budget_justification.docx`` and ``budget_justification.md``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = _content(plan, county, marginal, cost_to_meet)
    docx_path, md_path = out_dir / DOCX_NAME, out_dir / MD_NAME
    render_docx(doc, docx_path, title=f"{county.name_zh} 预算编制说明 ({plan.scenario_name})")
    md_path.write_text(render_markdown(doc), encoding="utf-8")
    log.info("budget justification written to %s", out_dir)
    return [docx_path, md_path]


__all__ = [
    "DOCX_NAME",
    "MD_NAME",
    "PROJECT_HEADER",
    "TOTAL_ZH",
    "project_effect",
    "render_markdown",
    "wan",
    "write_budget_justification",
    "yuan",
]
