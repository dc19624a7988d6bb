/** The app's own addresses. The API serves index.html for them to browsers; they never collide with an API GET. */

export type Route =
  | { name: "new-chat" }
  | { name: "chat"; sessionId: string; chatId: string }
  | { name: "history" }
  | { name: "dashboard" }
  | { name: "not-found"; path: string };

const CHAT = /^\/sessions\/([0-9a-f-]{36})\/chats\/([A-Za-z0-9_-]{1,128})\/?$/;

export function parseRoute(path: string): Route {
  if (path === "/" || path === "") return { name: "new-chat" };
  if (path === "/history" || path === "/history/") return { name: "history" };
  if (path === "/dashboard" || path === "/dashboard/") return { name: "dashboard" };
  const chat = CHAT.exec(path);
  if (chat?.[1] && chat[2]) return { name: "chat", sessionId: chat[1], chatId: chat[2] };
  return { name: "not-found", path };
}

export function chatPath(sessionId: string, chatId: string): string {
  return `/sessions/${encodeURIComponent(sessionId)}/chats/${encodeURIComponent(chatId)}`;
}
