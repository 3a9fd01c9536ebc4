// The health contract through real HTTP, with fake dependency checks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { type AppDeps, type HttpService, createService } from '../src/app.js';
import { CheckFailed, Health, type HealthOptions, paths } from '../src/health.js';
import { createLogger } from '../src/logger.js';
import { Metrics } from '../src/metrics.js';

interface Running {
  url: string;
  health: Health;
  lines: string[];
  service: HttpService;
}

async function start(
  options: Partial<HealthOptions> = {},
  setup?: (health: Health) => void,
  app: Partial<Pick<AppDeps, 'logProbes' | 'routes'>> = {},
): Promise<Running> {
  const lines: string[] = [];
  const logger = createLogger('info', {
    secrets: options.secrets ?? [],
    destination: { write: (line: string) => lines.push(line) },
  });
  const health = new Health({ timeoutMs: 500, version: '1.2.3', logger, ...options });
  setup?.(health);
  const service = createService({ health, logger, metrics: new Metrics({ defaultMetrics: false }), ...app });
  const url = await service.listen(0, '127.0.0.1');
  return { url, health, lines, service };
}

async function getJson(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const records = (lines: string[]) => lines.map((raw) => JSON.parse(raw) as Record<string, unknown>);

const token = 'a-long-enough-health-token';
const bearer = { authorization: `Bearer ${token}` };

describe('with passing checks', () => {
  let app: Running;
  before(async () => {
    app = await start({ token }, (health) => {
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

  it('reports details to the token holder', async () => {
    const { status, body } = await getJson(app.url + paths.detailed, bearer);
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

  it('counts probes in the metrics without logging them', async () => {
    const before = app.lines.length;
    for (const path of [paths.liveness, paths.readiness]) await (await fetch(app.url + path)).arrayBuffer();
    await sleep(20);
    assert.deepEqual(app.lines.slice(before), []);
    const text = await (await fetch(app.url + paths.metrics)).text();
    assert.match(text, /http_requests_total\{method="GET",route="\/health\/ready",status="200"\} [1-9]/);
  });

  it('logs other requests as one JSON line, without the query string', async () => {
    const response = await fetch(`${app.url}/no/such/path?token=do-not-log`, { headers: { authorization: 'Bearer do-not-log' } });
    assert.equal(response.status, 404);
    await response.arrayBuffer();
    await sleep(20);
    const line = records(app.lines).at(-1) ?? {};
    assert.deepEqual(
      Object.keys(line).filter((key) => key !== 'reqId').sort(),
      ['duration_ms', 'level', 'method', 'msg', 'route', 'status', 'time'],
    );
    assert.equal(line.msg, 'request');
    assert.equal(line.level, 'info');
    assert.equal(line.route, 'unmatched');
    assert.equal(line.status, 404);
    assert.equal(typeof line.duration_ms, 'number');
    assert.ok(!Number.isNaN(Date.parse(String(line.time))));
    assert.ok(!app.lines.some((raw) => raw.includes('do-not-log')));
  });
});

describe('with LOG_PROBES on', () => {
  it('logs probes too', async () => {
    const app = await start({}, undefined, { logProbes: true });
    try {
      await (await fetch(`${app.url}${paths.liveness}?token=do-not-log`)).arrayBuffer();
      await sleep(20);
      const line = records(app.lines).at(-1) ?? {};
      assert.equal(line.route, paths.liveness);
      assert.equal(line.status, 200);
      assert.ok(!app.lines.some((raw) => raw.includes('do-not-log')));
    } finally {
      await app.service.close();
    }
  });
});

describe('a route that throws', () => {
  it('answers 500 without details and logs the error with its type, message and stack', async () => {
    const app = await start({ secrets: ['s3cret-password'] }, undefined, {
      routes: (router) => {
        router.get('/boom', () => {
          throw new TypeError('widget 42 has no price (s3cret-password)');
        });
      },
    });
    try {
      const response = await fetch(`${app.url}/boom`);
      assert.equal(response.status, 500);
      assert.deepEqual(await response.json(), { error: 'internal server error' });
      await sleep(20);
      const logged = records(app.lines).find((record) => record.err !== undefined && record.msg === 'unhandled error');
      assert.ok(logged, app.lines.join(''));
      assert.equal(logged.level, 'error');
      const err = logged.err as { type?: string; message?: string; stack?: string };
      assert.equal(err.type, 'TypeError');
      assert.equal(err.message, 'widget 42 has no price ([redacted])');
      assert.match(err.stack ?? '', /^TypeError: widget 42 has no price \(\[redacted\]\)\n\s+at /);
      assert.ok(!app.lines.some((raw) => raw.includes('s3cret-password')));
      const access = records(app.lines).filter((record) => record.msg === 'request').at(-1);
      assert.equal(access?.status, 500);
      assert.equal(access?.level, 'error');
      assert.equal(access?.route, '/boom');
    } finally {
      await app.service.close();
    }
  });
});

describe('with a failing and a hung check', () => {
  const timeoutMs = 300;
  let app: Running;
  before(async () => {
    app = await start({ timeoutMs, token, secrets: ['s3cret-password'] }, (health) => {
      health.registerCheck('postgres', () => {
        throw Object.assign(new Error('connect to db.internal:5432 as app with s3cret-password refused'), { code: 'ECONNREFUSED' });
      });
      health.registerCheck('cache', () => {
        throw new CheckFailed('not connected (s3cret-password)');
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
    assert.deepEqual(body, { status: 'unavailable', checks: { postgres: 'error', cache: 'error', redis: 'error', fine: 'ok' } });
    assert.ok(elapsed < timeoutMs + 250, `took ${String(elapsed)} ms`);
  });

  it('explains failures to the token holder with texts the service chose', async () => {
    const response = await fetch(app.url + paths.detailed, { headers: bearer });
    const text = await response.text();
    assert.equal(response.status, 503);
    assert.ok(!text.includes('s3cret-password'), text);
    assert.ok(!text.includes('db.internal'), text);
    const body = JSON.parse(text) as { status: string; checks: Record<string, { status: string; message?: string }> };
    assert.equal(body.status, 'degraded');
    assert.equal(body.checks.postgres?.status, 'error');
    // Not the driver's text: it named the host and the user.
    assert.equal(body.checks.postgres?.message, 'Error (ECONNREFUSED)');
    assert.equal(body.checks.cache?.message, 'not connected ([redacted])');
    assert.match(body.checks.redis?.message ?? '', /timed out after 300 ms/);
    assert.equal(body.checks.fine?.message, undefined);
  });

  it('shows anonymous callers each status only', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token' }, { authorization: token }];
    for (const headers of attempts) {
      const { status, body } = await getJson(app.url + paths.detailed, headers);
      assert.equal(status, 503);
      assert.deepEqual(body, {
        status: 'degraded',
        checks: { postgres: { status: 'error' }, cache: { status: 'error' }, redis: { status: 'error' }, fine: { status: 'ok' } },
      });
    }
  });

  it('logs each failure with its full error for operators, secrets removed', async () => {
    await app.health.readiness();
    const failed = records(app.lines).filter((record) => record.msg === 'health check failed');
    const postgres = failed.find((record) => record.check === 'postgres');
    assert.match(JSON.stringify(postgres?.err), /db\.internal:5432/);
    assert.ok(!app.lines.some((raw) => raw.includes('s3cret-password')));
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

describe('without HEALTH_TOKEN', () => {
  it('shows nobody the details, whatever the request carries', async () => {
    const app = await start({}, (health) => {
      health.registerCheck('postgres', () => undefined);
    });
    try {
      for (const headers of [{}, bearer]) {
        const { status, body } = await getJson(app.url + paths.detailed, headers);
        assert.equal(status, 200);
        assert.deepEqual(body, { status: 'ok', checks: { postgres: { status: 'ok' } } });
      }
    } finally {
      await app.service.close();
    }
  });
});

describe('concurrent requests', () => {
  it('share a running check instead of starting another', async () => {
    let runs = 0;
    const health = new Health({ timeoutMs: 1000, version: 'x' });
    health.registerCheck('db', async () => {
      runs += 1;
      await sleep(50);
    });
    await Promise.all([health.readiness(), health.readiness(), health.detailed(undefined)]);
    assert.equal(runs, 1);
    await health.readiness();
    assert.equal(runs, 2);
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
