import { useState } from "react";
import type { UIMessage } from "ai";

import { useApi } from "../api/client";
import { useQuery } from "../api/query";
import { Chat, MessagePage } from "../api/schemas";
import { SessionHeader } from "../sessions/SessionHeader";
import type { ChatDraft } from "./chatDraft";
import { Conversation } from "./Conversation";
import { historyToMessages, type Triage } from "./parts";

interface Props {
  chatId: string;
  sessionId: string | null;
  draft: ChatDraft | null;
  onDraftUsed: () => void;
}

/** One chat: its session's header and the conversation. A draft starts empty and is never loaded from the API,
 * also after its first send moves it to its own address (the same component goes on streaming). */
export function ChatScreen({ chatId, sessionId, draft, onDraftUsed }: Props) {
  const api = useApi();
  const [startedAsDraft] = useState(() => draft);
  const [liveTriage, setLiveTriage] = useState<Triage | null>(null);
  const history = useQuery(startedAsDraft ? null : `chat:${chatId}`, async (signal) => {
    const [chat, page] = await Promise.all([
      api.get(`/chats/${encodeURIComponent(chatId)}`, Chat, signal),
      api.get(`/chats/${encodeURIComponent(chatId)}/messages?limit=200`, MessagePage, signal),
    ]);
    return { chat, messages: historyToMessages(page.items) };
  });

  let body;
  if (startedAsDraft) {
    body = (
      <Conversation
        chatId={chatId}
        initialMessages={EMPTY}
        resume={false}
        draft={startedAsDraft}
        onDraftUsed={onDraftUsed}
        onTriage={setLiveTriage}
      />
    );
  } else if (history.error) {
    body = (
      <p role="alert" className="error">
        This chat could not be opened: {history.error.message}
      </p>
    );
  } else if (!history.data) {
    body = <p className="loading">Loading the conversation…</p>;
  } else {
    body = (
      <Conversation
        chatId={chatId}
        initialMessages={history.data.messages}
        resume={true}
        draft={null}
        onDraftUsed={onDraftUsed}
        onTriage={setLiveTriage}
      />
    );
  }
  return (
    <section className="chat-screen" aria-label="Conversation">
      {sessionId && <SessionHeader sessionId={sessionId} liveTriage={liveTriage} />}
      {body}
    </section>
  );
}

const EMPTY: UIMessage[] = [];
