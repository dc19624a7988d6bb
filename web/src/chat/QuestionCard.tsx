import { useId, useState } from "react";
import type { DynamicToolUIPart, ToolUIPart } from "ai";

import { answerOf, questionOf } from "./parts";

interface Props {
  part: ToolUIPart | DynamicToolUIPart;
  onAnswer: (toolCallId: string, answer: string | string[]) => Promise<void>;
}

/** The agent's question with a quick-reply button per option (several may be picked when it allows). */
export function QuestionCard({ part, onAnswer }: Props) {
  const question = questionOf(part.input);
  const [picked, setPicked] = useState<string[]>([]);
  const [typed, setTyped] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inputId = useId();
  if (!question) return null;
  const answered = part.state === "output-available" ? answerOf(part.output) : null;
  const open = part.state === "input-available" && !sending;

  const send = async (answer: string | string[]) => {
    setSending(true);
    setError(null);
    try {
      await onAnswer(part.toolCallId, answer);
    } catch (e) {
      setError(e instanceof Error ? e.message : "the answer was not taken");
    } finally {
      setSending(false);
    }
  };

  return (
    <fieldset className="question" data-state={part.state}>
      <legend>{question.question}</legend>
      {answered !== null && <p className="answer">Answered: {answered}</p>}
      {part.state === "output-error" && <p className="tool-error">{part.errorText}</p>}
      {open && question.options.length > 0 && (
        <div className="options" role="group" aria-label="Options">
          {question.options.map((option) =>
            question.multiSelect ? (
              <label key={option} className="option">
                <input
                  type="checkbox"
                  checked={picked.includes(option)}
                  onChange={() =>
                    setPicked(picked.includes(option) ? picked.filter((p) => p !== option) : [...picked, option])
                  }
                />
                {option}
              </label>
            ) : (
              <button key={option} type="button" className="option" onClick={() => void send(option)}>
                {option}
              </button>
            ),
          )}
          {question.multiSelect && (
            <button type="button" className="primary" disabled={picked.length === 0} onClick={() => void send(picked)}>
              Answer
            </button>
          )}
        </div>
      )}
      {open && (
        <form
          className="free-answer"
          onSubmit={(event) => {
            event.preventDefault();
            if (typed.trim()) void send(typed.trim());
          }}
        >
          <label htmlFor={inputId}>{question.options.length ? "Or answer in your words" : "Your answer"}</label>
          <input id={inputId} value={typed} onChange={(e) => setTyped(e.target.value)} />
          <button type="submit" disabled={!typed.trim()}>
            Answer
          </button>
        </form>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </fieldset>
  );
}
