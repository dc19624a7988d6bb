import { useId, useState } from "react";

interface Props {
  busy: boolean;
  onStart: () => void;
  onSend: (text: string) => void;
  onStop: () => void;
}

/** Usable at once: typing starts the chat's bootstrap (if it has one) and never waits for it. */
export function Composer({ busy, onStart, onSend, onStop }: Props) {
  const [text, setText] = useState("");
  const id = useId();
  const send = () => {
    const message = text.trim();
    if (!message || busy) return;
    onSend(message);
    setText("");
  };
  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <label htmlFor={id} className="visually-hidden">
        Message
      </label>
      <textarea
        id={id}
        value={text}
        rows={2}
        autoFocus
        placeholder="Send a message"
        onChange={(event) => {
          setText(event.target.value);
          onStart();
        }}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
            event.preventDefault();
            send();
          }
        }}
      />
      {busy ? (
        <button type="button" className="danger" onClick={onStop}>
          Stop
        </button>
      ) : (
        <button type="submit" className="primary" disabled={!text.trim()}>
          Send
        </button>
      )}
    </form>
  );
}
