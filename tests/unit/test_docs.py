"""Generated documentation matches the catalogues it is generated from."""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def _update_docs():  # scripts/ is not a package: load the generator by path
    spec = importlib.util.spec_from_file_location("update_docs", ROOT / "scripts" / "update_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_rules_table_is_generated_from_the_catalogue() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    update = _update_docs()
    assert update.rules_table() in readme
    assert update.readme_with_rules(readme) == readme, "README rules table is stale: run scripts/update_docs.py"
    for rule in ("R1", "R3", "R4", "R5", "R6", "X1", "TIMELINESS", "COPY"):
        assert f"| {rule} |" in readme


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make brief" in readme and "make test" in readme
