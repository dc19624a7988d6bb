"""Picks the provider for a model id: `scripted` runs offline, a priced Claude model goes to Anthropic."""

from __future__ import annotations

from collections.abc import Callable

from temporalio.exceptions import ApplicationError

from activities.model.anthropic_stream import AnthropicProvider
from activities.model.events import ModelProvider
from activities.model.scripted import SCRIPTED_MODEL, ScriptedProvider
from models.pricing import PRICES
from models.settings import Settings


def provider_factory(settings: Settings) -> Callable[[str], ModelProvider]:
    """One HTTP client per worker process, created on first use so a scripted-only worker needs no key."""
    scripted = ScriptedProvider(settings.scripted_delay_ms)
    anthropic: list[AnthropicProvider] = []

    def provider_for(model: str) -> ModelProvider:
        if model == SCRIPTED_MODEL:
            return scripted
        if model not in PRICES:  # the API refuses these at send time; a turn of an older chat may still name one
            raise ApplicationError(
                f"model {model!r} is not offered; choose another model for this chat",
                type="ModelUnknown",
                non_retryable=True,
            )
        if settings.anthropic_api_key is None:
            raise ApplicationError(
                f"model {model!r} needs ANTHROPIC_API_KEY on the worker", type="ModelNotConfigured", non_retryable=True
            )
        if not anthropic:
            anthropic.append(
                AnthropicProvider(
                    settings.anthropic_api_key.get_secret_value(), settings.anthropic_base_url, settings.model_timeout_s
                )
            )
        return anthropic[0]

    return provider_for
