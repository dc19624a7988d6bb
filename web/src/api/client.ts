import { createContext, useContext } from "react";
import type { z } from "zod";

import { Problem } from "./schemas";

/** An API answer that was not 2xx: the problem document's detail and the field it names. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Method = "GET" | "POST" | "PATCH";

/** The one way the app reads and writes server data (the chat stream goes through useChat). */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  get authorization(): Record<string, string> {
    return { Authorization: `Bearer ${this.token}` };
  }

  get<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal): Promise<z.output<S>> {
    return this.request("GET", path, schema, undefined, signal);
  }

  post<S extends z.ZodType>(path: string, schema: S, body: unknown = {}): Promise<z.output<S>> {
    return this.request("POST", path, schema, body);
  }

  patch<S extends z.ZodType>(path: string, schema: S, body: unknown): Promise<z.output<S>> {
    return this.request("PATCH", path, schema, body);
  }

  /** A raw streaming POST (the handoff draft), with the same auth and errors. */
  async stream(path: string, body: unknown, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send("POST", path, body, signal, "text/event-stream");
    if (!response.body) throw new ApiError(response.status, "the answer had no body");
    return response.body;
  }

  private async request<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<z.output<S>> {
    const response = await this.send(method, path, body, signal, "application/json");
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success) {
      const where = parsed.error.issues[0]?.path.join(".") ?? "";
      throw new ApiError(response.status, `unexpected answer from ${method} ${path} at ${where || "the top"}`);
    }
    return parsed.data;
  }

  private async send(
    method: Method,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    accept: string,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...this.authorization, Accept: accept };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw await problemOf(response);
    return response;
  }
}

async function problemOf(response: Response): Promise<ApiError> {
  const problem = Problem.safeParse(await response.json().catch(() => null));
  if (!problem.success) return new ApiError(response.status, `the server answered ${response.status}`);
  const message = problem.data.detail ?? problem.data.title ?? `the server answered ${response.status}`;
  return new ApiError(response.status, message, problem.data.field ?? null);
}

export const ApiContext = createContext<ApiClient | null>(null);

export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (api === null) throw new Error("useApi needs an ApiContext provider");
  return api;
}
