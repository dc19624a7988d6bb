import { describe, expect, it } from "vitest";

import { relativeTime } from "./relativeTime";

const now = Date.parse("2026-12-01T12:00:00Z");
const ago = (ms: number) => new Date(now - ms);

describe("relativeTime", () => {
  it.each([
    [0, "just now"],
    [59_999, "just now"],
    [60_000, "1 min ago"],
    [3 * 60_000 + 5_000, "3 min ago"],
    [59 * 60_000, "59 min ago"],
    [60 * 60_000, "1 h ago"],
    [23 * 3_600_000, "23 h ago"],
    [25 * 3_600_000, "yesterday"],
    [3 * 86_400_000, "3 days ago"],
  ])("%i ms ago reads %s", (age, expected) => {
    expect(relativeTime(ago(age), now)).toBe(expected);
  });

  it("reads a time slightly in the future (clock skew) as just now", () => {
    expect(relativeTime(new Date(now + 5_000), now)).toBe("just now");
  });

  it("shows a date after a week", () => {
    expect(relativeTime(ago(10 * 86_400_000), now)).toMatch(/2026/);
  });
});
