import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` proxies the API so the app runs on Vite's port against `turnflow dev` on :8000.
const api = process.env.TURNFLOW_API ?? "http://127.0.0.1:8000";
const apiPaths = ["/chat", "/chats", "/sessions", "/turns", "/usage"];

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    proxy: Object.fromEntries(
      apiPaths.map((path) => [
        path,
        { target: api, bypass: (req) => (req.headers.accept?.includes("text/html") ? "/index.html" : undefined) },
      ]),
    ),
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
