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
./node_modules/.bin/consfig --version
echo "check-pack: the packages install and import from their tarballs"
