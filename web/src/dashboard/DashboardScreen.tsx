import { useApi } from "../api/client";
import { useQuery } from "../api/query";
import { useRefresh } from "../api/refresh";
import { SessionPage } from "../api/schemas";
import { SessionList } from "../sessions/SessionList";

/** What needs attention: open sessions of both types, and what was resolved lately. */
export function DashboardScreen() {
  const api = useApi();
  const { version } = useRefresh();
  const active = useQuery(`active:${version}`, (signal) =>
    api.get("/sessions?status=active,paused&limit=50", SessionPage, signal),
  );
  const resolved = useQuery(`resolved:${version}`, (signal) =>
    api.get("/sessions?status=resolved&limit=10", SessionPage, signal),
  );
  return (
    <section className="screen dashboard" aria-labelledby="dashboard-title">
      <h1 id="dashboard-title">Dashboard</h1>
      <h2>Active sessions</h2>
      {active.error && <p className="error">{active.error.message}</p>}
      {active.data && <SessionList sessions={active.data.items} label="Active sessions" />}
      <h2>Recently resolved</h2>
      {resolved.error && <p className="error">{resolved.error.message}</p>}
      {resolved.data && <SessionList sessions={resolved.data.items} label="Recently resolved" />}
    </section>
  );
}
