"""A worker makes its default model's client when it is built, so the first step it runs (often a step retried
after another worker died) does not wait for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.exceptions import ApplicationError

from activities.model.anthropic_stream import AnthropicProvider
from activities.model.events import ModelProvider
from activities.model.providers import provider_factory
from activities.model_step import ModelStepActivities
from activities.stop_listener import StopListener
from models.settings import Settings

# Neither is connected to while a worker is built.
UNUSED_DATABASE = "postgresql+asyncpg://turnflow@127.0.0.1:9/unused"


def _build(settings: Settings) -> list[tuple[str, ModelProvider | None]]:
    """Builds the model step's activities; returns what they asked the providers for, and got."""
    providers = provider_factory(settings)
    asked: list[tuple[str, ModelProvider | None]] = []

    def provider_for(model: str) -> ModelProvider:
        asked.append((model, None))
        provider = providers(model)
        asked[-1] = (model, provider)
        return provider

    ModelStepActivities(create_async_engine(UNUSED_DATABASE), settings, provider_for, StopListener(UNUSED_DATABASE))
    return asked


def test_the_default_models_client_is_made_with_the_worker(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, anthropic_api_key="sk-test", anthropic_base_url="http://127.0.0.1:9")
    [(model, provider)] = _build(settings)
    assert model == settings.default_model() != "scripted"
    assert isinstance(provider, AnthropicProvider)


def test_a_worker_without_the_key_its_default_model_needs_still_starts(tmp_path: Path) -> None:
    """The steps that use the model fail as they would have; the worker serves everything else."""
    settings = Settings(data_dir=tmp_path, model="claude-sonnet-4-6", anthropic_api_key=None)
    [(model, provider)] = _build(settings)
    assert (model, provider) == ("claude-sonnet-4-6", None)
    with pytest.raises(ApplicationError, match="needs ANTHROPIC_API_KEY"):
        provider_factory(settings)(model)
