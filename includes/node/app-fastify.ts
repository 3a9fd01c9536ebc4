// Fastify adapter: maps the framework-agnostic health module, metrics and
// request logging onto a Fastify instance.
import type { AddressInfo } from 'node:net';

import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';

import { type Health, type HealthResponse, isProbe, paths } from './health.js';
import type { Logger } from './logger.js';
import { type Metrics, type RequestRecord, accessLogFields } from './metrics.js';

export interface AppDeps {
  health: Health;
  metrics: Metrics;
  logger: Logger;
  /** Access-log the platform's probes too (LOG_PROBES); they are always counted in the metrics. */
  logProbes?: boolean;
  /** Adds the service's own routes (tests add theirs here). */
  routes?: (app: FastifyInstance) => void;
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

function send(reply: FastifyReply, answer: HealthResponse): FastifyReply {
  return reply.code(answer.statusCode).headers(answer.headers ?? {}).send(answer.body);
}

/** The three health endpoints as a Fastify plugin. */
export function healthRoutes(health: Health) {
  return (app: FastifyInstance): Promise<void> => {
    app.get(paths.liveness, (_request, reply) => send(reply, health.liveness()));
    app.get(paths.readiness, async (_request, reply) => send(reply, await health.readiness()));
    app.get(paths.detailed, async (request, reply) =>
      send(reply, await health.detailed(request.headers.authorization)),
    );
    return Promise.resolve();
  };
}

function record(request: FastifyRequest, reply: FastifyReply): RequestRecord {
  return {
    method: request.method,
    route: request.routeOptions.url ?? 'unmatched',
    status: reply.statusCode,
    durationMs: reply.elapsedTime,
  };
}

/**
 * Fastify's own request logging, narrowed to one line per finished request in
 * the shape every stack shares (no headers, no query string), and none for
 * probes unless logProbes: they are most of the traffic.
 */
class RequestLog extends LogController {
  constructor(private readonly logProbes: boolean) {
    super();
  }

  override isLogDisabled(request: FastifyRequest): boolean {
    return !this.logProbes && isProbe(request.url);
  }

  override incomingRequest(): void {
    // The line is written once the response is known.
  }

  override routeNotFound(): void {
    // The finished request's line says "unmatched".
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const fields = accessLogFields(record(request, reply));
    if (error) reply.log.error({ ...fields, err: error }, 'request');
    else if (reply.statusCode >= 500) reply.log.error(fields, 'request');
    else reply.log.info(fields, 'request');
  }
}

export function createApp({ health, logger, metrics, logProbes = false, routes }: AppDeps): FastifyInstance {
  // Fastify's built-in logger is pino: the service's own instance, narrowed by RequestLog.
  const app = Fastify({
    loggerInstance: logger,
    logController: new RequestLog(logProbes),
    return503OnClosing: false,
  }) as unknown as FastifyInstance;

  if (!logProbes) {
    // Unlogged probes need no per-request child logger: the parent serves them.
    app.addHook('onRoute', (route) => {
      if (isProbe(route.url)) route.childLoggerFactory = (parent) => parent;
    });
  }
  app.addHook('onRequest', (_request, reply, done) => {
    // While draining, ask clients to reconnect (to another instance).
    if (health.isShuttingDown) void reply.header('connection', 'close');
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(record(request, reply));
    done();
  });

  void app.register(healthRoutes(health));
  app.get(paths.metrics, async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.render()),
  );
  // Add the service's own routes here.
  routes?.(app);

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));
  app.setErrorHandler<FastifyError>((error, request, reply) => {
    const status = error.statusCode ?? 500;
    // pino's err serializer keeps the type, message and stack (and the cause's).
    if (status >= 500) {
      request.log.error({ err: error, method: request.method, route: request.routeOptions.url ?? 'unmatched' }, 'unhandled error');
    }
    return reply.code(status).send({ error: status >= 500 ? 'internal server error' : error.message });
  });
  return app;
}

export function createService(deps: AppDeps): HttpService {
  const app = createApp(deps);
  return {
    listen: async (port, host) => {
      await app.listen({ port, host });
      const { address, port: bound } = app.server.address() as AddressInfo;
      return `http://${address.includes(':') ? `[${address}]` : address}:${String(bound)}`;
    },
    close: async () => {
      // Fastify drops the connections idle at close time; keep-alive
      // connections that finish a request later are dropped by the next sweep.
      const sweep = setInterval(() => {
        app.server.closeIdleConnections();
      }, 100);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
    },
    forceClose: () => {
      app.server.closeAllConnections();
    },
  };
}
