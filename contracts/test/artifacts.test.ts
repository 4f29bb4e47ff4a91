import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR, compileContracts, staleArtifactFiles } from '../compile.js';

/** solc-js compiles OpenZeppelin and our four contracts in about five seconds. */
const COMPILE_TIMEOUT_MS = 60_000;

describe('committed contract artifacts', () => {
  it(
    'match a fresh compile of contracts/src, without compiler warnings (else run `tsx contracts/build.ts`)',
    async () => {
      const { files, warnings } = compileContracts();
      expect(warnings).toEqual([]);
      for (const [file, text] of files) {
        const committed = await readFile(join(ARTIFACTS_DIR, file), 'utf8').catch(() => undefined);
        expect(committed === text, `contracts/artifacts/${file} is missing or out of date`).toBe(true);
      }
      expect(staleArtifactFiles(files)).toEqual([]);
    },
    COMPILE_TIMEOUT_MS,
  );
});
