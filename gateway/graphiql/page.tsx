/**
 * The offline GraphiQL page the gateway serves at /graphiql outside production. Bundled with everything it
 * needs (React, GraphiQL, CodeMirror, graphql-ws, fonts) by gateway/src/graphiql/build.ts: it loads nothing
 * from any other host.
 */
import { createGraphiQLFetcher, type Fetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { type FieldNode, parse, print, visit } from 'graphql';
import { type FormEvent, StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import 'graphiql/graphiql.css';
import './page.css';

// Radix dialogs in GraphiQL add a <style> element at run time; the page's policy admits it by this response's
// nonce, which the library reads from webpack's global.
(globalThis as { __webpack_nonce__?: string }).__webpack_nonce__ = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content;

/**
 * graphql's introspection query nests `ofType` nine deep (15 levels). Six wrappers, as in `[[Type!]!]!`, cover
 * every type of this schema and keep the query at 12 levels, so the page works behind a gateway that counts
 * introspection against a depth limit (this gateway no longer does: operation-limits.ts leaves `__schema` out).
 */
const TYPE_WRAPPERS_MAX = 6;

function withinDepthLimit(introspectionQuery: string): string {
  let wrappers = 0;
  const isOfType = (node: FieldNode) => node.name.value === 'ofType';
  const document = visit(parse(introspectionQuery), {
    Field: {
      enter(node) {
        if (!isOfType(node)) return undefined;
        // null removes this ofType and everything under it.
        if (wrappers === TYPE_WRAPPERS_MAX) return null;
        wrappers += 1;
        return undefined;
      },
      leave(node) {
        if (isOfType(node)) wrappers -= 1;
      },
    },
  });
  return print(document);
}

const toolkitFetcher = createGraphiQLFetcher({
  url: '/graphql',
  // The toolkit sends the headers editor's content as HTTP headers, and as the graphql-ws connectionParams of a
  // subscription: the gateway reads the socket's token from connectionParams.Authorization.
  subscriptionUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
  // The gateway answers every operation with one JSON result; there is no incremental delivery to ask for.
  enableIncrementalDelivery: false,
});
const fetcher: Fetcher = (params, options) =>
  toolkitFetcher(params.operationName === 'IntrospectionQuery' ? { ...params, query: withinDepthLimit(params.query) } : params, options);

const DEFAULT_QUERY = `# Sign in above (POST /token); the token goes into the headers below, for queries and subscriptions alike.
# New here? Run the register mutation, then sign in with that email and password.

query Me {
  me { email displayName wallets { currency balance } }
}

query Prices {
  price(symbol: MCO2) { value source observedAt stale }
}

subscription Ticks {
  priceUpdated(symbol: MCO2) { symbol value observedAt }
}

mutation Register {
  register(input: { email: "ada@example.com", password: "correct horse battery", displayName: "Ada", role: BUYER }) { user { id } }
}
`;

interface TokenAnswer {
  access_token?: string;
  expires_in?: number;
  error_description?: string;
}

/** The OAuth2 password grant of the gateway's POST /token (see gateway/src/token-endpoint.ts). */
async function requestToken(email: string, password: string): Promise<{ token: string; expiresAtMs: number }> {
  const response = await fetch('/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: email, password }),
  });
  const answer = (await response.json().catch(() => ({}))) as TokenAnswer;
  if (!response.ok || !answer.access_token) throw new Error(answer.error_description ?? `Sign-in failed (HTTP ${response.status})`);
  return { token: answer.access_token, expiresAtMs: Date.now() + (answer.expires_in ?? 0) * 1000 };
}

/** The headers editor's JSON with its Authorization replaced (or removed); other headers the user typed stay. */
function withAuthorization(headersText: string, token: string | null): string {
  let headers: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(headersText.trim() || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) headers = parsed as Record<string, unknown>;
  } catch {
    // Text that is not a JSON object could not be sent as headers anyway: it is replaced.
  }
  const others = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
  return JSON.stringify(token ? { Authorization: `Bearer ${token}`, ...others } : others, null, 2);
}

interface SignedIn {
  email: string;
  expiresAtMs: number;
}

function SignInBar(props: { signedIn: SignedIn | null; onToken(email: string, token: string, expiresAtMs: number): void; onSignOut(): void }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get('email') ?? '');
    setBusy(true);
    setProblem('');
    try {
      const { token, expiresAtMs } = await requestToken(email, String(form.get('password') ?? ''));
      props.onToken(email, token, expiresAtMs);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  }

  if (props.signedIn) {
    const until = new Date(props.signedIn.expiresAtMs).toLocaleTimeString();
    return (
      <div className="explorer-bar">
        <strong className="explorer-title">EcoCoin</strong>
        <output role="status">
          Signed in as {props.signedIn.email} (token until {until})
        </output>
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
    );
  }
  return (
    <form className="explorer-bar" onSubmit={submit}>
      <strong className="explorer-title">EcoCoin</strong>
      <label>
        Email <input name="email" type="email" autoComplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      <output role="status">{problem}</output>
    </form>
  );
}

function Explorer() {
  // The headers editor is controlled from here, so signing in can write the token into it.
  const [headers, setHeaders] = useState('{}');
  const [signedIn, setSignedIn] = useState<SignedIn | null>(null);
  return (
    <div className="explorer">
      <SignInBar
        signedIn={signedIn}
        onToken={(email, token, expiresAtMs) => {
          setHeaders((current) => withAuthorization(current, token));
          setSignedIn({ email, expiresAtMs });
        }}
        onSignOut={() => {
          setHeaders((current) => withAuthorization(current, null));
          setSignedIn(null);
        }}
      />
      <div className="explorer-graphiql">
        <GraphiQL
          fetcher={fetcher}
          defaultQuery={DEFAULT_QUERY}
          headers={headers}
          onEditHeaders={setHeaders}
          defaultEditorToolsVisibility="headers"
          // A token is a credential: it stays in this tab's memory, never in localStorage.
          shouldPersistHeaders={false}
        />
      </div>
    </div>
  );
}

createRoot(document.getElementById('graphiql') as HTMLElement).render(
  <StrictMode>
    <Explorer />
  </StrictMode>,
);
