import { type DestinationStream, pino, type Logger } from 'pino';
import { currentRequestId } from './request-id.js';

export type { Logger };

/**
 * JSON logs to stdout (or `destination`, e.g. a test's capture), one line each; the service name on every line,
 * and the request id on every line written while serving a request or applying an event it caused.
 * Secrets are redacted wherever they appear.
 */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      name: service,
      level,
      mixin: () => {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
      redact: { paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
