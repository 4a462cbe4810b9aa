// A real sshd on 127.0.0.1 on a free port, with its own host key and key-only login,
// for the tests and benchmarks (as root). StrictModes wants a directory with no
// world-writable parent, hence /var/lib.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForPort(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An sshd on 127.0.0.1 (StrictModes wants a path with no world-writable parent). */
/**
 * @param {string[]} users accounts that may log in with the test key
 */
export async function startSshd(users = ['root']) {
  const port = await freePort();
  const dir = `/var/lib/consfig-test/sshd-${port}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'authkeys'), { recursive: true, mode: 0o755 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  chmodSync('/var/lib/consfig-test', 0o755);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  const pub = readFileSync(join(dir, 'client_key.pub'), 'utf8');
  for (const user of users) {
    writeFileSync(join(dir, 'authkeys', user), pub, { mode: 0o644 });
  }
  const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authkeys')}/%u`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM yes',
      'StrictModes yes',
      'MaxSessions 100',
      'MaxStartups 100',
      '',
    ].join('\n'),
  );
  const proc = spawn('/usr/sbin/sshd', ['-D', '-f', join(dir, 'sshd_config'), '-E', join(dir, 'sshd.log')], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  const target = (user, extra = {}) => ({
    host: '127.0.0.1',
    port,
    user,
    configFile: '/dev/null',
    options: [
      '-i',
      join(dir, 'client_key'),
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'LogLevel=ERROR',
    ],
    ...extra,
  });
  return {
    port,
    dir,
    target,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      // Its keys and log: one directory per test file and bench run would pile up.
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
