/**
 * Running a few file system calls under other filesystem ids (setfsuid/setfsgid): root
 * writing into a filesystem that a container's user namespace mounted (an overlay
 * snapshot's root) is refused with EOVERFLOW, since root's own ids have no name there; the
 * container root's ids have one. Linux keeps these ids per thread, and the callback runs
 * synchronously on this one, so no other code of this process runs under them; they are
 * put back before this returns. While they are not 0 the kernel holds back root's file
 * capabilities (it gives them back with the ids): the calls are checked as the container's
 * root without its capabilities, and a refusal then means "let the container's agent try".
 */
import { libcFunctions } from './koffi.js';

const declarations = {
  setfsuid: 'int setfsuid(uint32_t fsuid)',
  setfsgid: 'int setfsgid(uint32_t fsgid)',
};

let calls: { [K in keyof typeof declarations]: (...args: unknown[]) => number } | null | undefined;

/** Reads the thread's id without changing it: an id the kernel refuses (-1) is only answered. */
const QUERY = 0xffffffff;

/**
 * `fn()` run with filesystem ids `ids`; undefined where that cannot be (no koffi, not
 * root, or the kernel kept the old ids), and then `fn` was not run.
 */
export function withFsIds<T>(ids: { uid: number; gid: number }, fn: () => T): { value: T } | undefined {
  calls ??= libcFunctions(declarations) ?? null;
  const c = calls;
  if (!c || process.geteuid?.() !== 0) return undefined;
  const uid0 = c.setfsuid(QUERY);
  const gid0 = c.setfsgid(QUERY);
  c.setfsgid(ids.gid);
  c.setfsuid(ids.uid);
  try {
    if (c.setfsuid(QUERY) !== ids.uid || c.setfsgid(QUERY) !== ids.gid) return undefined;
    return { value: fn() };
  } finally {
    c.setfsuid(uid0);
    c.setfsgid(gid0);
  }
}
