import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../src/agent/frame-reader.js';

const nonce = Buffer.from('@@N0@@');

function collect(reader: FrameReader, n: Buffer) {
  const got = { payload: '', trailer: undefined as string | undefined, chunks: 0 };
  reader.expect({
    nonce: n,
    data: (chunk) => {
      got.payload += chunk.toString();
      got.chunks++;
    },
    end: (trailer) => {
      got.trailer = trailer;
    },
  });
  return got;
}

describe('FrameReader', () => {
  it('finds a nonce split across chunks, with its trailer', () => {
    const r = new FrameReader(true);
    const got = collect(r, nonce);
    for (const piece of ['hel', 'lo @', '@N', '0@@ 1', '7\nnext']) r.push(Buffer.from(piece));
    expect(got).toMatchObject({ payload: 'hello ', trailer: ' 17' });
    expect(r.held().toString()).toBe('next');
  });

  it('waits for the trailer to be complete', () => {
    const r = new FrameReader(true);
    const got = collect(r, nonce);
    r.push(Buffer.from('x@@N0@@ 0'));
    expect(got.trailer).toBeUndefined();
    r.push(Buffer.from('\n'));
    expect(got).toMatchObject({ payload: 'x', trailer: ' 0' });
  });

  it('takes consecutive frames in order without a trailer', () => {
    const r = new FrameReader(false);
    const a = collect(r, nonce);
    const b = collect(r, Buffer.from('@@N1@@'));
    r.push(Buffer.from('a@@N0@@b@@N1@@'));
    expect([a.payload, a.trailer, b.payload, b.trailer]).toEqual(['a', '', 'b', '']);
    expect(r.held().length).toBe(0);
  });

  it('handles one byte at a time, passing on all but what may begin the nonce', () => {
    const r = new FrameReader(true);
    const got = collect(r, nonce);
    const text = 'payload with @@ and @@N but not the nonce@@N0@@ 3\n';
    for (const ch of text) r.push(Buffer.from(ch));
    expect(got).toMatchObject({ payload: 'payload with @@ and @@N but not the nonce', trailer: ' 3' });
    // streamed as it came, not held until the end
    expect(got.chunks).toBeGreaterThan(30);
  });

  it('keeps output that arrives before anyone expects it for the next frame', () => {
    const r = new FrameReader(false);
    r.push(Buffer.from('early '));
    const got = collect(r, nonce);
    r.push(Buffer.from('late@@N0@@'));
    expect(got).toMatchObject({ payload: 'early late', trailer: '' });
  });
});
