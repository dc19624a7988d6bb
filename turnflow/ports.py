"""Checks that the local stack's ports are free before anything starts, so a clash fails fast and clearly."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from turnflow.errors import EXIT_CONFLICT, CommandError


@dataclass(frozen=True)
class PortClaim:
    port: int
    what: str
    flag: str


def is_port_free(host: str, port: int) -> bool:
    """Binds the way servers do (SO_REUSEADDR), so a port lingering in TIME_WAIT counts as free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ensure_ports_free(host: str, claims: list[PortClaim]) -> None:
    """Raises naming the first port that is taken (or claimed twice) and the flag that moves it."""
    seen: dict[int, PortClaim] = {}
    for claim in claims:
        if claim.port in seen:
            raise CommandError(
                f"port {claim.port} is wanted by both the {seen[claim.port].what} and the {claim.what}; "
                f"choose another with {claim.flag}",
                exit_code=EXIT_CONFLICT,
            )
        seen[claim.port] = claim
        if not is_port_free(host, claim.port):
            raise CommandError(
                f"port {claim.port} on {host} ({claim.what}) is already in use; choose another with {claim.flag}",
                exit_code=EXIT_CONFLICT,
            )
