"""docker-compose.yml describes the production shape; Docker is not needed to check that shape."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.names import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    found: dict[str, Any] = compose["services"]
    return found


def test_stack_has_every_piece(services: dict[str, Any]) -> None:
    images = {name: str(service.get("image", "")) for name, service in services.items()}
    assert images["postgres"].startswith("postgres:18")
    assert images["temporal"].startswith("temporalio/")
    assert any(image.startswith("temporalio/ui") for image in images.values())
    assert {"api", "worker"} <= services.keys()


@pytest.mark.parametrize("name", ["api", "worker"])
def test_turnflow_services_get_database_and_temporal(services: dict[str, Any], name: str) -> None:
    service = services[name]
    assert service["build"] == "."
    assert service["command"][:2] == ["turnflow", name]
    env = service["environment"]
    assert env["TURNFLOW_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["TURNFLOW_DATABASE_URL"]
    assert env["TURNFLOW_TEMPORAL_ADDRESS"] == "temporal:7233"


def test_api_listens_on_all_interfaces_and_publishes_8000(services: dict[str, Any]) -> None:
    api = services["api"]
    assert api["command"][api["command"].index("--host") + 1] == "0.0.0.0"
    assert any(str(port).split(":")[-1] == "8000" for port in api["ports"])


def test_schema_is_migrated_before_api_and_worker_start(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["turnflow", "migrate"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_image_runs_as_a_non_root_user() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert [line for line in lines if line.startswith("FROM ")] == ["FROM python:3.11-slim"]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}


def test_every_search_attribute_is_registered(services: dict[str, Any]) -> None:
    setup = " ".join(services["temporal-setup"]["command"])
    for name in SEARCH_ATTRIBUTES:
        assert name in setup, name


def test_worker_serves_metrics_inside_the_network(services: dict[str, Any]) -> None:
    env = services["worker"]["environment"]
    assert env["TURNFLOW_WORKER_METRICS_PORT"] == "9464" and env["TURNFLOW_WORKER_METRICS_HOST"] == "0.0.0.0"


def test_workers_keep_snapshots_in_the_object_store(services: dict[str, Any]) -> None:
    """S3-compatible storage in the stack, and the workers pointed at it with the key it accepts."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    store = services["seaweedfs"]
    assert str(store["image"]).startswith("chrislusf/seaweedfs:")
    assert "-s3" in store["command"] and "-s3.port=8333" in store["command"]
    env = services["worker"]["environment"]
    assert env["TURNFLOW_SNAPSHOT_STORE"].startswith("s3://")
    assert env["TURNFLOW_S3_ENDPOINT_URL"] == "http://seaweedfs:8333"
    identities = compose["configs"]["seaweedfs-s3"]["content"]
    assert env["AWS_ACCESS_KEY_ID"] in identities and env["AWS_SECRET_ACCESS_KEY"] in identities
    assert "seaweedfs" in services["worker"]["depends_on"]


def test_temporal_retries_without_the_default_second_of_timer_slack() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    temporal = compose["services"]["temporal"]
    (mounted,) = temporal["configs"]
    assert temporal["environment"]["DYNAMIC_CONFIG_FILE_PATH"] == mounted["target"]
    dynamic = yaml.safe_load(compose["configs"][mounted["source"]]["content"])
    assert dynamic["history.timerProcessorMaxTimeShift"] == [{"value": "10ms"}]


def test_the_image_gets_every_package_it_installs() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")}
    for pattern in packages["include"]:
        assert pattern.rstrip("*") in copied, f"{pattern} is installed from a directory the image never gets"
