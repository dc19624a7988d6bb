import { describe, expect, it } from "vitest";

import { splitEvents, textDeltas } from "./eventStream";

function body(text: string, cut: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += cut) controller.enqueue(bytes.slice(i, i + cut));
      controller.close();
    },
  });
}

describe("splitEvents", () => {
  it("keeps an unfinished event for later and drops comments, ids and [DONE]", () => {
    const { events, rest } = splitEvents('id: 1\ndata: {"a":1}\n\n: keep-alive\n\ndata: [DONE]\n\ndata: {"b"');
    expect(events).toEqual(['{"a":1}']);
    expect(rest).toBe('data: {"b"');
  });
});

describe("textDeltas", () => {
  it("yields the text deltas in order whatever the network cuts", async () => {
    const sse =
      'data: {"type":"start"}\n\ndata: {"type":"text-start","id":"d"}\n\n' +
      'data: {"type":"text-delta","id":"d","delta":"Résumé: "}\n\ndata: {"type":"text-delta","id":"d","delta":"ok"}\n\n' +
      "data: [DONE]\n\n";
    for (const cut of [1, 3, 1000]) {
      const seen: string[] = [];
      for await (const delta of textDeltas(body(sse, cut))) seen.push(delta);
      expect(seen.join("")).toBe("Résumé: ok");
    }
  });

  it("throws the stream's error", async () => {
    const run = async () => {
      for await (const delta of textDeltas(body('data: {"type":"error","errorText":"no model"}\n\n', 7))) void delta;
    };
    await expect(run()).rejects.toThrow("no model");
  });
});
