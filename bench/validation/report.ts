import { writeBenchReport } from '../report-files.js';
import type { OperationLimits } from '../../gateway/src/operation-limits.js';
import type { ShapeResult, Timing } from './documents.js';
import type { ValidationSettings } from './settings.js';
import type { ThroughputRound } from './throughput.js';

export interface ValidationReport {
  date: string;
  settings: ValidationSettings;
  limits: OperationLimits;
  machine: string;
  loadAverage1m: { start: number; end: number };
  shapes: ShapeResult[];
  throughput: ThroughputRound[];
  durationSeconds: number;
}


/** Writes bench/results/validation-<date>.md and, unless it is a smoke run, the latest section of bench/README.md. */
export function writeReport(report: ValidationReport): Promise<{ markdown: string; paths: string[] }> {
  return writeBenchReport('validation', report.date, report.settings.smoke, renderReport(report));
}

export function renderReport(report: ValidationReport): string {
  const { settings, limits } = report;
  return [
    `## Validation, ${report.date}${settings.smoke ? ' (smoke run: too short to compare)' : ''}`,
    '',
    `**Machine.** ${report.machine}; 1-minute load average ${report.loadAverage1m.start.toFixed(1)} at the start, ${report.loadAverage1m.end.toFixed(1)} at the end.`,
    `**Limits.** The defaults: depth ${limits.depthMax}, aliases ${limits.aliasesMax}, tokens ${limits.tokensMax}, directives ${limits.directivesMax}, cost ${limits.costMax}.`,
    `**Run.** Each 64 KB document checked ${settings.repeats} times each way; the \`me\` query for ${settings.rounds} rounds of ${settings.roundSeconds} s per gateway, alternating, ${settings.connections} connections each awaiting one answer at a time. The whole run took ${Math.round(report.durationSeconds)} s.`,
    '',
    '### Worst time to refuse or accept a 64 KB document',
    '',
    '| shape | count | through the gateway (HTTP) | in process, as the gateway checks | token limit lifted | graphql alone, no limits |',
    '|---|---:|---|---|---|---|',
    ...report.shapes.map((shape) => `| ${shape.shape} | ${shape.count} | ${cell(shape.throughGateway)} | ${cell(shape.inProcess)} | ${cell(shape.tokensLifted)} | ${cell(shape.graphqlAlone)} |`),
    '',
    'Each cell: the answer (a code, or *accepted*), then the worst and the median time in ms.',
    '',
    '### The `me` query with the limits on and off',
    '',
    ...throughputTable(report.throughput),
    '',
    ...HOW_TO_READ,
    '',
  ].join('\n');
}

function cell(timing: Timing): string {
  return `${timing.outcome}: worst ${ms(timing.worstMs)}, median ${ms(timing.medianMs)}`;
}

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function throughputTable(rounds: ThroughputRound[]): string[] {
  const mean = (limits: 'on' | 'off') => {
    const chosen = rounds.filter((round) => round.limits === limits);
    return chosen.reduce((sum, round) => sum + round.result.perSecond, 0) / chosen.length;
  };
  const failures = (round: ThroughputRound) => Object.entries(round.result.failures).map(([outcome, count]) => `${outcome} ${count}`).join(', ') || 'none';
  return [
    '| round | limits | requests/s | p50 / p99 ms | not ok | JS thread busy |',
    '|---:|---|---:|---:|---|---:|',
    ...rounds.map((round) => `| ${round.round} | ${round.limits} | ${round.result.perSecond.toFixed(1)} | ${ms(round.result.latencyMs.p50)} / ${ms(round.result.latencyMs.p99)} | ${failures(round)} | ${Math.round(round.result.eventLoopUtilization * 100)} % |`),
    '',
    `Mean: ${mean('on').toFixed(1)} requests/s with the limits, ${mean('off').toFixed(1)} without (${((mean('on') / mean('off') - 1) * 100).toFixed(1)} %).`,
  ];
}

const HOW_TO_READ = [
  '### How to read it',
  '',
  '- *through the gateway*: a POST of the document to the gateway with the default limits, from sending to the whole answer, on loopback, with the rest of the platform idle. *in process*: `checkOperation` (parse within the token limit, graphql\'s rules and the limits, then the cost), which is what the WebSocket path runs and what Apollo Server runs in its parse, validation and didResolveOperation steps.',
  '- *token limit lifted*: the same check with no token limit, so the depth, aliases, directives and cost rules and graphql\'s own rules see the whole 64 KB. It shows what the token limit saves, and that no rule is worse than linear in the fragments (the fragment bomb has about 1,500 fragments each spreading the one before twice). *graphql alone*: graphql\'s parse and rules without any of our limits, which is what a document costs before it can be refused; the deep nesting overflows the parser\'s stack there (a parse error), which the token limit prevents.',
  '- The `me` query: Apollo Server caches a parsed and validated document by its hash, so for a repeated query only the cost check runs per request; the difference between the two gateways is mostly noise. Both gateways and the load generator share one Node.js thread in this process.',
];
