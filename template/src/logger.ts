// JSON lines on stdout, one object per event. No dependency: the format is
// small and fixed ({"time", "level", "msg", ...fields}).

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

/** Writes one line; tests pass their own to capture output. */
export type Sink = (line: string) => void;

/**
 * Stdout, written once per event-loop turn: under load one write carries many
 * lines instead of one system call per request. Pending lines are flushed on
 * exit (process.exit and uncaught errors included).
 */
function bufferedStdout(): Sink {
  let pending: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = pending.join('');
    pending = [];
    process.stdout.write(chunk);
  };
  process.on('exit', flush);
  return (line) => {
    pending.push(`${line}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

let stdout: Sink | undefined;

// Formatting a date costs about a microsecond; lines within one millisecond share it.
let lastMs = 0;
let lastIso = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

export function createLogger(minimum: Level, sink?: Sink): Logger {
  const output = sink ?? (stdout ??= bufferedStdout());
  const threshold = LEVELS.indexOf(minimum);
  const write = (level: Level, msg: string, fields?: Fields): void => {
    if (LEVELS.indexOf(level) < threshold) return;
    output(JSON.stringify({ time: isoNow(), level, msg, ...fields }));
  };
  return {
    debug: (msg, fields) => {
      write('debug', msg, fields);
    },
    info: (msg, fields) => {
      write('info', msg, fields);
    },
    warn: (msg, fields) => {
      write('warn', msg, fields);
    },
    error: (msg, fields) => {
      write('error', msg, fields);
    },
  };
}
