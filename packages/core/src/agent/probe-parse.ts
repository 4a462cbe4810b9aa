/**
 * Parses the stdout of a `__c_probe` request: NUL-separated find records (path, then
 * type, mode, ids, names and size, then the symlink target), then the names of the files
 * whose content follows, then the contents back to back. Contents are split by the sizes
 * stat reported; if a file changed size between the stat and the cat, the split does not
 * add up and the caller re-reads those files.
 */
import type { FileInfo, FileType } from '../connection.js';
import { AgentProtocolError } from '../errors.js';

/** find's %y letters. */
const TYPES: Record<string, FileType> = {
  f: 'file',
  d: 'directory',
  l: 'symlink',
  p: 'fifo',
  s: 'socket',
  c: 'char',
  b: 'block',
};

class Fields {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  next(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new AgentProtocolError('truncated probe answer');
    const field = this.buf.subarray(this.pos, end).toString('utf8');
    this.pos = end + 1;
    return field;
  }
  /** Fields up to the next empty one. */
  list(): string[] {
    const out: string[] = [];
    for (let f = this.next(); f !== ''; f = this.next()) out.push(f);
    return out;
  }
  rest(): Buffer {
    return this.buf.subarray(this.pos);
  }
}

export interface ProbeParse {
  entries: Map<string, FileInfo>;
  /** Paths whose content could not be split reliably and must be read again. */
  reread: string[];
}

export function parseProbe(paths: readonly string[], out: Buffer): ProbeParse {
  const fields = new Fields(out);
  const entries = new Map<string, FileInfo>();
  for (const path of paths) entries.set(path, { path, exists: false });

  for (let name = fields.next(); name !== ''; name = fields.next()) {
    const [type, mode, uid, gid, user, group, size] = fields.next().split(' ');
    const target = fields.next();
    entries.set(name, {
      path: name,
      exists: true,
      type: TYPES[type ?? ''] ?? 'file',
      mode: Number.parseInt(mode ?? '', 8),
      uid: Number(uid),
      gid: Number(gid),
      user: user!,
      group: group!,
      size: Number(size),
      ...(type === 'l' ? { target } : {}),
    });
  }

  const catted = fields.list();
  const content = fields.rest();
  const sizes = catted.map((p) => entries.get(p)?.size ?? -1);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.includes(-1) || total !== content.length) {
    return { entries, reread: catted };
  }
  let offset = 0;
  catted.forEach((p, i) => {
    const entry = entries.get(p)!;
    entry.content = Buffer.from(content.subarray(offset, offset + sizes[i]!));
    offset += sizes[i]!;
  });
  return { entries, reread: [] };
}
