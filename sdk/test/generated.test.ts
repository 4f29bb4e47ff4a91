import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateAll, SDK_GENERATED_DIR } from '../../scripts/codegen.js';

const root = resolve(import.meta.dirname, '../..');

describe('generated SDK and resolver types', () => {
  it('match a fresh run of the generator on the committed supergraph and subgraph schemas', async () => {
    const files = await generateAll();
    expect(files.size).toBeGreaterThanOrEqual(8);
    const stale = [...files]
      .filter(([path, content]) => !existsSync(path) || readFileSync(path, 'utf8') !== content)
      .map(([path]) => relative(root, path));
    // A file the generator no longer writes (e.g. after a change of preset) is stale too.
    const leftOver = readdirSync(SDK_GENERATED_DIR).map((name) => resolve(SDK_GENERATED_DIR, name)).filter((path) => !files.has(path)).map((path) => relative(root, path));
    stale.push(...leftOver);
    expect(stale, `generated files differ from a fresh run (schema or operations changed): run npm run codegen`).toEqual([]);
  }, 60_000);
});
