import { useEffect, useEffectEvent, useState } from "react";

interface Loaded<T> {
  key: string | null;
  data?: T;
  error?: Error;
}

export interface Query<T> {
  /** The answer for this key, or the previous key's while the new one loads. */
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
}

/** Loads server data for a key (a fetch is a sync with the outside world); state is only set when it answers. */
export function useQuery<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): Query<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ key: null });
  const run = useEffectEvent(load);
  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    run(controller.signal).then(
      (data) => setLoaded({ key, data }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setLoaded((previous) => ({
          ...previous,
          key,
          error: error instanceof Error ? error : new Error(String(error)),
        }));
      },
    );
    return () => controller.abort();
  }, [key]);
  const current = loaded.key === key;
  return { data: loaded.data, error: current ? loaded.error : undefined, loading: key !== null && !current };
}
