import { useEffect, useState } from "react";
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, type UIMessage } from "ai";

import { useApi } from "../api/client";
import { useRefresh } from "../api/refresh";
import { ReadState, StopResult } from "../api/schemas";
import { navigate } from "../routing/navigation";
import { chatPath } from "../routing/routes";
import type { ChatDraft } from "./chatDraft";
import { Composer } from "./Composer";
import { MessageView } from "./MessageView";
import { QUESTION_TOOL, triageOf, turnIdOf, type Triage } from "./parts";

interface Props {
  chatId: string;
  initialMessages: UIMessage[];
  resume: boolean;
  draft: ChatDraft | null;
  onDraftUsed: () => void;
  onTriage: (triage: Triage) => void;
}

/** The conversation through useChat only: sends, streams, resumes after a reload, stops, answers questions. */
export function Conversation({ chatId, initialMessages, resume, draft, onDraftUsed, onTriage }: Props) {
  const api = useApi();
  const { refresh } = useRefresh();
  const [stopError, setStopError] = useState<string | null>(null);
  const [transport] = useState(
    () =>
      new DefaultChatTransport<UIMessage>({
        api: `${api.baseUrl}/chat/workflow`,
        headers: () => api.authorization,
        prepareSendMessagesRequest: async ({ id, messages, body, trigger, messageId }) => {
          // A draft's first send waits for its session here, not before: the message shows at once.
          const sessionId = draft ? await draft.sessionId() : undefined;
          if (draft && sessionId && window.location.pathname === "/") {
            navigate(chatPath(sessionId, id));
            onDraftUsed();
          }
          // The API reads only the last message: the history is already on the server.
          return { body: { ...body, id, messages: messages.slice(-1), trigger, messageId, sessionId } };
        },
      }),
  );
  const chat = useChat({
    id: chatId,
    messages: initialMessages,
    resume,
    transport,
    experimental_throttle: 30,
    onData: (part) => {
      if (part.type === "data-triage") {
        const triage = triageOf(part.data);
        if (triage) onTriage(triage);
      }
    },
    onFinish: () => refresh(),
  });
  const { messages, status, error } = chat;
  const busy = status === "submitted" || status === "streaming";

  // Viewing the chat reads it: tell the server when the chat opens and whenever an answer has finished. A chat
  // with no message yet may be a draft the server does not know.
  const hasMessages = messages.length > 0;
  useEffect(() => {
    if (status !== "ready" || !hasMessages) return;
    api.post(`/chats/${encodeURIComponent(chatId)}/read`, ReadState).then(refresh, () => undefined);
  }, [api, chatId, hasMessages, status, refresh]);

  const stop = async () => {
    setStopError(null);
    const last = messages.at(-1);
    const partial = last?.role === "assistant" ? last : undefined;
    try {
      // The server stops the model and ends the stream itself, so the client keeps exactly what it kept.
      await api.post(`/chat/workflow/${encodeURIComponent(chatId)}/stop`, StopResult, {
        ...(turnIdOf(partial) ? { turnId: turnIdOf(partial) } : {}),
        ...(partial ? { message: { id: partial.id, role: partial.role, parts: partial.parts } } : {}),
      });
    } catch (e) {
      setStopError(e instanceof Error ? e.message : "the answer could not be stopped");
      await chat.stop();
    }
  };

  const answer = async (toolCallId: string, value: string | string[]) => {
    // The AI SDK way: detach from the live stream (the turn goes on), set the tool's output, re-post.
    if (busy) await chat.stop();
    await chat.addToolOutput({ tool: QUESTION_TOOL, toolCallId, output: value } as never);
    await chat.sendMessage();
  };

  return (
    <>
      <ol className="messages" aria-label="Messages" aria-live="polite" aria-busy={busy}>
        {messages.map((message) => (
          <MessageView key={message.id} message={message} onAnswer={answer} />
        ))}
        {status === "submitted" && <li className="thinking">Thinking…</li>}
      </ol>
      {error && (
        <p role="alert" className="error">
          {errorText(error)}
        </p>
      )}
      {stopError && (
        <p role="alert" className="error">
          {stopError}
        </p>
      )}
      <Composer
        busy={busy}
        onStart={() => void draft?.sessionId().catch(() => undefined)}
        onSend={(text) => void chat.sendMessage({ text })}
        onStop={() => void stop()}
      />
    </>
  );
}

/** The transport throws the response body (a problem document) as the error's message. */
function errorText(error: Error): string {
  try {
    const problem: unknown = JSON.parse(error.message);
    if (typeof problem === "object" && problem !== null && "detail" in problem) return String(problem.detail);
  } catch {
    // not JSON: the message is already text
  }
  return error.message;
}
