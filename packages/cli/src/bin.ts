#!/usr/bin/env node
/** The `consfig` executable: the only place that touches process state. */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { CodeCache, defaultStorePath } from './code-cache.js';
import { VERSION } from './version.js';

// V8 recompiles a function with TurboFan once it has run a while, on other threads; a run
// of consfig is short and most of that compiling never paid back (2000 local files, no
// change: ~490 → ~290 ms of CPU; 50 containers: ~400 → ~350 ms). Eight times Node's budget
// still optimises what runs long (a 20,000-line diff: 2.2 s either way, 6.9 s without).
if (!process.execArgv.some((a) => a.startsWith('--interrupt-budget'))) setFlagsFromString('--interrupt-budget=540672');

const controller = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals) => {
  interrupts++;
  if (interrupts > 1) process.exit(130);
  process.stderr.write(`\nconsfig: ${signal}: stopping (again to force)\n`);
  controller.abort();
};
process.on('SIGINT', onSignal);
// `consfig … | head` closes our stdout early; that is not an error worth a trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
process.on('SIGTERM', onSignal);

const argv = process.argv.slice(2);
// The version is asked for by scripts and yardsticks: answered before loading the rest.
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`consfig ${VERSION}\n`);
  process.exit(0);
}
// consfig's runtime (dist/runtime.cjs and what it requires) compiles through V8's code
// cache: most of a small run's start-up otherwise. CONSFIG_CODE_CACHE=0 turns it off.
const storePath = process.env.CONSFIG_CODE_CACHE === '0' ? undefined : defaultStorePath();
const codeCache = storePath === undefined ? undefined : new CodeCache(storePath);
if (codeCache) {
  codeCache.install();
  process.once('exit', () => {
    try {
      codeCache.save();
    } catch {
      // a cache that cannot be written only costs the next start its compiling
    }
    if (/(?:^|[\s,])consfig:(?:\*|code-cache)/.test(process.env.DEBUG ?? '')) {
      const { fromCache, compiled, rejected } = codeCache.stats;
      process.stderr.write(
        `consfig:code-cache ${fromCache} from cache, ${compiled} compiled, ${rejected} refused (${storePath})\n`,
      );
    }
  });
}
// Code run from cached bytecode has no import() of its own in Node 20 (dynamic-import.ts).
(globalThis as { [key: symbol]: unknown })[Symbol.for('consfig.import')] = (specifier: string) => import(specifier);
const runtime = createRequire(import.meta.url)('./runtime.cjs') as { index: typeof import('./index.js') };
const { runCli } = runtime.index;
const code = await runCli(argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
  signal: controller.signal,
});
process.exitCode = code;
