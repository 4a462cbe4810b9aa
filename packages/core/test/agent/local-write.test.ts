/**
 * Writes made by this process on a local connection: whole files only, the agent's modes
 * and owners, and "unsupported" (the agent's turn) with nothing changed.
 */
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLocally } from '../../src/agent/local-write.js';

const dir = mkdtempSync(join(tmpdir(), 'consfig-local-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (text: string) => Buffer.from(text);
const tmpOf = (name: string) => join(dir, `.${name}.consfig-0123456789abcdef`);

describe('writeLocally', () => {
  it('makes a new file at its name with the mode asked, and replaces an old one', () => {
    const path = join(dir, 'new');
    expect(writeLocally({ path, tmp: tmpOf('new'), data: bytes('one'), mode: 0o640, keepOwner: false })).toEqual({
      done: true,
    });
    expect([readFileSync(path, 'utf8'), statSync(path).mode & 0o7777]).toEqual(['one', 0o640]);
    // No mode: the old file's; a setuid bit too.
    writeLocally({ path, tmp: tmpOf('new'), data: bytes('two'), mode: 0o4750, keepOwner: false });
    writeLocally({ path, tmp: tmpOf('new'), data: bytes('three'), mode: undefined, keepOwner: true });
    expect([readFileSync(path, 'utf8'), statSync(path).mode & 0o7777]).toEqual(['three', 0o4750]);
    expect(readdirSync(dir).filter((n) => n.includes('consfig-'))).toEqual([]);
  });

  it("leaves another owner's file to the agent (a chown), unchanged", () => {
    const path = join(dir, 'theirs');
    writeFileSync(path, 'theirs');
    chownSync(path, 65534, 65534);
    expect(writeLocally({ path, tmp: tmpOf('theirs'), data: bytes('mine'), mode: undefined, keepOwner: true })).toEqual(
      { done: false, unsupported: true },
    );
    expect([readFileSync(path, 'utf8'), statSync(path).uid]).toEqual(['theirs', 65534]);
  });

  it('changes nothing where it cannot link the file in (the agent writes it then)', () => {
    const path = join(dir, 'taken');
    writeFileSync(path, 'old');
    const tmp = join(dir, 'tmp-taken');
    writeFileSync(tmp, 'in the way');
    expect(writeLocally({ path, tmp, data: bytes('new'), mode: 0o644, keepOwner: false })).toEqual({
      done: false,
      unsupported: true,
    });
    expect([readFileSync(path, 'utf8'), readFileSync(tmp, 'utf8')]).toEqual(['old', 'in the way']);
  });

  it('says why in the words of the system', () => {
    const path = join(dir, 'missing', 'file');
    expect(writeLocally({ path, tmp: tmpOf('file'), data: bytes('x'), mode: 0o644, keepOwner: false })).toEqual({
      done: false,
      error: 'No such file or directory',
    });
  });
});
