"""Plausible Chinese names for synthetic villages, neighbourhoods, townships and schools.

Names are drawn with the generator's seeded ``numpy`` Generator from fixed lists, so the
same seed gives the same names. They are made up: any match with a real place is chance,
except the township names of Queshan, which are real (their geometry is not).
"""

from __future__ import annotations

import numpy as np

SURNAMES = tuple(
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏"
    "钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
VILLAGE_SUFFIXES = tuple("庄楼营店湾岗寨洼沟冲坡园集桥河庙台屯坪畈堂院寺铺岭湖圩井")
PREFIXES = tuple("大小前后东西南北上下")
URBAN_STEMS = (
    "人民", "解放", "建设", "文化", "朗陵", "新华", "健康", "光明", "团结", "和平", "东关", "西关", "南关", "北关",
    "秀山", "乐山", "顺河", "兴业", "金山", "凤凰", "书香", "锦绣", "阳光", "滨河", "育才", "朝阳", "富强", "幸福",
    "怡和", "安居", "民主", "友谊", "复兴", "建华", "站前", "花园", "桂花", "翠竹", "玉泉", "龙山", "青年", "红旗",
    "利民", "康乐", "永安", "振兴", "迎宾", "盛世", "春晖", "明珠", "紫薇", "清泉", "长安", "华山", "南湖", "北湖",
    "东湖", "西湖", "金桥", "银河",
)  # fmt: skip
TOWN_STREETS = ("东街", "西街", "南街", "北街", "中街", "新街", "老街", "前街", "后街", "河西", "河东", "站北")
NUMERALS = ("", "二", "三", "四", "五", "六", "七", "八", "九", "十")
ORDINALS = tuple("一二三四五六七八九十") + tuple(f"十{c}" for c in "一二三四五六七八九") + ("二十",)
#: Syllables of made-up township names (used beyond Queshan's real names).
TOWN_SYLLABLES = tuple("安平和兴隆福寿康宁泰丰乐永昌盛新华明清光陵山河岗湖桥沟店集庙寺")


def village_names(n: int, rng: np.random.Generator, taken: set[str] | None = None) -> list[str]:
    """``n`` distinct village names such as 张庄村 or 后李楼村."""
    taken = set() if taken is None else set(taken)
    out: list[str] = []
    while len(out) < n:
        s = SURNAMES[int(rng.integers(len(SURNAMES)))]
        x = VILLAGE_SUFFIXES[int(rng.integers(len(VILLAGE_SUFFIXES)))]
        p = PREFIXES[int(rng.integers(len(PREFIXES)))] if rng.random() < 0.2 else ""
        name = f"{p}{s}{x}村"
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def urban_names(n: int, offset: int = 0) -> list[str]:
    """``n`` distinct county-seat neighbourhood names (人民社区, 解放社区, ..., 人民二社区)."""
    out = []
    for i in range(offset, offset + n):
        stem = URBAN_STEMS[i % len(URBAN_STEMS)]
        num = NUMERALS[(i // len(URBAN_STEMS)) % len(NUMERALS)]
        extra = str(i // (len(URBAN_STEMS) * len(NUMERALS)) or "")
        out.append(f"{stem}{num}{extra}社区")
    return out


def town_names(n: int, stem: str) -> list[str]:
    """``n`` neighbourhood names of a town seat (竹沟东街社区, ...)."""
    out = []
    for i in range(n):
        street = TOWN_STREETS[i % len(TOWN_STREETS)]
        num = NUMERALS[(i // len(TOWN_STREETS)) % len(NUMERALS)]
        out.append(f"{stem}{street}{num}社区")
    return out


def made_up_townships(n: int, suffix: str, rng: np.random.Generator, taken: set[str]) -> list[str]:
    """``n`` distinct made-up township names ending in ``suffix`` (镇 or 街道)."""
    out: list[str] = []
    while len(out) < n:
        a, b = (TOWN_SYLLABLES[int(i)] for i in rng.integers(len(TOWN_SYLLABLES), size=2))
        name = f"{a}{b}{suffix}"
        if a != b and name not in taken:
            taken.add(name)
            out.append(name)
    return out


def stem_of(township_name: str) -> str:
    """Name without its 镇/乡/街道 suffix (竹沟镇 -> 竹沟)."""
    for suffix in ("街道", "镇", "乡"):
        if township_name.endswith(suffix):
            return township_name[: -len(suffix)]
    return township_name


def ordinal(i: int) -> str:
    """Chinese ordinal numeral for 1-based ``i`` (1 -> 一, 12 -> 十二)."""
    return ORDINALS[i - 1] if 1 <= i <= len(ORDINALS) else str(i)
