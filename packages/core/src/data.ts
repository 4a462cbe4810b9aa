/**
 * Prerequisite data: secrets and files that live on the deploying machine and are
 * delivered to targets. Properties declare what they need in their hostattrs step
 * (`requireData`), the engine fetches all of it from the data sources before it opens
 * any connection (a missing item fails the host before anything changes), and
 * properties read it with `ctx.getData`. Data travels to the target only as the payload
 * of writes, on stdin through the whole chain: never in argv, logs or events.
 *
 * An item is named by two identifiers, as in Consfigurator: `iden1` is usually the
 * host's name (or `_name` for data shared between hosts) and `iden2` a path or key.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { dynamicImport } from './dynamic-import.js';
import { ConsfigError } from './errors.js';
import { hostattr } from './hostattrs.js';

export interface DataItem {
  iden1: string;
  iden2: string;
}

/** Where prerequisite data comes from. `get` resolves undefined when it has no such item. */
export interface DataSource {
  readonly name: string;
  get(item: DataItem): Promise<Buffer | undefined>;
}

/** The data a host's properties declared they need. */
export const dataAttr = hostattr('data', z.object({ iden1: z.string().min(1), iden2: z.string().min(1) }));

export class MissingDataError extends ConsfigError {
  override readonly code = 'CONSFIG_MISSING_DATA';
  readonly item: DataItem;
  constructor(item: DataItem, message: string, context: { host?: string; property?: string } = {}) {
    super(message, context);
    this.item = item;
  }
}

function describeItem(item: DataItem): string {
  return `(${item.iden1}, ${item.iden2})`;
}

function safeSegment(value: string, what: string): string {
  const n = normalize(value).replace(/^\/+/, '');
  if (n === '' || n.startsWith('..'))
    throw new MissingDataError(
      { iden1: what, iden2: value },
      `data ${what} ${JSON.stringify(value)} leaves the data directory`,
    );
  return n;
}

/** Files below `dir`: `dir/IDEN1/IDEN2` (a leading slash of iden2 dropped). */
export function fileSource(dir: string): DataSource {
  return {
    name: `files:${dir}`,
    async get(item) {
      const path = join(dir, safeSegment(item.iden1, 'iden1'), safeSegment(item.iden2, 'iden2'));
      try {
        return await readFile(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
  };
}

/** Environment variables: `PREFIX` + a name made from the identifiers (`CONSFIG_DATA_web1_db_password`). */
export function envSource(prefix = 'CONSFIG_DATA_', env: NodeJS.ProcessEnv = process.env): DataSource {
  const key = (item: DataItem) => `${prefix}${`${item.iden1}_${item.iden2}`.replace(/[^A-Za-z0-9_]/g, '_')}`;
  return {
    name: `env:${prefix}*`,
    async get(item) {
      const value = env[key(item)];
      return value === undefined ? undefined : Buffer.from(value);
    },
  };
}

/**
 * A command that prints the item, e.g. `commandSource(['pass', 'show', '{iden1}/{iden2}'])`.
 * Exit code 1 with no output means "no such item"; other failures are errors.
 */
export function commandSource(
  argv: readonly string[],
  options: { missingExitCodes?: number[]; timeoutMs?: number } = {},
): DataSource {
  const missing = options.missingExitCodes ?? [1];
  return {
    name: `command:${argv[0]}`,
    async get(item) {
      const args = argv.map((a) => a.replaceAll('{iden1}', item.iden1).replaceAll('{iden2}', item.iden2));
      // Loaded on first use: execa costs a run that needs no command ~0.1 s of start-up.
      const { execa } = await dynamicImport<typeof import('execa')>(
        pathToFileURL(createRequire(import.meta.url).resolve('execa')).href,
      );
      const result = await execa(args[0]!, args.slice(1), {
        encoding: 'buffer',
        reject: false,
        stdin: 'ignore',
        maxBuffer: 256 << 20,
        stripFinalNewline: false, // the item's bytes, exactly
        ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      });
      if (!result.failed) return Buffer.from(result.stdout);
      if (result.exitCode !== undefined && missing.includes(result.exitCode)) return undefined;
      const why = Buffer.from(result.stderr).toString().trim() || result.shortMessage;
      throw new ConsfigError(`data source ${args[0]} failed for ${describeItem(item)}: ${why}`);
    },
  };
}

/** Fetch every item, first source that has it wins. Throws MissingDataError naming the host. */
export async function fetchData(
  host: string,
  items: readonly DataItem[],
  sources: readonly DataSource[],
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for (const item of items) {
    const key = dataKey(item);
    if (found.has(key)) continue;
    let value: Buffer | undefined;
    for (const source of sources) {
      value = await source.get(item);
      if (value !== undefined) break;
    }
    if (value === undefined) {
      const where =
        sources.length === 0 ? 'no data sources are configured' : `looked in ${sources.map((s) => s.name).join(', ')}`;
      throw new MissingDataError(item, `missing prerequisite data ${describeItem(item)} (${where})`, { host });
    }
    found.set(key, value);
  }
  return found;
}

/** One item, first source that has it wins (a hop's password, say). */
export async function fetchItem(
  host: string,
  iden1: string,
  iden2: string,
  sources: readonly DataSource[],
): Promise<Buffer> {
  const item = { iden1, iden2 };
  return (await fetchData(host, [item], sources)).get(dataKey(item))!;
}

export function dataKey(item: DataItem): string {
  return `${item.iden1}\u0000${item.iden2}`;
}
