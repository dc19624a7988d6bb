import { z } from "zod";

/** The API's responses as the app relies on them; a wire drift fails here, at the edge, with the path that broke. */

const timestamp = z.string().transform((value, ctx) => {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    ctx.addIssue({ code: "custom", message: `not a timestamp: ${value}` });
    return z.NEVER;
  }
  return date;
});

export const sessionTypes = ["chat", "guided"] as const;
export const sessionStatuses = ["active", "paused", "resolved", "escalated", "abandoned", "archived"] as const;
export const evidenceStatuses = ["confirmed", "ruled_out", "pending"] as const;

export const EvidenceItem = z.object({ text: z.string(), status: z.enum(evidenceStatuses) });
export type EvidenceItem = z.infer<typeof EvidenceItem>;

export const Session = z.object({
  id: z.string(),
  sessionType: z.enum(sessionTypes),
  title: z.string().nullable(),
  status: z.enum(sessionStatuses),
  subjectId: z.string().nullable(),
  problemSummary: z.string().nullable(),
  problemDomain: z.string().nullable(),
  clientName: z.string().nullable(),
  assetName: z.string().nullable(),
  issueCategory: z.string().nullable(),
  triageHypothesis: z.string().nullable(),
  evidenceItems: z.array(EvidenceItem),
  resolutionSummary: z.string().nullable(),
  rootCause: z.string().nullable(),
  escalatedTo: z.string().nullable(),
  messageCount: z.number(),
  unreadCount: z.number(),
  lastActivityAt: timestamp,
  createdAt: timestamp,
});
export type Session = z.infer<typeof Session>;
export type SessionType = Session["sessionType"];
export type SessionStatus = Session["status"];

export const SessionPage = z.object({ items: z.array(Session), nextCursor: z.string().nullable() });

export const PendingQuestion = z.object({
  turnId: z.string(),
  toolCallId: z.string(),
  question: z.string(),
  options: z.array(z.string()).nullable(),
  multiSelect: z.boolean(),
});

export const ChatRow = z.object({
  id: z.string(),
  title: z.string().nullable(),
  sessionId: z.string(),
  subjectId: z.string().nullable(),
  updatedAt: timestamp,
  unreadCount: z.number(),
  activeTurnId: z.string().nullable(),
});
export type ChatRow = z.infer<typeof ChatRow>;

export const Chat = ChatRow.extend({
  modelId: z.string().nullable(),
  pendingQuestion: PendingQuestion.nullable(),
  messageCount: z.number(),
  lastReadSeq: z.number(),
});
export type Chat = z.infer<typeof Chat>;

export const ChatPage = z.object({ items: z.array(ChatRow), nextCursor: z.string().nullable() });

export const StoredMessage = z.object({
  id: z.string(),
  role: z.enum(["user", "assistant", "system"]),
  parts: z.array(z.looseObject({ type: z.string() })),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  seq: z.number(),
  status: z.string(),
  createdAt: timestamp,
});
export type StoredMessage = z.infer<typeof StoredMessage>;

export const MessagePage = z.object({
  items: z.array(StoredMessage),
  hasMoreBefore: z.boolean(),
  hasMoreAfter: z.boolean(),
});

export const ReadState = z.object({ lastReadSeq: z.number(), unreadCount: z.number() });

export const StatusUpdate = z.object({ id: z.string(), sessionId: z.string(), text: z.string(), createdAt: timestamp });

export const StopResult = z.object({ turnId: z.string().nullable(), stopped: z.boolean() });

export const Problem = z.looseObject({
  title: z.string().optional(),
  detail: z.string().optional(),
  type: z.string().optional(),
  status: z.number().optional(),
  field: z.string().nullable().optional(),
});
