import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hostVars, YamlFileError } from '../../src/index.js';

function inventory(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'consfig-vars-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const schema = z.object({
  motd: z.string(),
  sshPort: z.number().int().default(22),
  db: z.object({ host: z.string(), port: z.number().int() }).optional(),
});

function thrown(f: () => unknown): YamlFileError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(YamlFileError);
    return error as YamlFileError;
  }
  throw new Error('did not throw');
}

describe('hostVars', () => {
  it('merges all, the groups in order, then the host, per top-level key, and applies defaults', () => {
    const dir = inventory({
      'group_vars/all.yml': 'motd: hello\ndb: { host: db1, port: 5432 }\n',
      'group_vars/web.yaml': 'motd: web server\n',
      'group_vars/eu.yml': 'db:\n  host: db-eu\n  port: 5433\n',
      'host_vars/web1.example.yml': 'sshPort: 2222\n',
    });
    const vars = hostVars(pathToFileURL(dir), schema);
    expect(vars('web1.example', ['web', 'eu'])).toEqual({
      motd: 'web server',
      sshPort: 2222,
      db: { host: 'db-eu', port: 5433 },
    });
    expect(vars('db1.example')).toEqual({ motd: 'hello', sshPort: 22, db: { host: 'db1', port: 5432 } });
    expect(vars.dir).toBe(dir);
  });

  it('names the file, line and key of a wrong value, and the files that could have had a missing one', () => {
    const dir = inventory({
      'group_vars/all.yml': 'motd: hi\n',
      'host_vars/web1.yml': '# web1\nsshPort: 22\ndb:\n  host: db1\n  port: "5432"\n',
      'host_vars/web2.yml': 'sshPort: twenty-two\n',
    });
    const vars = hostVars(dir, schema);
    const nested = thrown(() => vars('web1'));
    expect(nested.code).toBe('CONSFIG_YAML_INVALID');
    expect([nested.file, nested.line, nested.key, nested.host]).toEqual([
      join(dir, 'host_vars/web1.yml'),
      5,
      'db.port',
      'web1',
    ]);
    expect(nested.message).toMatch(/host_vars\/web1\.yml:5: db\.port: Expected number, received string$/);
    expect(thrown(() => vars('web2')).message).toMatch(
      /host_vars\/web2\.yml:1: sshPort: Expected number, received string$/,
    );

    const bare = hostVars(inventory({ 'host_vars/web3.yml': 'sshPort: 22\n' }), schema);
    const missing = thrown(() => bare('web3', ['web']));
    expect(missing.file).toBeUndefined();
    expect(missing.message).toMatch(
      /\{group_vars\/all\.yml,group_vars\/web\.yml,host_vars\/web3\.yml\} for web3: motd: Required$/,
    );
  });

  it('refuses malformed YAML with its line, a file not a mapping, and group names that leave the directory', () => {
    const dir = inventory({
      'group_vars/all.yml': 'motd: hi\n',
      'host_vars/bad.yml': 'motd: hi\nsshPort: [1, 2\n',
      'host_vars/dup.yml': 'motd: a\nmotd: b\n',
      'host_vars/list.yml': '- motd\n',
    });
    const vars = hostVars(dir, schema);
    expect(thrown(() => vars('bad')).message).toMatch(/host_vars\/bad\.yml:\d+: .+/);
    const dup = thrown(() => vars('dup'));
    expect([dup.line, dup.message]).toEqual([2, expect.stringMatching(/dup\.yml:2: Map keys must be unique/)]);
    expect(thrown(() => vars('list')).message).toMatch(/list\.yml:1: vars must be a mapping/);
    expect(thrown(() => vars('x', ['../host_vars/bad'])).message).toMatch(
      /group_vars name "..\/host_vars\/bad" cannot name a file/,
    );
  });
});
