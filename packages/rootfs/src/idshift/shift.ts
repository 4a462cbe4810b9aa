/**
 * Shifting a tree's ownership into (or back out of) a user namespace's id range, at the
 * far end of a connection: the shifter (program.ts) runs where the tree is, with the
 * chain's privileges there, so the same code shifts a tree on this machine, through
 * sudo, over ssh or inside a chroot.
 */
import { ConsfigError, type CommandResult, type RunOptions } from '@consfig/core/property';
import { overlaps, type IdMaps, type IdRange } from './maps.js';
import { SHIFTER } from './program.js';

/** The xattr on a tree's root that records its shift. */
export const MARKER = 'trusted.consfig.idshift';

export class IdShiftError extends ConsfigError {
  override readonly code = 'CONSFIG_IDSHIFT';
}

/** What shifting needs of a connection: to run a program where the tree is. */
export type ShiftTarget = { run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> };

export interface ShiftOptions {
  /** What to do with an id no range maps: fail (default) or leave it as it is. */
  unmapped?: 'error' | 'keep';
}

export interface ShiftReport {
  /** Inodes visited. */
  inodes: number;
  /** Inodes whose owner changed. */
  shifted: number;
  /** 'done' (shifted now), 'already' (nothing to do), 'resumed' (an interrupted shift finished). */
  state: 'done' | 'already' | 'resumed';
  durationMs: number;
}

function rangesText(ranges: readonly IdRange[]): string {
  return ranges.map((r) => `${r.inside}:${r.outside}:${r.count}`).join(',');
}

function rangesFrom(text: string): IdRange[] {
  return text.split(',').map((part) => {
    const [inside, outside, count] = part.split(':').map(Number);
    return { inside: inside!, outside: outside!, count: count! };
  });
}

function checkRanges(maps: IdMaps): void {
  if (overlaps(maps.uid) || overlaps(maps.gid)) {
    throw new IdShiftError('id map ranges overlap their targets: a shift could not be resumed safely');
  }
}

async function runShifter(
  target: ShiftTarget,
  mode: string,
  root: string,
  maps: IdMaps,
  options: ShiftOptions,
): Promise<string> {
  const argv = [
    'perl',
    '-e',
    SHIFTER,
    '--',
    mode,
    root,
    rangesText(maps.uid),
    rangesText(maps.gid),
    options.unmapped ?? 'error',
  ];
  const r = await target.run(argv, mode === 'state' ? { readOnly: true } : { affects: [root] });
  const stderr = r.stderr.toString('utf8').trim();
  if (r.exitCode === 127)
    throw new IdShiftError(`shifting ids in ${root} needs perl where the tree is (Debian's perl-base)`);
  if (r.exitCode !== 0) throw new IdShiftError(stderr || `the id shifter failed with exit code ${r.exitCode}`);
  return r.stdout.toString('utf8').trim();
}

async function report(
  target: ShiftTarget,
  mode: 'shift' | 'unshift',
  root: string,
  maps: IdMaps,
  options: ShiftOptions,
) {
  checkRanges(maps);
  const started = performance.now();
  const [state, inodes, shifted] = (await runShifter(target, mode, root, maps, options)).split(' ');
  return {
    state: state as ShiftReport['state'],
    inodes: Number(inodes),
    shifted: Number(shifted),
    durationMs: performance.now() - started,
  } satisfies ShiftReport;
}

/** Shift every inode below `root` (on its filesystem) from host ids into `maps`. */
export function shiftTree(
  target: ShiftTarget,
  root: string,
  maps: IdMaps,
  options: ShiftOptions = {},
): Promise<ShiftReport> {
  return report(target, 'shift', root, maps, options);
}

/** Shift a tree back to host ids (the inverse of shiftTree with the same maps). */
export function unshiftTree(
  target: ShiftTarget,
  root: string,
  maps: IdMaps,
  options: ShiftOptions = {},
): Promise<ShiftReport> {
  return report(target, 'unshift', root, maps, options);
}

/** What the marker on `root` says: not shifted, shifting (interrupted) or shifted, and with which maps. */
export async function shiftState(
  target: ShiftTarget,
  root: string,
): Promise<{ state: 'none' | 'shifting' | 'shifted'; maps?: IdMaps }> {
  const none = { uid: [], gid: [] };
  const text = await runShifter(target, 'state', root, none, {});
  const m = /^(shifting|shifted) u=(\S+) g=(\S+)$/.exec(text);
  if (!m) return { state: 'none' };
  return { state: m[1] as 'shifting' | 'shifted', maps: { uid: rangesFrom(m[2]!), gid: rangesFrom(m[3]!) } };
}

/** The marker text for `maps` (for tests that fake an interrupted shift). */
export function markerText(state: 'shifting' | 'shifted', maps: IdMaps): string {
  return `${state} u=${rangesText(maps.uid)} g=${rangesText(maps.gid)}`;
}
