import { describe, expect, it } from 'vitest';
import { DateTimeScalar } from '../scalars.js';
import { jsonTextRefusal, textProblem } from '../server/text-input.js';

describe('text the API takes', () => {
  it('takes any Unicode text with tabs and line breaks, emoji included', () => {
    for (const text of ['', 'plain', 'line one\nline two\r\n\tindented', 'café 🌍 中文']) expect(textProblem(text), text).toBeUndefined();
  });

  it('refuses NUL, the other C0 controls, DEL, the C1 controls and a lone surrogate', () => {
    expect(textProblem('a\u0000b')).toMatch(/U\+0000/);
    expect(textProblem('\u001b[31m')).toMatch(/U\+001B/);
    expect(textProblem('\u007f')).toMatch(/U\+007F/);
    expect(textProblem('next\u0085line')).toMatch(/U\+0085/);
    expect(textProblem('half \ud83c')).toMatch(/lone surrogate/);
    expect(textProblem('\udf0d half')).toMatch(/lone surrogate/);
  });

  it('names the key of the first bad string in a JSON body, and refuses one nested too deep', () => {
    expect(jsonTextRefusal({ entries: [{ account: { userId: 'ok' } }, { memo: 'x\u0000' }] })).toEqual({ field: 'memo', problem: expect.stringMatching(/U\+0000/) });
    expect(jsonTextRefusal({ tags: ['fine', 'bad\u0001'] })?.field).toBe('tags');
    expect(jsonTextRefusal({ id: 'fine', amount: 5, ok: true, none: null })).toBeUndefined();
    let deep: unknown = 'leaf';
    for (let level = 0; level < 100; level += 1) deep = [deep];
    expect(jsonTextRefusal(deep)?.problem).toMatch(/nested more than 16 levels/);
  });
});

describe('DateTime', () => {
  const parse = (value: string) => DateTimeScalar.parseValue(value) as Date;

  it('takes a leap day, an offset, and the first and last years', () => {
    expect(parse('2024-02-29T12:00:00Z').toISOString()).toBe('2024-02-29T12:00:00.000Z');
    expect(parse('2026-11-24T12:00:00+02:00').toISOString()).toBe('2026-11-24T10:00:00.000Z');
    expect(parse('0001-01-01T00:00:00Z').getUTCFullYear()).toBe(1);
    expect(parse('9999-12-31T23:59:59.999Z').getUTCFullYear()).toBe(9999);
  });

  it('refuses a day the month does not have, hour 24, year 0, and a year 0 reached through an offset', () => {
    for (const value of ['2023-02-29T00:00:00Z', '2026-02-30T00:00:00Z', '2026-04-31T00:00:00Z', '2026-01-01T24:00:00Z']) expect(() => parse(value), value).toThrow(/not a real date/);
    for (const value of ['0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00']) expect(() => parse(value), value).toThrow(/between the years 1 and 9999/);
    expect(() => parse('yesterday')).toThrow(/ISO-8601/);
  });
});
