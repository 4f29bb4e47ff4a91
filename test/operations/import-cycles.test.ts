import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Every folder of source in the tree: what ships, and the scripts, benchmarks and tests beside it. */
const SOURCES = ['{lib,gateway,subgraphs,scripts,sdk,test,bench,contracts}/**/*.{ts,tsx,mts,mjs}', '*.ts'];
/** Reading some 400 files with the TypeScript parser takes a few seconds on a loaded 2-core machine. */
const SCAN_TIMEOUT_MS = 60_000;

/** The import cycles in the tree, each as the files of its loop ("a -> b" means a imports b, and b leads back to a). */
async function importCycles(patterns: readonly string[] = SOURCES, context = root): Promise<string[]> {
  // Type-only imports count: a loop of types still ties two layers into one (the GraphQL context and the domain).
  const tree = await parseDependencyTree([...patterns], { context, transform: false, skipDynamicImports: false, onProgress: () => {} });
  return parseCircular(tree).map((cycle) => cycle.join(' -> '));
}

describe('the import graph', () => {
  it('has no cycle: no file imports another that leads back to it', { timeout: SCAN_TIMEOUT_MS }, async () => {
    const cycles = await importCycles();
    expect(cycles, `import cycles:\n${cycles.map((cycle, index) => `  ${index + 1}) ${cycle}`).join('\n')}`).toEqual([]);
  });
});
