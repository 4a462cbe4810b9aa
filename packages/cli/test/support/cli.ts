/** Running the built `consfig` binary from the tests. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run consfig to its end. */
export function consfig(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Start consfig and keep its output; `done` resolves with its exit code. */
export function startConsfig(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const done = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
  );
  return { child: child as ChildProcess, out, done };
}

/**
 * consfig as `user`, on a pseudo-terminal of script(1) (so sudo and -K can ask), from
 * /tmp; stdout and stderr together in `out.text`, `done` resolves with its exit code.
 */
export function onTerminal(user: string, args: string, env: Record<string, string>) {
  const vars = Object.entries({ ...env, NO_COLOR: '1' })
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const command = `cd /tmp && env ${vars} ${process.execPath} ${BIN} ${args}`;
  const child = spawn('su', [user, '-s', '/bin/sh', '-c', `script -qfec ${JSON.stringify(command)} /dev/null`]);
  const out = { text: '' };
  child.stdout.on('data', (d: Buffer) => (out.text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.text += d.toString()));
  const done = new Promise<number | null>((r) => child.on('exit', r));
  return { child, out, done };
}

/** Wait until `test` holds, polling; false if it never did within `ms`. */
export async function until(test: () => boolean, ms = 20_000, every = 20): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (test()) return true;
    await new Promise((r) => setTimeout(r, every));
  }
  return test();
}

/** Resident memory of a process in bytes (0 once it is gone). */
export function rssOf(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}
