"""The README stays true: its quickstart is the two commands, and every setting is documented."""

from __future__ import annotations

from pathlib import Path

from models.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_quickstart_is_the_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quickstart.strip().splitlines()]
    assert commands == ["make dev", "make test"]


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`TURNFLOW_{name.upper()}`" in README, name
