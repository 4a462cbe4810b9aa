#!/usr/bin/env node
/** The `consfig` executable: the only place that touches process state. */
import { VERSION } from './version.js';

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
const { runCli } = await import('./main.js');
const code = await runCli(argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
  signal: controller.signal,
});
process.exitCode = code;
