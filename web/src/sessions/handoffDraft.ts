/** The handoff draft streams as plain text in fixed sections ("Root cause: …", "Steps taken:\n- …"); this reads
 * whatever has arrived so far into the conclude form's fields, so the form fills while the draft streams. */

export type ConcludeKind = "resolve" | "escalate";

export interface ResolveForm {
  resolutionSummary: string;
  resolvingAction: string;
  rootCause: string;
  stepsTaken: string[];
  recommendations: string[];
}

export interface EscalateForm {
  escalationReason: string;
  escalatedTo: string;
  summary: string;
  environment: string;
  reproductionSteps: string[];
  attemptedFixes: string[];
  evidence: string[];
  urgency: Urgency;
}

export const urgencies = ["low", "normal", "high", "critical"] as const;
export type Urgency = (typeof urgencies)[number];

const RESOLVE_SECTIONS = {
  "resolution summary": "resolutionSummary",
  "resolving action": "resolvingAction",
  "root cause": "rootCause",
  "steps taken": "stepsTaken",
  recommendations: "recommendations",
} as const;

const ESCALATE_SECTIONS = {
  reason: "escalationReason",
  summary: "summary",
  environment: "environment",
  "reproduction steps": "reproductionSteps",
  "attempted fixes": "attemptedFixes",
  evidence: "evidence",
  urgency: "urgency",
} as const;

/** Section name → its text, bullets kept as lines; text before the first section is ignored. */
export function draftSections(draft: string, names: readonly string[]): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of draft.split(/\r?\n/)) {
    const heading = /^\s*(?:\*\*)?([A-Za-z ]+?)(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.*)$/.exec(line);
    const name = heading?.[1]?.toLowerCase();
    if (heading && name && names.includes(name)) {
      current = [];
      sections.set(name, current);
      if (heading[2]?.trim()) current.push(heading[2].trim());
    } else if (current && line.trim()) {
      current.push(line.trim());
    }
  }
  return sections;
}

const bullet = (line: string) => line.replace(/^[-*•]\s*|^\d+[.)]\s*/, "").trim();
const listOf = (lines: string[] | undefined) => (lines ?? []).map(bullet).filter((item) => item && item !== "unknown");
const textOf = (lines: string[] | undefined) => (lines ?? []).join(" ").trim();

export function resolveFormFromDraft(draft: string): ResolveForm {
  const s = draftSections(draft, Object.keys(RESOLVE_SECTIONS));
  return {
    resolutionSummary: textOf(s.get("resolution summary")),
    resolvingAction: textOf(s.get("resolving action")),
    rootCause: textOf(s.get("root cause")),
    stepsTaken: listOf(s.get("steps taken")),
    recommendations: listOf(s.get("recommendations")),
  };
}

export function escalateFormFromDraft(draft: string): EscalateForm {
  const s = draftSections(draft, Object.keys(ESCALATE_SECTIONS));
  const urgency = textOf(s.get("urgency")).toLowerCase();
  return {
    escalationReason: textOf(s.get("reason")),
    escalatedTo: "",
    summary: textOf(s.get("summary")),
    environment: textOf(s.get("environment")),
    reproductionSteps: listOf(s.get("reproduction steps")),
    attemptedFixes: listOf(s.get("attempted fixes")),
    evidence: listOf(s.get("evidence")),
    urgency: urgencies.find((u) => u === urgency) ?? "normal",
  };
}

/** The request bodies of POST /sessions/{id}/resolve and /escalate; blank optional fields are left out. */
export function resolveBody(form: ResolveForm): Record<string, unknown> {
  return {
    resolutionSummary: form.resolutionSummary.trim(),
    ...(form.resolvingAction.trim() ? { resolvingAction: form.resolvingAction.trim() } : {}),
    ...(form.rootCause.trim() ? { rootCause: form.rootCause.trim() } : {}),
    stepsTaken: form.stepsTaken.filter((s) => s.trim()),
    recommendations: form.recommendations.filter((s) => s.trim()),
  };
}

export function escalateBody(form: EscalateForm): Record<string, unknown> {
  return {
    escalationReason: form.escalationReason.trim(),
    escalatedTo: form.escalatedTo.trim(),
    escalationPackage: {
      summary: form.summary.trim(),
      ...(form.environment.trim() ? { environment: form.environment.trim() } : {}),
      reproductionSteps: form.reproductionSteps.filter((s) => s.trim()),
      attemptedFixes: form.attemptedFixes.filter((s) => s.trim()),
      evidence: form.evidence.filter((s) => s.trim()),
      urgency: form.urgency,
    },
  };
}

/** One item per line in a textarea. */
export const linesToList = (text: string) =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
