// DATABASE_URL's TLS parameters with libpq's meaning, so the same URL means the
// same thing here as in psql and every other stack (docs: configuration).
// Hand-written because node-postgres reads them its own way: sslmode=require
// verifies the certificate, allow and prefer never fall back, no default prefer.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, getCACertificates } from 'node:tls';

import pg from 'pg';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** One way to open a connection: plain (false) or TLS with these options. */
export type Transport = false | ConnectionOptions;

export interface PostgresTarget {
  /** The URL without its TLS parameters, which node-postgres would read its own way. */
  connectionString: string;
  mode: SslMode;
  /** Transports in libpq's order: the next one is tried when the server turns one down. */
  transports: Transport[];
}

/** DATABASE_URL asks for something libpq would refuse too; the message names the fix. */
export class PostgresUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresUrlError';
  }
}

const TLS_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'uselibpqcompat'];

/** Read DATABASE_URL's TLS parameters as libpq does; `home` holds libpq's ~/.postgresql. */
export function postgresTarget(url: string, home: string = homedir()): PostgresTarget {
  const parsed = new URL(url);
  const params = parsed.searchParams;
  const rootCert = params.get('sslrootcert') ?? undefined;
  const given = params.get('sslmode') ?? undefined;
  // libpq 16+: sslrootcert=system alone means verify-full.
  const mode = given ?? (rootCert === 'system' ? 'verify-full' : 'prefer');
  if (!isSslMode(mode)) throw new PostgresUrlError(`sslmode must be one of: ${SSL_MODES.join(', ')}`);
  if (rootCert === 'system' && mode !== 'verify-full') {
    throw new PostgresUrlError('sslrootcert=system needs sslmode=verify-full (or no sslmode)');
  }
  const ca = rootCertificates(rootCert, home);
  if (mode.startsWith('verify') && ca === undefined) {
    throw new PostgresUrlError(
      `sslmode=${mode} needs a root certificate: sslrootcert=<file>, sslrootcert=system or ~/.postgresql/root.crt`,
    );
  }
  const identity = clientCertificate(params.get('sslcert'), params.get('sslkey'));
  const tls = (verify: 'none' | 'ca' | 'full'): ConnectionOptions => {
    if (verify === 'none') return { ...identity, rejectUnauthorized: false };
    // verify-ca trusts any name on a certificate the authority signed.
    const names = verify === 'ca' ? { checkServerIdentity: () => undefined } : {};
    return { ...identity, ca, rejectUnauthorized: true, ...names };
  };
  const transports: Record<SslMode, Transport[]> = {
    disable: [false],
    allow: [false, tls('none')],
    prefer: [tls('none'), false],
    // With a root certificate at hand, libpq's require acts as verify-ca.
    require: [tls(ca === undefined ? 'none' : 'ca')],
    'verify-ca': [tls('ca')],
    'verify-full': [tls('full')],
  };
  for (const name of TLS_PARAMS) params.delete(name);
  return { connectionString: parsed.toString(), mode, transports: transports[mode] };
}

function isSslMode(value: string): value is SslMode {
  return (SSL_MODES as readonly string[]).includes(value);
}

/** The trusted authorities: sslrootcert's file, the system's, or libpq's default file if present. */
function rootCertificates(rootCert: string | undefined, home: string): string | string[] | undefined {
  if (rootCert === 'system') return getCACertificates('system');
  if (rootCert !== undefined) return readFile(rootCert, 'sslrootcert');
  const fallback = join(home, '.postgresql', 'root.crt');
  return existsSync(fallback) ? readFile(fallback, 'sslrootcert') : undefined;
}

function clientCertificate(cert: string | null, key: string | null): ConnectionOptions {
  return {
    ...(cert ? { cert: readFile(cert, 'sslcert') } : {}),
    ...(key ? { key: readFile(key, 'sslkey') } : {}),
  };
}

function readFile(path: string, parameter: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new PostgresUrlError(`${parameter} names a file that cannot be read`);
  }
}

// Failures no other transport can fix: the host is not there, or too slow.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether libpq would try the next transport after this error (the server turned one down). */
export function triesNext(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return false;
  return !/timeout/i.test(error.message);
}

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/** A pg.Pool whose every new connection tries the target's transports in libpq's order. */
export class PostgresPool extends pg.Pool {
  private readonly transports: Transport[];

  constructor(target: PostgresTarget, config: Omit<pg.PoolConfig, 'connectionString' | 'ssl'> = {}) {
    const [first = false, ...rest] = target.transports;
    super({ ...config, connectionString: target.connectionString, ssl: first });
    this.transports = [first, ...rest];
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    const connected = this.connectInOrder();
    if (!callback) return connected;
    connected.then(
      (client) => {
        callback(undefined, client, (release) => {
          client.release(release as Error | boolean | undefined);
        });
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)), undefined, () => undefined);
      },
    );
    return undefined;
  }

  private async connectInOrder(): Promise<pg.PoolClient> {
    for (let index = 0; ; index += 1) {
      // The pool builds a new client from its options synchronously inside connect().
      this.options.ssl = this.transports[index] ?? false;
      const attempt = super.connect();
      this.options.ssl = this.transports[0] ?? false;
      try {
        return await attempt;
      } catch (error) {
        if (index + 1 >= this.transports.length || !triesNext(error)) throw error;
      }
    }
  }
}

/** One client (migrations), connected through the target's transports in libpq's order. */
export async function connectClient(target: PostgresTarget, config: Omit<pg.ClientConfig, 'connectionString' | 'ssl'> = {}): Promise<pg.Client> {
  for (let index = 0; ; index += 1) {
    const client = new pg.Client({ ...config, connectionString: target.connectionString, ssl: target.transports[index] ?? false });
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (index + 1 >= target.transports.length || !triesNext(error)) throw error;
    }
  }
}
