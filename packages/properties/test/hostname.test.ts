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
});
