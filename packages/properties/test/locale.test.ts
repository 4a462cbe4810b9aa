import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineHost, deploy } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { locale } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('locale');

describe('locale', () => {
  it('generates a locale and selects it, then changes nothing', async () => {
    await t.twice(locale.selected('de_DE.UTF-8'));
    expect(t.inside('locale', '-a').split('\n')).toContain('de_DE.utf8');
    expect(readFileSync(`${t.root}/etc/locale.gen`, 'utf8')).toMatch(/^de_DE\.UTF-8 UTF-8$/m);
    expect(readFileSync(`${t.root}/etc/default/locale`, 'utf8')).toMatch(/^LANG=de_DE\.UTF-8$/m);
    // check mode shows the locale.gen line it would uncomment
    const pending = await t.pending(locale.available('fr_FR.UTF-8'));
    const gen = pending.flat().find((c) => c.path === '/etc/locale.gen');
    expect(gen?.after).toMatch(/^fr_FR\.UTF-8 UTF-8$/m);
    expect(gen?.before).toMatch(/^# fr_FR\.UTF-8 UTF-8$/m);
    await t.twice(locale.selected('C.UTF-8', 'LC_TIME'));
    expect(readFileSync(`${t.root}/etc/default/locale`, 'utf8')).toMatch(/^LANG=de_DE\.UTF-8\nLC_TIME=C\.UTF-8\n$/m);
    expect(t.inside('sh', '-c', '. /etc/default/locale; echo $LANG $LC_TIME')).toBe('de_DE.UTF-8 C.UTF-8\n');
  }, 300_000);

  it('refuses a locale glibc does not know, and a malformed one, naming them', async () => {
    const unknown = await deploy(defineHost('lib.example', [debian, locale.available('xx_YY.UTF-8')]), [
      chroot(t.root),
    ]);
    expect(unknown.failures[0]?.error.message).toBe(
      'xx_YY.UTF-8 is not a locale glibc knows (not in /usr/share/i18n/SUPPORTED on lib.example)',
    );
    const bad = await deploy(defineHost('lib.example', [debian, locale.available('en US')]), 'local');
    expect(bad.failures[0]?.error.message).toMatch(/^invalid argument 'locale' to locale\.generated: must be a locale/);
  }, 300_000);
});
