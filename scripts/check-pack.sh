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
import { requireOs, defprop as defprop2 } from '@consfig/core/property';
import { registerHopKind, defineHost as defineHost2 } from '@consfig/core/hop';
if (typeof requireOs !== 'function' || typeof registerHopKind !== 'function') process.exit(1);
// One instance behind all three entry points.
if (defineHost2 !== defineHost || defprop2 === undefined) process.exit(1);
const r = await deployThese('local', file.hasContent('$out/app/ok', 'packed'));
if (r.changed !== 1 || typeof runCli !== 'function' || !defineHost) process.exit(1);
if (ssh('a@b').describe() !== 'ssh:a@b') process.exit(1);
if (!sudo() || typeof shiftTree !== 'function' || mmdebstrap.name !== 'mmdebstrap') process.exit(1);
"
# Chains start by posix_spawn through koffi, whose binary comes from its platform package
# (on this machine the agent starts with the first command).
spawned=$(DEBUG=consfig:agent node --input-type=module -e "
import { deployThese } from '@consfig/core';
import { cmd, file } from '@consfig/properties';
const r = await deployThese('local', file.hasContent('$out/app/ok2', 'packed'), cmd.single(['true']));
if (r.changed !== 2) process.exit(1);
" 2>&1)
case $spawned in
  *'spawn local (posix_spawn)'*) ;;
  *) echo "check-pack: not started by posix_spawn: $spawned" >&2; exit 1 ;;
esac
# A CommonJS project (npm init's default) requires them too, and require and import give
# the one instance (both are views of each package's dist/runtime.cjs).
node -e "
const core = require('@consfig/core');
const { file } = require('@consfig/properties');
require('@consfig/connections');
if (require('@consfig/core/property').defineHost !== core.defineHost) process.exit(1);
if (typeof core.defineHost !== 'function' || typeof file.hasContent !== 'function') process.exit(1);
import('@consfig/properties').then((m) => { if (m.file !== file) process.exit(1); });
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
# A config of its own in a directory with nothing installed (as npx or a global install
# runs it): its @consfig/* imports are those of the consfig that runs it.
mkdir "$out/own"
cat > "$out/own/consfig.ts" <<'EOF_TS'
import { defineConsfig, defineHost } from '@consfig/core';
import { file } from '@consfig/properties';
export default defineConsfig({
  hosts: [defineHost('own.example', [file.hasContent(`${import.meta.dirname}/deployed`, 'own\n')], { via: 'local' })],
});
EOF_TS
./node_modules/.bin/consfig deploy -c "$out/own" --reporter plain > "$out/own.txt"
grep -q '1 changed' "$out/own.txt" && [ "$(cat "$out/own/deployed")" = own ] || { cat "$out/own.txt"; exit 1; }

# pnpm and yarn install the same tarballs, and `consfig deploy` runs from each. The
# packages' dependencies on each other name registry versions: overrides point those at
# the tarballs, as they would resolve once published.
tarball() { ls "$out"/consfig-"$1"-*.tgz; }
cli_tarball=$(ls "$out"/consfig-[0-9]*.tgz)
deploy_with() {
  local manager=$1 dir="$out/with-$1"
  mkdir "$dir"
  cat > "$dir/package.json" <<EOF_PKG
{
  "name": "app-$manager",
  "private": true,
  "dependencies": {
    "@consfig/core": "file:$(tarball core)", "@consfig/connections": "file:$(tarball connections)",
    "@consfig/rootfs": "file:$(tarball rootfs)", "@consfig/properties": "file:$(tarball properties)",
    "consfig": "file:$cli_tarball"
  },
  "pnpm": { "overrides": {
    "@consfig/core": "file:$(tarball core)", "@consfig/connections": "file:$(tarball connections)",
    "@consfig/rootfs": "file:$(tarball rootfs)", "@consfig/properties": "file:$(tarball properties)"
  }, "onlyBuiltDependencies": ["esbuild"] },
  "resolutions": {
    "@consfig/core": "file:$(tarball core)", "@consfig/connections": "file:$(tarball connections)",
    "@consfig/rootfs": "file:$(tarball rootfs)", "@consfig/properties": "file:$(tarball properties)"
  }
}
EOF_PKG
  cat > "$dir/consfig.ts" <<'EOF_TS'
import { defineConsfig, defineHost } from '@consfig/core';
import { file } from '@consfig/properties';
export default defineConsfig({
  hosts: [defineHost('here.example', [file.hasContent(`${import.meta.dirname}/deployed`, 'yes\n')], { via: 'local' })],
});
EOF_TS
  (
    cd "$dir"
    case $manager in
      pnpm) pnpm install --prefer-offline --config.confirmModulesPurge=false >/dev/null ;;
      yarn) npx --yes yarn@1.22.22 install --prefer-offline --non-interactive --silent >/dev/null 2>&1 ||
        npx --yes yarn@1.22.22 install --prefer-offline --non-interactive ;;
    esac
    ./node_modules/.bin/consfig deploy --reporter plain > deploy.txt
    grep -q '1 changed' deploy.txt && [ "$(cat deployed)" = yes ] || { cat deploy.txt; exit 1; }
  )
}
deploy_with pnpm
deploy_with yarn
echo "check-pack: the packages install and import from their tarballs (npm, pnpm, yarn)"
