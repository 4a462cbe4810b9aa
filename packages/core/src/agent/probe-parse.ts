/**
 * Parses the stdout of a `__c_probe` request: NUL-separated stat records, then symlink
 * targets, then the names of the files whose content follows, then the contents back to
 * back. Contents are split by the sizes stat reported; if a file changed size between
 * the stat and the cat, the split does not add up and the caller re-reads those files.
 */
import { AgentProtocolError } from '../errors.js';

export type FileType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block';

export interface FileInfo {
  path: string;
  exists: boolean;
  type?: FileType;
  /** Permission bits including setuid/setgid/sticky, e.g. 0o4755. */
  mode?: number;
  uid?: number;
  gid?: number;
  user?: string;
  group?: string;
  size?: number;
  /** For symlinks: where the link points. */
  target?: string;
  /** For regular files when content was asked for and could be read. */
  content?: Buffer;
}

const TYPES: Record<number, FileType> = {
  0o100000: 'file',
  0o040000: 'directory',
  0o120000: 'symlink',
  0o010000: 'fifo',
  0o140000: 'socket',
  0o020000: 'char',
  0o060000: 'block',
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
    const [rawMode, uid, gid, user, group, size] = fields.next().split(' ');
    const bits = Number.parseInt(rawMode ?? '', 16);
    entries.set(name, {
      path: name,
      exists: true,
      type: TYPES[bits & 0o170000] ?? 'file',
      mode: bits & 0o7777,
      uid: Number(uid),
      gid: Number(gid),
      user: user!,
      group: group!,
      size: Number(size),
    });
  }

  const links = fields.list();
  const targets = links.map(() => fields.next());
  if (fields.next() !== '') throw new AgentProtocolError('malformed probe answer (links)');
  links.forEach((link, i) => {
    const entry = entries.get(link);
    if (entry) entry.target = targets[i]!;
  });

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
