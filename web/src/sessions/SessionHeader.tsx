import { useState } from "react";

import { ApiError, useApi } from "../api/client";
import { useQuery } from "../api/query";
import { useRefresh } from "../api/refresh";
import { Session } from "../api/schemas";
import type { Triage } from "../chat/parts";
import { SessionTypeBadge } from "../ui/icons";
import { ConfirmDialog } from "../ui/Modal";
import { ConcludeModal } from "./ConcludeModal";
import type { ConcludeKind } from "./handoffDraft";
import { StatusUpdateModal } from "./StatusUpdateModal";
import { TriageHeader } from "./TriageHeader";

type Dialog = { kind: ConcludeKind } | { kind: "share" } | { kind: "pause" | "abandon" | "resume" } | null;

const MOVES = { pause: "Pause", abandon: "Abandon", resume: "Resume" } as const;

/** The session above its chat, the same for guided and chat sessions: type, status, triage and the actions. */
export function SessionHeader({ sessionId, liveTriage }: { sessionId: string; liveTriage: Triage | null }) {
  const api = useApi();
  const { version, refresh } = useRefresh();
  const loaded = useQuery(`session:${sessionId}:${version}`, (signal) =>
    api.get(`/sessions/${sessionId}`, Session, signal),
  );
  // The newest word wins: an edit or action answered by the server, or a triage the model streamed after it.
  const [changed, setChanged] = useState<{ session: Session; liveAt: Triage | null } | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [error, setError] = useState<string | null>(null);
  const session = changed?.session ?? loaded.data;
  if (!session) return loaded.error ? <p className="error">{loaded.error.message}</p> : null;
  const triage = liveTriage && liveTriage !== changed?.liveAt ? liveTriage : session;

  const saved = (next: Session) => {
    setChanged({ session: next, liveAt: liveTriage });
    setDialog(null);
    refresh();
  };
  const move = async (action: "pause" | "abandon" | "resume") => {
    try {
      saved(await api.post(`/sessions/${sessionId}/${action}`, Session));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : `${action} failed`);
    }
  };
  const open = session.status === "active" || session.status === "paused";

  return (
    <section className="session-header" aria-label="Session">
      <div className="session-title">
        <SessionTypeBadge type={session.sessionType} />
        <h1>{session.title ?? "Untitled session"}</h1>
        <span className={`status status-${session.status}`}>{session.status}</span>
      </div>
      <TriageHeader sessionId={sessionId} guided={session.sessionType === "guided"} triage={triage} onSaved={saved} />
      <div className="session-actions" role="toolbar" aria-label="Session actions">
        <button type="button" onClick={() => setDialog({ kind: "resolve" })} disabled={!open}>
          Resolve
        </button>
        <button type="button" onClick={() => setDialog({ kind: "escalate" })} disabled={!open}>
          Escalate
        </button>
        <button type="button" onClick={() => setDialog({ kind: "share" })}>
          Share update
        </button>
        {session.status === "active" && (
          <button type="button" onClick={() => setDialog({ kind: "pause" })}>
            Pause
          </button>
        )}
        {session.status !== "active" && (
          <button type="button" onClick={() => setDialog({ kind: "resume" })}>
            Resume
          </button>
        )}
        {open && (
          <button type="button" onClick={() => setDialog({ kind: "abandon" })}>
            Abandon
          </button>
        )}
      </div>
      {(dialog?.kind === "resolve" || dialog?.kind === "escalate") && (
        <ConcludeModal sessionId={sessionId} kind={dialog.kind} onDone={saved} onClose={() => setDialog(null)} />
      )}
      {dialog?.kind === "share" && <StatusUpdateModal sessionId={sessionId} onClose={() => setDialog(null)} />}
      {(dialog?.kind === "pause" || dialog?.kind === "abandon" || dialog?.kind === "resume") && (
        <ConfirmDialog
          title={`${MOVES[dialog.kind]} this session?`}
          message={
            dialog.kind === "abandon"
              ? "The session is closed without a resolution; you can resume it later."
              : dialog.kind === "pause"
                ? "The session stays open but is set aside."
                : "The session becomes active again."
          }
          confirmLabel={MOVES[dialog.kind]}
          error={error}
          onConfirm={() => void move(dialog.kind)}
          onClose={() => (setDialog(null), setError(null))}
        />
      )}
    </section>
  );
}
