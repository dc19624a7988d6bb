import type { SessionType } from "../api/schemas";

const svg = { width: 16, height: 16, viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", strokeWidth: 2 };

export function RouteIcon() {
  return (
    <svg {...svg} aria-hidden="true" strokeLinecap="round" strokeLinejoin="round">
      <circle cx="6" cy="19" r="3" />
      <path d="M9 19h8.5a3.5 3.5 0 0 0 0-7h-11a3.5 3.5 0 0 1 0-7H15" />
      <circle cx="18" cy="5" r="3" />
    </svg>
  );
}

export function MessageIcon() {
  return (
    <svg {...svg} aria-hidden="true" strokeLinecap="round" strokeLinejoin="round">
      <path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z" />
    </svg>
  );
}

/** Guided sessions: a route icon in cyan; chat sessions: a message icon in violet. */
export function SessionTypeBadge({ type }: { type: SessionType }) {
  return (
    <span className={`type-badge type-${type}`} data-session-type={type}>
      {type === "guided" ? <RouteIcon /> : <MessageIcon />}
      {type === "guided" ? "Guided" : "Chat"}
    </span>
  );
}
