/**
 * `consfig check` is what a user trusts before a deploy: on a fresh Debian tree it
 * names every change the deploy then makes (a property needing a user or a package an
 * earlier one brings says it would change, it does not fail), and after the deploy it
 * names none, with --exit-code saying so.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { unpackRootfs } from '../../../connections/test/support/machine.js';
import { consfig } from '../support/cli.js';

const FRESH = fileURLToPath(new URL('../fixtures/fresh-host.ts', import.meta.url));
const TREE = '/var/lib/consfig-test/cli-check-tree';

/** The property lines of the plain reporter's block: [status, description]. */
function lines(stdout: string): [string, string][] {
  return stdout.split('\n').flatMap((l): [string, string][] => {
    const m = /^ {2}(would fix|changed|failed|ok) +(.+)$/.exec(l);
    return m ? [[m[1]!, m[2]!]] : [];
  });
}

describe('consfig check on a fresh host', () => {
  it('names every change the deploy makes, and none after it', async () => {
    unpackRootfs(TREE);
    const env = { CONSFIG_TEST_TREE: TREE };
    const before = await consfig(['check', '-c', FRESH, '--exit-code', '--reporter', 'plain'], env);
    expect(before.stderr).toBe('');
    expect(before.code).toBe(3);
    const wouldFix = lines(before.stdout)
      .filter(([s]) => s === 'would fix')
      .map(([, d]) => d);
    expect(lines(before.stdout).filter(([s]) => s === 'failed')).toEqual([]);
    // What needs alice (made two lines before) says so, as a note.
    expect(before.stdout).toMatch(/no user alice on web1\.example\.com .*: the changes before it may make it/);

    const deployed = await consfig(['deploy', '-c', FRESH, '--reporter', 'plain'], env);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    const changed = lines(deployed.stdout)
      .filter(([s]) => s === 'changed')
      .map(([, d]) => d);
    // Check names one change more: apache2's own postinst enables it at boot.
    expect(changed).toEqual(wouldFix.filter((d) => d !== 'service apache2 enabled at boot'));
    expect(wouldFix).toContain('service apache2 enabled at boot');
    expect(changed).toContain('/etc committed');
    const inTree = (...argv: string[]) => execFileSync('chroot', [TREE, ...argv], { encoding: 'utf8' });
    expect(inTree('a2query', '-m', 'rewrite')).toMatch(/enabled/);
    expect(inTree('a2query', '-s', 'web1.example.com')).toMatch(/enabled/);

    const after = await consfig(['check', '-c', FRESH, '--exit-code', '--reporter', 'plain'], env);
    expect(after.code, after.stdout).toBe(0);
    expect(lines(after.stdout).filter(([s]) => s !== 'ok')).toEqual([]);
    expect(after.stdout).toMatch(/0 to change, \d+ unchanged, 0 failed/);
  }, 600_000);
});
