import { useEffect, useState } from "react";

import { ApiError, useApi } from "../api/client";
import { textDeltas } from "../api/eventStream";
import { Session } from "../api/schemas";
import { Modal, ModalActions } from "../ui/Modal";
import {
  escalateBody,
  escalateFormFromDraft,
  linesToList,
  resolveBody,
  resolveFormFromDraft,
  urgencies,
  type ConcludeKind,
  type EscalateForm,
  type ResolveForm,
} from "./handoffDraft";

type Fields = Partial<ResolveForm & EscalateForm>;

/** Resolve or escalate: the form fills from the model's draft as it streams; whatever the user typed wins. */
export function ConcludeModal({
  sessionId,
  kind,
  onDone,
  onClose,
}: {
  sessionId: string;
  kind: ConcludeKind;
  onDone: (session: Session) => void;
  onClose: () => void;
}) {
  const api = useApi();
  const [draft, setDraft] = useState({ text: "", done: false, error: null as string | null });
  const [edits, setEdits] = useState<Fields>({});
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    (async () => {
      const body = await api.stream(`/sessions/${sessionId}/handoff-draft`, { kind }, controller.signal);
      let text = "";
      for await (const delta of textDeltas(body)) {
        text += delta;
        setDraft({ text, done: false, error: null });
      }
      setDraft({ text, done: true, error: null });
    })().catch((e: unknown) => {
      if (controller.signal.aborted) return;
      setDraft((d) => ({ ...d, done: true, error: e instanceof Error ? e.message : "no draft" }));
    });
    return () => controller.abort();
  }, [api, sessionId, kind]);

  const drafted: Fields = kind === "resolve" ? resolveFormFromDraft(draft.text) : escalateFormFromDraft(draft.text);
  const form = { ...drafted, ...edits };
  const submit = async () => {
    try {
      const body = kind === "resolve" ? resolveBody(form as ResolveForm) : escalateBody({ ...(form as EscalateForm) });
      onDone(await api.post(`/sessions/${sessionId}/${kind}`, Session, body));
    } catch (e) {
      setError(e instanceof ApiError ? `${e.field ? `${e.field}: ` : ""}${e.message}` : `${kind} failed`);
    }
  };
  const text = (key: keyof Fields, label: string, multiline = false) => {
    const value = String(form[key] ?? "");
    const onChange = (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
      setEdits({ ...edits, [key]: e.target.value });
    return (
      <label>
        {label}
        {multiline ? (
          <textarea name={key} value={value} onChange={onChange} rows={3} />
        ) : (
          <input name={key} value={value} onChange={onChange} />
        )}
      </label>
    );
  };
  const list = (key: keyof Fields, label: string) => {
    const value = form[key];
    return (
      <label>
        {label} <span className="hint">(one per line)</span>
        <textarea
          name={key}
          rows={3}
          value={Array.isArray(value) ? value.join("\n") : ""}
          onChange={(e) => setEdits({ ...edits, [key]: linesToList(e.target.value) })}
        />
      </label>
    );
  };

  return (
    <Modal title={kind === "resolve" ? "Resolve session" : "Escalate session"} onClose={onClose}>
      <p className="draft-state" role="status" aria-live="polite">
        {draft.error
          ? `No draft: ${draft.error}`
          : draft.done
            ? "Drafted from the conversation; check it before sending."
            : "Drafting from the conversation…"}
      </p>
      <form
        className="form conclude"
        aria-busy={!draft.done}
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {kind === "resolve" ? (
          <>
            {text("resolutionSummary", "Resolution summary", true)}
            {text("resolvingAction", "Resolving action")}
            {text("rootCause", "Root cause")}
            {list("stepsTaken", "Steps taken")}
            {list("recommendations", "Recommendations")}
          </>
        ) : (
          <>
            {text("escalationReason", "Reason", true)}
            {text("escalatedTo", "Escalate to")}
            {text("summary", "Summary", true)}
            {text("environment", "Environment")}
            {list("reproductionSteps", "Reproduction steps")}
            {list("attemptedFixes", "Attempted fixes")}
            {list("evidence", "Evidence")}
            <label>
              Urgency
              <select
                name="urgency"
                value={form.urgency ?? "normal"}
                onChange={(e) => setEdits({ ...edits, urgency: e.target.value as EscalateForm["urgency"] })}
              >
                {urgencies.map((u) => (
                  <option key={u}>{u}</option>
                ))}
              </select>
            </label>
          </>
        )}
        <ModalActions error={error} onCancel={onClose}>
          <button type="submit" className="primary">
            {kind === "resolve" ? "Resolve" : "Escalate"}
          </button>
        </ModalActions>
      </form>
    </Modal>
  );
}
