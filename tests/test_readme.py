"""The README is the newcomer's manual: it must name every setting and the two commands."""

from __future__ import annotations

from pathlib import Path

from gymgate.settings import ENV_PREFIX, SETTINGS_DOC

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [ENV_PREFIX + key for key in SETTINGS_DOC if f"`{ENV_PREFIX}{key}`" not in README]
    assert missing == []


def test_readme_gives_the_two_commands() -> None:
    assert "make run" in README
    assert "make test" in README
