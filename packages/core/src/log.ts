/**
 * Debug output through the `debug` package (`DEBUG=consfig:*`). It is loaded only when
 * DEBUG is set, so a normal run does not pay for it.
 */
import { createRequire } from 'node:module';

export type Logger = (format: string, ...args: unknown[]) => void;

const noop: Logger = () => {};

export function logger(namespace: string): Logger {
  if (!process.env.DEBUG) return noop;
  const createDebug = createRequire(import.meta.url)('debug') as (ns: string) => Logger;
  return createDebug(namespace);
}
