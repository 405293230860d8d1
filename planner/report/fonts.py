"""A CJK font for matplotlib that works on a fresh machine.

Why a bundled font: matplotlib ships only DejaVu, which has no Chinese glyphs, and a
fresh Linux machine (or CI) usually has no CJK font installed, so maps and charts would
show empty boxes and matplotlib would warn "Glyph ... missing from font(s)". The package
therefore carries one font file, registered at run time with
``matplotlib.font_manager.fontManager.addfont`` — nothing to install beyond
``pip install -e .``.

The font is WenQuanYi Micro Hei 文泉驿微米黑 0.2.0-beta (Apache-2.0, see
``planner/report/fontdata/LICENSE-wqy-microhei.txt``): the first face of Debian's
``fonts-wqy-microhei`` ``.ttc``, 4.6 MB. It was chosen because it covers GBK (34,600
code points: every place and school name of the bundled county, ㎡, ², ≥, →, …) *and*
Latin, has TrueType outlines (so the PDF backend embeds a small Type 42 subset, unlike
CFF-based Noto/Source Han OTFs) and is a tenth the size of a full Noto Sans CJK.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib
from matplotlib import font_manager

log = logging.getLogger(__name__)

#: the bundled font file
FONT_PATH = Path(__file__).with_name("fontdata") / "wqy-microhei.ttf"
#: its family name as matplotlib knows it
FONT_FAMILY = "WenQuanYi Micro Hei"


def use_cjk_font(*, set_default: bool = True) -> str:
    """Register the bundled CJK font with matplotlib and (by default) make it the default.

    Parameters
    ----------
    set_default : bool, default True
        Also set ``rcParams`` so that every later figure uses the font: ``font.family`` =
        sans-serif with the CJK font first (DejaVu Sans as fallback), minus signs as
        ASCII hyphen-minus, and TrueType (Type 42) font embedding in PDF and PS.

    Returns
    -------
    str
        The font family name, for ``fontfamily=`` arguments or ``rc_context``.

    Notes
    -----
    Idempotent and cheap after the first call (the font is registered once per process).
    """
    _register()
    if set_default:
        matplotlib.rcParams.update(cjk_rc_params())
    return FONT_FAMILY


def _register() -> None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    if FONT_FAMILY not in names:
        if not FONT_PATH.is_file():  # a broken install, not bad user input
            raise FileNotFoundError(f"bundled CJK font missing: {FONT_PATH} (reinstall the planner package)")
        font_manager.fontManager.addfont(str(FONT_PATH))
        log.debug("registered CJK font %s from %s", FONT_FAMILY, FONT_PATH)


def cjk_rc_params() -> dict[str, object]:
    """The ``rcParams`` that make matplotlib use the bundled CJK font (for ``rc_context``).

    Returns
    -------
    dict
        ``font.family``, ``font.sans-serif``, ``axes.unicode_minus``, ``pdf.fonttype``, ``ps.fonttype``.
    """
    _register()
    sans = [FONT_FAMILY] + [f for f in matplotlib.rcParams["font.sans-serif"] if f != FONT_FAMILY]
    return {
        "font.family": ["sans-serif"],
        "font.sans-serif": sans,
        "axes.unicode_minus": False,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
    }
