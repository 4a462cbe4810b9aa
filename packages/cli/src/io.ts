import type { Output } from './reporters/index.js';

/** What the CLI talks to; the binary passes the process's, tests their own. */
export interface CliIo {
  stdout: Output;
  stderr: Output;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
}

export const EXIT = { ok: 0, internal: 1, failed: 2, pending: 3, unreachable: 4, interrupted: 130 } as const;
