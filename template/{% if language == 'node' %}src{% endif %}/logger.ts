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

const stdout: Sink = (line) => {
  process.stdout.write(`${line}\n`);
};

export function createLogger(minimum: Level, sink: Sink = stdout): Logger {
  const threshold = LEVELS.indexOf(minimum);
  const write = (level: Level, msg: string, fields?: Fields): void => {
    if (LEVELS.indexOf(level) < threshold) return;
    sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
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
