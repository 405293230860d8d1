"""Errors a user can act on.

Every problem with input data or a scenario is raised as a :class:`PlannerError`
subclass whose message names the file, the row or identifier, the field and the rule
broken, in one line. The CLI prints that line and exits non-zero; no traceback.
"""

from __future__ import annotations


class PlannerError(Exception):
    """Base class of errors reported to the user as one line."""

    exit_code = 1


class DataError(PlannerError):
    """Input data breaks a rule of the data contract (``docs/data.md``).

    Parameters
    ----------
    source : str
        File (and layer) the problem is in, e.g. ``"schools.csv"``.
    rule : str
        The rule broken, in plain words.
    row : int or None
        Spreadsheet row number (header is row 1), when one row is at fault.
    ident : str or None
        Identifier of the record at fault, e.g. ``"school_id S012"``.
    field : str or None
        Column at fault.
    """

    exit_code = 2

    def __init__(
        self,
        source: str,
        rule: str,
        *,
        row: int | None = None,
        ident: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.rule = rule
        self.row = row
        self.ident = ident
        self.field = field
        where = [source]
        if row is not None:
            where.append(f"row {row}" + (f" ({ident})" if ident else ""))
        elif ident:
            where.append(ident)
        if field:
            where.append(f"field {field}")
        super().__init__(", ".join(where) + ": " + rule)


class ScenarioError(PlannerError):
    """A scenario file breaks a rule (unknown key, wrong type, unknown school, ...)."""

    exit_code = 2
