/**
 * Prerequisite data kept in one YAML file: top-level keys are `iden1` (a host's name, or
 * `_shared`-style names), the keys below them `iden2`, and each value the item's content
 * as text, or `{ base64: ... }` for bytes that are not text.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { DataSource } from '../data.js';
import { issueError, readYamlFile, YamlFileError, type YamlFile } from './document.js';

const itemSchema = z.union([z.string(), z.object({ base64: z.string().base64() }).strict()], {
  errorMap: () => ({ message: 'an item is text, or { base64: ... }' }),
});
const fileSchema = z.record(
  z.string(),
  z.record(z.string(), itemSchema, {
    invalid_type_error: 'each host (iden1) maps names (iden2) to items',
  }),
  { invalid_type_error: 'the file maps iden1 to its items' },
);

type Items = z.infer<typeof fileSchema>;

export interface YamlSourceOptions {
  /** A missing file is an error unless this is true (it then has no items). */
  optional?: boolean;
}

/** Items from a YAML file, read and checked once, at the first `get`. */
export function yamlSource(path: string | URL, options: YamlSourceOptions = {}): DataSource {
  const file = typeof path === 'string' ? resolve(path) : fileURLToPath(path);
  let items: Items | undefined;
  const load = (): Items => {
    if (items) return items;
    const parsed: YamlFile | undefined = readYamlFile(file);
    if (parsed === undefined) {
      if (options.optional) return (items = {});
      throw new YamlFileError(`data file ${file} does not exist`, file, undefined, undefined);
    }
    const result = fileSchema.safeParse(parsed.data ?? {});
    if (!result.success) throw issueError(result.error.issues[0]!, parsed, file);
    return (items = result.data);
  };
  return {
    name: `yaml:${file}`,
    async get(item) {
      const all = load();
      const byHost = Object.hasOwn(all, item.iden1) ? all[item.iden1]! : {};
      const value = Object.hasOwn(byHost, item.iden2) ? byHost[item.iden2] : undefined;
      if (value === undefined) return undefined;
      return typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.base64, 'base64');
    },
  };
}
