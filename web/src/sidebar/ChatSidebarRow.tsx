import { useState } from "react";

import { ApiError, useApi } from "../api/client";
import { useRefresh } from "../api/refresh";
import { Chat, Session, type ChatRow } from "../api/schemas";
import { chatPath } from "../routing/routes";
import { navigate, useLinkHandler } from "../routing/navigation";
import { useNow } from "../time/clock";
import { relativeTime } from "../time/relativeTime";
import { ConfirmDialog } from "../ui/Modal";

interface Props {
  row: ChatRow;
  sessionTitle: string | null;
  active: boolean;
  onArchived: () => void;
  onNavigate: () => void;
}

export function ChatSidebarRow({ row, sessionTitle, active, onArchived, onNavigate }: Props) {
  const api = useApi();
  const { refresh } = useRefresh();
  const now = useNow();
  const link = useLinkHandler();
  const [renaming, setRenaming] = useState<string | null>(null);
  const [title, setTitle] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const shown = title ?? row.title ?? sessionTitle ?? "New chat";

  const rename = async (value: string) => {
    const next = value.trim();
    setRenaming(null);
    if (!next || next === shown) return;
    setTitle(next);
    try {
      await api.patch(`/chats/${row.id}`, Chat, { title: next });
      refresh();
    } catch (e) {
      setTitle(null);
      setError(e instanceof ApiError ? e.message : "rename failed");
    }
  };

  const archive = async () => {
    try {
      await api.post(`/sessions/${row.sessionId}/archive`, Session);
      setConfirming(false);
      onArchived();
      if (active) navigate("/");
      refresh();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "delete failed");
    }
  };

  return (
    <li className={`chat-row${active ? " active" : ""}`} data-chat-id={row.id}>
      {renaming !== null ? (
        <input
          aria-label="Chat title"
          className="rename"
          value={renaming}
          autoFocus
          maxLength={200}
          onChange={(e) => setRenaming(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") void rename(renaming);
            if (e.key === "Escape") setRenaming(null);
          }}
          onBlur={() => void rename(renaming)}
        />
      ) : (
        <a
          href={chatPath(row.sessionId, row.id)}
          aria-current={active ? "page" : undefined}
          onClick={(e) => (link(e), onNavigate())}
        >
          <span className="chat-title">{shown}</span>
          <time className="when" dateTime={row.updatedAt.toISOString()}>
            {relativeTime(row.updatedAt, now)}
          </time>
          {row.unreadCount > 0 && !active && (
            <span className="unread" aria-label={`${row.unreadCount} unread`}>
              {row.unreadCount}
            </span>
          )}
        </a>
      )}
      <div className="row-actions">
        <button type="button" aria-label={`Rename ${shown}`} onClick={() => setRenaming(shown)}>
          Rename
        </button>
        <button type="button" aria-label={`Delete ${shown}`} onClick={() => (setError(null), setConfirming(true))}>
          Delete
        </button>
      </div>
      {error && !confirming && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {confirming && (
        <ConfirmDialog
          title="Delete this chat?"
          message={`“${shown}” disappears from your chats and its session is archived; its workspace stops.`}
          confirmLabel="Delete"
          error={error}
          onConfirm={() => void archive()}
          onClose={() => setConfirming(false)}
        />
      )}
    </li>
  );
}
