#!/usr/bin/env bash
# Every package packs into a tarball that installs and imports in an empty folder.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for pkg in core connections rootfs properties cli; do
  (cd "$top/packages/$pkg" && pnpm pack --pack-destination "$out" >/dev/null)
done
mkdir "$out/app"
cd "$out/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --prefer-offline "$out"/consfig-core-*.tgz "$out"/consfig-connections-*.tgz \
  "$out"/consfig-rootfs-*.tgz "$out"/consfig-properties-*.tgz "$out"/consfig-[0-9]*.tgz >/dev/null
node --input-type=module -e "
import { defineHost, deployThese } from '@consfig/core';
import { file } from '@consfig/properties';
import { ssh, sudo } from '@consfig/connections';
import { shiftTree, mmdebstrap } from '@consfig/rootfs';
import { runCli } from 'consfig';
const r = await deployThese('local', file.hasContent('$out/app/ok', 'packed'));
if (r.changed !== 1 || typeof runCli !== 'function' || !defineHost) process.exit(1);
if (ssh('a@b').describe() !== 'ssh:a@b') process.exit(1);
if (!sudo() || typeof shiftTree !== 'function' || mmdebstrap.name !== 'mmdebstrap') process.exit(1);
"
# A CommonJS project (npm init's default) requires them too (require of ESM, Node >= 20.19).
node -e "
const core = require('@consfig/core');
const { file } = require('@consfig/properties');
require('@consfig/connections');
if (typeof core.defineHost !== 'function' || typeof file.hasContent !== 'function') process.exit(1);
"
# The docs' property example typechecks against the shipped types, whatever zod the project has.
npm install --no-audit --no-fund --prefer-offline zod@4 typescript@5.9.3 @types/node@20 >/dev/null
cat > motd.mts <<'EOF_TS'
import { defprop, z } from '@consfig/core';
export const motd = defprop({
  name: 'site.motd',
  desc: (text) => `motd says ${text}`,
  args: z.tuple([z.string().min(1)]),
  argNames: ['text'],
  check: async (ctx, text) => (await ctx.readFileIfExists('/etc/motd'))?.toString() === `${text}\n`,
  apply: async (ctx, text) => ctx.writeFile('/etc/motd', `${text}\n`),
});
const app = motd('hello');
void app;
// A property list holds property applications (and false/null/undefined, nested lists):
import { defineHost } from '@consfig/core';
defineHost('y.example', [motd('hi'), false, null, undefined, [motd('there')]]);
// @ts-expect-error a property not called, a string and a number are not applications
defineHost('x.example', [motd, 'x', 42]);
EOF_TS
./node_modules/.bin/tsc --noEmit --strict --module nodenext --moduleResolution nodenext --skipLibCheck false motd.mts
# The README's consfig in this CommonJS project (npm init's default): named consfig.mts it
# is an ES module whatever package.json says, typechecks with the tsconfig `tsc --init`
# writes, and is found and loaded.
cat > extract.cjs <<'EOF_JS'
const fs = require('fs');
const m = /```ts\n\/\/ consfig\.ts\n([\s\S]*?)```/.exec(fs.readFileSync(process.argv[2], 'utf8'));
fs.writeFileSync('consfig.mts', m[1]);
EOF_JS
node extract.cjs "$top/README.md"
./node_modules/.bin/tsc --init >/dev/null
./node_modules/.bin/tsc --noEmit -p .
./node_modules/.bin/consfig hosts > hosts.txt
grep -q '^web1.example.com  (local)$' hosts.txt
./node_modules/.bin/consfig --version
echo "check-pack: the packages install and import from their tarballs"
