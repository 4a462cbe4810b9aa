/**
 * consfig's runtime at the far end of a chain: JavaScript (or TypeScript) bundled on the
 * deploying machine, uploaded once per content hash, cached on the target and run there
 * through the agent, with the chain's privileges. It runs on the target's own node
 * where that is recent enough; elsewhere on a node consfig ships: this machine's own
 * binary, uploaded once per version under /usr/local/lib/consfig/runtime (it needs only
 * the C and C++ libraries every Debian has).
 */
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { readFile } from 'node:fs/promises';
import { ConsfigError, type PropertyContext, type TextResult } from '@consfig/core/property';
import { bundle, type Bundle } from './bundle.js';

/** Where the shipped node and uploaded code live: root's, or the user's own (in their home). */
async function farEndDirs(ctx: PropertyContext): Promise<{ runtime: string; code: string }> {
  if (ctx.uid === 0) return { runtime: '/usr/local/lib/consfig/runtime', code: '/var/cache/consfig/js' };
  const home = await ctx.memo(
    'runtime.home',
    async () => (await ctx.run(['sh', '-c', 'printf %s "$HOME"'], { readOnly: true })).stdout,
  );
  if (!home.startsWith('/')) ctx.fail(`the user on ${ctx.hostname} has no home for consfig's runtime`);
  return { runtime: `${home}/.cache/consfig/runtime`, code: `${home}/.cache/consfig/js` };
}

const ARCH: Record<string, string> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  arm: 'armv7l',
  ia32: 'i686',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** What this machine's node is called on a target: by version, architecture and size. */
export function shippedNodeName(): string {
  return `node-${process.version}-${process.arch}-${statSync(process.execPath).size}`;
}

const FIND_NODE = String.raw`for n in /usr/local/bin/node /usr/bin/node; do
  [ -x "$n" ] || continue
  v=$("$n" -p 'process.versions.node.split(".")[0]' 2>/dev/null) || continue
  [ "$v" -ge 20 ] 2>/dev/null && { echo "$n"; exit 0; }
done
exit 1`;

/** Where the node consfig ships lives on the target (whether or not it is there yet). */
export async function shippedNodeLocation(ctx: PropertyContext): Promise<string> {
  return `${(await farEndDirs(ctx)).runtime}/${shippedNodeName()}/node`;
}

/**
 * A node at the far end: the shipped one (uploaded if it is not there yet), or, with
 * `own: true`, the target's own where it is 20 or newer. In a dry run nothing is
 * uploaded: undefined says it would be.
 */
export async function nodeAtFarEnd(ctx: PropertyContext, options: { own?: boolean } = {}): Promise<string | undefined> {
  if (options.own) {
    const found = await ctx.run(['sh', '-c', FIND_NODE], { readOnly: true, allowFailure: true });
    if (found.exitCode === 0) return found.stdout.trim();
  }
  const { runtime } = await farEndDirs(ctx);
  const path = await shippedNodeLocation(ctx);
  const dir = posix.dirname(path);
  if ((await ctx.stat(path)).exists) return path;
  if (ctx.dryRun) return undefined;
  const machine = (await ctx.run(['uname', '-m'], { readOnly: true })).stdout.trim();
  if (ARCH[process.arch] !== machine) {
    ctx.fail(`${ctx.hostname} is ${machine}, this machine's node is ${process.arch}: install node 20 or newer there`);
  }
  await ctx.run(['mkdir', '-p', '--', dir], { affects: [runtime] });
  await ctx.writeFile(path, await readFile(process.execPath), { mode: 0o755 });
  const works = await ctx.run([path, '-e', ''], { allowFailure: true, readOnly: true });
  if (works.exitCode !== 0) {
    await ctx.run(['rm', '-rf', '--', dir], { affects: [runtime] });
    ctx.fail(
      `this machine's node does not run on ${ctx.hostname}: ${works.stderr.trim() || `exit code ${works.exitCode}`}`,
    );
  }
  return path;
}

export interface FarEndCall {
  /** The module to run (a path or file URL); its export is called. */
  module: string | URL;
  /** Which export (default: `default`). It gets (argv, env) and may return an exit code. */
  export?: string;
  argv?: readonly string[];
  input?: string | Uint8Array;
}

function modulePath(m: string | URL): string {
  return typeof m === 'string' ? (m.startsWith('file:') ? new URL(m).pathname : m) : m.pathname;
}

/** The bundle that calls the module's export with the process's argv and environment. */
export function bundleCall(call: Pick<FarEndCall, 'module' | 'export'>): Promise<Bundle> {
  const path = modulePath(call.module);
  const name = call.export ?? 'default';
  return bundle({
    resolveDir: '/',
    contents: `import * as m from ${JSON.stringify(path)};
const f = m[${JSON.stringify(name)}];
if (typeof f !== 'function') throw new Error(${JSON.stringify(`${path} has no function export ${name}`)});
Promise.resolve(f(process.argv.slice(2), process.env)).then(
  (code) => { process.exitCode = typeof code === 'number' ? code : 0; },
  (error) => { process.stderr.write(String(error && error.message || error) + '\\n'); process.exitCode = 1; },
);
`,
  });
}

/**
 * Run a module's export at the far end, with the chain's privileges there: bundled here,
 * uploaded once per content hash (kept in /var/cache/consfig/js), run by the target's own
 * node where it is recent enough, else by the node consfig ships.
 */
export async function runAtFarEnd(ctx: PropertyContext, call: FarEndCall): Promise<TextResult> {
  const code = await bundleCall(call);
  const node = await nodeAtFarEnd(ctx, { own: true });
  if (!node)
    throw new ConsfigError(`running code on ${ctx.hostname} needs node there, which a dry run does not upload`);
  const dir = (await farEndDirs(ctx)).code;
  const file = `${dir}/${code.hash}.cjs`;
  if (!(await ctx.stat(file)).exists) {
    await ctx.run(['mkdir', '-p', '--', dir], { affects: [dir] });
    await ctx.writeFile(file, code.code, { mode: 0o644 });
  }
  return ctx.run([node, file, ...(call.argv ?? [])], {
    allowFailure: true,
    ...(call.input !== undefined ? { input: call.input } : {}),
  });
}
