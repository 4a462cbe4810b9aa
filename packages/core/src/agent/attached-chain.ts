/**
 * A chain to an agent that an earlier run left listening (Hop.agentSocket): a helper that
 * entered a container once keeps a server there, which forks an agent for every caller,
 * so a later run costs two connects instead of a process chain and the entering.
 *
 * A caller connects twice, the agent's stdin and stdout on the first connection and its
 * stderr on the second (kept apart, as a chain's pipes are), and pairs them with one line
 * on each: `consfig-agent main NONCE` and `consfig-agent err NONCE`. The agent ends at the
 * end of its input, as any chain's; the connections' end is the chain's exit.
 */
import { closeSync, lstatSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { createConnection, Socket } from 'node:net';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { connectPath } from '../native/unix-socket.js';
import { randomHex } from '../random.js';
import { StreamedChain, type ChainProcess } from './spawn-chain.js';

/**
 * The chain to the agent kept at `path`, or undefined where none answers there: no such
 * socket, or one left by a server that has gone (removed then, so that the helper started
 * instead can listen there again). Connected synchronously (through koffi), for a chain
 * started when first needed, which is started synchronously.
 */
export function attachAgentSync(path: string): ChainProcess | undefined {
  if (!isSocket(path)) return noneAt(path);
  const main = connectPath(path);
  if (main === -constants.errno.ECONNREFUSED) return noneAt(path, true);
  if (main < 0) return undefined;
  const err = connectPath(path);
  if (err < 0) {
    closeSync(main);
    return undefined;
  }
  const nonce = randomHex(16);
  try {
    // Written before Node takes the sockets (non-blocking then): a line is far below a socket's buffer.
    writeSync(main, hello('main', nonce));
    writeSync(err, hello('err', nonce));
  } catch {
    closeSync(main);
    closeSync(err);
    return undefined;
  }
  return new AttachedChain(
    new Socket({ fd: main, readable: true, writable: true, allowHalfOpen: true }),
    new Socket({ fd: err, readable: true, writable: false }),
  );
}

/** attachAgentSync by Node's own connect, for a chain started at once: no koffi loaded for it (~3.5 ms). */
export async function attachAgent(path: string): Promise<ChainProcess | undefined> {
  if (!isSocket(path)) return noneAt(path);
  // The main connection stays open for the agent's answers after the end of its input.
  const connect = (allowHalfOpen: boolean) =>
    new Promise<Socket | undefined>((resolve) => {
      const socket = createConnection({ path, allowHalfOpen });
      const failed = (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') noneAt(path, true);
        resolve(undefined);
      };
      socket.once('error', failed);
      socket.once('connect', () => {
        socket.removeListener('error', failed);
        resolve(socket);
      });
    });
  const [main, err] = await Promise.all([connect(true), connect(false)]);
  if (!main || !err) {
    main?.destroy();
    err?.destroy();
    return undefined;
  }
  const nonce = randomHex(16);
  main.write(hello('main', nonce));
  err.write(hello('err', nonce));
  return new AttachedChain(main, err);
}

function hello(kind: 'main' | 'err', nonce: string): string {
  return `consfig-agent ${kind} ${nonce}\n`;
}

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Directories swept in this process. */
const swept = new Set<string>();

/**
 * Nothing answers at `path` (its socket, where `stale`, is removed, so that the helper
 * started instead can listen there): a helper will keep a new agent, so the sockets of
 * agents that have ended are swept from the directory, once a process. The directory
 * holds only such sockets (Hop.agentSocket); one nothing listens on is removed, those
 * answering are left (connecting without the line leaves their servers as they were).
 */
function noneAt(path: string, stale = false): undefined {
  if (stale) removeStale(path);
  const dir = dirname(path);
  if (swept.has(dir)) return undefined;
  swept.add(dir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.sock'));
  } catch {
    return undefined;
  }
  for (const name of names) {
    const other = join(dir, name);
    if (other === path || !isSocket(other)) continue;
    const fd = connectPath(other);
    if (fd >= 0) closeSync(fd);
    else if (fd === -constants.errno.ECONNREFUSED) removeStale(other);
  }
  return undefined;
}

/** A socket nothing listens on any more. */
function removeStale(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already: the helper then listens there, or keeps no server
  }
}

class AttachedChain extends StreamedChain {
  /** No process of this machine's: the agent's own pid is in its greeting. */
  readonly pid = undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;

  /** One socket both ways (`main`: ending stdin shuts down its writing half, the agent's input), and its stderr. */
  constructor(main: Socket, err: Socket) {
    super();
    this.stdin = main;
    this.stdout = main;
    this.stderr = err;
    this.watchStreams();
  }

  /** Why we hung up, told as the signal a chain of processes would have been killed with. */
  private hungUp: NodeJS.Signals | undefined;

  /** The agent's end is its connections' end: it says nothing of how it ended. */
  protected override outputClosed(): void {
    const signal = this.hungUp === undefined ? undefined : constants.signals[this.hungUp];
    this.exited(signal === undefined ? { code: 0, signal: null } : { code: null, signal });
  }

  hangUp(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.hungUp ??= signal;
    (this.stdout as Socket).destroy();
    this.stderr.destroy();
  }
}
