/**
 * Asking the person at the terminal for a secret (a sudo password): on /dev/tty, so it
 * works whatever stdin and stdout are, with echo off. Each question is asked once per
 * run (hosts that share a sudo hop share its answer), one at a time.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ConsfigError, DeployAbortedError, type Ask } from '@consfig/core';

export interface AskHooks {
  /** Called before a question, and after it is answered (a live display steps aside). */
  before?(): void;
  after?(): void;
}

async function readSecret(question: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    throw new ConsfigError(`${question.trim()} needs a terminal to ask on, and there is none`);
  }
  // Loaded here: node:tty costs every run ~5 ms, and few runs ask anything.
  const { ReadStream } = createRequire(import.meta.url)('node:tty') as typeof import('node:tty');
  const input = new ReadStream(fd);
  input.setRawMode(true);
  writeSync(fd, question);
  return new Promise<string>((resolve, reject) => {
    let bytes: number[] = [];
    const finish = (settle: () => void) => {
      input.removeAllListeners('data');
      input.setRawMode(false);
      writeSync(fd, '\r\n');
      input.destroy();
      try {
        closeSync(fd);
      } catch {
        // closed with the stream
      }
      settle();
    };
    input.on('data', (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte === 0x0d || byte === 0x0a) return finish(() => resolve(Buffer.from(bytes).toString('utf8')));
        if (byte === 0x03) return finish(() => reject(new DeployAbortedError('interrupted at the password prompt')));
        if (byte === 0x7f || byte === 0x08) bytes = bytes.slice(0, -1);
        else if (byte === 0x15) bytes = [];
        else bytes.push(byte);
      }
    });
  });
}

export function terminalAsk(hooks: AskHooks = {}): Ask {
  const answers = new Map<string, Promise<string>>();
  let queue: Promise<unknown> = Promise.resolve();
  return (question) => {
    let answer = answers.get(question);
    if (!answer) {
      answer = queue.then(async () => {
        hooks.before?.();
        try {
          return await readSecret(question);
        } finally {
          hooks.after?.();
        }
      });
      queue = answer.catch(() => {});
      answers.set(question, answer);
      answer.catch(() => answers.delete(question));
    }
    return answer;
  };
}
