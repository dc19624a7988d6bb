import { useState } from "react";

import { TOKEN_KEY } from "./token";

/** Without a token the app cannot talk to the API: take one by hand (`make dev` prints a link with one). */
export function SignIn({ onToken }: { onToken: (token: string) => void }) {
  const [value, setValue] = useState("");
  return (
    <main className="signin">
      <h1>turnflow</h1>
      <p>
        Open the address <code>make dev</code> printed (it ends in <code>#token=…</code>), or paste a token.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const token = value.trim();
          if (!token) return;
          window.sessionStorage.setItem(TOKEN_KEY, token);
          onToken(token);
        }}
      >
        <label htmlFor="token">Token</label>
        <input id="token" type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
