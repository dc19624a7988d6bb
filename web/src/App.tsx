import { useEffect, useReducer, useState } from "react";

import { ApiClient, ApiContext } from "./api/client";
import { browserTokenPlace, takeToken } from "./auth/token";
import { SignIn } from "./auth/SignIn";
import { ChatDraft } from "./chat/chatDraft";
import { ChatScreen } from "./chat/ChatScreen";
import { DashboardScreen } from "./dashboard/DashboardScreen";
import { RefreshContext } from "./api/refresh";
import { navigate, useRoute } from "./routing/navigation";
import { HistoryScreen } from "./sessions/HistoryScreen";
import { ChatSidebar } from "./sidebar/ChatSidebar";
import { ClockContext, createClock } from "./time/clock";

export function App() {
  const [token, setToken] = useState(() => takeToken(browserTokenPlace()));
  if (token === null) return <SignIn onToken={setToken} />;
  return <SignedIn token={token} />;
}

function SignedIn({ token }: { token: string }) {
  // Same origin by default (the API serves the app); VITE_TURNFLOW_API_URL points a build at another origin.
  const [api] = useState(() => new ApiClient(import.meta.env.VITE_TURNFLOW_API_URL ?? "", token));
  const [clock] = useState(() => createClock());
  // Bumped after anything that changes lists (a finished turn, a rename, an archive, a read): lists reload.
  const [version, refresh] = useReducer((v: number) => v + 1, 0);
  const [subjectId, setSubjectId] = useState<string | null>(null);
  const [draft, setDraft] = useState(() => new ChatDraft(api, null));
  const [navOpen, setNavOpen] = useState(false);
  const route = useRoute();

  useEffect(() => {
    window.addEventListener("focus", refresh);
    return () => window.removeEventListener("focus", refresh);
  }, []);

  const startNewChat = () => {
    setDraft(new ChatDraft(api, subjectId));
    setNavOpen(false);
    navigate("/");
  };
  const chooseSubject = (subject: string | null) => {
    setSubjectId(subject);
    if (!draft.started) setDraft(new ChatDraft(api, subject));
  };

  const chatId = route.name === "chat" ? route.chatId : draft.chatId;
  return (
    <ApiContext value={api}>
      <ClockContext value={clock}>
        <RefreshContext value={{ version, refresh }}>
          <div className={`layout${navOpen ? " nav-open" : ""}`}>
            <header className="topbar">
              <button
                type="button"
                className="nav-toggle"
                aria-expanded={navOpen}
                aria-controls="sidebar"
                onClick={() => setNavOpen(!navOpen)}
              >
                Chats
              </button>
              <span className="brand">turnflow</span>
            </header>
            <ChatSidebar
              activeChatId={route.name === "chat" ? route.chatId : null}
              subjectId={subjectId}
              onSubjectChange={chooseSubject}
              onNewChat={startNewChat}
              onNavigate={() => setNavOpen(false)}
            />
            <main className="main" id="main">
              {route.name === "history" && <HistoryScreen />}
              {route.name === "dashboard" && <DashboardScreen />}
              {(route.name === "new-chat" || route.name === "chat") && (
                <ChatScreen
                  key={chatId}
                  chatId={chatId}
                  sessionId={route.name === "chat" ? route.sessionId : null}
                  draft={route.name === "new-chat" ? draft : null}
                  onDraftUsed={() => setDraft(new ChatDraft(api, subjectId))}
                />
              )}
              {route.name === "not-found" && (
                <section className="screen">
                  <h1>Not found</h1>
                  <p>Nothing lives at {route.path}.</p>
                </section>
              )}
            </main>
          </div>
        </RefreshContext>
      </ClockContext>
    </ApiContext>
  );
}
