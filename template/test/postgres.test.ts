// DATABASE_URL's sslmode means what it means to libpq (src/postgres.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ConnectionOptions } from 'node:tls';

import { PostgresUrlError, type Transport, postgresTarget, triesNext } from '../src/postgres.js';

const CERT = '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n';
const base = 'postgres://app:pw@db.internal:5432/app';

/** A home directory, with libpq's ~/.postgresql/root.crt when asked. */
function home(withRootCert = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-home-'));
  if (withRootCert) {
    mkdirSync(join(dir, '.postgresql'));
    writeFileSync(join(dir, '.postgresql', 'root.crt'), CERT);
  }
  return dir;
}

function certFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pg-ca-')), 'ca.crt');
  writeFileSync(file, CERT);
  return file;
}

/** Each transport as 'plain', 'tls-none' (no verification), 'tls-ca' or 'tls-full'. */
function kinds(transports: Transport[]): string[] {
  return transports.map((transport) => {
    if (transport === false) return 'plain';
    const tls: ConnectionOptions = transport;
    if (tls.rejectUnauthorized === false) return 'tls-none';
    return tls.checkServerIdentity ? 'tls-ca' : 'tls-full';
  });
}

describe('sslmode', () => {
  const cases: [string, string[]][] = [
    ['', ['tls-none', 'plain']],
    ['?sslmode=disable', ['plain']],
    ['?sslmode=allow', ['plain', 'tls-none']],
    ['?sslmode=prefer', ['tls-none', 'plain']],
    ['?sslmode=require', ['tls-none']],
  ];
  for (const [query, expected] of cases) {
    it(`${query || 'absent'} tries ${expected.join(' then ')}`, () => {
      assert.deepEqual(kinds(postgresTarget(base + query, home()).transports), expected);
    });
  }

  it('require with a root certificate acts as verify-ca', () => {
    assert.deepEqual(kinds(postgresTarget(`${base}?sslmode=require&sslrootcert=${certFile()}`, home()).transports), ['tls-ca']);
    assert.deepEqual(kinds(postgresTarget(`${base}?sslmode=require`, home(true)).transports), ['tls-ca']);
  });

  it('verify-ca checks the authority, verify-full also the host name', () => {
    const ca = postgresTarget(`${base}?sslmode=verify-ca&sslrootcert=${certFile()}`, home());
    assert.deepEqual(kinds(ca.transports), ['tls-ca']);
    assert.equal((ca.transports[0] as ConnectionOptions).ca, CERT);
    assert.deepEqual(kinds(postgresTarget(`${base}?sslmode=verify-full`, home(true)).transports), ['tls-full']);
  });

  it('sslrootcert=system trusts the system authorities and implies verify-full', () => {
    const target = postgresTarget(`${base}?sslrootcert=system`, home());
    assert.equal(target.mode, 'verify-full');
    assert.deepEqual(kinds(target.transports), ['tls-full']);
    assert.throws(() => postgresTarget(`${base}?sslmode=require&sslrootcert=system`, home()), PostgresUrlError);
  });

  it('refuses verification without a root certificate, and unknown modes', () => {
    assert.throws(() => postgresTarget(`${base}?sslmode=verify-full`, home()), /needs a root certificate/);
    assert.throws(() => postgresTarget(`${base}?sslmode=no-verify`, home()), /sslmode must be one of: disable, allow/);
  });

  it('hands node-postgres a URL without the TLS parameters it would read its own way', () => {
    const target = postgresTarget(`${base}?sslmode=require&application_name=api`, home());
    assert.equal(target.connectionString, `${base}?application_name=api`);
  });
});

describe('the next transport', () => {
  it('is tried when the server turns one down, not when the host is unreachable', () => {
    assert.equal(triesNext(new Error('The server does not support SSL connections')), true);
    assert.equal(triesNext(Object.assign(new Error('no pg_hba.conf entry'), { code: '28000' })), true);
    assert.equal(triesNext(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), false);
    assert.equal(triesNext(new Error('Connection terminated due to connection timeout')), false);
  });
});
