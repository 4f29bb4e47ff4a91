import { exitOnConfigError, parseConfig } from '../../lib/config.js';
import { stopOnSignals } from '../../lib/server/signals.js';
import { gatewayConfigSchema } from './config.js';
import { start } from './server.js';

try {
  stopOnSignals(await start(parseConfig(gatewayConfigSchema, process.env)));
} catch (error) {
  exitOnConfigError(error);
}
