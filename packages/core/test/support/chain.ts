import type { ChainProcess } from '../../src/agent/spawn-chain.js';

/** What a chain said and how it ended: both events' arguments. */
export interface Outcome {
  stdout: string;
  stderr: string;
  exit: [number | null, string | null];
  close: [number | null, string | null];
  pid: number | undefined;
}

/** Run a chain to its end, feeding `input`. */
export function collect(child: ChainProcess, input = ''): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    let exit: Outcome['exit'] | undefined;
    child.on('error', reject);
    child.on('exit', (code, signal) => (exit = [code, signal]));
    child.on('close', (code, signal) => {
      if (!exit) reject(new Error('close before exit'));
      else resolve({ stdout, stderr, exit, close: [code, signal], pid: child.pid });
    });
  });
}
