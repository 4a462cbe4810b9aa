/**
 * What an editor shows for each property of the library: its parameters by name (not
 * zod's `args_0`) and a sentence saying what it does, asked of TypeScript's language
 * service as an editor asks it.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as library from '../src/index.js';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const probeFile = `${src}__editor-probe.ts`;

/** Every function of every namespace: properties and the functions that build them. */
const members = Object.entries(library).flatMap(([ns, value]) =>
  typeof value === 'object' && value !== null
    ? Object.entries(value)
        .filter(([, v]) => typeof v === 'function' && !/^class\b/.test(Function.prototype.toString.call(v)))
        .map(([name]) => `${ns}.${name}`)
    : [],
);

function languageService(probe: string): ts.LanguageService {
  const options: ts.CompilerOptions = {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
  };
  const read = (f: string) => (f === probeFile ? probe : existsSync(f) ? readFileSync(f, 'utf8') : undefined);
  return ts.createLanguageService({
    getScriptFileNames: () => [probeFile],
    getScriptVersion: () => '1',
    getScriptSnapshot: (f) => {
      const text = read(f);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => src,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (f) => f === probeFile || ts.sys.fileExists(f),
    readFile: (f) => read(f),
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  });
}

describe('the library in an editor', () => {
  it('names every parameter and says in a sentence what each property does', () => {
    expect(members.length).toBeGreaterThan(100);
    const lines = members.map((m) => `${m}(`);
    const probe = `import { ${Object.keys(library).join(', ')} } from './index.js';\n${lines.join('\n')}\n`;
    const service = languageService(probe);
    const problems: string[] = [];
    let offset = probe.indexOf('\n') + 1;
    for (const line of lines) {
      const help = service.getSignatureHelpItems(probeFile, offset + line.length, undefined);
      const params = help?.items[0]?.parameters.map((p) => p.name) ?? ['(no signature)'];
      const unnamed = params.filter((p) => /^args(_\d+)?$|^\(no signature\)$/.test(p));
      if (unnamed.length > 0) problems.push(`${line.slice(0, -1)}(${params.join(', ')}): parameters without names`);
      const info = service.getQuickInfoAtPosition(probeFile, offset + line.length - 2);
      if (!ts.displayPartsToString(info?.documentation).trim()) problems.push(`${line.slice(0, -1)}: no doc comment`);
      offset += line.length + 1;
    }
    expect(problems).toEqual([]);
  });
});
