import { describe, expect, it } from "vitest";

import { escalateBody, escalateFormFromDraft, resolveBody, resolveFormFromDraft } from "./handoffDraft";

const RESOLVE = `Resolution summary: The printer was offline
after a DHCP change.
Resolving action: Reserved its IP
Root cause: New lease after a router reboot
Steps taken:
- Printed a config page
- Compared the IP
Recommendations:
- Reserve addresses for printers`;

describe("resolveFormFromDraft", () => {
  it("reads every section, joining wrapped lines and listing bullets", () => {
    expect(resolveFormFromDraft(RESOLVE)).toEqual({
      resolutionSummary: "The printer was offline after a DHCP change.",
      resolvingAction: "Reserved its IP",
      rootCause: "New lease after a router reboot",
      stepsTaken: ["Printed a config page", "Compared the IP"],
      recommendations: ["Reserve addresses for printers"],
    });
  });

  it("fills what has streamed so far and leaves the rest empty", () => {
    const partial = resolveFormFromDraft("Resolution summary: The prin");
    expect(partial.resolutionSummary).toBe("The prin");
    expect(partial.rootCause).toBe("");
    expect(partial.stepsTaken).toEqual([]);
  });

  it("accepts bold headings and numbered steps, and drops 'unknown' items", () => {
    const form = resolveFormFromDraft(
      "**Root cause:** a loose cable\nSteps taken:\n1. Checked\n2) Replugged\n- unknown",
    );
    expect(form.rootCause).toBe("a loose cable");
    expect(form.stepsTaken).toEqual(["Checked", "Replugged"]);
  });

  it("becomes the resolve body without blank optional fields", () => {
    const body = resolveBody({ ...resolveFormFromDraft("Resolution summary: fixed"), stepsTaken: ["a", " "] });
    expect(body).toEqual({ resolutionSummary: "fixed", stepsTaken: ["a"], recommendations: [] });
  });
});

describe("escalateFormFromDraft", () => {
  const draft =
    "Reason: needs firmware\nSummary: drops off\nEnvironment: HP M404\nReproduction steps:\n- reboot\n" +
    "Attempted fixes:\n- power cycle\nEvidence:\n- 169.254.x.x\nUrgency: High";

  it("reads the package and a known urgency", () => {
    const form = escalateFormFromDraft(draft);
    expect(form).toMatchObject({
      escalationReason: "needs firmware",
      summary: "drops off",
      environment: "HP M404",
      reproductionSteps: ["reboot"],
      attemptedFixes: ["power cycle"],
      evidence: ["169.254.x.x"],
      urgency: "high",
    });
    expect(escalateBody({ ...form, escalatedTo: "network-team" })).toMatchObject({
      escalatedTo: "network-team",
      escalationPackage: { summary: "drops off", urgency: "high" },
    });
  });

  it("falls back to normal urgency for anything else", () => {
    expect(escalateFormFromDraft("Urgency: whenever").urgency).toBe("normal");
  });
});
