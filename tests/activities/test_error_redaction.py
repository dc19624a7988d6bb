"""A database error inside an activity reaches Temporal without its SQL, parameters or message; the worker log
keeps them."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.error_redaction import ErrorRedaction

QUERY_ACTIVITY = "test.query_missing_table"
EXPLAINED_ACTIVITY = "test.explain_failure"
LEAKS = ("no_such_table", "SELECT", "UndefinedTable", "asyncpg", "sqlalche.me")


class _Queries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @activity.defn(name=QUERY_ACTIVITY)
    async def query_missing_table(self, secret: str) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT note FROM no_such_table WHERE note = :secret"), {"secret": secret})

    @activity.defn(name=EXPLAINED_ACTIVITY)
    async def explain_failure(self, secret: str) -> None:
        try:
            await self.query_missing_table(secret)
        except SQLAlchemyError as exc:
            raise ApplicationError("the model is overloaded", type="ModelHTTP529", non_retryable=True) from exc


@workflow.defn(name="TestQueryMissingTable", sandboxed=False)
class QueryWorkflow:
    @workflow.run
    async def run(self, activity_name: str, secret: str) -> None:
        await workflow.execute_activity(
            activity_name,
            secret,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=2),
        )


async def _run(temporal_env: WorkflowEnvironment, engine: AsyncEngine, activity_name: str, secret: str) -> str:
    """The failing workflow's whole history as JSON, after checking what its failure says."""
    queue = f"redaction-{uuid.uuid4().hex[:8]}"
    queries = _Queries(engine)
    async with Worker(
        temporal_env.client,
        task_queue=queue,
        workflows=[QueryWorkflow],
        activities=[queries.query_missing_table, queries.explain_failure],
        interceptors=[ErrorRedaction()],
    ):
        handle = await temporal_env.client.start_workflow(
            QueryWorkflow.run, args=[activity_name, secret], id=f"redaction-{uuid.uuid4()}", task_queue=queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    return (await handle.fetch_history()).to_json()


async def test_database_errors_reach_history_as_their_kind_only(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"user-text-{uuid.uuid4().hex}"
    with caplog.at_level(logging.ERROR, logger="turnflow.activities"):
        history = await _run(temporal_env, engine, QUERY_ACTIVITY, secret)
    assert "ProgrammingError" in history and f"{QUERY_ACTIVITY} failed" in history
    for leak in (secret, *LEAKS):
        assert leak not in history, leak
    assert secret in caplog.text, "the worker log keeps the whole error"


async def test_an_activitys_own_errors_pass_as_written_without_their_causes(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    secret = f"user-text-{uuid.uuid4().hex}"
    history = await _run(temporal_env, engine, EXPLAINED_ACTIVITY, secret)
    assert "the model is overloaded" in history and "ModelHTTP529" in history
    for leak in (secret, *LEAKS):
        assert leak not in history, leak
