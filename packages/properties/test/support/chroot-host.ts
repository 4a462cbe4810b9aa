/**
 * A fresh minbase bookworm tree per test file (from the cached tarball), and the
 * "apply twice" check every property test makes: the first run changes, the second not.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, expect } from 'vitest';
import { defineHost, deploy, type DataSource, type DeployEvent, type FileChange, type Propapp } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { os } from '../../src/index.js';
import { unpackRootfs } from '../../../connections/test/support/machine.js';

export const debian = os.debianStable('bookworm', 'amd64');

export interface ChrootHost {
  /** The tree (set once the file's beforeAll ran). */
  readonly root: string;
  /** Deploy `props` on a Debian host in the tree: changes first, none the second time. */
  twice(...props: Propapp[]): ReturnType<typeof deploy>;
  /** Run a command inside the tree, giving its stdout. */
  inside(...argv: string[]): string;
  /** What check mode shows: the changes of each property that would change, nothing done. */
  pending(...props: Propapp[]): Promise<FileChange[][]>;
}

/** Call at the top of a test file: unpacks `/var/lib/consfig-test/NAME-chroot` before its tests. */
export function chrootHost(name: string, options: { data?: DataSource[] } = {}): ChrootHost {
  const dir = `/var/lib/consfig-test/${name}-chroot`;
  let root = '';
  beforeAll(() => {
    root = unpackRootfs(dir);
  }, 300_000);
  return {
    get root() {
      return root;
    },
    async twice(...props) {
      const host = defineHost('lib.example', [debian, ...props]);
      // The deploy changes nothing `consfig check` did not say it would (check may say
      // more: a package's own scripts can do a later property's work), and after it
      // check says nothing.
      const run = async (dryRun: boolean) => {
        const events: DeployEvent[] = [];
        const r = await deploy(host, [chroot(root)], { ...options, dryRun, onEvent: (e) => events.push(e) });
        expect(r.failures.map((f) => f.error.message)).toEqual([]);
        const changed = events.flatMap((e) =>
          e.type === 'property:end' && e.leaf && e.status === 'changed' ? [e.desc] : [],
        );
        return { r, changed };
      };
      const predicted = await run(true);
      const first = await run(false);
      expect(first.r.changed).toBeGreaterThan(0);
      expect(
        first.changed.filter((d) => !predicted.changed.includes(d)),
        'changed, where check said nothing would',
      ).toEqual([]);
      const second = await run(false);
      expect(second.r.changed).toBe(0);
      expect((await run(true)).changed).toEqual([]);
      return first.r;
    },
    inside(...argv) {
      return execFileSync('chroot', [root, ...argv], { encoding: 'utf8' });
    },
    async pending(...props) {
      const events: DeployEvent[] = [];
      const r = await deploy(defineHost('lib.example', [debian, ...props]), [chroot(root)], {
        ...options,
        dryRun: true,
        onEvent: (e) => events.push(e),
      });
      expect(r.failures.map((f) => f.error.message)).toEqual([]);
      return events.flatMap((e) => (e.type === 'property:end' && e.status === 'changed' ? [e.changes ?? []] : []));
    },
  };
}
