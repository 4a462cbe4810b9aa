/**
 * Reading YAML files users keep beside their consfig (data, group and host vars), with
 * errors that say where: file, line and key. Files are read synchronously because a
 * consfig builds its hosts at module top level, before anything is deployed.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { createRequire } from 'node:module';
import type { Document } from 'yaml';
import type { ZodIssue } from 'zod';
import { ConsfigError } from '../errors.js';

/** A YAML file that does not parse, or whose values are not what the schema asks. */
export class YamlFileError extends ConsfigError {
  override readonly code = 'CONSFIG_YAML_INVALID';
  constructor(
    message: string,
    /** The file, when one file is at fault (not for a value no file has). */
    readonly file: string | undefined,
    /** 1-based line of the offending value, when the file has it. */
    readonly line: number | undefined,
    /** The key path of the offending value (`db.port`), when there is one. */
    readonly key: string | undefined,
  ) {
    super(message);
  }
}

export interface YamlFile {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly data: unknown;
  /** The 1-based line where the value at `path` starts, or its nearest ancestor's. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

/** Shown paths are relative to the working directory when that is shorter. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && rel.length < file.length ? rel : file;
}

export function keyPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** Parse `file`; a missing file is undefined, a malformed one a YamlFileError. */
export function readYamlFile(file: string): YamlFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new YamlFileError(`${displayPath(file)}: ${(error as Error).message}`, file, undefined, undefined);
  }
  // Required on first use, synchronously (hosts are built as the config loads): yaml
  // costs every run that reads no YAML ~0.05 s of start-up.
  const { isMap, LineCounter, parseDocument } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = counter.linePos(first.pos[0]).line;
    throw new YamlFileError(`${displayPath(file)}:${line}: ${first.message.split('\n')[0]}`, file, line, undefined);
  }
  return {
    file,
    doc,
    data: doc.toJS({ maxAliasCount: 100 }) as unknown,
    lineOf(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        const parent = n > 0 ? doc.getIn(path.slice(0, n - 1), true) : undefined;
        // A key's own line reads better than its value's, which may start on the next.
        if (n > 0 && isMap(parent)) {
          const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === path[n - 1]);
          const range = (pair?.key as { range?: [number, number, number] } | null)?.range;
          if (range) return counter.linePos(range[0]).line;
        }
        if (node?.range) return counter.linePos(node.range[0]).line;
      }
      return undefined;
    },
  };
}

/** A YamlFileError for a zod issue found in `source` (or in no file, for a missing key). */
export function issueError(issue: ZodIssue, source: YamlFile | undefined, lookedIn: string): YamlFileError {
  const key = issue.path.length > 0 ? keyPath(issue.path) : undefined;
  const what = key === undefined ? issue.message : `${key}: ${issue.message}`;
  if (source === undefined) return new YamlFileError(`${lookedIn}: ${what}`, undefined, undefined, key);
  const line = source.lineOf(issue.path);
  const where = line === undefined ? displayPath(source.file) : `${displayPath(source.file)}:${line}`;
  return new YamlFileError(`${where}: ${what}`, source.file, line, key);
}
