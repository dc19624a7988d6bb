import { getToolName, type ToolUIPart, type DynamicToolUIPart } from "ai";

import { commandOutputOf, subAgentAnswerOf, taskProgressOf, TASK_TOOL } from "./parts";

const STATE_LABEL: Record<string, string> = {
  "input-streaming": "preparing",
  "input-available": "running",
  "output-available": "done",
  "output-error": "failed",
};

/** One tool call: what was asked, its live output while it runs, its result or error. */
export function ToolCallView({ part }: { part: ToolUIPart | DynamicToolUIPart }) {
  const name = getToolName(part);
  const live = part.state === "output-available" && part.preliminary === true;
  const state = live ? "running" : (STATE_LABEL[part.state] ?? part.state);
  return (
    <div
      className={`tool-call state-${live ? "running" : part.state}`}
      data-tool={name}
      role="group"
      aria-label={`Tool ${name}`}
    >
      <div className="tool-head">
        <span className="tool-name">{name === TASK_TOOL ? "Sub-agent" : name}</span>
        <span className="tool-state">{state}</span>
      </div>
      <ToolInput name={name} input={part.input} />
      {part.state === "output-available" && <ToolOutput name={name} output={part.output} />}
      {part.state === "output-error" && <pre className="tool-error">{part.errorText}</pre>}
    </div>
  );
}

function ToolInput({ name, input }: { name: string; input: unknown }) {
  if (input === undefined) return null;
  if (typeof input === "object" && input !== null) {
    if (name === "bash" && "command" in input) return <code className="tool-input">$ {String(input.command)}</code>;
    if (name === TASK_TOOL && "description" in input) return <p className="tool-input">{String(input.description)}</p>;
  }
  return <code className="tool-input">{JSON.stringify(input)}</code>;
}

function ToolOutput({ name, output }: { name: string; output: unknown }) {
  const progress = name === TASK_TOOL ? taskProgressOf(output) : null;
  if (progress)
    return (
      <p className="subagent-progress" role="status">
        {progress.step !== null ? `Step ${progress.step}: ` : ""}
        {progress.text}
      </p>
    );
  const answer = name === TASK_TOOL ? subAgentAnswerOf(output) : null;
  if (answer !== null) return <p className="subagent-answer">{answer}</p>;
  const command = commandOutputOf(output);
  if (command)
    return (
      <pre className="tool-output" aria-live={command.running ? "polite" : undefined}>
        {command.text}
        {command.exitCode !== null && command.exitCode !== 0 ? `\n[exit ${command.exitCode}]` : ""}
      </pre>
    );
  return <pre className="tool-output">{typeof output === "string" ? output : JSON.stringify(output, null, 2)}</pre>;
}
