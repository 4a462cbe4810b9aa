import { describe, expect, it } from 'vitest';
import { runRequest, type RunSpec } from '../../src/agent/requests.js';

const shellLine = (argv: string[], options: Omit<RunSpec, 'argv'> = {}) =>
  runRequest('@@n@@', { argv, ...options }).line.toString();

describe('runRequest', () => {
  it("runs a program as the shell's simple command, its umask set around it", () => {
    expect(shellLine(['apt-get', 'update'], { env: { A: "it's" } })).toBe(
      "umask 022; A='it'\\''s' 'apt-get' 'update' 5>&- 6<&- 7>&- </dev/null; __c_rs=$?; umask 077; " +
        '__c_ret "$__c_rs"; __c_end \'@@n@@\'\n',
    );
  });

  it('execs it from a subshell where the shell would run the name itself or the subshell is needed', () => {
    for (const [argv, options] of [
      [['echo', 'x'], {}],
      [['cd', '/'], {}],
      [['__c_end', 'x'], {}],
      [['A=b'], {}],
      [['ls'], { cwd: '/tmp' }],
      [['ls'], { clearEnv: true }],
      [['ls'], { env: { PATH: '/bin' } }],
    ] as const) {
      expect(shellLine([...argv], options)).toMatch(/^\( umask 022; .*exec .*\) 5>&- 6<&- 7>&- <\/dev\/null; __c_end /);
    }
  });
});
