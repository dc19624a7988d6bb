"""Choosing the sandbox fails closed: bubblewrap, or plain processes only when asked for by name, loudly."""

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


@pytest.mark.parametrize("wanted", ["auto", "bubblewrap"])
def test_without_bubblewrap_nothing_falls_back_on_its_own(monkeypatch: pytest.MonkeyPatch, wanted: str) -> None:
    monkeypatch.setattr("activities.sandbox.providers.shutil.which", lambda _: None)
    with pytest.raises(providers.SandboxUnavailable, match="TURNFLOW_SANDBOX_PROVIDER=process"):
        providers.choose_provider(Settings(sandbox_provider=wanted))


async def test_plain_processes_asked_for_by_name_run_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setattr("activities.sandbox.providers.shutil.which", lambda _: None)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-not-for-commands")
    with caplog.at_level(logging.WARNING, logger="turnflow.sandbox"):
        provider = providers.choose_provider(Settings(sandbox_provider="process"))
    assert isinstance(provider, UnisolatedProvider) and not provider.isolated
    assert "UNISOLATED" in caplog.text
    provider.prepare(tmp_path)
    result = await provider.open(tmp_path).run("pwd; env", Limits())
    output = result.output.decode()
    assert output.splitlines()[0] == str(tmp_path) and "sk-not-for-commands" not in output
