// Express adapter: maps the framework-agnostic health module, metrics and
// request logging onto an Express 5 app and its HTTP server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import express, { type IRouter, type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';

import { type Health, type HealthResponse, isProbe, paths } from './health.js';
import type { Logger } from './logger.js';
import { type Metrics, accessLogFields } from './metrics.js';

export interface AppDeps {
  health: Health;
  metrics: Metrics;
  logger: Logger;
  /** Access-log the platform's probes too (LOG_PROBES); they are always counted in the metrics. */
  logProbes?: boolean;
  /** Adds the service's own routes (tests add theirs here). */
  routes?: (app: express.Express) => void;
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

function routeOf(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  return typeof pattern === 'string' ? req.baseUrl + pattern : 'unmatched';
}

/**
 * The metrics for every request, labelled by route pattern, and one access log
 * line through pino-http in the shape every stack shares; req.log is a child
 * logger carrying the request id, for handlers. Probes skip pino-http unless
 * logProbes: they are most of the traffic. One middleware, since each costs a
 * dispatch on every request.
 */
function instrument({ health, metrics, logger, logProbes = false }: AppDeps) {
  const fields = (req: Request, res: Response, durationMs: number) =>
    accessLogFields({ method: req.method, route: routeOf(req), status: res.statusCode, durationMs });
  const accessLog = pinoHttp<Request, Response>({
    logger,
    // Only the request id is bound: headers (Authorization) and query strings are never logged.
    quietReqLogger: true,
    quietResLogger: true,
    wrapSerializers: false,
    serializers: { req: (req: Request) => ({ method: req.method }) },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request',
    customSuccessObject: (req, res, value: { responseTime: number }) => fields(req, res, value.responseTime),
    customErrorObject: (req, res, _error, value: { responseTime: number }) => fields(req, res, value.responseTime),
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    // While draining, ask clients to reconnect (to another instance).
    if (health.isShuttingDown) res.set('connection', 'close');
    res.on('finish', () => {
      metrics.observe({
        method: req.method,
        route: routeOf(req),
        status: res.statusCode,
        durationMs: performance.now() - started,
      });
    });
    if (!logProbes && isProbe(req.url)) next();
    else accessLog(req, res, next);
  };
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(instrument(deps));
  // Registered on the app itself: a nested Router costs a dispatch per request.
  addHealthRoutes(app, deps.health);
  app.get(paths.metrics, async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.render());
  });
  // Add the service's own routes here.
  deps.routes?.(app);

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    // pino's err serializer keeps the type, message and stack (and the cause's).
    // Probes carry no request logger unless LOG_PROBES is on.
    const log = (req.log as Logger | undefined) ?? deps.logger;
    log.error({ err: error, method: req.method, route: routeOf(req) }, 'unhandled error');
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
