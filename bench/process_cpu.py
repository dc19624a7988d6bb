"""CPU time of the processes a benchmark runs, so figures from a shared 2-core box can be read against who was busy
(the client included: the load it generates competes for the same cores)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

import psutil

BOX = "the whole box"  # a reading's busy seconds of every process on the box, other work's included


@dataclass(frozen=True)
class Role:
    """A part of the stack: its processes, counted with their descendants unless `alone`."""

    name: str
    pids: tuple[int, ...]
    alone: bool = False


def cpu_seconds(role: Role) -> float:
    """User + system seconds so far, including descendants that have exited (their parent reaped them)."""
    total = 0.0
    for pid in role.pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            times = process.cpu_times()
            total += times.user + times.system
            if role.alone:
                continue
            total += times.children_user + times.children_system
            for child in process.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child_times = child.cpu_times()
                    total += child_times.user + child_times.system
    return total


def read_cpu(roles: list[Role]) -> dict[str, float]:
    """Each role's CPU seconds so far, and under BOX what every process on the box has used (guest time is already
    counted in user time)."""
    box = psutil.cpu_times()
    busy = box.user + box.nice + box.system + box.irq + box.softirq + box.steal
    return {BOX: busy, **{role.name: cpu_seconds(role) for role in roles}}


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds each role used over a phase of `wall_s` seconds, and what it used over a quiet stretch before
    (pollers, timers, turns nobody watches), which a phase pays per second rather than per unit of work; `box_s`, what
    every process on the box used, says how much of the cores other work held."""

    wall_s: float
    seconds: Mapping[str, float]
    rest: CpuUse | None = None
    box_s: float = 0.0

    def share_of_cores(self, seconds: float) -> float:
        return seconds / (self.wall_s * len(os.sched_getaffinity(0)))

    def above_rest(self, name: str) -> float:
        if self.rest is None:
            return self.seconds[name]
        return max(0.0, self.seconds[name] - self.rest.seconds[name] / self.rest.wall_s * self.wall_s)

    def lines(self, work: int, unit: str) -> list[str]:
        """Each role's share of the phase and its cost above rest per unit of `work` done; then the rate the cores
        could carry at that cost, a figure the box's other load skews less than the latencies."""
        cores = len(os.sched_getaffinity(0))
        width = max(len(name) for name in self.seconds)
        rows = [
            f"  {name:<{width}}  {used:>7.1f} s  {used / self.wall_s:>6.0%} of a core  "
            f"{self.above_rest(name) / work * 1000:>8.3f} ms per {unit} above rest"
            for name, used in self.seconds.items()
        ]
        total = sum(self.seconds.values())
        busy = sum(self.above_rest(name) for name in self.seconds)
        rows += [
            f"  {'all of the above':<{width}}  {total:>7.1f} s  {self.share_of_cores(total):>6.0%} of the "
            f"{cores} cores  {busy / work * 1000:>8.3f} ms per {unit} above rest",
            f"  {'the whole box, other work too':<{width}}  {self.box_s:>7.1f} s  "
            f"{self.share_of_cores(self.box_s):>6.0%} of the {cores} cores",
            f"  at that cost the {cores} cores, given to this stack alone, would carry at most "
            f"{cores * work / max(busy, 1e-9):,.0f} {unit}s/s",
        ]
        return rows


def cpu_between(
    before: Mapping[str, float], after: Mapping[str, float], wall_s: float, rest: CpuUse | None = None
) -> CpuUse:
    used = {name: after[name] - before[name] for name in before}
    return CpuUse(wall_s, used, rest, box_s=used.pop(BOX))
