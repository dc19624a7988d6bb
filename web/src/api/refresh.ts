import { createContext, useContext } from "react";

/** Lists reload when `version` changes; anything that changes them calls `refresh`. */
export const RefreshContext = createContext<{ version: number; refresh: () => void }>({
  version: 0,
  refresh: () => undefined,
});

export const useRefresh = () => useContext(RefreshContext);
