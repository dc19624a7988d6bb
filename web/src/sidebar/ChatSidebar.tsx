import { useState } from "react";

import { useApi } from "../api/client";
import { useQuery } from "../api/query";
import { useRefresh } from "../api/refresh";
import { ChatPage, SessionPage, type ChatRow } from "../api/schemas";
import { useLinkHandler } from "../routing/navigation";
import { ChatSidebarRow } from "./ChatSidebarRow";

interface Props {
  activeChatId: string | null;
  subjectId: string | null;
  onSubjectChange: (subjectId: string | null) => void;
  onNewChat: () => void;
  onNavigate: () => void;
}

/** The user's chats, most recent first, with unread counts and a subject filter. */
export function ChatSidebar({ activeChatId, subjectId, onSubjectChange, onNewChat, onNavigate }: Props) {
  const api = useApi();
  const { version } = useRefresh();
  const link = useLinkHandler();
  const filter = subjectId ? `?subject_id=${encodeURIComponent(subjectId)}&limit=100` : "?limit=100";
  const chats = useQuery(`chats${filter}:${version}`, (signal) => api.get(`/chats${filter}`, ChatPage, signal));
  // Session titles (written after a chat's first exchange) and the subjects to filter by.
  const sessions = useQuery(`sessions:${version}`, (signal) =>
    api.get("/sessions?status=all&limit=200", SessionPage, signal),
  );
  const titles = new Map(sessions.data?.items.map((s) => [s.id, s.title]) ?? []);
  const subjects = [...new Set(sessions.data?.items.flatMap((s) => (s.subjectId ? [s.subjectId] : [])) ?? [])].sort();
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const rows: ChatRow[] = (chats.data?.items ?? []).filter((row) => !hidden.has(row.id));

  return (
    <nav className="sidebar" id="sidebar" aria-label="Chats">
      <button type="button" className="primary new-chat" onClick={onNewChat}>
        New chat
      </button>
      <div className="nav-links">
        <a href="/dashboard" onClick={(e) => (link(e), onNavigate())}>
          Dashboard
        </a>
        <a href="/history" onClick={(e) => (link(e), onNavigate())}>
          Sessions
        </a>
      </div>
      <label className="subject-filter">
        Subject
        <select value={subjectId ?? ""} onChange={(e) => onSubjectChange(e.target.value || null)}>
          <option value="">All subjects</option>
          {[...new Set([...subjects, ...(subjectId ? [subjectId] : [])])].map((subject) => (
            <option key={subject} value={subject}>
              {subject}
            </option>
          ))}
        </select>
      </label>
      {chats.error && (
        <p role="alert" className="error">
          Chats could not be loaded: {chats.error.message}
        </p>
      )}
      <ul className="chat-list" aria-label="Your chats">
        {rows.map((row) => (
          <ChatSidebarRow
            key={row.id}
            row={row}
            sessionTitle={titles.get(row.sessionId) ?? null}
            active={row.id === activeChatId}
            onArchived={() => setHidden(new Set([...hidden, row.id]))}
            onNavigate={onNavigate}
          />
        ))}
        {chats.data && rows.length === 0 && <li className="empty">No chats yet.</li>}
      </ul>
    </nav>
  );
}
