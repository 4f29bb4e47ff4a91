/**
 * A bounded map whose entries expire: signing and verifying HMAC tokens costs far more than a lookup, and the
 * same token is verified again and again (one per request and per internal call). When full, it starts over
 * rather than grow: a miss only costs a verification.
 */
export class ExpiringCache<Value> {
  readonly #entries = new Map<string, { value: Value; expiresAtMs: number }>();

  constructor(private readonly sizeMax: number) {}

  get(key: string, nowMs = Date.now()): Value | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: Value, expiresAtMs: number): void {
    if (this.#entries.size >= this.sizeMax) this.#entries.clear();
    this.#entries.set(key, { value, expiresAtMs });
  }
}
