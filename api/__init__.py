"""The HTTP API: resources, turn streaming, auth."""
