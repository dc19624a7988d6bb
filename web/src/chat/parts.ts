import type { UIMessage } from "ai";

import type { EvidenceItem, StoredMessage } from "../api/schemas";

/** Pure readings of the AI SDK's UIMessage parts: what the conversation screen shows and sends. */

export const QUESTION_TOOL = "ask_user_question";
export const TASK_TOOL = "task";

/** The turn that wrote an assistant message (the stream's `start` chunk carries it as messageMetadata). */
export function turnIdOf(message: UIMessage | undefined): string | null {
  const metadata = message?.metadata;
  if (typeof metadata === "object" && metadata !== null && "turnId" in metadata && typeof metadata.turnId === "string")
    return metadata.turnId;
  return null;
}

export function historyToMessages(items: StoredMessage[]): UIMessage[] {
  return items
    .filter((m) => m.role !== "system")
    .map((m) => ({ id: m.id, role: m.role, metadata: m.metadata ?? undefined, parts: m.parts as UIMessage["parts"] }));
}

export interface Question {
  question: string;
  options: string[];
  multiSelect: boolean;
}

export function questionOf(input: unknown): Question | null {
  if (typeof input !== "object" || input === null || !("question" in input) || typeof input.question !== "string")
    return null;
  const options =
    "options" in input && Array.isArray(input.options) ? input.options.filter((o) => typeof o === "string") : [];
  const multiSelect = "multi_select" in input && input.multi_select === true;
  return { question: input.question, options, multiSelect };
}

/** The answer a question part carries once answered (`{"answer": …}` from the server, or what addToolOutput set). */
export function answerOf(output: unknown): string | null {
  const value = typeof output === "object" && output !== null && "answer" in output ? output.answer : output;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.join(", ");
  return null;
}

/** A sub-agent's progress (preliminary output of `task`): its step and the tail of what it is writing. */
export function taskProgressOf(output: unknown): { step: number | null; text: string } | null {
  if (typeof output !== "object" || output === null || !("status" in output) || output.status !== "working")
    return null;
  const step = "step" in output && typeof output.step === "number" ? output.step : null;
  const text = "text" in output && typeof output.text === "string" ? output.text : "";
  return { step, text };
}

/** A sub-agent's final answer (the `task` tool returns {steps, answer, description}). */
export function subAgentAnswerOf(output: unknown): string | null {
  return typeof output === "object" && output !== null && "answer" in output && typeof output.answer === "string"
    ? output.answer
    : null;
}

/** A command's output so far or in the end (bash returns {exitCode, output}; progress is {output, running}). */
export function commandOutputOf(output: unknown): { text: string; exitCode: number | null; running: boolean } | null {
  if (typeof output !== "object" || output === null || !("output" in output) || typeof output.output !== "string")
    return null;
  const exitCode = "exitCode" in output && typeof output.exitCode === "number" ? output.exitCode : null;
  const running = "running" in output && output.running === true;
  return { text: output.output, exitCode, running };
}

export interface Triage {
  clientName: string | null;
  assetName: string | null;
  issueCategory: string | null;
  triageHypothesis: string | null;
  evidenceItems: EvidenceItem[];
}

const textOrNull = (value: unknown) => (typeof value === "string" && value ? value : null);

/** The triage a `data-triage` part announces (the tool names the hypothesis `hypothesis`). */
export function triageOf(data: unknown): Triage | null {
  if (typeof data !== "object" || data === null) return null;
  const d = data as Record<string, unknown>;
  const evidence = Array.isArray(d.evidenceItems) ? d.evidenceItems : [];
  return {
    clientName: textOrNull(d.clientName),
    assetName: textOrNull(d.assetName),
    issueCategory: textOrNull(d.issueCategory),
    triageHypothesis: textOrNull(d.hypothesis ?? d.triageHypothesis),
    evidenceItems: evidence.flatMap((item: unknown) => {
      if (typeof item !== "object" || item === null || !("text" in item) || typeof item.text !== "string") return [];
      const status = "status" in item ? item.status : "pending";
      return [{ text: item.text, status: status === "confirmed" || status === "ruled_out" ? status : "pending" }];
    }),
  };
}

export function noticeOf(data: unknown): string | null {
  if (typeof data === "object" && data !== null && "message" in data && typeof data.message === "string")
    return data.message;
  return typeof data === "string" ? data : null;
}
