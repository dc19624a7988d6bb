"""Typed keys of turnflow's search attributes, and the attributes each kind of workflow starts with, so an operator
can tell turns, sub-agents, sandboxes and housekeeping apart in the Temporal UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from models.names import (
    ACCOUNT_ID_ATTRIBUTE,
    CHAT_ID_ATTRIBUTE,
    KIND_ATTRIBUTE,
    OUTCOME_ATTRIBUTE,
    SESSION_ID_ATTRIBUTE,
)

CHAT_ID = SearchAttributeKey.for_keyword(CHAT_ID_ATTRIBUTE)
SESSION_ID = SearchAttributeKey.for_keyword(SESSION_ID_ATTRIBUTE)
ACCOUNT_ID = SearchAttributeKey.for_keyword(ACCOUNT_ID_ATTRIBUTE)
KIND = SearchAttributeKey.for_keyword(KIND_ATTRIBUTE)
OUTCOME = SearchAttributeKey.for_keyword(OUTCOME_ATTRIBUTE)


def start_attributes(
    kind: str, *, chat_id: str | None = None, session_id: str | None = None, account_id: str | None = None
) -> TypedSearchAttributes:
    """The kind, and whichever ids the workflow belongs to."""
    pairs: list[SearchAttributePair[str]] = [SearchAttributePair(KIND, kind)]
    for key, value in ((CHAT_ID, chat_id), (SESSION_ID, session_id), (ACCOUNT_ID, account_id)):
        if value is not None:
            pairs.append(SearchAttributePair(key, value))
    return TypedSearchAttributes(pairs)
