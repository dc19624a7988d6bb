import { describe, expect, it } from "vitest";

import { takeToken, TOKEN_KEY, type TokenPlace } from "./token";

function place(hash: string, stored: string | null = null) {
  const storage = new Map<string, string>(stored ? [[TOKEN_KEY, stored]] : []);
  let cleared = 0;
  const p: TokenPlace = {
    hash,
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
    clearHash: () => void cleared++,
  };
  return { p, storage, cleared: () => cleared };
}

describe("takeToken", () => {
  it("moves the fragment's token into storage and out of the address", () => {
    const { p, storage, cleared } = place("#token=tf_abc");
    expect(takeToken(p)).toBe("tf_abc");
    expect(storage.get(TOKEN_KEY)).toBe("tf_abc");
    expect(cleared()).toBe(1);
  });

  it("prefers a new link's token over the stored one", () => {
    const { p } = place("#token=tf_new", "tf_old");
    expect(takeToken(p)).toBe("tf_new");
  });

  it("falls back to the stored token and leaves other fragments alone", () => {
    const { p, cleared } = place("#section", "tf_old");
    expect(takeToken(p)).toBe("tf_old");
    expect(cleared()).toBe(0);
  });

  it("has no token without link or storage", () => {
    expect(takeToken(place("").p)).toBeNull();
    expect(takeToken(place("#token=").p)).toBeNull();
  });
});
