import { stopProcess } from './child-process.js';
import { execFile, spawn } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from './ports.js';

/** Also passed to Maven as `-Dkafka.version`, so this constant, not the pom, decides the jars. */
const KAFKA_VERSION = '3.9.1';
const POM_PATH = fileURLToPath(new URL('./kafka/pom.xml', import.meta.url));
/** Written after a complete fetch: a folder of jars without it may be a fetch that was cut short. */
const JARS_COMPLETE_MARKER = '.complete';
const MISSING_TOOLS_MESSAGE = 'Kafka broker needs Java 17+ and Maven: apt-get install openjdk-17-jre-headless maven';

const HEAP_MB_DEFAULT = 512;
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_INTERVAL_MS = 250;
const READY_PROBE_TIMEOUT_MS = 1_000;
const STOP_TIMEOUT_MS = 20_000;
const JAR_FETCH_TIMEOUT_MS = 10 * 60_000;
const FORMAT_TIMEOUT_MS = 60_000;
const LOG_TAIL_LINES = 40;
const ERROR_LINE_PATTERN = /\b(ERROR|FATAL)\b|Exception|^Caused by/;
/** The broker's own log rolls over at this size, so a long-lived `npm run kafka` does not fill the disk. */
const LOG_FILE_SIZE_MAX = '10MB';

const execFileAsync = promisify(execFile);

export interface StartKafkaOptions {
  dataDir: string;
  /** PLAINTEXT listener for clients; a free port when not given. */
  port?: number;
  /** KRaft controller listener; a free port when not given. */
  controllerPort?: number;
  heapMb?: number;
  /** Where the broker's jars are kept between runs; see `defaultCacheDir`. */
  cacheDir?: string;
  /** Lines the JVM writes to stdout/stderr (the broker's own log goes to `<dataDir>/server.log`). */
  log?: (line: string) => void;
}

export interface KafkaBroker {
  brokers: string[];
  /** Resolves with the JVM's exit code when the broker ends, whether stopped or crashed. */
  exited: Promise<number | null>;
  /** The JVM's process id while it runs (for reading its CPU time from /proc); undefined once it has exited. */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/**
 * A real Apache Kafka broker (KRaft, one node that is both broker and controller) on loopback,
 * from the jars on Maven Central. The storage in `dataDir` is formatted only once, so a persistent
 * data folder keeps its topics and offsets across starts.
 */
export async function startKafkaBroker(options: StartKafkaOptions): Promise<KafkaBroker> {
  const libDir = await ensureKafkaJars(options.cacheDir);
  const port = options.port ?? (await freePort());
  const controllerPort = options.controllerPort ?? (await freePort());
  const log = options.log ?? (() => {});
  const logDir = join(options.dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const propertiesPath = join(options.dataDir, 'server.properties');
  const log4jPath = join(options.dataDir, 'log4j.properties');
  const serverLogPath = join(options.dataDir, 'server.log');
  await writeFile(propertiesPath, serverProperties({ port, controllerPort, logDir }));
  await writeFile(log4jPath, log4jProperties(serverLogPath));

  const jvmArgs = jvmArguments({ libDir, log4jPath, heapMb: options.heapMb ?? HEAP_MB_DEFAULT });
  // meta.properties is what the broker itself checks; formatting again would fail on a used folder.
  if (!existsSync(join(logDir, 'meta.properties'))) await formatStorage(jvmArgs, propertiesPath);

  const { child, exited, outputTail } = spawnBroker([...jvmArgs, 'kafka.Kafka', propertiesPath], log);
  // When Node exits, for whatever reason, the broker goes too; 'exit' handlers may only run sync code.
  const killOnParentExit = () => child.kill('SIGKILL');
  process.on('exit', killOnParentExit);

  const brokers = [`127.0.0.1:${port}`];
  try {
    await waitUntilReady(brokers, exited, serverLogPath, outputTail);
  } catch (error) {
    // A broker that never became ready holds nothing worth a clean shutdown.
    child.kill('SIGKILL');
    await exited;
    process.off('exit', killOnParentExit);
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    brokers,
    exited,
    pid: () => (child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    stop() {
      stopping ??= stopProcess(child, exited, STOP_TIMEOUT_MS, 'Kafka broker').finally(() => process.off('exit', killOnParentExit));
      return stopping;
    },
  };
}

/** The JVM, its exit, and its last lines of stdout/stderr (the broker's own log goes to a file). */
function spawnBroker(javaArgs: string[], log: (line: string) => void) {
  const child = spawn('java', javaArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const outputTail: string[] = [];
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      outputTail.push(line);
      if (outputTail.length > LOG_TAIL_LINES) outputTail.shift();
      log(line);
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  // The broker never keeps Node alive by itself, so a test run whose setup failed half-way still ends.
  child.unref();
  // Piped stdio of a child is a net.Socket, though typed as a plain stream.
  for (const stream of [child.stdout, child.stderr]) (stream as Socket | null)?.unref();
  return { child, exited, outputTail };
}

/** How long topic creation may take before it counts as failed. */
const TOPICS_READY_TIMEOUT_MS = 30_000;

/**
 * Creates the topics that do not exist yet (existing ones are left as they are) and resolves when every
 * partition of every topic has a leader, so a producer right after this call finds one. kafkajs's own
 * `waitForLeaders` gives up when the broker briefly answers "does not host this topic-partition" (kafkajs
 * issue #815), so readiness is polled from the metadata instead.
 */
export async function ensureTopics(brokers: string[], topics: readonly string[], partitions: number): Promise<void> {
  const admin = new Kafka({ clientId: 'ecocoin-ensure-topics', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({ waitForLeaders: false, topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    }
    const deadline = Date.now() + TOPICS_READY_TIMEOUT_MS;
    for (;;) {
      const ready = await admin
        .fetchTopicMetadata({ topics: [...topics] })
        .then(({ topics: found }) => found.length === topics.length && found.every((topic) => topic.partitions.length > 0 && topic.partitions.every((partition) => partition.leader >= 0)))
        .catch(() => false);
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`Kafka topics had no leaders within ${TOPICS_READY_TIMEOUT_MS} ms: ${topics.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

/** `$ECOCOIN_CACHE_DIR`, else `$XDG_CACHE_HOME/ecocoin`, else `~/.cache/ecocoin`: outside the clone, so every checkout shares it. */
export function defaultCacheDir(): string {
  if (process.env.ECOCOIN_CACHE_DIR) return process.env.ECOCOIN_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ecocoin');
}

/** The folder holding every jar the broker needs, fetched with Maven on first use. */
export async function ensureKafkaJars(cacheDir = defaultCacheDir()): Promise<string> {
  await requireCommands(['java']);
  const versionDir = join(cacheDir, `kafka-${KAFKA_VERSION}`);
  const libDir = join(versionDir, 'lib');
  if (existsSync(join(versionDir, JARS_COMPLETE_MARKER))) return libDir;

  await requireCommands(['mvn']);
  // Fetched into a folder of its own and renamed, so an interrupted fetch never looks like a complete one.
  const fetchDir = join(versionDir, `lib.fetch-${process.pid}`);
  await rm(fetchDir, { recursive: true, force: true });
  await mkdir(versionDir, { recursive: true });
  try {
    await execFileAsync(
      'mvn',
      ['-q', '-B', '-f', POM_PATH, `-Dkafka.version=${KAFKA_VERSION}`, 'dependency:copy-dependencies', `-DoutputDirectory=${fetchDir}`, '-DincludeScope=runtime'],
      { timeout: JAR_FETCH_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    await rm(fetchDir, { recursive: true, force: true });
    throw new Error(`Fetching the Kafka ${KAFKA_VERSION} jars with Maven failed (${POM_PATH}): ${commandOutput(error)}`);
  }
  await rm(libDir, { recursive: true, force: true });
  await rename(fetchDir, libDir);
  await writeFile(join(versionDir, JARS_COMPLETE_MARKER), `${new Date().toISOString()}\n`);
  return libDir;
}

function serverProperties(settings: { port: number; controllerPort: number; logDir: string }): string {
  const lines = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${settings.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${settings.port},CONTROLLER://127.0.0.1:${settings.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${settings.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${settings.logDir}`,
    'num.partitions=3',
    // One node: every internal topic has one replica, or it could never be created.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // The default 50 partitions make the first consumer group wait while all of them are created.
    'offsets.topic.num.partitions=5',
    'transaction.state.log.num.partitions=5',
    // Consumers join at once instead of after the default 3 s wait for more members.
    'group.initial.rebalance.delay.ms=0',
    // Topics are created explicitly, so a misspelt topic fails loudly instead of appearing empty.
    'auto.create.topics.enable=false',
  ];
  return `${lines.join('\n')}\n`;
}

function log4jProperties(serverLogPath: string): string {
  const lines = [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.RollingFileAppender',
    `log4j.appender.file.File=${serverLogPath}`,
    `log4j.appender.file.MaxFileSize=${LOG_FILE_SIZE_MAX}`,
    'log4j.appender.file.MaxBackupIndex=2',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    // One line per request or state change would drown the lines that explain a failure.
    'log4j.logger.kafka.request.logger=WARN',
    'log4j.logger.state.change.logger=WARN',
  ];
  return `${lines.join('\n')}\n`;
}

function jvmArguments(settings: { libDir: string; log4jPath: string; heapMb: number }): string[] {
  return [
    `-Xmx${settings.heapMb}m`,
    // A test broker lives for minutes: a simple collector and the quick JIT tier start it sooner.
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${settings.log4jPath}`,
    '-cp',
    join(settings.libDir, '*'),
  ];
}

async function formatStorage(jvmArgs: string[], propertiesPath: string): Promise<void> {
  const run = (args: string[]) =>
    execFileAsync('java', [...jvmArgs, 'kafka.tools.StorageTool', ...args], { timeout: FORMAT_TIMEOUT_MS }).catch((error: unknown) => {
      throw new Error(`Kafka StorageTool ${args[0]} failed: ${commandOutput(error)}`);
    });
  const clusterId = (await run(['random-uuid'])).stdout.trim();
  await run(['format', '-t', clusterId, '-c', propertiesPath]);
}

async function waitUntilReady(brokers: string[], exited: Promise<number | null>, serverLogPath: string, outputTail: string[]): Promise<void> {
  // No retries inside kafkajs and short time-outs: this loop is the retry, bounded by READY_TIMEOUT_MS in
  // total. With kafkajs's 30 s request time-out, a port held by something that never answers stalled it.
  const admin = new Kafka({
    clientId: 'ecocoin-broker-ready',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: READY_PROBE_TIMEOUT_MS,
    requestTimeout: READY_PROBE_TIMEOUT_MS,
    retry: { retries: 0 },
  }).admin();
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const fail = async (reason: string) => new Error(`Kafka broker ${reason}:\n${await startupReport(serverLogPath, outputTail)}`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (exitCode !== undefined) throw await fail(`exited with code ${exitCode} while starting`);
      try {
        await admin.connect();
        await admin.listTopics();
        return;
      } catch {
        await admin.disconnect().catch(() => {});
      }
      if (Date.now() > deadline) throw await fail(`not ready after ${READY_TIMEOUT_MS} ms`);
      // Wakes early when the JVM exits, so a broken start fails at once rather than at the deadline.
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, READY_POLL_INTERVAL_MS))]);
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** What explains a failed start: the errors and their causes from the broker's log, then the JVM's own output. */
async function startupReport(serverLogPath: string, outputTail: string[]): Promise<string> {
  const logLines = (await readFile(serverLogPath, 'utf8').catch(() => '')).split('\n');
  const errorLines = logLines.filter((line) => ERROR_LINE_PATTERN.test(line)).slice(0, LOG_TAIL_LINES);
  return [...errorLines, ...outputTail, `(full log: ${serverLogPath})`].join('\n');
}

async function requireCommands(names: string[]): Promise<void> {
  const directories = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of names) {
    const found = await Promise.any(directories.map((directory) => access(join(directory, name), constants.X_OK))).then(
      () => true,
      () => false,
    );
    if (!found) throw new Error(`${MISSING_TOOLS_MESSAGE} (\`${name}\` is not on PATH)`);
  }
}

function commandOutput(error: unknown): string {
  const { stderr, stdout, message } = error as { stderr?: string; stdout?: string; message?: string };
  return [stderr, stdout].filter(Boolean).join('\n').trim().split('\n').slice(-LOG_TAIL_LINES).join('\n') || String(message ?? error);
}
