import { exitOnConfigError } from '../../../lib/config.js';
import { stopOnSignals } from '../../../lib/server/signals.js';
import { startFromEnv } from './server.js';

try {
  stopOnSignals(await startFromEnv(process.env));
} catch (error) {
  exitOnConfigError(error);
}
