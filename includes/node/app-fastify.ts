// Fastify adapter: maps the framework-agnostic health module, metrics and
// request logging onto a Fastify instance.
import type { AddressInfo } from 'node:net';

import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';

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

export function createApp({ health, logger, metrics }: AppDeps): FastifyInstance {
  // Fastify's own logger stays off: the request log below has the same
  // format in every language the template renders.
  const app = Fastify({ logger: false, return503OnClosing: false });

  app.addHook('onRequest', (_request, reply, done) => {
    // While draining, ask clients to reconnect (to another instance).
    if (health.isShuttingDown) void reply.header('connection', 'close');
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    recordRequest(logger, metrics, {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
    });
    done();
  });

  void app.register(healthRoutes(health));
  app.get(paths.metrics, async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.render()),
  );
  // Add the service's own routes here.

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));
  app.setErrorHandler<FastifyError>((error, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) logger.error('unhandled error', { error: error.name });
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
