"""Inputs and results of the reconciler that finds turns left without a workflow."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReconcileTurnsInput:
    # A live turn younger than this is left alone: its send may still be starting its workflow.
    stranded_after_s: float
    batch_size: int = 200


@dataclass(frozen=True)
class ReconcileTurnsResult:
    checked: int
    started: int
    failed: int
