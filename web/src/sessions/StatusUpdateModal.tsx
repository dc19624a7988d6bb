import { useState } from "react";

import { ApiError, useApi } from "../api/client";
import { StatusUpdate } from "../api/schemas";
import { Modal, ModalActions } from "../ui/Modal";

/** A shareable progress note on the session (POST /sessions/{id}/status-update). */
export function StatusUpdateModal({ sessionId, onClose }: { sessionId: string; onClose: () => void }) {
  const api = useApi();
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const share = async () => {
    try {
      await api.post(`/sessions/${sessionId}/status-update`, StatusUpdate, { text: text.trim() });
      setSent(true);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "the update was not shared");
    }
  };
  return (
    <Modal title="Share an update" onClose={onClose}>
      {sent ? (
        <>
          <p role="status">Update shared.</p>
          <div className="modal-actions">
            <button type="button" onClick={onClose} autoFocus>
              Close
            </button>
          </div>
        </>
      ) : (
        <form
          className="form"
          onSubmit={(event) => {
            event.preventDefault();
            void share();
          }}
        >
          <label>
            Update{" "}
            <textarea value={text} onChange={(e) => setText(e.target.value)} rows={4} maxLength={8000} autoFocus />
          </label>
          <ModalActions error={error} onCancel={onClose}>
            <button type="submit" className="primary" disabled={!text.trim()}>
              Share
            </button>
          </ModalActions>
        </form>
      )}
    </Modal>
  );
}
