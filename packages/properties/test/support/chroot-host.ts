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
      const first = await deploy(host, [chroot(root)], options);
      expect(first.failures.map((f) => f.error.message)).toEqual([]);
      expect(first.changed).toBeGreaterThan(0);
      const second = await deploy(host, [chroot(root)], options);
      expect(second.failures.map((f) => f.error.message)).toEqual([]);
      expect(second.changed).toBe(0);
      return first;
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
