"""update_triage: the model keeps the session's triage header current while it works (client, asset, category,
hypothesis, evidence); each change is saved and shown as a `data-triage` part."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from activities.tools.base import Tool, ToolContext, ToolFailure, ToolInput
from turnlog import chunks


class Evidence(ToolInput):
    text: str = Field(min_length=1, max_length=2000)
    status: Literal["confirmed", "ruled_out", "pending"] = "pending"


class TriageInput(ToolInput):
    client_name: str | None = Field(None, max_length=500, description="Who is affected")
    asset_name: str | None = Field(None, max_length=500, description="Which device, system or service")
    issue_category: str | None = Field(None, max_length=500, description="Kind of problem")
    hypothesis: str | None = Field(None, max_length=8000, description="Current best explanation")
    evidence_items: list[Evidence] | None = Field(
        None, max_length=100, description="All evidence so far, each confirmed, ruled_out or pending"
    )


async def _update_triage(context: ToolContext, params: TriageInput) -> dict[str, Any]:
    if context.save_triage is None or context.emit is None:
        raise ToolFailure("triage cannot be updated in this context")
    changes = params.model_dump(exclude_none=True)
    if not changes:
        raise ToolFailure("send at least one triage field to change")
    triage = await context.save_triage(changes)
    context.emit(chunks.data("triage", triage, "triage"))
    return {"updated": sorted(changes), "triage": triage}


UPDATE_TRIAGE = Tool(
    "update_triage",
    "Update the session's triage header (client, asset, issue category, hypothesis, evidence items). Only the "
    "fields you send change; send evidence_items as the whole current list.",
    TriageInput,
    _update_triage,
    idempotent=True,
)
