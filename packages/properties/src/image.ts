/**
 * image: executables that carry a host's metadata to run on their own, as
 * Consfigurator's dumped images do. `image.dumped({ path, entry })` bundles the module
 * `entry` (TypeScript or JavaScript) here, with the hostattrs of this host and of the
 * hosts they name (its containers), and writes one file at `path` on the target: a
 * small sh launcher, the data and the bundle. It runs on the node consfig ships to the
 * target (see runtime.ts), so it needs nothing of the deploying machine: no config, no
 * network, no node of the target's own. Running it calls `entry(host, argv, env)`,
 * where `host` answers the same hostattr queries as during the deploy.
 *
 * Run as root through sudo or userv, the launcher starts node with an empty environment
 * but for the variables `keepEnv` names: NODE_OPTIONS, LD_PRELOAD and the like from a
 * caller never reach node. The file is rewritten only when what it carries changed (its
 * second line holds the hash of all of it), atomically by rename, so a running copy is
 * never touched.
 */
import { posix } from 'node:path';
import {
  defprop,
  isHost,
  sha256Hex,
  shellQuote,
  type HostattrView,
  type PropertyContext,
  withParams,
  type Arg,
} from '@consfig/core/property';
import { z } from 'zod';
import { bundle, ownModule } from './bundle.js';
import type { CarriedData, CarriedHost } from './image-runtime.js';
import { nodeAtFarEnd, shippedNodeLocation } from './runtime.js';
import { absolutePath, fileMode } from './schemas.js';

export { ImageRefusal } from './image-runtime.js';
export type { ImageEntry, ImageHost } from './image-runtime.js';

/** The variables an image passes on by default: what userv, sudo and LXC hooks set. */
export const DEFAULT_KEEP_ENV = ['USERV_*', 'LXC_*', 'SUDO_USER', 'SUDO_UID', 'SUDO_GID'];

const envPattern = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'must be a variable name, optionally ending in *');

const options = z
  .object({
    path: absolutePath,
    /** The module whose export is the entry: a path or file URL. */
    entry: z.union([z.string().min(1), z.instanceof(URL)]),
    export: z
      .string()
      .regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/)
      .default('default'),
    mode: fileMode.default('0755'),
    keepEnv: z.array(envPattern).default(DEFAULT_KEEP_ENV),
  })
  .strict();
type ImageOptions = z.output<typeof options>;

// Runs in node -e: finds the data and the bundle in the image file and calls the entry.
const LOADER = [
  'const fs=require("fs"),vm=require("vm"),p=process.argv[1],b=fs.readFileSync(p);',
  'const d=b.indexOf("\\n#consfig-data\\n"),j=b.indexOf("\\n#consfig-js\\n");',
  'const m={exports:{}};',
  'const f="(function(require,module,exports){"+b.subarray(j+13).toString()+"\\n})";',
  'vm.runInThisContext(f,{filename:p})(require,m,m.exports);',
  'm.exports.default(JSON.parse(b.subarray(d+15,j).toString()));',
].join('');

/**
 * The variables are found by `export -p`, a builtin, rather than by env and sed: two
 * processes fewer on every run (the hook's latency). A value holding a newline can make
 * a line look like another variable's: such a name passes only if it is a well-formed
 * name that is set, matches a kept pattern and is not one of the launcher's own.
 */
function launcher(host: string, runtime: string, keep: readonly string[]): string {
  return `#!/bin/sh
# consfig image for ${host}; runs on ${runtime}
# Only these variables reach node: ${keep.join(' ')}.
set -f
__c_loader='${LOADER}'
__c_n=$#
__c_ifs=$IFS
IFS='
'
for __c_l in $(export -p); do
  case $__c_l in
    'export '*) __c_v=\${__c_l#export } ;;
    'declare -x '*) __c_v=\${__c_l#declare -x } ;;
    *) continue ;;
  esac
  __c_v=\${__c_v%%=*}
  case $__c_v in ''|[0-9]*|*[!A-Za-z0-9_]*|__c_*) continue ;; esac
  eval "__c_s=\\\${$__c_v+x}"
  [ -n "$__c_s" ] || continue
  for __c_p in ${keep.join(' ')}; do
    case $__c_v in $__c_p) eval "set -- \\"\\$@\\" \\"$__c_v=\\\${$__c_v}\\""; break ;; esac
  done
done
IFS=$__c_ifs
set -- "$@" ${shellQuote(runtime)} -e "$__c_loader" -- "$0"
while [ "$__c_n" -gt 0 ]; do set -- "$@" "$1"; shift; __c_n=$((__c_n - 1)); done
exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
`;
}

/** The hostattrs an image carries: this host's, its parents', and those of hosts they name. */
export function carriedData(view: HostattrView): CarriedData {
  const hosts: Record<string, CarriedHost> = {};
  const add = (v: HostattrView | undefined): string | undefined => {
    if (!v) return undefined;
    if (hosts[v.hostname]) return v.hostname;
    const entry: CarriedHost = { attrs: {} };
    hosts[v.hostname] = entry;
    for (const [key, values] of v.entries()) {
      entry.attrs[key] = JSON.parse(JSON.stringify(values)) as unknown[];
      for (const value of values) {
        for (const inner of Object.values(typeof value === 'object' && value !== null ? value : {})) {
          if (isHost(inner)) add(inner.attrs);
        }
      }
    }
    const parent = add(v.parent);
    if (parent) entry.parent = parent;
    return v.hostname;
  };
  add(view);
  return { host: view.hostname, hosts };
}

interface Built {
  text: string;
  hash: string;
  runtime: string;
}

async function build(ctx: PropertyContext, o: ImageOptions): Promise<Built> {
  const entry = typeof o.entry === 'string' ? o.entry.replace(/^file:\/\//, '') : o.entry.pathname;
  const code = await bundle({
    resolveDir: posix.dirname(entry),
    contents: `import * as m from ${JSON.stringify(entry)};
import { runImage } from ${JSON.stringify(ownModule('image-runtime'))};
export default (data) => runImage(m[${JSON.stringify(o.export)}], data);
`,
  });
  const runtime = await shippedNodeLocation(ctx);
  const data = JSON.stringify(carriedData(ctx.attrs));
  const body = `${launcher(ctx.hostname, runtime, o.keepEnv)}exit 1\n#consfig-data\n${data}\n#consfig-js\n${code.code}`;
  const hash = sha256Hex(body);
  // The hash goes on the second line, where a check reads it without the rest.
  const [first, ...rest] = body.split('\n');
  return { text: [first, `# consfig-image ${hash}`, ...rest].join('\n'), hash, runtime };
}

async function installedHash(ctx: PropertyContext, path: string): Promise<string | undefined> {
  const head = await ctx.run(['head', '-n', '2', '--', path], { readOnly: true, allowFailure: true });
  return /^# consfig-image ([0-9a-f]{64})$/m.exec(head.stdout)?.[1];
}

/**
 * A self-contained executable at `options.path` that runs `options.entry` with this host's hostattrs (see
 * docs/images.md).
 */
export const dumped = withParams<[options: Arg]>()(
  defprop({
    name: 'image.dumped',
    desc: (o) => `image ${o.path}`,
    args: z.tuple([options]),
    argNames: ['options'],
    prefetch: (o) => [{ path: o.path }],
    check: async (ctx, o) => {
      const built = await build(ctx, o);
      const info = await ctx.stat(o.path);
      const had = info.exists ? await installedHash(ctx, o.path) : undefined;
      const runtimeThere = (await ctx.stat(built.runtime)).exists;
      const modeOk = info.mode === o.mode && info.uid === 0;
      if (had === built.hash && runtimeThere && modeOk) return true;
      const before = had ? `image ${had.slice(0, 12)}` : info.exists ? 'not a consfig image' : 'absent';
      const after = `image ${built.hash.slice(0, 12)}${runtimeThere ? '' : ', with its node uploaded'}`;
      return { applied: false, changes: [{ path: o.path, before, after, kind: 'metadata' }] };
    },
    apply: async (ctx, o) => {
      const built = await build(ctx, o);
      await nodeAtFarEnd(ctx);
      await ctx.run(['mkdir', '-p', '--', posix.dirname(o.path)], { affects: [posix.dirname(o.path)] });
      await ctx.writeFile(o.path, built.text, { mode: o.mode, owner: '0', group: '0' });
    },
    unapply: async (ctx, o) => {
      await ctx.run(['rm', '-f', '--', o.path], { affects: [o.path] });
    },
  }),
);
