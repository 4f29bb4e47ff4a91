import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../test/support/people.js';
import { type Stack, startStack } from '../../test/support/stack.js';
import { waitFor } from '../../test/support/wait.js';

const CHROMIUM_PATH = '/usr/bin/chromium';
const SCREENSHOT_PATH = join(dirname(fileURLToPath(import.meta.url)), '../../docs/graphiql.png');
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const PASSWORD = 'long enough password';
// Typed into GraphiQL's editor as a person would lay them out (one long line would scroll the editor sideways).
const ME = /* GraphQL */ `{
  me { email wallets { currency balance } }
}`;
const PRICE_TICKS = /* GraphQL */ `subscription {
  priceUpdated(symbol: MCO2) { symbol value }
}`;

let stack: Stack;
let browser: Browser | undefined;

beforeAll(async () => {
  // Prices tick every 300 ms, so a subscription sees two ticks quickly.
  stack = await startStack({ services: ['user', 'price'], serviceEnv: { price: { PRICE_POLL_INTERVAL_MS: '300' } } });
}, 60_000);

/** Debian's Chromium; without it the browser test fails (never skips) and says how to install it. */
async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`The GraphiQL browser test drives Debian's Chromium at ${CHROMIUM_PATH}, which is missing: apt-get install -y chromium`);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  return browser;
}

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const graphiqlUrl = () => new URL('/graphiql', stack.gatewayUrl).href;

/** The parts of GraphiQL's query editor (CodeMirror 5 with GraphiQL's parse of its text) the test waits on. */
interface QueryEditor {
  getValue(): string;
  documentAST?: { loc?: { source: { body: string } } } | null;
}

/** Replaces the query editor's text, as typed, and presses the run button. */
async function run(page: Page, operation: string) {
  await page.locator('.graphiql-query-editor .CodeMirror').click();
  await page.keyboard.press('ControlOrMeta+A');
  // insertText types the text in one input event: key by key, CodeMirror would close every brace it opens.
  await page.keyboard.insertText(operation);
  // GraphiQL parses the editor's text 100 ms after the last edit; a run before that would use the previous
  // text's operations (a query sent as a subscription, or the run button still a menu of several operations).
  const editor = page.locator('.graphiql-query-editor .CodeMirror');
  await waitFor(
    () =>
      editor.evaluate((element) => {
        const codeMirror = (element as unknown as { CodeMirror: QueryEditor }).CodeMirror;
        return codeMirror.documentAST?.loc?.source.body === codeMirror.getValue();
      }),
    { timeoutMs: 5_000, message: 'GraphiQL to parse the new text' },
  );
  await page.getByRole('button', { name: /Execute query/ }).click();
}

/** The result pane's JSON; throws with what the pane shows instead (waitFor reports it on time-out). */
async function result(page: Page): Promise<{ data?: Record<string, any> | null; errors?: unknown[] }> {
  // CodeMirror draws what it shows with no-break spaces, and an empty line as a zero-width space.
  const lines = await page.locator('.graphiql-response .CodeMirror-line').allInnerTexts();
  const text = lines.join('\n').replaceAll('\u00a0', ' ').replaceAll('\u200b', '');
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`the result pane shows ${JSON.stringify(text)}`);
  }
}

/** Waits until the result pane holds `field` in its data; a time-out names what the pane showed. */
async function resultField(page: Page, field: string, message: string) {
  return waitFor(
    async () => {
      const shown = await result(page);
      if (shown.data?.[field]) return shown.data[field];
      throw new Error(`the result pane shows ${JSON.stringify(shown)}`);
    },
    { timeoutMs: 10_000, intervalMs: 50, message },
  );
}

describe('GraphiQL at /graphiql', () => {
  it('serves the page and its bundle with their content types, caching and a same-origin policy', async () => {
    const page = await fetch(graphiqlUrl());
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    // Each answer has its own style nonce, so none may be kept.
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    const nonce = /<meta name="csp-nonce" content="([^"]+)"/.exec(html)?.[1];
    const host = new URL(stack.gatewayUrl).host;
    expect(page.headers.get('content-security-policy')).toBe(
      `default-src 'none'; script-src 'self'; style-src 'self' 'nonce-${nonce}'; font-src 'self' data:; img-src 'self' data:; ` +
        `connect-src 'self' ws://${host} wss://${host}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    );
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(\/graphiql\/[^"]+)"/g)].map((match) => match[1] as string);
    expect(assets).toHaveLength(2);
    for (const path of assets) {
      const asset = await fetch(new URL(path, stack.gatewayUrl));
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toBe(path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect((await fetch(new URL('/graphiql/..%2Fpackage.json', stack.gatewayUrl))).status).toBe(404);
    expect((await fetch(graphiqlUrl(), { method: 'POST' })).status).toBe(405);
  });

  it('signs in through its form, runs a query and a subscription, and loads nothing from another host', async () => {
    const context = await (await launchChromium()).newContext({ viewport: { width: 1280, height: 800 } });
    const { email } = await register(stack.gatewayUrl, 'Explorer', { password: PASSWORD });

    const page = await context.newPage();
    const elsewhere: string[] = [];
    const offLoopback = (url: string) => /^(https?|wss?):/.test(url) && !LOOPBACK_HOSTS.has(new URL(url).hostname);
    page.on('request', (request) => void (offLoopback(request.url()) && elsewhere.push(request.url())));
    page.on('websocket', (socket) => void (offLoopback(socket.url()) && elsewhere.push(socket.url())));
    const authorizations: string[] = [];
    page.on('request', (request) => void (request.method() === 'POST' && request.url().endsWith('/graphql') && authorizations.push(request.headers().authorization ?? '')));
    const problems: string[] = [];
    page.on('console', (message) => void (message.type() === 'error' && problems.push(message.text())));
    page.on('pageerror', (error) => void problems.push(error.message));

    await page.goto(graphiqlUrl());
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('status').getByText(`Signed in as ${email}`).waitFor({ timeout: 10_000 });

    await run(page, ME);
    const me = await resultField(page, 'me', 'the query result in the result pane');
    expect(me.email).toBe(email);
    expect(me.wallets.map((wallet: { currency: string }) => wallet.currency).sort()).toEqual(['CARBON', 'ETH', 'USD']);
    expect(authorizations.at(-1)).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);

    // The result pane shows the latest event; two different values are two ticks (a price event is a change).
    await run(page, PRICE_TICKS);
    const values = new Set<string>();
    await waitFor(
      async () => {
        const tick = (await result(page)).data?.priceUpdated;
        if (tick) values.add(`${tick.symbol} ${tick.value}`);
        return values.size >= 2;
      },
      { timeoutMs: 15_000, intervalMs: 50, message: 'two price ticks in the result pane' },
    );
    expect([...values].every((tick) => /^MCO2 \d+(\.\d+)?$/.test(tick))).toBe(true);

    // The README's picture is written when missing or asked for (UPDATE_SCREENSHOTS=1), so a test run leaves
    // the committed one alone.
    if (!existsSync(SCREENSHOT_PATH) || process.env.UPDATE_SCREENSHOTS) {
      await mkdir(dirname(SCREENSHOT_PATH), { recursive: true });
      await page.screenshot({ path: SCREENSHOT_PATH });
    } else {
      expect((await page.screenshot()).byteLength).toBeGreaterThan(0);
    }
    await context.close();
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);
});
