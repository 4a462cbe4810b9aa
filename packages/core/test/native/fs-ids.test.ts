import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withFsIds } from '../../src/native/fs-ids.js';

// The tests run as root (the machine's and CI's), which setfsuid needs.
const dir = mkdtempSync(join(tmpdir(), 'consfig-fsids-'));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('withFsIds', () => {
  it('makes files under the ids given, and this thread is root again after', () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const made = withFsIds({ uid: 54321, gid: 54322 }, () => writeFileSync(join(open, 'theirs'), 'x'));
    expect(made).toEqual({ value: undefined });
    expect(statSync(join(open, 'theirs'))).toMatchObject({ uid: 54321, gid: 54322 });
    writeFileSync(join(open, 'ours'), 'y');
    expect(statSync(join(open, 'ours'))).toMatchObject({ uid: 0, gid: 0 });
  });

  it("holds back root's file capabilities meanwhile, and gives them back", () => {
    const closed = join(dir, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    expect(() => withFsIds({ uid: 54321, gid: 54321 }, () => writeFileSync(join(closed, 'f'), 'x'))).toThrow(/EACCES/);
    writeFileSync(join(closed, 'f'), 'root may');
    expect(statSync(join(closed, 'f')).uid).toBe(0);
  });

  it('puts the ids back when the callback throws', () => {
    expect(() =>
      withFsIds({ uid: 54321, gid: 54321 }, () => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    writeFileSync(join(dir, 'after-throw'), 'z');
    expect(statSync(join(dir, 'after-throw')).uid).toBe(0);
  });
});
