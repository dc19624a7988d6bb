"""Usage: the caller's tokens and cost from the usage ledger, filtered and grouped in SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Date, cast, distinct, func, literal_column, select
from sqlalchemy.sql.elements import Label

from api.dependencies import DB, CurrentCaller
from api.ownership import visible_usage
from api.problems import ProblemError, problem_responses
from api.time_bounds import utc_moment
from models.tables import UsageEvent
from models.usage_schemas import UsageGroup, UsageReport, UsageRow

router = APIRouter(prefix="/usage", tags=["usage"])

# A literal, not a bound parameter: the grouped expression must read the same in SELECT and GROUP BY.
_UTC_DAY = cast(func.timezone(literal_column("'UTC'"), UsageEvent.created_at), Date)
_KEYS: dict[UsageGroup, Label[Any]] = {
    UsageGroup.MODEL: UsageEvent.model.label(UsageGroup.MODEL.value),
    UsageGroup.DAY: _UTC_DAY.label(UsageGroup.DAY.value),
    UsageGroup.AGENT_TYPE: UsageEvent.agent_type.label(UsageGroup.AGENT_TYPE.value),
    UsageGroup.SESSION: UsageEvent.session_id.label("session_id"),
    UsageGroup.CHAT: UsageEvent.chat_id.label("chat_id"),
}
_TOTALS = (
    func.coalesce(func.sum(UsageEvent.input_tokens), 0).label("input_tokens"),
    func.coalesce(func.sum(UsageEvent.output_tokens), 0).label("output_tokens"),
    func.coalesce(func.sum(UsageEvent.cache_write_tokens), 0).label("cache_write_tokens"),
    func.coalesce(func.sum(UsageEvent.cache_read_tokens), 0).label("cache_read_tokens"),
    func.coalesce(func.sum(UsageEvent.cost_usd), Decimal(0)).label("cost_usd"),
    func.count().label("calls"),
    func.count(distinct(UsageEvent.turn_id)).label("turns"),
)


def _groups(values: list[str] | None) -> list[UsageGroup]:
    """Repeated or comma-separated, in the order given; a key named twice groups once."""
    groups: list[UsageGroup] = []
    for value in (v.strip() for raw in values or [] for v in raw.split(",")):
        if value not in UsageGroup.__members__.values():
            allowed = ", ".join(g.value for g in UsageGroup)
            raise ProblemError(
                422, "validation-error", f"unknown group_by {value!r}; use one of {allowed}", field="group_by"
            )
        if UsageGroup(value) not in groups:
            groups.append(UsageGroup(value))
    return groups


@router.get(
    "",
    response_model=UsageReport,
    response_model_exclude_none=True,
    responses=problem_responses(401, 422),
    summary="Tokens, cost, calls and turns of this account, filtered and grouped",
)
async def get_usage(
    db: DB,
    caller: CurrentCaller,
    session_id: Annotated[uuid.UUID | None, Query(description="Only this session's calls")] = None,
    chat_id: Annotated[str | None, Query(max_length=128, description="Only this chat's calls")] = None,
    from_: Annotated[
        datetime | None,
        Query(alias="from", description="Calls at or after this ISO 8601 time (UTC when it has no offset)"),
    ] = None,
    to: Annotated[
        datetime | None, Query(description="Calls before this ISO 8601 time (UTC when it has no offset)")
    ] = None,
    group_by: Annotated[
        list[str] | None,
        Query(
            description="model, day (UTC), agent_type, session or chat; repeat or comma-separate to group by several. "
            "Omit for one row of totals.",
            examples=["model,day"],
        ),
    ] = None,
) -> UsageReport:
    groups = _groups(group_by)
    start = utc_moment(from_, "from") if from_ is not None else None
    end = utc_moment(to, "to") if to is not None else None
    if start is not None and end is not None and start > end:
        raise ProblemError(422, "validation-error", "`from` must not be after `to`", field="from")
    keys = [_KEYS[group] for group in groups]
    query = select(*keys, *_TOTALS).where(visible_usage(caller))
    if session_id is not None:
        query = query.where(UsageEvent.session_id == session_id)
    if chat_id is not None:
        query = query.where(UsageEvent.chat_id == chat_id)
    if start is not None:
        query = query.where(UsageEvent.created_at >= start)
    if end is not None:
        query = query.where(UsageEvent.created_at < end)
    rows = (await db.execute(query.group_by(*keys).order_by(*keys))).all()
    return UsageReport(group_by=groups, rows=[UsageRow.model_validate(dict(row._mapping)) for row in rows])
