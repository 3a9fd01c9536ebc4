// The health contract through real HTTP, with fake dependency checks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { type HttpService, createService } from '../src/app.js';
import { Health, type HealthOptions, paths } from '../src/health.js';
import { createLogger } from '../src/logger.js';
import { Metrics } from '../src/metrics.js';

interface Running {
  url: string;
  health: Health;
  lines: string[];
  service: HttpService;
}

async function start(options: Partial<HealthOptions> = {}, setup?: (health: Health) => void): Promise<Running> {
  const health = new Health({ timeoutMs: 500, version: '1.2.3', ...options });
  setup?.(health);
  const lines: string[] = [];
  const logger = createLogger('info', (line) => lines.push(line));
  const service = createService({ health, logger, metrics: new Metrics({ defaultMetrics: false }) });
  const url = await service.listen(0, '127.0.0.1');
  return { url, health, lines, service };
}

async function getJson(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('with passing checks', () => {
  let app: Running;
  before(async () => {
    app = await start({}, (health) => {
      health.registerCheck('postgres', () => undefined);
      health.registerCheck('redis', async () => sleep(5));
    });
  });
  after(() => app.service.close());

  it('answers liveness with ok', async () => {
    const { status, body } = await getJson(app.url + paths.liveness);
    assert.equal(status, 200);
    assert.deepEqual(body, { status: 'ok' });
  });

  it('is ready and names each check', async () => {
    const { status, body } = await getJson(app.url + paths.readiness);
    assert.equal(status, 200);
    assert.deepEqual(body, { status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('reports details', async () => {
    const { status, body } = await getJson(app.url + paths.detailed);
    assert.equal(status, 200);
    assert.equal(body.status, 'ok');
    assert.equal(body.version, '1.2.3');
    assert.equal(typeof body.uptime, 'number');
    assert.ok(!Number.isNaN(Date.parse(String(body.timestamp))));
    const checks = body.checks as Record<string, { status: string; latency_ms: number; message?: string }>;
    assert.deepEqual(Object.keys(checks).sort(), ['postgres', 'redis']);
    assert.equal(checks.redis?.status, 'ok');
    assert.equal(typeof checks.redis?.latency_ms, 'number');
    assert.equal(checks.redis?.message, undefined);
  });

  it('serves Prometheus metrics labelled by route', async () => {
    await fetch(`${app.url}${paths.liveness}?probe=1`);
    const response = await fetch(app.url + paths.metrics);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /http_requests_total\{method="GET",route="\/health",status="200"\} \d+/);
    assert.match(text, /http_request_duration_seconds_bucket\{/);
    assert.match(text, /# TYPE http_request_errors_total counter/);
  });

  it('logs one JSON line per request, without the query string', async () => {
    await fetch(`${app.url}${paths.liveness}?token=do-not-log`);
    await sleep(20);
    const line = app.lines.map((raw) => JSON.parse(raw) as Record<string, unknown>).at(-1);
    assert.ok(line);
    assert.deepEqual(Object.keys(line), ['time', 'level', 'msg', 'method', 'route', 'status', 'duration_ms']);
    assert.equal(line.route, '/health');
    assert.equal(line.status, 200);
    assert.equal(line.level, 'info');
    assert.ok(!app.lines.some((raw) => raw.includes('do-not-log')));
  });

  it('labels unknown paths as unmatched', async () => {
    const response = await fetch(`${app.url}/no/such/path`);
    assert.equal(response.status, 404);
    await response.arrayBuffer();
    await sleep(20);
    const line = JSON.parse(app.lines.at(-1) ?? '{}') as Record<string, unknown>;
    assert.equal(line.route, 'unmatched');
  });
});

describe('with a failing and a hung check', () => {
  const timeoutMs = 300;
  let app: Running;
  before(async () => {
    app = await start({ timeoutMs, secrets: ['s3cret-password'] }, (health) => {
      health.registerCheck('postgres', () => {
        throw new Error('connect to postgres://app:s3cret-password@db:5432/app refused');
      });
      health.registerCheck('redis', (signal) => new Promise((resolve) => signal.addEventListener('abort', resolve)));
      health.registerCheck('fine', () => undefined);
    });
  });
  after(() => app.service.close());

  it('keeps liveness at 200', async () => {
    const { status } = await getJson(app.url + paths.liveness);
    assert.equal(status, 200);
  });

  it('is unavailable, within one timeout', async () => {
    const started = performance.now();
    const { status, body } = await getJson(app.url + paths.readiness);
    const elapsed = performance.now() - started;
    assert.equal(status, 503);
    assert.deepEqual(body, { status: 'unavailable', checks: { postgres: 'error', redis: 'error', fine: 'ok' } });
    assert.ok(elapsed < timeoutMs + 250, `took ${String(elapsed)} ms`);
  });

  it('explains failures without leaking secrets', async () => {
    const response = await fetch(app.url + paths.detailed);
    const text = await response.text();
    assert.equal(response.status, 503);
    assert.ok(!text.includes('s3cret-password'), text);
    assert.ok(!text.includes('postgres://'), text);
    const body = JSON.parse(text) as { status: string; checks: Record<string, { status: string; message?: string }> };
    assert.equal(body.status, 'degraded');
    assert.equal(body.checks.postgres?.status, 'error');
    assert.match(body.checks.postgres?.message ?? '', /refused/);
    assert.match(body.checks.redis?.message ?? '', /timed out after 300 ms/);
    assert.equal(body.checks.fine?.message, undefined);
  });
});

describe('checks', () => {
  it('run concurrently', async () => {
    const health = new Health({ timeoutMs: 1000, version: 'x' });
    for (const name of ['a', 'b', 'c']) health.registerCheck(name, () => sleep(150));
    const started = performance.now();
    const results = await health.runChecks();
    assert.ok(performance.now() - started < 400);
    assert.deepEqual(Object.values(results).map((result) => result.status), ['ok', 'ok', 'ok']);
  });

  it('that are optional do not fail readiness', async () => {
    const health = new Health({ timeoutMs: 1000, version: 'x' });
    health.registerCheck('search', () => Promise.reject(new Error('down')), { required: false });
    const answer = await health.readiness();
    assert.equal(answer.statusCode, 200);
    assert.equal((await health.detailed(undefined)).statusCode, 503);
  });

  it('cannot be registered twice under one name', () => {
    const health = new Health({ timeoutMs: 1000, version: 'x' });
    health.registerCheck('db', () => undefined);
    assert.throws(() => {
      health.registerCheck('db', () => undefined);
    }, /already registered/);
  });
});

describe('with HEALTH_TOKEN set', () => {
  const token = 'a-long-enough-health-token';
  let app: Running;
  before(async () => {
    app = await start({ token });
  });
  after(() => app.service.close());

  it('refuses the detailed view without the bearer token', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token' }, { authorization: token }];
    for (const headers of attempts) {
      const { status, body, headers: answer } = await getJson(app.url + paths.detailed, headers);
      assert.equal(status, 401);
      assert.deepEqual(body, { status: 'unauthorized' });
      assert.equal(answer.get('www-authenticate'), 'Bearer');
    }
  });

  it('serves it with the token', async () => {
    const { status } = await getJson(app.url + paths.detailed, { authorization: `Bearer ${token}` });
    assert.equal(status, 200);
  });

  it('leaves liveness and readiness open', async () => {
    assert.equal((await getJson(app.url + paths.liveness)).status, 200);
    assert.equal((await getJson(app.url + paths.readiness)).status, 200);
  });
});

describe('during shutdown', () => {
  it('turns readiness to 503 while liveness stays 200', async () => {
    const app = await start({}, (health) => {
      health.registerCheck('postgres', () => undefined);
    });
    try {
      app.health.beginShutdown();
      const ready = await getJson(app.url + paths.readiness);
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { status: 'shutting_down' });
      assert.equal(ready.headers.get('connection'), 'close');
      assert.equal((await getJson(app.url + paths.liveness)).status, 200);
    } finally {
      await app.service.close();
    }
  });

  it('lets an in-flight request finish before closing', async () => {
    let release: () => void = () => undefined;
    const app = await start({ timeoutMs: 5000 }, (health) => {
      health.registerCheck('slow', () => new Promise<void>((resolve) => (release = resolve)));
    });
    const pending = fetch(app.url + paths.readiness);
    await sleep(50);
    app.health.beginShutdown();
    const closed = app.service.close();
    release();
    const response = await pending;
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    const started = performance.now();
    await closed;
    // The finished request's keep-alive connection does not hold the server open.
    assert.ok(performance.now() - started < 1000);
  });
});
