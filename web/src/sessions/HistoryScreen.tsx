import { useId, useState } from "react";

import { useApi } from "../api/client";
import { useQuery } from "../api/query";
import { useRefresh } from "../api/refresh";
import { SessionPage } from "../api/schemas";
import { SessionList } from "./SessionList";

const STATUS_FILTERS = {
  open: "active,paused",
  all: "all",
  active: "active",
  paused: "paused",
  resolved: "resolved",
  escalated: "escalated",
  abandoned: "abandoned",
  archived: "archived",
} as const;

/** Every session, guided and chat together, filtered by type and status. */
export function HistoryScreen() {
  const api = useApi();
  const { version } = useRefresh();
  const [type, setType] = useState<"" | "chat" | "guided">("");
  const [status, setStatus] = useState<keyof typeof STATUS_FILTERS>("all");
  const typeId = useId();
  const statusId = useId();
  const query = `?status=${STATUS_FILTERS[status]}${type ? `&session_type=${type}` : ""}&limit=100`;
  const sessions = useQuery(`${query}:${version}`, (signal) => api.get(`/sessions${query}`, SessionPage, signal));
  return (
    <section className="screen" aria-labelledby="history-title">
      <h1 id="history-title">Sessions</h1>
      <div className="filters">
        <label htmlFor={typeId}>Type</label>
        <select id={typeId} value={type} onChange={(e) => setType(e.target.value as typeof type)}>
          <option value="">All types</option>
          <option value="guided">Guided</option>
          <option value="chat">Chat</option>
        </select>
        <label htmlFor={statusId}>Status</label>
        <select id={statusId} value={status} onChange={(e) => setStatus(e.target.value as keyof typeof STATUS_FILTERS)}>
          {Object.keys(STATUS_FILTERS).map((s) => (
            <option key={s} value={s}>
              {s === "open" ? "active or paused" : s}
            </option>
          ))}
        </select>
      </div>
      {sessions.error && (
        <p role="alert" className="error">
          {sessions.error.message}
        </p>
      )}
      {sessions.data && <SessionList sessions={sessions.data.items} label="Sessions" />}
    </section>
  );
}
