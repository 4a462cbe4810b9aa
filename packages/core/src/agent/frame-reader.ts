/**
 * Splits one output stream of the agent into per-request payloads, as the bytes arrive.
 * Each payload ends with its request's nonce (on stdout followed by ` RC\n`). Bytes that
 * cannot be part of the nonce go to the request's handler at once, so a payload never
 * has to sit in memory whole: a handler may collect it, cap it or stream it on. Only the
 * few trailing bytes that could begin the nonce are held back between chunks.
 */

export interface FrameHandler {
  readonly nonce: Buffer;
  /** Payload bytes, in order. */
  data(chunk: Buffer): void;
  /** The nonce was seen; `trailer` is the text after it up to the newline (stdout: ` RC`). */
  end(trailer: string): void;
}

const EMPTY = Buffer.alloc(0);

/** Length of the longest suffix of `data` that is a proper prefix of `nonce`. */
function partialNonceAtEnd(data: Buffer, nonce: Buffer): number {
  for (let k = Math.min(nonce.length - 1, data.length); k > 0; k--) {
    if (data.subarray(data.length - k).equals(nonce.subarray(0, k))) return k;
  }
  return 0;
}

export class FrameReader {
  private readonly queue: FrameHandler[] = [];
  /** Bytes held back: a possible start of the nonce, or output nobody expects yet. */
  private carry: Buffer = EMPTY;
  private inTrailer = false;
  private trailer: Buffer[] = [];

  constructor(private readonly withTrailer: boolean) {}

  /** The next payload on this stream belongs to `handler` (requests answer in order). */
  expect(handler: FrameHandler): void {
    this.queue.push(handler);
    if (this.queue.length === 1 && this.carry.length > 0) {
      const held = this.carry;
      this.carry = EMPTY;
      this.push(held);
    }
  }

  push(chunk: Buffer): void {
    let data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = EMPTY;
    while (data.length > 0) {
      const head = this.queue[0];
      if (!head) {
        this.carry = Buffer.from(data);
        return;
      }
      if (this.inTrailer) {
        const nl = data.indexOf(0x0a);
        if (nl < 0) {
          this.trailer.push(Buffer.from(data));
          return;
        }
        this.trailer.push(data.subarray(0, nl));
        data = data.subarray(nl + 1);
        this.finish(Buffer.concat(this.trailer).toString('latin1'));
        continue;
      }
      const at = data.indexOf(head.nonce);
      if (at >= 0) {
        if (at > 0) head.data(data.subarray(0, at));
        data = data.subarray(at + head.nonce.length);
        if (this.withTrailer) {
          this.inTrailer = true;
          this.trailer = [];
        } else {
          this.finish('');
        }
        continue;
      }
      const keep = partialNonceAtEnd(data, head.nonce);
      if (data.length > keep) head.data(data.subarray(0, data.length - keep));
      this.carry = Buffer.from(data.subarray(data.length - keep));
      return;
    }
  }

  /** Bytes held back and not given to any handler (what a dying chain printed last). */
  held(): Buffer {
    return this.carry;
  }

  private finish(trailer: string): void {
    this.inTrailer = false;
    this.trailer = [];
    this.queue.shift()!.end(trailer);
  }
}
