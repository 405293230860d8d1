"""Text cells stay text in every workbook the planner writes (no formula injection).

A name such as ``=HYPERLINK("http://…","点击")`` typed into a county table would become a
live formula when written to an ``.xlsx`` cell as it is: openpyxl stores any string that
begins with ``=`` as a formula, and Excel re-reads cells beginning with ``+``, ``-`` or
``@`` as formulas when a user edits them. :func:`keep_text` stores every such string as a
plain string cell with Excel's "quote prefix" (the leading apostrophe a user would type),
so it is shown, sorted and edited as the text it is. The only formulas the planner writes
itself are the plan workbook's totals and shares (``planner.report.workbook``), which it names
through ``exempt``; every other formula-like cell came from data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

#: first characters that make Excel treat a cell's text as a formula
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@")


def looks_like_formula(text: object) -> bool:
    """Whether ``text`` is a string Excel would read as a formula."""
    return isinstance(text, str) and text.startswith(FORMULA_STARTS)


def keep_text(wb: Workbook, exempt: Callable[[Worksheet, Cell], bool] | None = None) -> Workbook:
    """Turn every formula-like text cell of ``wb`` into a text cell, in place.

    Parameters
    ----------
    wb : Workbook
        An openpyxl workbook about to be saved.
    exempt : callable, optional
        ``exempt(ws, cell)`` is true for a formula the planner wrote itself (left a formula).

    Returns
    -------
    Workbook
        ``wb`` (for chaining).
    """
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if looks_like_formula(cell.value) and not (exempt is not None and exempt(ws, cell)):
                    cell.data_type = "s"  # openpyxl typed it "f" (formula) when the value began with "="
                    cell.quotePrefix = True
    return wb


def save_workbook(wb: Workbook, path: Path) -> Path:
    """Save ``wb`` to ``path`` with every formula-like text kept as text."""
    keep_text(wb).save(path)
    return path


def frames_to_xlsx(frames: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write data frames as the sheets of one workbook, formula-like text kept as text.

    Parameters
    ----------
    frames : dict of str to DataFrame
        Sheet name to table (written without its index).
    path : Path
        ``.xlsx`` file to write.

    Returns
    -------
    Path
        ``path``.
    """
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for sheet, df in frames.items():
            df.to_excel(xw, sheet_name=sheet, index=False)
        keep_text(xw.book)
    return path
