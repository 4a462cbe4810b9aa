import {
  closeSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, openInRoot, readLinkFd } from '../../src/native/openat2.js';

const tree = mkdtempSync(join(tmpdir(), 'consfig-openat2-'));
afterAll(() => rmSync(tree, { recursive: true, force: true }));

describe('openInRoot', () => {
  mkdirSync(join(tree, 'etc'));
  writeFileSync(join(tree, 'etc', 'hostname'), 'inside\n');
  symlinkSync('/etc', join(tree, 'abs'));
  symlinkSync('../../../../etc/hostname', join(tree, 'up'));
  const root = openSync(tree, O_PATH | O_DIRECTORY);

  const read = (path: string) => {
    const fd = openInRoot(root, path, O_RDONLY);
    if (fd < 0) return fd;
    try {
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  };

  it('resolves absolute and climbing links inside the tree, as a process chrooted there would', () => {
    expect(read('/abs/hostname')).toBe('inside\n');
    expect(read('/up')).toBe('inside\n');
    expect(read('/etc/../../etc/hostname')).toBe('inside\n');
  });

  it('opens a link itself with O_NOFOLLOW, and says where it points', () => {
    const fd = openInRoot(root, '/abs', O_PATH | O_NOFOLLOW);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(fstatSync(fd).isSymbolicLink()).toBe(true);
    expect(readLinkFd(fd)).toBe('/etc');
    closeSync(fd);
  });

  it('gives a negative errno for what is not there, and refuses magic links', () => {
    expect(read('/none')).toBe(-2);
    const self = openSync('/proc', O_PATH | O_DIRECTORY);
    expect(openInRoot(self, 'self/root', O_PATH)).toBeLessThan(0);
    closeSync(self);
  });
});
