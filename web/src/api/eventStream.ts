/** Reads the `data:` payloads of an SSE body (the AI SDK UI message stream), one JSON chunk at a time. */

export function splitEvents(buffer: string): { events: string[]; rest: string } {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? "";
  const events = blocks
    .map((block) =>
      block
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n"),
    )
    .filter((data) => data !== "" && data !== "[DONE]");
  return { events, rest };
}

export async function* textDeltas(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const { events, rest } = splitEvents(buffer + decoder.decode(value, { stream: true }));
    buffer = rest;
    for (const data of events) {
      const chunk: unknown = JSON.parse(data);
      if (typeof chunk !== "object" || chunk === null || !("type" in chunk)) continue;
      if (chunk.type === "text-delta" && "delta" in chunk && typeof chunk.delta === "string") yield chunk.delta;
      if (chunk.type === "error" && "errorText" in chunk) throw new Error(String(chunk.errorText));
    }
  }
}
