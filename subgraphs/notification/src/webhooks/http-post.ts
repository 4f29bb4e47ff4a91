import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { type ClientRequest, type IncomingMessage, request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isPublicAddress, literalAddressOf } from './address.js';

export type PostOutcome = { statusCode: number } | { error: string };

export interface PostOptions {
  timeoutMs: number;
  allowPrivateNetwork: boolean;
}

const ERROR_TEXT_LENGTH_MAX = 300;

class AddressRefused extends Error {}

/**
 * Resolves names as usual, then refuses non-public addresses. Checked at connect time, on the addresses the
 * socket will use, so a name that resolves differently later (DNS rebinding) cannot slip past the check.
 */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) return callback(new AddressRefused(`${hostname} resolves to ${refused.address}, which is not a public address`), '', 0);
    if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
    const [first] = addresses;
    callback(null, first?.address ?? '', first?.family ?? 4);
  });
};

/**
 * POSTs `body` to `url` once, with no redirects followed, and says what came back: the status code, or why
 * there was none (refused address, network error, time-out). The whole exchange must finish within `timeoutMs`.
 */
export function postJson(url: URL, body: string, headers: Record<string, string>, options: PostOptions): Promise<PostOutcome> {
  const literal = literalAddressOf(url);
  if (!options.allowPrivateNetwork && literal && !isPublicAddress(literal)) {
    return Promise.resolve({ error: `${literal} is not a public address` });
  }
  const requestOptions: RequestOptions = {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'EcoCoin-Webhooks/1', ...headers },
    lookup: options.allowPrivateNetwork ? undefined : publicOnlyLookup,
    // One connection per attempt: nothing pooled outlives the attempt or its time-out.
    agent: false,
  };
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(outcome);
    };
    const onResponse = (response: IncomingMessage) => {
      // The answer's body means nothing to us; it is read and dropped so the status counts only once it ended.
      response.resume();
      response.once('end', () => finish({ statusCode: response.statusCode ?? 0 }));
      response.once('error', (error) => finish({ error: errorText(error) }));
    };
    const request: ClientRequest = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, requestOptions, onResponse);
    const timer = setTimeout(() => finish({ error: `no answer within ${options.timeoutMs} ms` }), options.timeoutMs);
    request.once('error', (error) => finish({ error: errorText(error) }));
    request.end(body);
  });
}

const errorText = (error: Error) => error.message.slice(0, ERROR_TEXT_LENGTH_MAX) || error.name;
