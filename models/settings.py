"""The one configuration class; every field is read from a `TURNFLOW_*` environment variable."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from models.pricing import PRICES

STACK_FILE = "stack.json"
# Written by `turnflow dev` into its data dir; read by every process that joins that stack.
BROWSER_TOKEN_SECRET_FILE = "browser-token-secret"
# The web app's build in a source checkout (`make dev` and `make test` build it there).
SOURCE_WEB_BUILD = Path(__file__).resolve().parent.parent / "web" / "dist"
DEFAULT_CLAUDE_MODEL = "claude-sonnet-4-6"


@dataclass(frozen=True)
class SnapshotStoreLocation:
    """Where snapshots go. Without keys of its own, an S3 store uses the standard AWS credential chain."""

    url: str
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def environment(self) -> dict[str, str]:
        """The variables that give a worker or API process this store."""
        return {
            "TURNFLOW_SNAPSHOT_STORE": self.url,
            "TURNFLOW_S3_ENDPOINT_URL": self.endpoint_url or "",
            "AWS_ACCESS_KEY_ID": self.access_key_id or "",
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key or "",
        }


class Settings(BaseSettings):
    """turnflow settings. Defaults suit `turnflow dev` on a laptop."""

    model_config = SettingsConfigDict(env_prefix="TURNFLOW_", extra="ignore", populate_by_name=True)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """A comma-separated list in the environment; a list when set in code."""
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

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
    browser_token_secret: SecretStr | None = Field(
        None,
        min_length=32,
        description="Signs browser tokens (POST /browser-tokens); at least 32 characters. Unset: browser tokens "
        "are off. `turnflow dev` generates one into the data dir.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API, comma-separated (e.g. https://app.example.com).",
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body the API accepts.")
    page_size_default: int = Field(50, ge=1, le=500, description="Page size when a list request names none.")
    page_size_max: int = Field(200, ge=1, le=1000, description="Largest page a list request may ask for.")
    db_pool_size: int = Field(
        10,
        ge=1,
        le=200,
        description="PostgreSQL connections an API process pools for requests, and as many for streams (each as "
        "many again at peaks); workers size theirs by TURNFLOW_WORKER_ACTIVITY_SLOTS.",
    )
    worker_activity_slots: int = Field(
        20,
        ge=1,
        le=500,
        description="Activities one worker runs at once; its database pool holds a connection per slot (two at peaks).",
    )
    turn_event_retention_hours: float = Field(
        24.0, gt=0, description="How long the stream log of a finished turn is kept (the message stays)."
    )
    log_level: str = Field("info", description="Log level of the API and worker processes.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="`text` for a terminal, or `json`: one object per line with the turn, chat, session, account "
        "and trace ids it knows.",
    )
    worker_metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of the worker's Prometheus metrics (`/metrics`: turnflow's and the Temporal SDK's). "
        "Unset: none, except under `turnflow dev`, which gives worker n the API port + 1000 + n - 1.",
    )
    worker_metrics_host: str = Field("127.0.0.1", description="Address the worker's metrics port binds to.")
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
    snapshot_store: str | None = Field(
        None,
        description="Where workspace snapshots live: a directory, or s3://bucket/prefix (with "
        "TURNFLOW_S3_ENDPOINT_URL and the standard AWS credential variables). Unset: the object store of the "
        "`turnflow dev --object-store` stack on data_dir, else data_dir/snapshots.",
    )
    s3_endpoint_url: str | None = Field(
        None, description="URL of an S3-compatible object store (SeaweedFS, MinIO, ...). Unset: AWS S3."
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
    reconcile_interval_s: float = Field(
        60,
        ge=1,
        le=3600,
        description="Period of the reconciler that starts or fails turns left without a workflow (e.g. by an API "
        "that died mid-send); a turn is left alone for one period before it counts as stranded.",
    )
    max_open_streams_per_account: int = Field(
        100, ge=1, description="Turn streams one account may hold open at once, in each API process (then 429)."
    )
    max_handoff_drafts_per_account: int = Field(
        5, ge=1, description="Handoff drafts one account may have written at once, in each API process (then 429)."
    )
    max_active_turns_per_account: int = Field(
        50, ge=1, description="Turns one account may have running (or waiting for an answer) at once (then 429)."
    )
    max_queued_turns_per_account: int = Field(
        50, ge=1, description="Turns one account may have queued behind running ones at once (then 429)."
    )
    max_live_sandboxes_per_account: int = Field(
        100,
        ge=1,
        description="Sessions of one account whose sandbox may be live (provisioning or ready) at once; a send "
        "that needs another answers 429. An idle sandbox frees its place when it hibernates.",
    )

    @field_validator("model")
    @classmethod
    def _priced_model(cls, model: str | None) -> str | None:
        if model is not None and model not in PRICES:
            raise ValueError(f"unknown model {model!r}; use `scripted` or one of {', '.join(PRICES)}")
        return model

    web_dist_dir: Path | None = Field(
        None, description="The web app's build, served by the API at `/`. Unset: web/dist of the source checkout."
    )

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

    def resolved_browser_token_secret(self) -> bytes | None:
        """The secret browser tokens are signed with: the setting, else the `turnflow dev` stack's on data_dir."""
        if self.browser_token_secret is not None:
            return self.browser_token_secret.get_secret_value().encode()
        path = self.data_dir / BROWSER_TOKEN_SECRET_FILE
        return path.read_bytes().strip() if path.is_file() else None

    def default_model(self) -> str:
        if self.model:
            return self.model
        return DEFAULT_CLAUDE_MODEL if self.anthropic_api_key else "scripted"

    def workspaces(self) -> Path:
        return self.workspace_root or self.data_dir / "workspaces"

    def resolved_snapshot_store(self) -> SnapshotStoreLocation:
        """The setting; else the object store of the dev stack on data_dir; else a directory beside the workspaces."""
        stack = self._stack()
        if self.snapshot_store:
            return SnapshotStoreLocation(self.snapshot_store, self.s3_endpoint_url)
        if "snapshot_store" in stack:
            return SnapshotStoreLocation(
                stack["snapshot_store"],
                stack.get("s3_endpoint_url"),
                stack.get("s3_access_key_id"),
                stack.get("s3_secret_access_key"),
            )
        return SnapshotStoreLocation(str(self.data_dir / "snapshots"), self.s3_endpoint_url)

    def web_build(self) -> Path:
        return self.web_dist_dir or SOURCE_WEB_BUILD

    def ui_port(self) -> int:
        return self.temporal_ui_port or self.temporal_port + 1000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
