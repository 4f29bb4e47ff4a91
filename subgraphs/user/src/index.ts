import { exitOnConfigError, parseConfig } from '../../../lib/config.js';
import { stopOnSignals } from '../../../lib/server/signals.js';
import { configSchema, start } from './server.js';

try {
  const server = await start(parseConfig(configSchema, process.env));
  stopOnSignals(server);
} catch (error) {
  exitOnConfigError(error);
}
