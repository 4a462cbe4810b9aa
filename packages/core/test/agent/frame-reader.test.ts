import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../src/agent/frame-reader.js';

const nonce = Buffer.from('@@N0@@');

describe('FrameReader', () => {
  it('finds a nonce split across chunks, with its trailer', () => {
    const r = new FrameReader(true);
    for (const piece of ['hel', 'lo @', '@N', '0@@ 1', '7\nnext']) {
      r.push(Buffer.from(piece));
    }
    const frame = r.take(nonce);
    expect(frame?.payload.toString()).toBe('hello ');
    expect(frame?.trailer).toBe(' 17');
    expect(r.drainAll().toString()).toBe('next');
  });

  it('waits for the trailer to be complete', () => {
    const r = new FrameReader(true);
    r.push(Buffer.from('x@@N0@@ 0'));
    expect(r.take(nonce)).toBeUndefined();
    r.push(Buffer.from('\n'));
    expect(r.take(nonce)?.payload.toString()).toBe('x');
  });

  it('takes consecutive frames in order without a trailer', () => {
    const r = new FrameReader(false);
    r.push(Buffer.from('a@@N0@@b@@N1@@'));
    expect(r.take(nonce)?.payload.toString()).toBe('a');
    expect(r.take(Buffer.from('@@N1@@'))?.payload.toString()).toBe('b');
    expect(r.buffered).toBe(0);
  });

  it('handles one byte at a time', () => {
    const r = new FrameReader(true);
    const text = 'payload with @@ and @@N but not the nonce@@N0@@ 3\n';
    let frame;
    for (const ch of text) {
      r.push(Buffer.from(ch));
      frame ??= r.take(nonce);
    }
    expect(frame?.payload.toString()).toBe('payload with @@ and @@N but not the nonce');
    expect(frame?.trailer).toBe(' 3');
  });
});
