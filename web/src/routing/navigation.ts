import { useCallback, useSyncExternalStore } from "react";

import { parseRoute, type Route } from "./routes";

/** Client-side navigation on the History API: the address bar is the store, popstate and our own event its news. */
const NAVIGATED = "turnflow:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATED, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATED, onChange);
  };
}

const currentPath = () => window.location.pathname;

export function useRoute(): Route {
  return parseRoute(useSyncExternalStore(subscribe, currentPath));
}

export function navigate(path: string, { replace = false } = {}): void {
  if (path === window.location.pathname) return;
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  window.dispatchEvent(new Event(NAVIGATED));
}

/** An onClick for links: plain clicks navigate in the app; modified clicks keep the browser's behaviour. */
export function useLinkHandler(): (event: React.MouseEvent<HTMLAnchorElement>) => void {
  return useCallback((event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(event.currentTarget.pathname);
  }, []);
}
