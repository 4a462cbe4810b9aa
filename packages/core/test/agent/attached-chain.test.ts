import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attachAgentSync, attachAgent } from '../../src/agent/attached-chain.js';
import type { ChainProcess } from '../../src/agent/spawn-chain.js';
import { KEEP_AGENT_PERL } from '../../../connections/src/lxc-enter.js';

const dir = mkdtempSync(join(tmpdir(), 'consfig-attached-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The lxc helper's server, here without a container: its "agent" answers one line on
// stdout and says something on stderr.
const AGENT = 'read -r line; echo "got $line from $$"; echo "err $line" >&2';
const SERVER = String.raw`my @agent = ('sh', '-c', $ARGV[1]);
sub agent { exec { $agent[0] } @agent; die "cannot run sh: $!\n" }
${KEEP_AGENT_PERL}
my $listener = keep_listening($ARGV[0]) or die "cannot listen: $!\n";
keep_agent($listener, $ARGV[2]);
print "listening\n";`;

/** Start a server at `path`, idle for `idle` s; resolves once it listens. */
async function serve(path: string, idle: number): Promise<ChildProcess> {
  const helper = spawn('perl', ['-e', SERVER, path, AGENT, String(idle)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    helper.stdout!.once('data', () => resolve());
    helper.once('exit', (code) => reject(new Error(`server helper exited ${code}`)));
  });
  return helper;
}

async function talk(chain: ChainProcess, line: string): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  chain.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  chain.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => chain.on('close', (code) => resolve(code)));
  chain.stdin.end(`${line}\n`);
  expect(await closed).toBe(0);
  return { out, err };
}

describe('attached chains (an agent kept by an earlier run)', () => {
  it("pairs each caller's two connections with an agent of its own, its stderr apart", async () => {
    const path = join(dir, 'a.sock');
    await serve(path, 3);
    const [one, two] = [await attachAgent(path), attachAgentSync(path)];
    expect(one && two).toBeTruthy();
    expect(one!.pid).toBeUndefined();
    const [a, b] = await Promise.all([talk(one!, 'a'), talk(two!, 'b')]);
    expect(a.out).toMatch(/^got a from \d+\n$/);
    expect(b.out).toMatch(/^got b from \d+\n$/);
    expect(a.out).not.toBe(b.out.replace('got b', 'got a'));
    expect([a.err, b.err]).toEqual(['err a\n', 'err b\n']);
  });

  it('hangs up at once when killed, and tells its end as the signal it was killed with', async () => {
    const path = join(dir, 'k.sock');
    await serve(path, 2);
    const chain = (await attachAgent(path))!;
    const closed = new Promise((resolve) => chain.on('close', (code, signal) => resolve([code, signal])));
    chain.hangUp!('SIGINT');
    expect(await closed).toEqual([null, 'SIGINT']);
  });

  it('ignores a caller that does not say the line, and serves the next', async () => {
    const path = join(dir, 'b.sock');
    await serve(path, 3);
    const stranger = createConnection({ path });
    await new Promise((resolve) => stranger.once('connect', resolve));
    stranger.end('hello there\n');
    await new Promise((resolve) => stranger.once('close', resolve));
    const chain = await attachAgent(path);
    expect((await talk(chain!, 'c')).out).toMatch(/^got c from/);
  });

  it('ends after its idle time without a caller; its socket is then removed and none is attached', async () => {
    const path = join(dir, 'c.sock');
    await serve(path, 1);
    expect((await talk((await attachAgent(path))!, 'd')).err).toBe('err d\n');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(existsSync(path)).toBe(true);
    expect(await attachAgent(path)).toBeUndefined();
    expect(existsSync(path)).toBe(false);
    // Nothing there: nothing attached, either way.
    expect(attachAgentSync(path)).toBeUndefined();
    expect(await attachAgent(join(dir, 'none.sock'))).toBeUndefined();
  });

  it('removes a stale socket when connecting at once too', async () => {
    const path = join(dir, 'd.sock');
    const helper = await serve(path, 1);
    await new Promise((resolve) => helper.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(existsSync(path)).toBe(true);
    expect(attachAgentSync(path)).toBeUndefined();
    expect(existsSync(path)).toBe(false);
  });

  it('sweeps the sockets of ended agents from the directory when none answers at its own, once', async () => {
    const here = mkdtempSync(join(dir, 'sweep-'));
    const live = join(here, 'live.sock');
    await serve(live, 3);
    const ended = join(here, 'ended.sock');
    const gone = await serve(ended, 1);
    await new Promise((resolve) => gone.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    writeFileSync(join(here, 'not-a.sock'), '');
    expect(await attachAgent(join(here, 'mine.sock'))).toBeUndefined();
    expect(readdirSync(here).sort()).toEqual(['live.sock', 'not-a.sock']);
    // The live one was only knocked at: it still serves.
    expect((await talk((await attachAgent(live))!, 'e')).out).toMatch(/^got e from/);
  });
});
