import { useState } from "react";

import { ApiError, useApi } from "../api/client";
import { evidenceStatuses, Session, type EvidenceItem } from "../api/schemas";
import type { Triage } from "../chat/parts";
import { Modal, ModalActions } from "../ui/Modal";

const EVIDENCE_LABEL = { confirmed: "confirmed", ruled_out: "ruled out", pending: "pending" } as const;

/** Client, asset, category, hypothesis and evidence; the model keeps it current and anyone can correct it. */
export function TriageHeader({
  sessionId,
  guided,
  triage,
  onSaved,
}: {
  sessionId: string;
  guided: boolean;
  triage: Triage;
  onSaved: (session: Session) => void;
}) {
  const [editing, setEditing] = useState(false);
  const known =
    [triage.clientName, triage.assetName, triage.issueCategory, triage.triageHypothesis].some(Boolean) ||
    triage.evidenceItems.length > 0;
  return (
    <section className="triage" aria-label="Triage">
      {/* Folded while there is nothing to show (a free chat, usually); opens as soon as there is. */}
      <details open={guided || known}>
        <summary>Triage</summary>
        <dl>
          <Field label="Client" value={triage.clientName} />
          <Field label="Asset" value={triage.assetName} />
          <Field label="Category" value={triage.issueCategory} />
          <Field label="Hypothesis" value={triage.triageHypothesis} />
        </dl>
        {triage.evidenceItems.length > 0 && (
          <ul className="evidence" aria-label="Evidence">
            {triage.evidenceItems.map((item, index) => (
              <li key={index} data-status={item.status}>
                <span className={`evidence-status ev-${item.status}`}>{EVIDENCE_LABEL[item.status]}</span> {item.text}
              </li>
            ))}
          </ul>
        )}
        <button type="button" onClick={() => setEditing(true)}>
          Edit triage
        </button>
        {editing && (
          <TriageEditor
            sessionId={sessionId}
            triage={triage}
            onClose={() => setEditing(false)}
            onSaved={(session) => (setEditing(false), onSaved(session))}
          />
        )}
      </details>
    </section>
  );
}

function Field({ label, value }: { label: string; value: string | null }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-field={label.toLowerCase()}>{value ?? "—"}</dd>
    </div>
  );
}

function TriageEditor({
  sessionId,
  triage,
  onClose,
  onSaved,
}: {
  sessionId: string;
  triage: Triage;
  onClose: () => void;
  onSaved: (session: Session) => void;
}) {
  const api = useApi();
  const [form, setForm] = useState(triage);
  const [error, setError] = useState<string | null>(null);
  const text = (key: "clientName" | "assetName" | "issueCategory" | "triageHypothesis") => ({
    value: form[key] ?? "",
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
      setForm({ ...form, [key]: e.target.value || null }),
  });
  const setItem = (index: number, item: EvidenceItem) =>
    setForm({ ...form, evidenceItems: form.evidenceItems.map((old, i) => (i === index ? item : old)) });
  const save = async () => {
    try {
      const evidenceItems = form.evidenceItems.filter((item) => item.text.trim());
      onSaved(await api.patch(`/sessions/${sessionId}/triage`, Session, { ...form, evidenceItems }));
    } catch (e) {
      setError(e instanceof ApiError ? `${e.field ? `${e.field}: ` : ""}${e.message}` : "saving failed");
    }
  };
  return (
    <Modal title="Edit triage" onClose={onClose}>
      <form
        className="form"
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <label>
          Client <input {...text("clientName")} maxLength={500} />
        </label>
        <label>
          Asset <input {...text("assetName")} maxLength={500} />
        </label>
        <label>
          Category <input {...text("issueCategory")} maxLength={500} />
        </label>
        <label>
          Hypothesis <textarea {...text("triageHypothesis")} maxLength={8000} rows={3} />
        </label>
        <fieldset>
          <legend>Evidence</legend>
          {form.evidenceItems.map((item, index) => (
            <div className="evidence-edit" key={index}>
              <input
                aria-label={`Evidence ${index + 1}`}
                value={item.text}
                onChange={(e) => setItem(index, { ...item, text: e.target.value })}
              />
              <select
                aria-label={`Evidence ${index + 1} status`}
                value={item.status}
                onChange={(e) => setItem(index, { ...item, status: e.target.value as EvidenceItem["status"] })}
              >
                {evidenceStatuses.map((s) => (
                  <option key={s} value={s}>
                    {EVIDENCE_LABEL[s]}
                  </option>
                ))}
              </select>
            </div>
          ))}
          <button
            type="button"
            onClick={() =>
              setForm({ ...form, evidenceItems: [...form.evidenceItems, { text: "", status: "pending" }] })
            }
          >
            Add evidence
          </button>
        </fieldset>
        <ModalActions error={error} onCancel={onClose}>
          <button type="submit" className="primary">
            Save triage
          </button>
        </ModalActions>
      </form>
    </Modal>
  );
}
