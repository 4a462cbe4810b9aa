/**
 * Every TypeScript snippet in README.md and docs/*.md typechecks against the built
 * packages, as a user's file would (strict, NodeNext), so that none drifts from the API.
 * A snippet that is a fragment says what it assumes in an HTML comment just above its
 * fence, invisible on the page: `<!-- context: declare const props: PropSpec[]; -->`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const top = fileURLToPath(new URL('../../..', import.meta.url));
const docs = ['README.md', ...readdirSync(join(top, 'docs')).map((f) => join('docs', f))].filter((f) =>
  f.endsWith('.md'),
);

interface Snippet {
  doc: string;
  line: number;
  code: string;
}

function snippets(doc: string): Snippet[] {
  const lines = readFileSync(join(top, doc), 'utf8').split('\n');
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue;
    const end = lines.indexOf('```', i + 1);
    const context = /^<!-- context: (.*) -->$/.exec(lines[i - 1] ?? '')?.[1] ?? '';
    // The context goes on the snippet's first line, so that line numbers stay the page's.
    found.push({ doc, line: i + 2, code: `${context}\n${lines.slice(i + 1, end).join('\n')}\n` });
    i = end;
  }
  return found;
}

describe('the docs', () => {
  it('have TypeScript snippets that typecheck against the packages as shipped', () => {
    const all = docs.flatMap(snippets);
    expect(all.length).toBeGreaterThan(10);
    // Under the CLI package's node_modules, the packages resolve as in a user's project.
    const dir = join(top, 'packages/cli/node_modules/.cache/doc-snippets');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = new Map<string, Snippet>();
    all.forEach((s, n) => {
      const file = join(dir, `${basename(s.doc, '.md')}-${n}.mts`);
      writeFileSync(file, s.code);
      files.set(file, s);
    });
    const program = ts.createProgram([...files.keys()], {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(top, 'node_modules/@types')],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      const snippet = d.file && files.get(d.file.fileName);
      if (!snippet || d.start === undefined) return text;
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start);
      return `${snippet.doc}:${snippet.line + line - 1}: ${text}`;
    });
    expect(problems).toEqual([]);
  });
});
