import { describe, expect, it } from "vitest";
import type { UIMessage } from "ai";

import { newChatId } from "./chatDraft";
import { answerOf, commandOutputOf, questionOf, subAgentAnswerOf, taskProgressOf, triageOf, turnIdOf } from "./parts";

describe("parts", () => {
  it("reads the turn id from the start chunk's metadata", () => {
    const message: UIMessage = { id: "a", role: "assistant", parts: [], metadata: { turnId: "t-1" } };
    expect(turnIdOf(message)).toBe("t-1");
    expect(turnIdOf({ ...message, metadata: undefined })).toBeNull();
  });

  it("reads a question and its answer in either shape", () => {
    expect(questionOf({ question: "Which?", options: ["A", 3, "B"], multi_select: true })).toEqual({
      question: "Which?",
      options: ["A", "B"],
      multiSelect: true,
    });
    expect(questionOf({ options: [] })).toBeNull();
    expect(answerOf({ answer: "A" })).toBe("A");
    expect(answerOf("B")).toBe("B");
    expect(answerOf({ answer: ["A", "B"] })).toBe("A, B");
  });

  it("tells a sub-agent's progress and a command's output apart", () => {
    expect(taskProgressOf({ status: "working", step: 1, text: "reading" })).toEqual({ step: 1, text: "reading" });
    expect(taskProgressOf({ output: "x" })).toBeNull();
    expect(subAgentAnswerOf({ steps: 2, answer: "done", description: "d" })).toBe("done");
    expect(subAgentAnswerOf({ status: "working", text: "…" })).toBeNull();
    expect(commandOutputOf({ output: "a\n", running: true })).toEqual({ text: "a\n", exitCode: null, running: true });
    expect(commandOutputOf({ output: "", exitCode: 2 })).toEqual({ text: "", exitCode: 2, running: false });
  });

  it("reads a data-triage part, mapping the tool's hypothesis field", () => {
    const triage = { clientName: "Acme", hypothesis: "DHCP", evidenceItems: [{ text: "169.254", status: "odd" }] };
    expect(triageOf(triage)).toEqual({
      clientName: "Acme",
      assetName: null,
      issueCategory: null,
      triageHypothesis: "DHCP",
      evidenceItems: [{ text: "169.254", status: "pending" }],
    });
    expect(triageOf(null)).toBeNull();
  });

  it("makes AI SDK-shaped chat ids", () => {
    const id = newChatId();
    expect(id).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(newChatId()).not.toBe(id);
  });
});
