import { createContext, useContext, useSyncExternalStore } from "react";

/** A page-wide clock for relative times: one interval however many timestamps show, and only while any do. */
export interface Clock {
  subscribe: (onTick: () => void) => () => void;
  now: () => number;
}

export const TICK_MS = 30_000;

export function createClock(tickMs: number = TICK_MS): Clock {
  let now = Date.now();
  const listeners = new Set<() => void>();
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    subscribe(onTick) {
      listeners.add(onTick);
      timer ??= setInterval(() => {
        now = Date.now();
        listeners.forEach((listener) => listener());
      }, tickMs);
      return () => {
        listeners.delete(onTick);
        if (listeners.size === 0 && timer !== undefined) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
    now: () => now,
  };
}

export const ClockContext = createContext<Clock | null>(null);

/** The time of the last tick; components re-render on each tick, never from an effect. */
export function useNow(): number {
  const clock = useContext(ClockContext);
  if (clock === null) throw new Error("useNow needs a ClockContext provider");
  return useSyncExternalStore(clock.subscribe, clock.now);
}
