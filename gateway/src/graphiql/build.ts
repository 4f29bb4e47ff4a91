/**
 * Bundles the GraphiQL page (gateway/graphiql) with esbuild into gateway/graphiql/dist: one JavaScript and one
 * CSS file named by content hash, an index.html that loads them, and a manifest written last. The gateway
 * rebuilds on a request for the page when the bundle is missing or older than its sources, so a fresh clone,
 * `npm start` and the tests need no separate step; `npm run explorer:build` does the same by hand.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const GRAPHIQL_SOURCE_DIR = join(root, 'gateway/graphiql');
export const GRAPHIQL_DIST_DIR = join(GRAPHIQL_SOURCE_DIR, 'dist');
const MANIFEST_PATH = join(GRAPHIQL_DIST_DIR, 'manifest.json');
/** What the bundle is made of besides the page's own files: this build and the installed packages. */
const OTHER_INPUTS = [fileURLToPath(import.meta.url), join(root, 'node_modules/.package-lock.json')];

export interface GraphiqlManifest {
  script: string;
  stylesheet: string;
}

/** Replaced by each response's nonce when the page is served (see serve.ts). */
export const CSP_NONCE_PLACEHOLDER = '__CSP_NONCE__';

const page = (manifest: GraphiqlManifest) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>EcoCoin GraphiQL</title>
    <meta name="csp-nonce" content="${CSP_NONCE_PLACEHOLDER}" />
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/graphiql/${manifest.stylesheet}" />
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script type="module" src="/graphiql/${manifest.script}"></script>
  </body>
</html>
`;

/** Writes through a temporary file and a rename, so a reader (or a second builder) never sees half a file. */
async function writeAtomically(path: string, contents: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

async function newestInputMs(): Promise<number> {
  const pageFiles = (await readdir(GRAPHIQL_SOURCE_DIR, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => join(GRAPHIQL_SOURCE_DIR, entry.name));
  const times = await Promise.all([...pageFiles, ...OTHER_INPUTS].map((path) => stat(path).then((stats) => stats.mtimeMs, () => 0)));
  return Math.max(...times);
}

/** The manifest of the current bundle, or null when there is none or a source is newer than it. */
export async function freshManifest(): Promise<GraphiqlManifest | null> {
  const built = await stat(MANIFEST_PATH).catch(() => null);
  if (!built || built.mtimeMs < (await newestInputMs())) return null;
  return JSON.parse(await readFile(MANIFEST_PATH, 'utf8')) as GraphiqlManifest;
}

export async function buildGraphiql(): Promise<GraphiqlManifest> {
  // esbuild is a development tool; production never serves this page, so it never loads esbuild.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: { page: join(GRAPHIQL_SOURCE_DIR, 'page.tsx') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome115', 'firefox115', 'safari16'],
    jsx: 'automatic',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    // .mjs before .js: graphql's deep imports (graphql/language) must resolve to the same ES build as `graphql`,
    // or the page holds two copies and graphql refuses a schema "from another module or realm".
    resolveExtensions: ['.tsx', '.ts', '.jsx', '.mjs', '.js', '.css', '.json'],
    entryNames: '[name]-[hash]',
    outdir: GRAPHIQL_DIST_DIR,
    write: false,
    logLevel: 'silent',
  });
  const output = (extension: string) => {
    const file = result.outputFiles.find((candidate) => candidate.path.endsWith(extension));
    if (!file) throw new Error(`esbuild wrote no ${extension} file for the GraphiQL page`);
    return file;
  };
  const [script, stylesheet] = [output('.js'), output('.css')];
  const manifest: GraphiqlManifest = { script: basename(script.path), stylesheet: basename(stylesheet.path) };
  await mkdir(GRAPHIQL_DIST_DIR, { recursive: true });
  await writeAtomically(script.path, script.contents);
  await writeAtomically(stylesheet.path, stylesheet.contents);
  await writeAtomically(join(GRAPHIQL_DIST_DIR, 'index.html'), page(manifest));
  await writeAtomically(MANIFEST_PATH, `${JSON.stringify(manifest, null, 2)}\n`);
  // Bundles of earlier sources go; a page still open on one gets it again from its next reload.
  const keep = new Set([manifest.script, manifest.stylesheet, 'index.html', 'manifest.json']);
  for (const name of await readdir(GRAPHIQL_DIST_DIR)) {
    if (!keep.has(name) && !name.endsWith('.tmp')) await rm(join(GRAPHIQL_DIST_DIR, name), { force: true });
  }
  return manifest;
}

let building: Promise<GraphiqlManifest> | null = null;

/** The current bundle, built first when it is missing or stale; one build at a time in this process. */
export async function ensureGraphiqlBuilt(): Promise<GraphiqlManifest> {
  const manifest = await freshManifest();
  if (manifest) return manifest;
  building ??= buildGraphiql().finally(() => {
    building = null;
  });
  return building;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const startedMs = performance.now();
  const manifest = await buildGraphiql();
  process.stdout.write(`GraphiQL page built in ${Math.round(performance.now() - startedMs)} ms: ${GRAPHIQL_DIST_DIR} (${manifest.script}, ${manifest.stylesheet})\n`);
}
