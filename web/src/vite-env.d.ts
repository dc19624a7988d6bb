/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's origin when the app is built to run elsewhere; empty or unset: the origin that serves the app. */
  readonly VITE_TURNFLOW_API_URL?: string;
}
