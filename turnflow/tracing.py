"""OpenTelemetry tracing of the API and worker processes, configured by the standard `OTEL_*` variables."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_log = logging.getLogger("turnflow.tracing")
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tracing_wanted(env: Mapping[str, str] = os.environ) -> bool:
    """Off unless an OTLP endpoint is set, and off whenever the SDK is disabled or the traces exporter is `none`."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


def configure_tracing(service: str) -> TracerProvider | None:
    """Installs the process's tracer provider, exporting over OTLP/HTTP (the exporter reads its endpoint, headers
    and timeouts from `OTEL_EXPORTER_OTLP_*`); None, changing nothing, when tracing is off."""
    if not tracing_wanted():
        return None
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _log.info("exporting traces over OTLP as %s", name)
    return provider
