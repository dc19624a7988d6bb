"""Load against the goals in bench/README.md: turns/s and first text from 30 concurrent senders, delta latency and
API memory with 1,000 viewers of 10 live turns, and an unrelated request's latency during both.

    .venv/bin/python -m bench.load [--turns N] [--senders S] [--watchers W] [--live-turns L] [--words K]

Starts its own stack with two workers in a temporary directory, prints progress on stderr and the figures on stdout.
The viewers are lean raw-socket clients in this process, beside the stand-in model; the CPU each process used is
printed with the figures, the client's included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from bench.process_cpu import CpuUse, Role, cpu_between, read_cpu
from bench.sse_watcher import SseWatcher, open_watcher, stream_request
from bench.stack import BenchStack, describe_machine, progress, run_benchmark
from bench.stop_and_crash import TurnReader, table_lines, turn_deadline, turn_id_of, user_turn
from bench.turn_latency import STAGES, Row, TurnSample
from bench.turn_timeline import turn_timeline
from tests.sse import sse_events

DELAY_MS = 20.0  # between a sent turn's words, as in the other benchmarks
LIVE_DELAY_MS = 50.0  # between a live turn's words: 20 deltas a second, about what a model streams
LIVE_WORDS = 12_000  # ten minutes' worth: a live turn is stopped once measured, never runs out first
RESUME_LAG_WORDS = 5
CONNECTS_AT_ONCE = 50  # viewers arrive in a stream, not in one burst of 1,000 handshakes
SAMPLE_EVERY_S = 0.1  # the unrelated request
RSS_EVERY_S = 0.5
REST_S = 3.0  # before each phase: the API's RSS and every process's CPU at rest
TIMELINES_AT_ONCE = 10
END_DEADLINE_S = 60.0
TURN_DEADLINE_S = 300.0  # queued behind 30 others on a busy box, a turn may wait long; longer is a hang
TURNS_PER_S_GOAL = 25.0
FIRST_TEXT_GOALS_MS = {95: 250.0}
FANOUT_DELTA_GOALS_MS = {99: 100.0}
UNRELATED_GOALS_MS = {99: 100.0}
KIB_PER_STREAM_GOAL = 50.0


@dataclass(frozen=True)
class ThroughputRun:
    """Every sent turn's milestones, the phase's wall time, and what ran beside it."""

    samples: list[TurnSample]
    wall_s: float
    unrelated_s: list[float]
    cpu: CpuUse
    inexact: int  # turns whose text at the client was not exactly the model's
    retried: int  # turns whose model step was attempted more than once

    @property
    def turns_per_s(self) -> float:
        return len(self.samples) / self.wall_s


@dataclass(frozen=True)
class FanoutRun:
    """Delivery to every viewer of deltas the model emitted while all of them watched, and the API's memory."""

    watchers: int
    live_turns: int
    window_s: float
    connect_s: list[float]
    all_connected_s: float
    delivery_s: list[float]
    first_viewer_s: list[float]
    last_viewer_s: list[float]
    rss_idle: int
    rss_watched: int
    broken: int
    frames: int  # text-deltas the viewers received while the CPU was measured, catch-up included
    unrelated_s: list[float]
    cpu: CpuUse

    @property
    def kib_per_stream(self) -> float:
        return (self.rss_watched - self.rss_idle) / 1024 / self.watchers


@dataclass(frozen=True)
class _SentTurn:
    prompt: str
    turn_id: str
    sent_at: float
    words: int
    reader: TurnReader

    @property
    def exact(self) -> bool:
        """The client got the stand-in's answer, w0..wN, each word once and in order."""
        return self.reader.text.split() == [f"w{n}" for n in range(self.words)]


@dataclass(frozen=True)
class _LiveTurn:
    prompt: str
    turn_id: str
    first_seq: int  # the seq of w0; the words' text-deltas follow it one seq each


@dataclass(frozen=True)
class _Viewer:
    watcher: SseWatcher
    turn: int
    resumed_after_word: int
    connect_s: float

    @property
    def intact(self) -> bool:
        """Every word after its resume point, once and in order, and the stop seen before [DONE]."""
        words = [word for word, _ in self.watcher.deltas]
        first = self.resumed_after_word + 1
        return bool(words) and words == list(range(first, first + len(words))) and self.watcher.last_type == "abort"


def stack_roles(stack: BenchStack, each_worker: bool = False) -> list[Role]:
    """The stack's processes by part; `each_worker` lists the workers one by one, so an uneven share shows."""
    workers = [Role(f"workers ({len(stack.workers)})", tuple(w.process.pid for w in stack.workers))]
    if each_worker:
        workers = [Role(worker.name, (worker.process.pid,)) for worker in stack.workers]
    return [
        Role("benchmark process (clients, stand-in model)", (os.getpid(),), alone=True),
        Role("API", (stack.api.process.pid,)),
        *workers,
        Role("Temporal dev server", (stack.temporal_server.process.pid,)),
        Role("PostgreSQL", (stack.postgres_pid,)),
    ]


def api_client(stack: BenchStack, connections: int = 10) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    limits = httpx.Limits(max_connections=connections)
    return httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=60, trust_env=False, limits=limits)


@contextlib.asynccontextmanager
async def sampled_requests(stack: BenchStack) -> AsyncIterator[list[float]]:
    """`GET /sessions` every SAMPLE_EVERY_S on a connection of its own, as an unrelated user would; yields the
    latencies as they come."""
    latencies: list[float] = []

    async def sample(http: httpx.AsyncClient) -> None:
        next_at = time.monotonic()
        while True:
            started = time.monotonic()
            (await http.get("/sessions")).raise_for_status()
            latencies.append(time.monotonic() - started)
            next_at += SAMPLE_EVERY_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async with api_client(stack) as http:
        task = asyncio.create_task(sample(http))
        try:
            yield latencies
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def create_sessions(http: httpx.AsyncClient, count: int) -> list[str]:
    return [(await http.post("/sessions", json={})).raise_for_status().json()["id"] for _ in range(count)]


@contextlib.asynccontextmanager
async def posted_turn(
    http: httpx.AsyncClient, session_id: str, name: str, words: int, delay_ms: float
) -> AsyncIterator[tuple[str, str, httpx.Response]]:
    """A new chat's first turn in the session, answering `words` words `delay_ms` apart: its prompt (unique, so the
    stand-in's emit times are found by it), its turn id and its open stream."""
    chat_id = f"{name}-{uuid.uuid4().hex[:8]}"
    prompt = f"[[ttft:0]] [[words:{words}]] [[delay:{delay_ms:g}]] {chat_id}"
    async with (
        turn_deadline(chat_id, TURN_DEADLINE_S),
        http.stream("POST", "/chat/workflow", json=user_turn(chat_id, prompt, session_id)) as response,
    ):
        yield prompt, turn_id_of(response), response


async def send_turn(http: httpx.AsyncClient, session_id: str, name: str, words: int) -> _SentTurn:
    """Read to its end, as the sender's browser would."""
    sent_at = time.monotonic()
    async with posted_turn(http, session_id, name, words, DELAY_MS) as (prompt, turn_id, response):
        reader = TurnReader(sse_events(response))
        await reader.read()
    if reader.last_chunk["type"] != "finish" or not reader.deltas:
        raise RuntimeError(f"turn {turn_id} ended with {reader.last_chunk} after {len(reader.deltas)} text-deltas")
    return _SentTurn(prompt, turn_id, sent_at, words, reader)


def turns_for(seconds: float) -> Iterator[int]:
    """Turn numbers for senders to take until `seconds` after the first was taken: a fixed offered load (so many
    senders for so long) whatever rate the stack sustains."""
    until: float | None = None
    for n in itertools.count():
        now = time.monotonic()
        until = now + seconds if until is None else until
        if now >= until:
            return
        yield n


async def warm_up(stack: BenchStack, http: httpx.AsyncClient, sessions: Sequence[str], words: int) -> None:
    """One uncounted turn in each session at once, then quiet: sandboxes provisioned, every worker's paths warm."""
    async with asyncio.TaskGroup() as warmups:
        for n, session_id in enumerate(sessions):
            warmups.create_task(send_turn(http, session_id, f"warmup-{n}", words))
    await stack.wait_quiet()


async def measure_throughput(
    stack: BenchStack,
    http: httpx.AsyncClient,
    sessions: Sequence[str],
    turns: Iterator[int],
    words: int,
    each_worker: bool = False,
) -> ThroughputRun:
    """The numbered `turns` from one sender per session, each sending its next turn when the last one has ended;
    `each_worker` reports every worker's CPU on its own."""
    sent: list[_SentTurn] = []

    async def sender(session_id: str) -> None:
        for n in turns:  # shared: whichever sender is free takes the next turn
            sent.append(await send_turn(http, session_id, f"turn-{n}", words))

    roles = stack_roles(stack, each_worker)
    wall_offset_s = time.time() - time.monotonic()
    rest_from, rest_before = time.monotonic(), read_cpu(roles)
    await asyncio.sleep(REST_S)  # the stack at rest, for the CPU it burns per second whatever it does
    cpu_before = read_cpu(roles)
    started = time.monotonic()
    rest = cpu_between(rest_before, cpu_before, started - rest_from)
    async with sampled_requests(stack) as unrelated, asyncio.TaskGroup() as senders:
        for session_id in sessions:
            senders.create_task(sender(session_id))
    wall_s = time.monotonic() - started
    cpu = cpu_between(cpu_before, read_cpu(roles), wall_s, rest)
    progress(f"  {len(sent)} turns in {wall_s:.1f} s; reading each turn's workflow history for its stages...")
    limit = asyncio.Semaphore(TIMELINES_AT_ONCE)

    async def sample(turn: _SentTurn) -> TurnSample:
        async with limit:
            timeline = await turn_timeline(stack.engine, stack.temporal, turn.turn_id, wall_offset_s)
        call = stack.standin.last_call_for(turn.prompt)
        received = [at for at, _ in turn.reader.deltas]
        emitted = stack.standin.emitted[turn.prompt]
        if call.first_token_at is None:
            raise RuntimeError(f"turn {turn.turn_id}: the stand-in sent no text")
        one_to_one = turn.exact and len(emitted) == len(received)  # else no delta can be paired with its emit
        if not turn.exact:
            progress(f"  turn {turn.turn_id}: the client got {turn.reader.text!r} in {len(received)} text-deltas")
        return TurnSample(
            sent_at=turn.sent_at,
            timeline=timeline,
            model_started=call.started,
            model_first_token=call.first_token_at,
            first_delta_received=received[0],
            delivery_s=[got - out for out, got in zip(emitted, received, strict=True)] if one_to_one else [],
        )

    samples = list(await asyncio.gather(*(sample(turn) for turn in sent)))
    return ThroughputRun(
        samples,
        wall_s,
        list(unrelated),
        cpu,
        inexact=sum(not turn.exact for turn in sent),
        retried=sum(len(stack.standin.calls_with(turn.prompt)) > 1 for turn in sent),
    )


async def start_live_turn(http: httpx.AsyncClient, session_id: str, name: str) -> _LiveTurn:
    """Starts a long answer and leaves its stream once the first word is out: the turn runs on unwatched."""
    async with posted_turn(http, session_id, name, LIVE_WORDS, LIVE_DELAY_MS) as (prompt, turn_id, response):
        async for event in sse_events(response):
            if event.data != "[DONE]" and event.chunk["type"] == "text-delta" and event.id is not None:
                return _LiveTurn(prompt, turn_id, first_seq=event.id)
    raise RuntimeError(f"turn {turn_id} ended before its first word")


def api_rss(stack: BenchStack) -> int:
    return psutil.Process(stack.api.process.pid).memory_info().rss


async def median_rss(stack: BenchStack, seconds: float) -> int:
    """The API's RSS sampled every RSS_EVERY_S for `seconds`: one sample could catch a passing peak."""
    seen = [api_rss(stack)]
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        await asyncio.sleep(min(RSS_EVERY_S, left))
        seen.append(api_rss(stack))
    return int(statistics.median(seen))


async def connect_viewers(stack: BenchStack, live: Sequence[_LiveTurn], count: int) -> list[_Viewer]:
    """`count` viewers spread over the live turns, each resuming RESUME_LAG_WORDS behind the live edge (as after a
    dropped connection): half by `?starting_after=`, half by `Last-Event-ID`."""
    url = httpx.URL(stack.api_url)
    host, port = url.host, url.port or 80
    limit = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def connect(n: int) -> _Viewer:
        turn = live[n % len(live)]
        path = f"/turns/{turn.turn_id}/stream"
        async with limit:
            after_word = max(0, len(stack.standin.emitted[turn.prompt]) - 1 - RESUME_LAG_WORDS)
            after_seq = turn.first_seq + after_word
            if n % 2:
                request = stream_request(f"{host}:{port}", path, stack.api_key, last_event_id=after_seq)
            else:
                request = stream_request(f"{host}:{port}", f"{path}?starting_after={after_seq}", stack.api_key)
            started = time.monotonic()
            watcher = await open_watcher(host, port, request)
            return _Viewer(watcher, n % len(live), after_word, time.monotonic() - started)

    return list(await asyncio.gather(*(connect(n) for n in range(count))))


async def measure_fanout(
    stack: BenchStack, http: httpx.AsyncClient, session_id: str, watchers: int, live_turns: int, window_s: float
) -> FanoutRun:
    """Viewers join live turns; once all watch, the deltas emitted over `window_s` are timed to every viewer."""
    live = [await start_live_turn(http, session_id, f"live-{n}") for n in range(live_turns)]
    roles = stack_roles(stack)
    rest_from, rest_before = time.monotonic(), read_cpu(roles)
    rss_idle = await median_rss(stack, REST_S)  # the live turns run, nobody watches
    cpu_before = read_cpu(roles)
    started = time.monotonic()
    rest = cpu_between(rest_before, cpu_before, started - rest_from)
    async with sampled_requests(stack) as unrelated:
        progress(f"  {live_turns} turns live; connecting {watchers} viewers, {CONNECTS_AT_ONCE} at a time...")
        viewers = await connect_viewers(stack, live, watchers)
        window_from = time.monotonic()
        progress(f"  all connected in {window_from - started:.1f} s; timing deltas for {window_s:g} s...")
        rss_watched = await median_rss(stack, window_s)
        window_to = time.monotonic()
        unrelated_s = list(unrelated)
    cpu = cpu_between(cpu_before, read_cpu(roles), window_to - started, rest)
    progress("  stopping the live turns; the viewers read to the end...")
    # New connections: the pooled ones have idled through the window, and the API may be closing them right now.
    async with api_client(stack) as fresh:
        for turn in live:
            (await fresh.post(f"/turns/{turn.turn_id}/cancel")).raise_for_status()
    async with asyncio.timeout(END_DEADLINE_S):
        await asyncio.gather(*(viewer.watcher.ended for viewer in viewers))
    for turn in live:
        await stack.wait_turn_closed(turn.turn_id)

    per_delta: dict[tuple[int, int], list[float]] = {}
    for viewer in viewers:
        emitted = stack.standin.emitted[live[viewer.turn].prompt]
        for word, received in viewer.watcher.deltas:
            if window_from <= emitted[word] <= window_to:
                per_delta.setdefault((viewer.turn, word), []).append(received - emitted[word])
    return FanoutRun(
        watchers=watchers,
        live_turns=live_turns,
        window_s=window_to - window_from,
        connect_s=[viewer.connect_s for viewer in viewers],
        all_connected_s=window_from - started,
        delivery_s=[latency for latencies in per_delta.values() for latency in latencies],
        first_viewer_s=[min(latencies) for latencies in per_delta.values()],
        last_viewer_s=[max(latencies) for latencies in per_delta.values()],
        rss_idle=rss_idle,
        rss_watched=rss_watched,
        broken=sum(not viewer.intact for viewer in viewers),
        frames=sum(received <= window_to for viewer in viewers for _, received in viewer.watcher.deltas),
        unrelated_s=unrelated_s,
        cpu=cpu,
    )


async def measure(turns: int, senders: int, watchers: int, live_turns: int, words: int, window_s: float) -> None:
    load_before = os.getloadavg()[0]  # other work on the box skews every figure; the report says how much there was
    with tempfile.TemporaryDirectory(prefix="turnflow-bench-", ignore_cleanup_errors=True) as work_dir:
        # Every stopped live turn makes a worker log a failed activity with its traceback: expected here.
        quiet = {"TURNFLOW_LOG_LEVEL": "error"}
        async with BenchStack(Path(work_dir), workers=2, worker_env=quiet) as stack:
            throughput, fanout = await run_phases(stack, turns, senders, watchers, live_turns, words, window_s)
    report(throughput, fanout, senders, words, load_before)


async def run_phases(
    stack: BenchStack, turns: int, senders: int, watchers: int, live_turns: int, words: int, window_s: float
) -> tuple[ThroughputRun, FanoutRun]:
    async with api_client(stack, connections=senders + live_turns) as http:
        sessions = await create_sessions(http, senders + 1)
        progress(f"warm-up: one turn in each of {senders} sessions (provisions their sandboxes; not counted)...")
        await warm_up(stack, http, sessions[:senders], words)
        progress(f"throughput: {turns} turns from {senders} concurrent senders...")
        throughput = await measure_throughput(stack, http, sessions[:senders], iter(range(turns)), words)
        await stack.wait_quiet()
        progress(f"fan-out: {watchers} viewers of {live_turns} live turns...")
        fanout = await measure_fanout(stack, http, sessions[-1], watchers, live_turns, window_s)
    return throughput, fanout


def report(throughput: ThroughputRun, fanout: FanoutRun, senders: int, words: int, load_before: float) -> None:
    samples = throughput.samples
    throughput_rows = [
        Row(
            "first text: POST -> first text-delta at the client",
            [s.first_delta_received - s.sent_at for s in samples],
            FIRST_TEXT_GOALS_MS,
        ),
        *(
            Row(f"  {stage}", list(values))
            for stage, values in zip(STAGES, zip(*(s.stages_s() for s in samples), strict=True), strict=True)
        ),
        Row("  the model's own first token (stand-in)", [s.model_first_token - s.model_started for s in samples]),
        Row("delta delivery (model emits -> client)", [d for s in samples for d in s.delivery_s]),
        Row("unrelated GET /sessions meanwhile", throughput.unrelated_s, UNRELATED_GOALS_MS),
    ]
    fanout_rows = [
        Row("delta delivery to every viewer (model emits -> viewer)", fanout.delivery_s, FANOUT_DELTA_GOALS_MS),
        Row("  to the first viewer of each delta", fanout.first_viewer_s),
        Row("  to the last viewer of each delta", fanout.last_viewer_s),
        Row("viewer connect: request -> response headers", fanout.connect_s),
        Row("unrelated GET /sessions meanwhile", fanout.unrelated_s, UNRELATED_GOALS_MS),
    ]
    mib = 1024 * 1024
    lines = [
        "",
        "turnflow under load (bench/load.py; goals from bench/README.md)",
        describe_machine(load_before),
        f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)",
        "stack: 2 workers, one API process, tuned Temporal dev server, PostgreSQL; the stand-in model and every "
        "client run in the benchmark process",
        "",
        f"throughput: {len(samples)} turns (+{senders} warm-up) from {senders} concurrent senders, each in its own "
        f"session, each turn a new chat answering {words} words {DELAY_MS:g} ms apart",
        f"  turns/s: {throughput.turns_per_s:.1f} over {throughput.wall_s:.1f} s  "
        f"goal >= {TURNS_PER_S_GOAL:g}: {_verdict(throughput.turns_per_s >= TURNS_PER_S_GOAL)}",
        f"  turns whose text at the client was not exactly w0..w{words - 1}: {throughput.inexact} (goal 0); "
        f"turns whose model step was retried: {throughput.retried}",
        *table_lines(throughput_rows),
        f"  CPU over the phase (at rest: the {REST_S:g} s before it)",
        *throughput.cpu.lines(len(samples), "turn"),
        "",
        f"fan-out: {fanout.watchers} viewers of {fanout.live_turns} live turns (words {LIVE_DELAY_MS:g} ms apart), "
        f"resuming {RESUME_LAG_WORDS} words behind the live edge, half by ?starting_after=N, half by Last-Event-ID; "
        f"deltas the model emitted over {fanout.window_s:.1f} s once all were connected",
        f"  all viewers connected in {fanout.all_connected_s:.1f} s; "
        f"viewers that missed or repeated a word, or did not end with abort + [DONE]: {fanout.broken} (goal 0)",
        f"  API memory per stream: {fanout.kib_per_stream:.1f} KiB (RSS {fanout.rss_idle / mib:.1f} MiB with no "
        f"stream, {fanout.rss_watched / mib:.1f} MiB with {fanout.watchers})  "
        f"goal <= {KIB_PER_STREAM_GOAL:g}: {_verdict(fanout.kib_per_stream <= KIB_PER_STREAM_GOAL)}",
        *table_lines(fanout_rows),
        f"  CPU from the first connect to the window's end (at rest: the live turns unwatched for {REST_S:g} s)",
        *fanout.cpu.lines(fanout.frames, "delivered delta"),
    ]
    print("\n".join(lines), flush=True)


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300, help="measured turns in the throughput phase (default 300)")
    parser.add_argument("--senders", type=int, default=30, help="concurrent senders (default 30)")
    parser.add_argument("--watchers", type=int, default=1000, help="viewers in the fan-out phase (default 1000)")
    parser.add_argument("--live-turns", type=int, default=10, help="live turns the viewers watch (default 10)")
    parser.add_argument(
        "--words", type=int, default=20, help=f"words per sent turn, {DELAY_MS:g} ms apart (default 20)"
    )
    parser.add_argument(
        "--window",
        type=float,
        default=10.0,
        help="seconds of fan-out timed once every viewer is connected (default 10)",
    )
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.turns < 2 or args.senders < 1 or args.live_turns < 1 or args.watchers < args.live_turns:
        raise SystemExit(
            "--turns must be at least 2, --senders and --live-turns at least 1, --watchers at least --live-turns"
        )
    if args.words < 1 or args.window <= 0:
        raise SystemExit("--words must be at least 1 and --window above 0")
    run_benchmark(lambda: measure(args.turns, args.senders, args.watchers, args.live_turns, args.words, args.window))


if __name__ == "__main__":
    main()
