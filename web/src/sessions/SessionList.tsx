import { useState } from "react";

import { ApiError, useApi, type ApiClient } from "../api/client";
import { Chat, ChatPage, type Session } from "../api/schemas";
import { navigate } from "../routing/navigation";
import { chatPath } from "../routing/routes";
import { useNow } from "../time/clock";
import { relativeTime } from "../time/relativeTime";
import { SessionTypeBadge } from "../ui/icons";

/** Opens a session at its most recent chat, giving it one first if it has none (a guided session made by API). */
async function openSession(api: ApiClient, session: Session): Promise<void> {
  const chats = await api.get(`/chats?session_id=${session.id}&limit=1`, ChatPage);
  const chatId = chats.items[0]?.id ?? (await api.post(`/sessions/${session.id}/chats`, Chat, {})).id;
  navigate(chatPath(session.id, chatId));
}

/** Sessions of both types in one list, each with its type icon and badge. */
export function SessionList({ sessions, label }: { sessions: Session[]; label: string }) {
  const api = useApi();
  const now = useNow();
  const [error, setError] = useState<string | null>(null);
  if (sessions.length === 0) return <p className="empty">No sessions.</p>;
  return (
    <>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <ul className="session-list" aria-label={label}>
        {sessions.map((session) => (
          <li key={session.id} data-session-id={session.id} data-session-type={session.sessionType}>
            <button
              type="button"
              className="session-row"
              onClick={() =>
                openSession(api, session).catch((e: unknown) =>
                  setError(e instanceof ApiError ? e.message : "the session could not be opened"),
                )
              }
            >
              <SessionTypeBadge type={session.sessionType} />
              <span className="session-name">{session.title ?? session.problemSummary ?? "Untitled session"}</span>
              {session.clientName && <span className="client">{session.clientName}</span>}
              <span className={`status status-${session.status}`}>{session.status}</span>
              <time dateTime={session.lastActivityAt.toISOString()}>{relativeTime(session.lastActivityAt, now)}</time>
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}
