/** Sign-in by link: `/#token=<token>` moves the token into sessionStorage and out of the address bar, so it is
 * neither bookmarked nor sent as a referrer; the tab keeps it until it closes. */

export const TOKEN_KEY = "turnflow.token";

export interface TokenPlace {
  hash: string;
  storage: Pick<Storage, "getItem" | "setItem">;
  /** Replaces the address without the fragment (history.replaceState). */
  clearHash: () => void;
}

/** The token from the fragment (stored, fragment removed) or else the one stored earlier in this tab. */
export function takeToken(place: TokenPlace): string | null {
  const fragment = new URLSearchParams(place.hash.replace(/^#/, ""));
  const fromLink = fragment.get("token")?.trim();
  if (fromLink) {
    place.storage.setItem(TOKEN_KEY, fromLink);
    place.clearHash();
    return fromLink;
  }
  return place.storage.getItem(TOKEN_KEY);
}

export function browserTokenPlace(): TokenPlace {
  return {
    hash: window.location.hash,
    storage: window.sessionStorage,
    clearHash: () =>
      window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search),
  };
}
