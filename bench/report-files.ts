import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));

/**
 * Writes one benchmark's report to results/<name>-<date>[-smoke].md and, unless it is a smoke run, puts it in
 * bench/README.md between the `<!-- <name>:latest:start -->` and `…:end -->` markers (added at the end if absent),
 * so a smoke run never replaces the numbers of a real one.
 */
export async function writeBenchReport(name: string, date: string, smoke: boolean, markdown: string): Promise<{ markdown: string; paths: string[] }> {
  const resultsDir = `${BENCH_DIR}results/`;
  await mkdir(resultsDir, { recursive: true });
  const resultsPath = `${resultsDir}${name}-${date}${smoke ? '-smoke' : ''}.md`;
  await writeFile(resultsPath, markdown);
  if (smoke) return { markdown, paths: [resultsPath] };
  const readmePath = `${BENCH_DIR}README.md`;
  await writeFile(readmePath, withLatest(await readFile(readmePath, 'utf8').catch(() => ''), name, markdown));
  return { markdown, paths: [resultsPath, readmePath] };
}

function withLatest(readme: string, name: string, markdown: string): string {
  const startMarker = `<!-- ${name}:latest:start -->`;
  const endMarker = `<!-- ${name}:latest:end -->`;
  const block = `${startMarker}\n${markdown}${endMarker}\n`;
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  if (start === -1 || end === -1) return `${readme.trimEnd()}\n\n${block}`;
  return `${readme.slice(0, start)}${block}${readme.slice(end + endMarker.length).replace(/^\n/, '')}`;
}
