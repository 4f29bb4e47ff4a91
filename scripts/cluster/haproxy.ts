import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const HAPROXY_PATH = '/usr/sbin/haproxy';
const APT_GET_PATH = '/usr/bin/apt-get';
const INSTALL_TIMEOUT_MS = 5 * 60_000;
const CHECK_TIMEOUT_MS = 10_000;

export interface Frontend {
  /** Names the frontend and its backend, e.g. `gateway`, `user`. */
  name: string;
  port: number;
  /** Answers 200 when an instance should get traffic: its own /health, which depends on nothing else. */
  healthPath: string;
  /** Each instance's port on 127.0.0.1. */
  serverPorts: number[];
}

/**
 * HAProxy's configuration: one frontend per service on 127.0.0.1, balancing across that service's instances
 * the way a Kubernetes Service spreads over its pods, and passing over an instance whose health check fails.
 */
export function haproxyConfig(frontends: readonly Frontend[], statsPort: number): string {
  const lines = [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-request 10s',
    // A WebSocket (a subscription) is a tunnel once upgraded: it lives as long as the client keeps it open.
    '  timeout tunnel 1h',
    '  timeout client-fin 5s',
    // The gateway trusts one hop (TRUSTED_PROXY_HOPS=1), this one, for the client's address.
    '  option forwardfor',
    '  option http-server-close',
    // A connection refused by an instance that just died is tried again on another; a request already sent is not.
    '  retries 3',
    '  option redispatch 1',
    // An instance is out after two failed checks a second apart, and back after one good one. A dead instance
    // refuses the check's connection at once; a busy one may take seconds to answer on two shared cores, and a
    // one-second answer bound (the default, `inter`) took live instances out under load, so it gets five.
    '  default-server inter 1s fastinter 500ms downinter 500ms fall 2 rise 1',
    '  timeout check 5s',
  ];
  // Which instances HAProxy sees up, for people (a page) and for the cluster's own health wait (`;csv`).
  lines.push('', 'listen stats', `  bind 127.0.0.1:${statsPort}`, '  stats enable', '  stats uri /stats', '  stats refresh 5s');
  for (const frontend of frontends) {
    lines.push(
      '',
      `frontend ${frontend.name}`,
      `  bind 127.0.0.1:${frontend.port}`,
      `  default_backend ${frontend.name}`,
      `backend ${frontend.name}`,
      '  balance roundrobin',
      `  option httpchk GET ${frontend.healthPath}`,
      '  http-check expect status 200',
      ...frontend.serverPorts.map((port, index) => `  server ${frontend.name}-${index} 127.0.0.1:${port} check`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The haproxy binary from Debian's package: installed with apt-get when missing and this process may (root),
 * else an error saying how to install it.
 */
export async function ensureHaproxy(log: (line: string) => void): Promise<string> {
  if (existsSync(HAPROXY_PATH)) return HAPROXY_PATH;
  const root = process.getuid?.() === 0;
  if (!root || !existsSync(APT_GET_PATH)) {
    throw new Error(`Replicas run behind HAProxy, which is not installed (${HAPROXY_PATH}). Install it with: sudo apt-get install haproxy, or set CLUSTER_REPLICAS=1.`);
  }
  log('HAProxy is not installed; installing the Debian package haproxy with apt-get');
  try {
    await execFileAsync(APT_GET_PATH, ['install', '-y', '--no-install-recommends', 'haproxy'], {
      timeout: INSTALL_TIMEOUT_MS,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`Installing haproxy with apt-get failed (try apt-get update first): ${stderr?.trim() || String(error)}`);
  }
  if (!existsSync(HAPROXY_PATH)) throw new Error(`apt-get installed haproxy, but ${HAPROXY_PATH} is missing`);
  return HAPROXY_PATH;
}

/** Writes the configuration and has HAProxy check it, so a mistake fails here with HAProxy's own words. */
export async function writeHaproxyConfig(binary: string, path: string, frontends: readonly Frontend[], statsPort: number): Promise<void> {
  await writeFile(path, haproxyConfig(frontends, statsPort));
  try {
    await execFileAsync(binary, ['-c', '-q', '-f', path], { timeout: CHECK_TIMEOUT_MS });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`HAProxy refused its configuration ${path}: ${[stderr, stdout].filter(Boolean).join('\n').trim() || String(error)}`);
  }
}
