import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandSource, envSource, fetchData, fileSource, MissingDataError } from '../src/public/property.js';

describe('data sources', () => {
  it('reads files below a directory, refusing paths that leave it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consfig-data-'));
    mkdirSync(join(dir, 'web1/etc'), { recursive: true });
    writeFileSync(join(dir, 'web1/etc/db.conf'), 'secret\n');
    const files = fileSource(dir);
    expect((await files.get({ iden1: 'web1', iden2: '/etc/db.conf' }))?.toString()).toBe('secret\n');
    expect(await files.get({ iden1: 'web1', iden2: '/etc/missing' })).toBeUndefined();
    await expect(files.get({ iden1: '..', iden2: 'x' })).rejects.toThrow(/leaves the data directory/);
  });

  it('runs a command such as pass, with exit 1 meaning no such item', async () => {
    const source = commandSource([
      'sh',
      '-c',
      '[ "$1" = web1/db ] && printf "pw\\n" || exit 1',
      'sh',
      '{iden1}/{iden2}',
    ]);
    expect((await source.get({ iden1: 'web1', iden2: 'db' }))?.toString()).toBe('pw\n');
    expect(await source.get({ iden1: 'web2', iden2: 'db' })).toBeUndefined();
    const broken = commandSource(['sh', '-c', 'echo "gpg: decryption failed" >&2; exit 2']);
    await expect(broken.get({ iden1: 'a', iden2: 'b' })).rejects.toThrow(/failed for \(a, b\): gpg: decryption failed/);
  });

  it('takes the first source that has an item and names what is missing', async () => {
    const env = envSource('T_', { T_web1_token: 'from env' });
    const found = await fetchData('web1', [{ iden1: 'web1', iden2: 'token' }], [fileSource('/nonexistent'), env]);
    expect([...found.values()].map(String)).toEqual(['from env']);
    const missing = await fetchData('web1', [{ iden1: 'web1', iden2: 'nope' }], [env]).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(MissingDataError);
    expect((missing as Error).message).toBe('missing prerequisite data (web1, nope) (looked in env:T_*)');
  });
});
