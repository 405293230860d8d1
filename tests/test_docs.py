"""Documentation that is generated from code stays in step with it."""

from __future__ import annotations

import re
from pathlib import Path

from planner.schema_doc import render

ROOT = Path(__file__).resolve().parents[1]


def test_data_contract_page_is_current() -> None:
    assert (ROOT / "docs" / "data.md").read_text(encoding="utf-8") == render(), (
        "docs/data.md is stale: run `python -m planner.schema_doc > docs/data.md`"
    )


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- test-command -->\n```bash\n(.+)\n```", readme)
    assert m, "README.md must keep the test command after <!-- test-command -->"
    assert "pytest" in m.group(1)
    assert "<!-- test-command -->" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
