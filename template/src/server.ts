// Entry point: validate the configuration, connect the dependencies, serve,
// and drain gracefully on SIGTERM.
import { createService } from './app.js';
import { ConfigError, exitWithConfigError, loadConfig, secretNames } from './config.js';
import { connectDependencies } from './dependencies.js';
import { Health } from './health.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';

const config = loadConfig();
const configRecord: Record<string, unknown> = config;
const secrets = secretValues();
const logger = createLogger(config.LOG_LEVEL, { secrets });
const health = new Health({
  timeoutMs: config.HEALTH_CHECK_TIMEOUT_MS,
  version: config.APP_VERSION,
  token: config.HEALTH_TOKEN,
  secrets,
  logger,
});
const metrics = new Metrics();
const dependencies = connect();
const service = createService({ health, metrics, logger, logProbes: config.LOG_PROBES });

const url = await service.listen(config.PORT, '0.0.0.0');
logger.info({ url, env: config.APP_ENV, version: config.APP_VERSION }, 'listening');

// Any error that escapes a handler is logged with its stack before the process dies.
process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'uncaught exception');
  process.exit(1);
});

let stopping = false;

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  // 1. Readiness fails at once, so load balancers stop sending new requests.
  health.beginShutdown();
  // 2. Keep serving while they notice (Ctrl-C in a terminal skips the wait).
  const delaySeconds = signal === 'SIGTERM' ? config.SHUTDOWN_DELAY_SECONDS : 0;
  logger.info({ signal, delay_seconds: delaySeconds }, 'shutdown started');
  await sleep(delaySeconds * 1000);
  // 3. Stop accepting; in-flight requests get SHUTDOWN_TIMEOUT_SECONDS to finish.
  const deadline = setTimeout(() => {
    logger.warn('requests still running at the shutdown timeout; closing their connections');
    service.forceClose();
  }, config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
  try {
    await service.close();
  } finally {
    clearTimeout(deadline);
  }
  await dependencies.close();
  logger.info('shutdown complete');
  process.exit(0);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    shutdown(signal).catch((error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
  });
}

function connect(): ReturnType<typeof connectDependencies> {
  try {
    return connectDependencies(config, health, logger);
  } catch (error) {
    if (error instanceof ConfigError) exitWithConfigError(error);
    throw error;
  }
}

/** Secret values and their URL passwords, which check messages must never show. */
function secretValues(): string[] {
  const values: string[] = [];
  for (const name of secretNames) {
    const value = configRecord[name];
    if (typeof value !== 'string' || value === '') continue;
    values.push(value);
    try {
      const { password } = new URL(value);
      if (password) values.push(password, decodeURIComponent(password));
    } catch {
      // Not a URL: the value itself is enough.
    }
  }
  return values;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
