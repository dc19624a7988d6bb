import { getToolName, isToolUIPart, type UIMessage } from "ai";

import { noticeOf, QUESTION_TOOL } from "./parts";
import { QuestionCard } from "./QuestionCard";
import { ToolCallView } from "./ToolCallView";

type Part = UIMessage["parts"][number];

interface Props {
  message: UIMessage;
  onAnswer: (toolCallId: string, answer: string | string[]) => Promise<void>;
}

/** A message with each of its parts in order: text, reasoning, every tool call on its own, notices. */
export function MessageView({ message, onAnswer }: Props) {
  return (
    <li className={`message ${message.role}`} data-message-id={message.id}>
      <span className="visually-hidden">{message.role === "user" ? "You said:" : "Assistant:"}</span>
      {message.parts.map((part, index) => (
        <PartView key={partKey(part, index)} part={part} onAnswer={onAnswer} />
      ))}
    </li>
  );
}

function partKey(part: Part, index: number): string {
  return isToolUIPart(part) ? part.toolCallId : `${part.type}-${index}`;
}

function PartView({ part, onAnswer }: { part: Part; onAnswer: Props["onAnswer"] }) {
  if (part.type === "text") return <p className="text">{part.text}</p>;
  if (part.type === "reasoning")
    return (
      <details className="reasoning">
        <summary>Reasoning</summary>
        <p>{part.text}</p>
      </details>
    );
  if (isToolUIPart(part)) {
    if (getToolName(part) === QUESTION_TOOL) return <QuestionCard part={part} onAnswer={onAnswer} />;
    return <ToolCallView part={part} />;
  }
  if (part.type === "data-notice") {
    return (
      <p className="notice" role="status">
        {noticeOf(part.data) ?? "Notice"}
      </p>
    );
  }
  if (part.type === "data-triage") return <p className="triage-note">Triage updated</p>;
  return null;
}
