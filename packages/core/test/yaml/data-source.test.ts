import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fetchData, MissingDataError, yamlSource, YamlFileError } from '../../src/public/property.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'consfig-yaml-data-')), 'data.yml');
  writeFileSync(path, text);
  return path;
}

describe('yamlSource', () => {
  it('gives text and base64 items by iden1 and iden2, and nothing for what it lacks', async () => {
    const source = yamlSource(
      file('web1.example:\n  /etc/db.conf: |\n    password=s3cret\n  key.bin: { base64: AAEC/w== }\n'),
    );
    expect((await source.get({ iden1: 'web1.example', iden2: '/etc/db.conf' }))?.toString()).toBe('password=s3cret\n');
    expect([...(await source.get({ iden1: 'web1.example', iden2: 'key.bin' }))!]).toEqual([0, 1, 2, 255]);
    expect(await source.get({ iden1: 'web1.example', iden2: 'constructor' })).toBeUndefined();
    expect(await source.get({ iden1: 'web2.example', iden2: 'x' })).toBeUndefined();
    const missing = await fetchData('web2.example', [{ iden1: 'web2.example', iden2: 'x' }], [source]).catch(
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(MissingDataError);
    expect((missing as Error).message).toMatch(/\(web2\.example, x\) \(looked in yaml:.*data\.yml\)/);
  });

  it('names the file, line and key of a bad item, and a missing file unless optional', async () => {
    const bad = yamlSource(file('web1:\n  ok: fine\n  port: 5432\n'));
    const error = await bad.get({ iden1: 'web1', iden2: 'ok' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(YamlFileError);
    expect([(error as YamlFileError).line, (error as YamlFileError).key]).toEqual([3, 'web1.port']);
    expect((error as Error).message).toMatch(/data\.yml:3: web1\.port: an item is text, or \{ base64: \.\.\. \}$/);
    await expect(yamlSource('/nonexistent/data.yml').get({ iden1: 'a', iden2: 'b' })).rejects.toThrow(/does not exist/);
    expect(
      await yamlSource('/nonexistent/data.yml', { optional: true }).get({ iden1: 'a', iden2: 'b' }),
    ).toBeUndefined();
  });
});
