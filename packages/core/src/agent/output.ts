/**
 * Where a request's output goes: collected whole, collected up to a limit (its head and
 * tail kept, the middle counted), or streamed on to a sink as it arrives.
 */

export interface Collected {
  bytes: Buffer;
  /** Bytes left out between the head and the tail (0 when nothing was). */
  omitted: number;
}

/** Keeps everything, or with a limit the first and last `limit / 2` bytes. */
export class Collector {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private omitted = 0;

  constructor(private readonly limit = Number.POSITIVE_INFINITY) {}

  add(chunk: Buffer): void {
    const half = Math.floor(this.limit / 2);
    if (this.headBytes < half) {
      const take = Math.min(chunk.length, half - this.headBytes);
      // Copies: the chunk may be a view into a larger read buffer.
      this.head.push(Buffer.from(chunk.subarray(0, take)));
      this.headBytes += take;
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    this.tail.push(Buffer.from(chunk));
    this.tailBytes += chunk.length;
    while (this.tailBytes > half) {
      const first = this.tail[0]!;
      const over = this.tailBytes - half;
      if (first.length <= over) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.omitted += first.length;
      } else {
        this.tail[0] = first.subarray(over);
        this.tailBytes -= over;
        this.omitted += over;
      }
    }
  }

  result(): Collected {
    return { bytes: Buffer.concat([...this.head, ...this.tail]), omitted: this.omitted };
  }
}
