// Reads a turnflow turn with a real AI SDK client and prints the UIMessage that client assembles.
//
//   node read_turn.mjs <package> send <api url> <body json>      POST, as useChat's sendMessage does
//   node read_turn.mjs <package> resume <api url> <chat id>      GET {api}/{chatId}/stream, as useChat's resume does
//
// <package> is an installed alias of `ai` (see package.json). The API key comes from TURNFLOW_KEY.
// Prints {"version", "message", "chunkTypes"} or {"version", "error"} and exits non-zero on a client error.
import { createRequire } from "node:module";

const [pkg, mode, api, arg] = process.argv.slice(2);
const ai = await import(pkg);
const { version } = createRequire(import.meta.url)(`${pkg}/package.json`);
const transport = new ai.DefaultChatTransport({
  api,
  headers: { Authorization: `Bearer ${process.env.TURNFLOW_KEY}` },
});

function print(value, code) {
  process.stdout.write(JSON.stringify({ version, ...value }) + "\n");
  process.exit(code);
}

let stream;
try {
  if (mode === "send") {
    const { id, messages, trigger = "submit-message", messageId, ...extra } = JSON.parse(arg);
    stream = await transport.sendMessages({
      chatId: id, messages, trigger, messageId, abortSignal: undefined, body: extra,
    });
  } else {
    stream = await transport.reconnectToStream({ chatId: arg });
    if (stream == null) print({ status: 204, message: null }, 0);
  }
} catch (error) {
  print({ error: String(error?.message ?? error) }, 1);
}

const [forMessage, forTypes] = stream.tee();
const chunkTypes = [];
const typesDone = (async () => { for await (const chunk of forTypes) chunkTypes.push(chunk.type); })();
let message = null;
let failure = null;
for await (const snapshot of ai.readUIMessageStream({
  stream: forMessage,
  terminateOnError: true, // otherwise the reader swallows schema errors
  onError: (error) => { failure ??= error; },
})) {
  message = snapshot;
}
await typesDone.catch((error) => { failure ??= error; });
if (failure) print({ error: String(failure?.message ?? failure), message }, 1);
print({ message, chunkTypes }, 0);
