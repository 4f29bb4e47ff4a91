import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../src/webhooks/address.js';
import { postJson } from '../src/webhooks/http-post.js';
import { checkWebhookUrl } from '../src/webhooks/registry.js';
import { retryDelayMs } from '../src/webhooks/sender.js';
import { signatureOf } from '../src/webhooks/signature.js';

describe('where a webhook may point', () => {
  it('tells public addresses from loopback, private, link-local and mapped ones', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) expect(isPublicAddress(address), address).toBe(true);
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', 'not-an-ip']) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });

  it('refuses loopback and private hosts at registration when private networks are not allowed', () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data']) {
      expect(() => checkWebhookUrl(url, false), url).toThrow(/public address/);
      expect(checkWebhookUrl(url, true).href).toBe(new URL(url).href);
    }
    expect(checkWebhookUrl('https://hooks.example.com/ecocoin', false).hostname).toBe('hooks.example.com');
  });

  it('refuses at send time a name that resolves to a private address', async () => {
    const server = createServer((_request, response) => response.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      // `localhost` passes a check of the URL's text only if it is skipped; the socket's own lookup refuses it.
      const refused = await postJson(new URL(`http://localhost:${port}/`), '{}', {}, { timeoutMs: 1000, allowPrivateNetwork: false });
      expect(refused).toEqual({ error: expect.stringMatching(/localhost resolves to .* which is not a public address/) });
      expect(await postJson(new URL(`http://127.0.0.1:${port}/`), '{}', {}, { timeoutMs: 1000, allowPrivateNetwork: false })).toEqual({ error: '127.0.0.1 is not a public address' });
      expect(await postJson(new URL(`http://localhost:${port}/`), '{}', {}, { timeoutMs: 1000, allowPrivateNetwork: true })).toEqual({ statusCode: 204 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('delivery timing and signing', () => {
  it('doubles the retry delay after each failure, up to the maximum, with at most 20 % jitter', () => {
    expect([1, 2, 3, 4, 5].map((failures) => retryDelayMs(failures, 1000, 5000, () => 0))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(retryDelayMs(1, 1000, 5000, () => 1)).toBe(800);
    expect(retryDelayMs(5, 1000, 5000, () => 0.5)).toBe(4500);
  });

  it('signs "<timestamp>.<body>" with HMAC-SHA256', () => {
    // Known answer, computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    expect(signatureOf('whsec_test', 1_700_000_000, '{"a":1}')).toBe('sha256=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789');
  });
});
