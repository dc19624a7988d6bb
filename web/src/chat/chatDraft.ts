import type { ApiClient } from "../api/client";
import { Chat, Session } from "../api/schemas";

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 16 alphanumerics, the shape of the AI SDK's own chat ids. */
export function newChatId(random: (buffer: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  return Array.from(random(new Uint8Array(16)), (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join("");
}

/** A new chat that exists only in the browser until it is used. Its session and chat are created at most once,
 * when the user starts typing, beside the typing; only the first send waits for them. */
export class ChatDraft {
  readonly chatId: string;
  private bootstrap: Promise<string> | null = null;

  constructor(
    private readonly api: ApiClient,
    readonly subjectId: string | null,
    chatId: string = newChatId(),
  ) {
    this.chatId = chatId;
  }

  get started(): boolean {
    return this.bootstrap !== null;
  }

  /** The session id, creating session and chat on the first call; later calls share the same promise. */
  sessionId(): Promise<string> {
    this.bootstrap ??= this.create().catch((error: unknown) => {
      this.bootstrap = null; // a failed bootstrap may be tried again by the next send
      throw error;
    });
    return this.bootstrap;
  }

  private async create(): Promise<string> {
    const session = await this.api.post("/sessions", Session, {
      sessionType: "chat",
      ...(this.subjectId ? { subjectId: this.subjectId } : {}),
    });
    await this.api.post(`/sessions/${session.id}/chats`, Chat, { id: this.chatId });
    return session.id;
  }
}
