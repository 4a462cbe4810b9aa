/**
 * The system call ABI the helpers' perl finds: from its own ELF header, without loading
 * Config; the same answer Config gives; and each machine of the tables from its header.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PERL_ARCH } from '../../src/agent/perl-arch.js';

const dir = mkdtempSync(join(tmpdir(), 'consfig-perl-arch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `$arch` as the text finds it reading `exe` for perl's binary, and whether it loaded Config. */
function arch(exe = '/proc/self/exe'): string {
  const script = `${PERL_ARCH.replace('/proc/self/exe', exe)}\nprint $arch, ($INC{'Config.pm'} ? ' (Config)' : '');`;
  return execFileSync('perl', ['-e', script], { encoding: 'utf8' });
}

/** An ELF header's first 20 bytes: class (1: 32-bit, 2: 64-bit), byte order (1: LE, 2: BE), machine. */
function header(name: string, elfClass: number, order: number, machine: number): string {
  const bytes = Buffer.alloc(20);
  bytes.write('\x7fELF', 0, 'latin1');
  bytes[4] = elfClass;
  bytes[5] = order;
  if (order === 2) bytes.writeUInt16BE(machine, 18);
  else bytes.writeUInt16LE(machine, 18);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('PERL_ARCH', () => {
  it("reads perl's own ELF header, and agrees with Config, which it loads only where it cannot read it", () => {
    const viaConfig = arch(join(dir, 'no-such-file'));
    expect(viaConfig).toMatch(/ \(Config\)$/);
    expect(arch()).toBe(viaConfig.replace(/ \(Config\)$/, ''));
  });

  it('names each machine of the tables, and a 32-bit build of a 64-bit one as none of them', () => {
    const cases: [string, number, number, number, string][] = [
      ['x86_64', 2, 1, 62, 'x86_64'],
      ['x32', 1, 1, 62, 'x32'],
      ['i386', 1, 1, 3, 'i386'],
      ['arm', 1, 1, 40, 'arm'],
      ['aarch64', 2, 1, 183, 'aarch64'],
      ['aarch64-ilp32', 1, 1, 183, 'aarch64-32'],
      ['riscv64', 2, 1, 243, 'riscv64'],
      ['loongarch64', 2, 1, 258, 'loongarch64'],
      ['ppc64', 2, 2, 21, 'ppc64'],
      ['ppc64le', 2, 1, 21, 'ppc64'],
      ['s390x', 2, 2, 22, 's390x'],
      ['s390', 1, 2, 22, 's390x-32'],
      ['mips', 1, 2, 8, 'elf-machine-8'],
    ];
    const seen = cases.map(([name, c, o, m]) => [name, arch(header(name, c, o, m))]);
    expect(seen).toEqual(cases.map(([name, , , , want]) => [name, want]));
  });
});
