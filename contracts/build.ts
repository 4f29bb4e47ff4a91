/**
 * Compiles contracts/src and writes contracts/artifacts/*.ts (committed; contracts/test/artifacts.test.ts
 * fails when they are out of date). Run with `tsx contracts/build.ts`.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARTIFACTS_DIR, type CompileResult, compileContracts, staleArtifactFiles } from './compile.js';

let compiled: CompileResult;
try {
  compiled = compileContracts();
} catch (error) {
  // The compiler's messages are the whole story; a stack trace into compile.ts would only bury them.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
const { files, warnings } = compiled;
for (const warning of warnings) console.warn(warning);

await mkdir(ARTIFACTS_DIR, { recursive: true });
for (const stale of staleArtifactFiles(files)) await rm(join(ARTIFACTS_DIR, stale));
for (const [file, text] of files) await writeFile(join(ARTIFACTS_DIR, file), text);
console.log(`wrote ${[...files.keys()].join(', ')} to ${ARTIFACTS_DIR}`);
