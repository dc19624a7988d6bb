import { describe, expect, it } from "vitest";

import { chatPath, parseRoute } from "./routes";

const sessionId = "5b0f6c1e-8d1a-4c47-9f0e-2a7f6b1d2c3e";

describe("parseRoute", () => {
  it("reads the app's addresses", () => {
    expect(parseRoute("/")).toEqual({ name: "new-chat" });
    expect(parseRoute("/history")).toEqual({ name: "history" });
    expect(parseRoute("/dashboard/")).toEqual({ name: "dashboard" });
    expect(parseRoute(`/sessions/${sessionId}/chats/hR3pQx2Lk9TmWv1a`)).toEqual({
      name: "chat",
      sessionId,
      chatId: "hR3pQx2Lk9TmWv1a",
    });
  });

  it("round-trips a chat's canonical path", () => {
    expect(parseRoute(chatPath(sessionId, "abc_-1"))).toEqual({ name: "chat", sessionId, chatId: "abc_-1" });
  });

  it("does not take API-like or malformed paths for app pages", () => {
    expect(parseRoute("/sessions").name).toBe("not-found");
    expect(parseRoute("/sessions/not-a-uuid/chats/x").name).toBe("not-found");
    expect(parseRoute(`/sessions/${sessionId}/chats/a%20b`).name).toBe("not-found");
  });
});
