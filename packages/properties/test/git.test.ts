import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployThese, type DeployEvent, type FileChange } from '@consfig/core';
import { apt, file, git } from '../src/index.js';
import { TEST_USER } from '../../connections/test/support/machine.js';
import { chrootHost } from './support/chroot-host.js';

const sh = (cwd: string, ...argv: string[]) =>
  execFileSync(argv[0]!, argv.slice(1), {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@x',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@x',
    },
  }).trim();

/** A bare repository with a work tree to commit from; `commit` adds one and gives its id. */
function repository() {
  const top = mkdtempSync(join(tmpdir(), 'consfig-git-'));
  chmodSync(top, 0o755);
  const bare = join(top, 'origin.git');
  const work = join(top, 'work');
  sh(top, 'git', 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  sh(top, 'git', 'clone', '--quiet', bare, work);
  const commit = (name: string) => {
    writeFileSync(join(work, name), `${name}\n`);
    sh(work, 'git', 'add', name);
    sh(work, 'git', 'commit', '--quiet', '-m', name);
    sh(work, 'git', 'push', '--quiet', 'origin', 'HEAD:main');
    return sh(work, 'git', 'rev-parse', 'HEAD');
  };
  return { top, bare, work, commit };
}

async function twice(...props: Parameters<typeof deployThese>[1][]) {
  const first = await deployThese('local', ...props);
  expect(first.failures.map((f) => f.error.message)).toEqual([]);
  expect(first.changed).toBeGreaterThan(0);
  expect((await deployThese('local', ...props)).changed).toBe(0);
}

async function pending(...props: Parameters<typeof deployThese>[1][]): Promise<FileChange[]> {
  const events: DeployEvent[] = [];
  await deployThese({ via: 'local', dryRun: true, onEvent: (e) => events.push(e) }, ...props);
  return events.flatMap((e) => (e.type === 'property:end' && e.status === 'changed' ? (e.changes ?? []) : []));
}

describe('git.cloned', () => {
  it('clones at the branch tip, and follows it when it moves, saying from where to where', async () => {
    const r = repository();
    const one = r.commit('one');
    const dir = join(r.top, 'checkout');
    await twice(git.cloned(r.bare, dir, { rev: 'main' }));
    expect(sh(dir, 'git', 'rev-parse', 'HEAD')).toBe(one);
    const two = r.commit('two');
    expect(await pending(git.cloned(r.bare, dir, { rev: 'main' }))).toEqual([
      { path: dir, before: `at ${one.slice(0, 12)}`, after: `at ${two.slice(0, 12)}`, kind: 'metadata' },
    ]);
    await twice(git.cloned(r.bare, dir, { rev: 'main' }));
    expect(readFileSync(join(dir, 'two'), 'utf8')).toBe('two\n');
    // a tag, and a commit id, stay where they point
    sh(r.work, 'git', 'tag', '-a', '-m', 'v1', 'v1', one);
    sh(r.work, 'git', 'push', '--quiet', 'origin', 'v1');
    await twice(git.cloned(r.bare, dir, { rev: 'v1' }));
    expect(sh(dir, 'git', 'rev-parse', 'HEAD')).toBe(one);
    await twice(git.cloned(r.bare, dir, { rev: two }));
    expect(sh(dir, 'git', 'rev-parse', 'HEAD')).toBe(two);
  });

  it('clones as a user, who owns the files; refuses a non-empty directory and another origin', async () => {
    const r = repository();
    r.commit('one');
    // git refuses to read a repository of another user (safe.directory): it is theirs
    execFileSync('chown', ['-R', TEST_USER, r.bare]);
    const dir = join(r.top, 'as-user');
    await twice(git.cloned(r.bare, dir, { user: TEST_USER }));
    const uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }));
    expect([statSync(dir).uid, statSync(join(dir, 'one')).uid]).toEqual([uid, uid]);
    const full = join(r.top, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'x'), 'x');
    const refused = await deployThese('local', git.cloned(r.bare, full));
    expect(refused.failures[0]?.error.message).toBe(
      `${full} exists and is not an empty directory: not cloning over it`,
    );
    const other = await deployThese('local', git.cloned(join(r.top, 'elsewhere.git'), dir, { user: TEST_USER }));
    expect(other.failures[0]?.error.message).toBe(
      `${dir} is a clone of ${r.bare}, not ${join(r.top, 'elsewhere.git')}`,
    );
    const bad = await deployThese('local', git.cloned('--upload-pack=touch /tmp/x', dir));
    expect(bad.failures[0]?.error.message).toBe(
      "invalid argument 'url' to git.cloned: must be a repository URL or path",
    );
  });
});

describe('git.etcCommitted', () => {
  const t = chrootHost('git-etc');
  beforeAll(async () => {
    await t.twice(apt.installed('git'));
  }, 300_000);

  it('commits /etc after the properties before it, shadow left out', async () => {
    await t.twice(file.hasContent('/etc/consfig-motd', 'one'), git.etcCommitted());
    await t.twice(file.hasContent('/etc/consfig-motd', 'two'), git.etcCommitted({ message: 'motd two' }));
    const log = t.inside('git', '-C', '/etc', 'log', '--format=%s');
    expect(log).toBe('motd two\nconsfig deployed lib.example\n');
    expect(t.inside('git', '-C', '/etc', 'ls-files', 'shadow', 'consfig-motd')).toBe('consfig-motd\n');
    expect(t.inside('stat', '-c', '%a', '/etc/.git')).toBe('700\n');
  }, 300_000);
});
