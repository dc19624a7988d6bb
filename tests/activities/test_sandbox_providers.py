"""Choosing the sandbox: bubblewrap when installed; without it, plain processes and a loud warning."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from activities.sandbox import providers
from activities.sandbox.base import Limits
from activities.sandbox.bubblewrap import BubblewrapProvider
from activities.sandbox.unisolated import UnisolatedProvider
from models.settings import Settings


def test_bubblewrap_when_installed() -> None:
    assert isinstance(providers.choose_provider(Settings()), BubblewrapProvider)


async def test_without_bubblewrap_commands_run_unisolated_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setattr("activities.sandbox.providers.shutil.which", lambda _: None)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-not-for-commands")
    with caplog.at_level(logging.WARNING, logger="turnflow.sandbox"):
        provider = providers.choose_provider(Settings())
    assert isinstance(provider, UnisolatedProvider) and not provider.isolated
    assert "UNISOLATED" in caplog.text
    provider.prepare(tmp_path)
    result = await provider.open(tmp_path).run("pwd; env", Limits())
    output = result.output.decode()
    assert output.splitlines()[0] == str(tmp_path) and "sk-not-for-commands" not in output


def test_asking_for_bubblewrap_without_it_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("activities.sandbox.providers.shutil.which", lambda _: None)
    with pytest.raises(RuntimeError, match="bwrap is not installed"):
        providers.choose_provider(Settings(sandbox_provider="bubblewrap"))
