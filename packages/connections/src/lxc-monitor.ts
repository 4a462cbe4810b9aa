/**
 * A running container's init pid asked of its monitor by this process, as the entering
 * helper asks it (lxc-enter.ts, INIT_PID_PERL): LXC's command socket `@LXCPATH/NAME/command`
 * in the abstract namespace, request GET_INIT_PID (4), believed only from a monitor run by
 * the owner or root (anyone may bind an abstract name). Undefined wherever it cannot tell.
 */
import { Socket } from 'node:net';
import { connectAbstract } from '@consfig/core/hop';

const GET_INIT_PID = 4;
const TIMEOUT_MS = 2000;
/** struct lxc_cmd_req and lxc_cmd_rsp: two ints and a pointer (64-bit here). */
const MESSAGE = 16;

export function initPidFromMonitor(name: string, lxcpath: string, ownerUid: number): Promise<number | undefined> {
  const path = `${lxcpath}/${name}/command`;
  if (lxcpath === '' || process.arch.endsWith('32') || process.arch === 'arm') return Promise.resolve(undefined);
  const connected = connectAbstract(path);
  if (!connected) return Promise.resolve(undefined);
  const socket = new Socket({ fd: connected.fd, readable: true, writable: true });
  if (connected.peerUid !== ownerUid && connected.peerUid !== 0) {
    socket.destroy();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    let answer = Buffer.alloc(0);
    const done = (pid: number | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(undefined), TIMEOUT_MS);
    socket.on('error', () => done(undefined));
    socket.on('end', () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < MESSAGE) return;
      const pid = Number(answer.readBigUInt64LE(8));
      done(answer.readInt32LE(0) === 0 && pid > 0 ? pid : undefined);
    });
    const request = Buffer.alloc(MESSAGE);
    request.writeInt32LE(GET_INIT_PID, 0);
    socket.write(request);
  });
}
