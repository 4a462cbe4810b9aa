import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostname } from '../src/index.js';
import { chrootHost } from './support/chroot-host.js';

const t = chrootHost('hostname');
const { twice } = t;

describe('hostname', () => {
  it('hostname in /etc/hostname and /etc/hosts', async () => {
    await twice(hostname.configured('web.example.com'));
    expect(readFileSync(`${t.root}/etc/hostname`, 'utf8')).toBe('web\n');
    expect(readFileSync(`${t.root}/etc/hosts`, 'utf8')).toMatch(
      /^127\.0\.0\.1\tlocalhost\n127\.0\.1\.1\tweb\.example\.com\tweb\n/,
    );
  });

  it("mailname: the full name, given or the host's own", async () => {
    expect(await t.pending(hostname.mailnameConfigured())).toEqual([
      [{ path: '/etc/mailname', before: null, after: 'lib.example\n' }],
    ]);
    await twice(hostname.mailnameConfigured());
    expect(readFileSync(`${t.root}/etc/mailname`, 'utf8')).toBe('lib.example\n');
    await twice(hostname.mailnameConfigured('mail.example.org'));
    expect(readFileSync(`${t.root}/etc/mailname`, 'utf8')).toBe('mail.example.org\n');
    expect(hostname.mailnameConfigured('not a name').invalid?.message).toMatch(
      /invalid argument 'mailname' to hostname\.mailnameConfigured: must be a valid host name/,
    );
  });
});
