// JSON lines on stdout through pino, in the shape every stack the template
// renders shares: {"time", "level", "msg", ...fields}. Errors go under `err`,
// which pino serializes with their type, message and stack (and cause).
import { type DestinationStream, type Logger, pino } from 'pino';

import { redact } from './redact.js';

export type { Logger } from 'pino';

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export interface LoggerOptions {
  /** Values no line may show (passwords, URLs with credentials): replaced in error texts. */
  secrets?: readonly string[];
  /** Where lines go; stdout by default (tests pass their own to capture output). */
  destination?: DestinationStream;
}

/**
 * A logger writing synchronously, so a line logged just before a crash or
 * process.exit is never lost; probes, the bulk of the traffic, are not logged.
 */
export function createLogger(level: Level, { secrets = [], destination }: LoggerOptions = {}): Logger {
  return pino(
    {
      level,
      // No pid/hostname on every line: the platform's log collector adds its own.
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: (error: Error) => scrubbed(pino.stdSerializers.err(error), secrets) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

type SerializedError = ReturnType<typeof pino.stdSerializers.err>;

/** A serialized error whose message, stack and causes show none of the secrets. */
function scrubbed(error: SerializedError, secrets: readonly string[]): SerializedError {
  const clean = (text: unknown) => (typeof text === 'string' ? redact(text, secrets) : text);
  const result: Record<string, unknown> = { ...error };
  result.message = clean(error.message);
  result.stack = clean(error.stack);
  return result as SerializedError;
}
