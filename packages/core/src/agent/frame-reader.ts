/**
 * Splits one output stream of the agent into per-request payloads. Each payload ends
 * with the request's nonce (on stdout followed by ` RC\n`). Chunks are kept as they
 * arrive and joined once per payload, and only the bytes that could hold the start of
 * a nonce are searched again, so a 100 MB payload costs linear time.
 */
export interface Frame {
  payload: Buffer;
  /** Text between the nonce and the newline (stdout: ` RC`); empty on stderr. */
  trailer: string;
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Absolute offset from which a nonce may still start. */
  private searchFrom = 0;
  /** Where the current nonce was found, once it has been. */
  private foundAt = -1;

  constructor(private readonly withTrailer: boolean) {}

  get buffered(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Try to take the payload ending in `nonce`; undefined while it is incomplete. */
  take(nonce: Buffer): Frame | undefined {
    if (this.foundAt < 0) {
      const region = this.slice(this.searchFrom, this.size);
      const i = region.indexOf(nonce);
      if (i < 0) {
        this.searchFrom = Math.max(this.searchFrom, this.size - nonce.length + 1);
        return undefined;
      }
      this.foundAt = this.searchFrom + i;
    }
    const end = this.foundAt + nonce.length;
    let stop = end;
    if (this.withTrailer) {
      const rest = this.slice(end, this.size);
      const nl = rest.indexOf(0x0a);
      if (nl < 0) return undefined;
      stop = end + nl + 1;
    }
    const all = this.slice(0, stop);
    const payload = all.subarray(0, this.foundAt);
    const trailer = all.subarray(end, this.withTrailer ? stop - 1 : stop).toString('latin1');
    this.consume(stop);
    return { payload, trailer };
  }

  /** Everything still buffered, e.g. to report what a dying chain printed. */
  drainAll(): Buffer {
    const all = this.slice(0, this.size);
    this.consume(this.size);
    return all;
  }

  private consume(n: number): void {
    let left = n;
    while (left > 0 && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      if (first.length <= left) {
        this.chunks.shift();
        left -= first.length;
      } else {
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.size -= n;
    this.searchFrom = 0;
    this.foundAt = -1;
  }

  /** Bytes [from, to) of the buffered data, copying only when they span chunks. */
  private slice(from: number, to: number): Buffer {
    if (from >= to) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    let offset = 0;
    for (const chunk of this.chunks) {
      const start = offset;
      const end = offset + chunk.length;
      offset = end;
      if (end <= from) continue;
      if (start >= to) break;
      parts.push(chunk.subarray(Math.max(0, from - start), Math.min(chunk.length, to - start)));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
