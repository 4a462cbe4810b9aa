import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { forkChain, setForkerIdleMs } from '../../src/agent/forker.js';
import { spawnChain, type ChainProcess } from '../../src/agent/spawn-chain.js';
import { collect } from '../support/chain.js';

/** A chain of `text` forked, with a unique text per test so each gets a forker of its own. */
function fork(text: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): ChainProcess {
  const chain = forkChain(['perl', '-e', text, '--', ...args], env);
  if (!chain) throw new Error('not forked');
  return chain;
}

describe('forkChain', () => {
  it("connects the chain's stdin, stdout and stderr, its arguments and environment, and its exit code", async () => {
    const text = `# stdio
my $in = do { local $/; <STDIN> };
print STDOUT "got $in @ARGV $ENV{CONSFIG_T}";
print STDERR "oops\\n";
exit 7;`;
    const r = await collect(fork(text, ['a', 'b c'], { PATH: process.env.PATH, CONSFIG_T: 'x=y' }), 'hello');
    expect(r).toMatchObject({ stdout: 'got hello a b c x=y', stderr: 'oops\n', exit: [7, null], close: [7, null] });
  });

  it('runs the text at file scope: its own variables and named subs work as in perl -e', async () => {
    const text = `# scope
my $x = 21;
sub twice { $x * 2 }
print twice();`;
    expect((await collect(fork(text))).stdout).toBe('42');
  });

  it('forks every chain of one text from the same perl, each in a process group of its own', async () => {
    const text = `# shared
print join(' ', getppid(), $$, getpgrp());`;
    const runs = await Promise.all(Array.from({ length: 6 }, () => collect(fork(text))));
    const parents = new Set(runs.map((r) => r.stdout.split(' ')[0]));
    expect(parents.size).toBe(1);
    expect([...parents][0]).not.toBe(String(process.pid));
    for (const r of runs) {
      const [, pid, pgrp] = r.stdout.split(' ').map(Number);
      expect(pid).toBe(r.pid);
      expect(pgrp).toBe(pid);
      expect(r.exit).toEqual([0, null]);
    }
  });

  it("compiles the front's later half in the forker after its first copy: the copies after it find it", async () => {
    // front_later as the front's: compiles front_finish where it is not there yet.
    const text = `# later
sub front_later { defined &front_finish or eval('sub front_finish { 1 } 1') or die }
print defined &front_finish ? 'had it' : 'compiles it';`;
    const first = await collect(fork(text));
    const later = await Promise.all(Array.from({ length: 3 }, () => collect(fork(text))));
    expect([first.stdout, ...later.map((r) => r.stdout)]).toEqual(['compiles it', 'had it', 'had it', 'had it']);
  });

  it('reports the signal that ended a chain, and the chain is reaped', async () => {
    const child = fork(`# signal
sleep 30;`);
    const done = collect(child);
    const killed = new Promise<void>((resolve) => {
      const tryKill = () => (child.pid ? (process.kill(-child.pid, 'SIGTERM'), resolve()) : setTimeout(tryKill, 10));
      setTimeout(tryKill, 50);
    });
    await killed;
    const r = await done;
    expect(r.exit).toEqual([null, 'SIGTERM']);
    expect(existsSync(`/proc/${r.pid}`)).toBe(false);
  });

  it('gives the chain what a spawned helper gets: its pipes, no descriptor of the forker or of ours', async () => {
    const list = `opendir(my $d, '/proc/self/fd') or die;
print join(' ', sort grep { /^\\d+$/ } readdir $d);`;
    const forked = await collect(fork(`# fds\n${list}`));
    const spawned = await collect(spawnChain(['perl', '-e', list], process.env));
    expect(forked.stdout).toBe(spawned.stdout);
    expect(forked.stdout.split(' ').slice(0, 3)).toEqual(['0', '1', '2']);
  });

  it('leaves other shapes of argv to the caller', () => {
    expect(forkChain(['sh', '-c', 'true'], process.env)).toBeUndefined();
    expect(forkChain(['perl', '-e', '1'], process.env)).toBeUndefined();
    expect(forkChain(['perl', '-e', '1', '--'], { PATH: '/nonexistent' })).toBeUndefined();
  });
});

describe('an idle forker', () => {
  afterEach(() => setForkerIdleMs(10_000));

  it('ends when no chain has come for a while, and the next chain starts another', async () => {
    setForkerIdleMs(100);
    const text = `# idle
print getppid();`;
    const first = await collect(fork(text));
    const forker = Number(first.stdout);
    expect(existsSync(`/proc/${forker}`)).toBe(true);
    // Ended and reaped (not left a zombie of this process).
    await waitFor(() => !existsSync(`/proc/${forker}`));
    const second = await collect(fork(text));
    expect(second.exit).toEqual([0, null]);
    expect(Number(second.stdout)).not.toBe(forker);
  });
});

async function waitFor(done: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
