// Express adapter: maps the framework-agnostic health module, metrics and
// request logging onto an Express 5 app and its HTTP server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import express, { type IRouter, type NextFunction, type Request, type Response } from 'express';

import { type Health, type HealthResponse, paths } from './health.js';
import type { Logger } from './logger.js';
import { type Metrics, recordRequest } from './metrics.js';

export interface AppDeps {
  health: Health;
  metrics: Metrics;
  logger: Logger;
}

/** The HTTP server the entry point starts and drains; the same shape for every framework. */
export interface HttpService {
  /** Start listening; resolves with the base URL. */
  listen(port: number, host: string): Promise<string>;
  /** Stop accepting connections; resolves once in-flight requests have finished. */
  close(): Promise<void>;
  /** Drop every remaining connection (the drain timeout has passed). */
  forceClose(): void;
}

function send(res: Response, answer: HealthResponse): void {
  res.status(answer.statusCode).set(answer.headers ?? {}).json(answer.body);
}

/** Add the three health endpoints to an Express app or router. */
export function addHealthRoutes(router: IRouter, health: Health): void {
  router.get(paths.liveness, (_req, res) => {
    send(res, health.liveness());
  });
  router.get(paths.readiness, async (_req, res) => {
    send(res, await health.readiness());
  });
  router.get(paths.detailed, async (req, res) => {
    send(res, await health.detailed(req.get('authorization')));
  });
}

/** One log line and the metrics for every request, labelled by route pattern. */
function observe({ health, logger, metrics }: AppDeps) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    // While draining, ask clients to reconnect (to another instance).
    if (health.isShuttingDown) res.set('connection', 'close');
    res.on('finish', () => {
      const pattern = (req.route as { path?: unknown } | undefined)?.path;
      recordRequest(logger, metrics, {
        method: req.method,
        route: typeof pattern === 'string' ? req.baseUrl + pattern : 'unmatched',
        status: res.statusCode,
        durationMs: performance.now() - started,
      });
    });
    next();
  };
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(observe(deps));
  // Registered on the app itself: a nested Router costs a dispatch per request.
  addHealthRoutes(app, deps.health);
  app.get(paths.metrics, async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.render());
  });
  // Add the service's own routes here.

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    deps.logger.error('unhandled error', { error: error instanceof Error ? error.name : 'unknown' });
    res.status(500).json({ error: 'internal server error' });
  });
  return app;
}

export function createService(deps: AppDeps): HttpService {
  const server = createServer(createApp(deps));
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const { address, port: bound } = server.address() as AddressInfo;
          resolve(`http://${address.includes(':') ? `[${address}]` : address}:${String(bound)}`);
        });
      }),
    close: () =>
      new Promise((resolve, reject) => {
        // close() drops the connections idle right now; keep-alive connections
        // that finish a request later are dropped by the next sweep.
        const sweep = setInterval(() => {
          server.closeIdleConnections();
        }, 100);
        server.close((error) => {
          clearInterval(sweep);
          if (error) reject(error);
          else resolve();
        });
      }),
    forceClose: () => {
      server.closeAllConnections();
    },
  };
}
