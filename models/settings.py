"""The one configuration class; every field is read from a `TURNFLOW_*` environment variable."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

STACK_FILE = "stack.json"
DEFAULT_CLAUDE_MODEL = "claude-sonnet-4-6"


class Settings(BaseSettings):
    """turnflow settings. Defaults suit `turnflow dev` on a laptop."""

    model_config = SettingsConfigDict(env_prefix="TURNFLOW_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        Path(".turnflow"),
        description="Where `turnflow dev` keeps PostgreSQL, the Temporal SQLite file and the stack description.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL (postgresql+asyncpg://…). Unset: the database of the `turnflow dev` "
        "stack running on data_dir.",
    )
    temporal_address: str | None = Field(
        None, description="host:port of the Temporal frontend. Unset: the stack on data_dir, else localhost:7233."
    )
    temporal_namespace: str = Field("default", description="Temporal namespace for every workflow.")
    task_queue: str = Field("turnflow", description="Task queue the workers poll.")
    api_host: str = Field("127.0.0.1", description="Address the API binds to.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    temporal_port: int = Field(7233, ge=1, le=65535, description="gRPC port of the dev Temporal server.")
    temporal_ui_port: int | None = Field(
        None, ge=1, le=65535, description="Temporal Web UI port of `turnflow dev`. Unset: temporal_port + 1000."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body the API accepts.")
    page_size_default: int = Field(50, ge=1, le=500, description="Page size when a list request names none.")
    page_size_max: int = Field(200, ge=1, le=1000, description="Largest page a list request may ask for.")
    db_pool_size: int = Field(
        10, ge=1, le=200, description="PostgreSQL connections each process pools (as many again open at peaks)."
    )
    turn_event_retention_hours: float = Field(
        24.0, gt=0, description="How long the stream log of a finished turn is kept (the message stays)."
    )
    log_level: str = Field("info", description="Log level of the API and worker processes.")
    model: str | None = Field(
        None,
        description="Default model of new chats. Unset: `scripted` (offline) without an Anthropic key, "
        f"else {DEFAULT_CLAUDE_MODEL}.",
    )
    anthropic_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("TURNFLOW_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
        description="Anthropic API key (ANTHROPIC_API_KEY is read too).",
    )
    anthropic_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("TURNFLOW_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL"),
        description="Anthropic API base URL (ANTHROPIC_BASE_URL is read too). Unset: Anthropic's own.",
    )
    model_timeout_s: float = Field(
        600, gt=0, le=600, description="Longest a single model call may take (a model step is capped at 10 min)."
    )
    max_steps: int = Field(8, ge=1, le=50, description="Model steps (each possibly with tool calls) per turn.")
    max_output_tokens: int = Field(4096, ge=1, le=64000, description="max_tokens of each model call.")
    scripted_delay_ms: float = Field(25, ge=0, description="Pause between the scripted model's words.")
    system_prompt: str = Field(
        "You are a helpful assistant. You can run commands and edit files in the session's workspace with tools.",
        description="System prompt of every turn (cached by the model provider).",
    )
    workspace_root: Path | None = Field(None, description="Where session workspaces live. Unset: data_dir/workspaces.")
    sandbox_provider: Literal["auto", "bubblewrap", "process"] = Field(
        "auto",
        description="Where commands run: `bubblewrap` (isolated), `process` (unisolated, development only), or "
        "`auto`: bubblewrap, and a worker without it refuses to start; only `turnflow dev` then falls back to "
        "process, with a loud warning.",
    )
    sandbox_idle_hibernate_s: float = Field(
        600, gt=0, description="Idle seconds after which a session's sandbox is snapshotted and stopped."
    )
    sandbox_memory_mb: int = Field(
        1024,
        ge=64,
        description="Memory of a sandbox: all its processes together where the worker has a delegated cgroup, "
        "else each process's address space.",
    )
    sandbox_max_processes: int = Field(
        256, ge=8, description="Processes a sandbox may have at once (see Sandbox limits for what shares them)."
    )
    sandbox_tmp_mb: int = Field(
        256, ge=1, description="Size of each sandboxed command's private /tmp and /dev/shm (held in memory)."
    )
    sandbox_disk_mb: int = Field(
        2048,
        ge=0,
        description="Size of each workspace's own filesystem (a worker running as root, with loop devices). "
        "0: workspaces share the disk they are on.",
    )
    sandbox_uid_first: int = Field(
        1_000_000_000,
        ge=1000,
        lt=2**31 - 1,
        description="First user id of the range a worker running as root gives sandboxes, one each; "
        "no user of the host may hold one.",
    )
    sandbox_uid_count: int = Field(1000, ge=1, description="Sandboxes one host may hold at once (as root).")
    file_tool_threads: int = Field(16, ge=1, le=256, description="Threads a worker runs file tools on.")
    file_tool_threads_per_session: int = Field(
        4, ge=1, le=256, description="Of those threads, how many one session's file tools may hold at once."
    )
    file_tool_timeout_s: float = Field(10, gt=0, le=600, description="Longest a file tool call may take.")
    question_timeout_s: float = Field(
        86400, gt=0, description="How long a question to the user waits before the turn goes on with a tool error."
    )
    subagent_max_steps: int = Field(6, ge=1, le=50, description="Model steps a `task` sub-agent may take.")
    digest_webhook_url: str | None = Field(
        None,
        description="Where the spend digest is posted. With TURNFLOW_DIGEST_TELEGRAM_CHAT_ID set, a Telegram bot "
        "API base (https://api.telegram.org/bot<token>); otherwise any URL taking a JSON POST. Unset: no digest.",
    )
    digest_telegram_chat_id: str | None = Field(None, description="Telegram chat the digest goes to.")
    digest_interval_minutes: int = Field(10, ge=1, le=1440, description="Window and period of the spend digest.")
    stream_keepalive_s: float = Field(15, gt=0, description="Idle seconds before a stream sends a keep-alive comment.")

    @property
    def stack_file(self) -> Path:
        return self.data_dir / STACK_FILE

    def _stack(self) -> dict[str, str]:
        try:
            data = json.loads(self.stack_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def resolved_database_url(self) -> str:
        """The database to use; explains how to get one when there is none."""
        url = self.database_url or self._stack().get("database_url")
        if not url:
            raise RuntimeError(
                f"no database: set TURNFLOW_DATABASE_URL, or start `turnflow dev --data-dir {self.data_dir}` first"
            )
        return url

    def resolved_temporal_address(self) -> str:
        return self.temporal_address or self._stack().get("temporal_address") or "localhost:7233"

    def default_model(self) -> str:
        if self.model:
            return self.model
        return DEFAULT_CLAUDE_MODEL if self.anthropic_api_key else "scripted"

    def workspaces(self) -> Path:
        return self.workspace_root or self.data_dir / "workspaces"

    def snapshots(self) -> Path:
        return self.workspaces().parent / "snapshots"

    def ui_port(self) -> int:
        return self.temporal_ui_port or self.temporal_port + 1000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
