"""What a run did: chats matched, mismatched and skipped, rows written, and every skipped source row by id.
The summary is one line; the report file lists everything."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from turnflow.importing.reconciliation import Mismatch
from turnflow.importing.records import Skip

# A chat in turnflow differs from its source after writing.
EXIT_MISMATCH = 3
# Some chats were busy (a turn was running): the next run picks them up.
EXIT_RETRY = 4
TABLES = ("accounts", "sessions", "chats", "messages")


@dataclass
class ImportReport:
    shape: str
    source: str
    dry_run: bool
    started_at: datetime
    chats_read: int = 0
    chats_matched: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    adjusted: list[Skip] = field(default_factory=list)
    written: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def chats_skipped(self) -> int:
        return sum(1 for s in self.skipped if s.whole_chat)

    @property
    def busy(self) -> list[Skip]:
        return [s for s in self.skipped if s.reason == "chat-busy"]

    @property
    def exit_code(self) -> int:
        if self.dry_run:
            return 0
        if self.mismatches:
            return EXIT_MISMATCH
        return EXIT_RETRY if self.busy else 0

    def skipped_by_reason(self) -> Counter[str]:
        return Counter(s.reason for s in self.skipped)

    def summary(self, report_path: Path) -> str:
        rows = sum(self.written.values())
        tables = ", ".join(f"{self.written[t]} {t}" for t in TABLES)
        wrote = f"would write {rows} rows ({tables})" if self.dry_run else f"wrote {rows} rows ({tables})"
        rate = self.chats_read / self.elapsed_s if self.elapsed_s else 0.0
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped_by_reason().items())) or "none"
        line = (
            f"import {self.shape}{' (dry run)' if self.dry_run else ''}: {self.chats_read} chats read, "
            f"{self.chats_matched} matched, {len(self.mismatches)} mismatched, {self.chats_skipped} skipped; "
            f"{wrote} in {self.elapsed_s:.1f} s ({rate:.0f} chats/s); skipped rows: {reasons}"
        )
        if self.busy:
            line += f"; {len(self.busy)} chats had a turn running: run again"
        return f"{line}; report: {report_path}"

    def as_json(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "source": self.source,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "elapsed_s": round(self.elapsed_s, 3),
            "chats": {
                "read": self.chats_read,
                "matched": self.chats_matched,
                "mismatched": len(self.mismatches),
                "skipped": self.chats_skipped,
            },
            "rows_to_write" if self.dry_run else "rows_written": {t: self.written[t] for t in TABLES},
            "skipped_by_reason": dict(sorted(self.skipped_by_reason().items())),
            "skipped": [asdict(s) for s in self.skipped],
            "adjusted": [asdict(s) for s in self.adjusted],
            "mismatches": [asdict(m) for m in self.mismatches],
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
