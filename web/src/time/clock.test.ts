import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { createClock } from "./clock";

describe("createClock", () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => void vi.useRealTimers());

  it("ticks its subscribers with the time of the tick, and only while any listen", () => {
    const clock = createClock(30_000);
    const ticks: number[] = [];
    const unsubscribe = clock.subscribe(() => ticks.push(clock.now()));
    vi.advanceTimersByTime(29_999);
    expect(ticks).toEqual([]);
    expect(clock.now()).toBe(1_000_000);
    vi.advanceTimersByTime(1);
    expect(ticks).toEqual([1_030_000]);
    unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(ticks).toHaveLength(1);
  });

  it("shares one timer between subscribers", () => {
    const clock = createClock(30_000);
    const a = clock.subscribe(() => undefined);
    const b = clock.subscribe(() => undefined);
    expect(vi.getTimerCount()).toBe(1);
    a();
    expect(vi.getTimerCount()).toBe(1);
    b();
    expect(vi.getTimerCount()).toBe(0);
  });
});
