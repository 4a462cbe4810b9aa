/**
 * User and group names by id from the C library (NSS: files, LDAP, whatever the machine
 * uses), as find's %u and %g print them: the number where there is no name. Node has no
 * getpwuid; koffi calls it. Each id is asked once per process.
 */
import { koffi } from './koffi.js';

type Lookup = (id: number) => unknown;
let lookups: { user: Lookup; group: Lookup } | null | undefined;
const users = new Map<number, string>();
const groups = new Map<number, string>();

function bound(): { user: Lookup; group: Lookup } | null {
  if (lookups !== undefined) return lookups;
  const k = koffi();
  try {
    const lib = k?.load('libc.so.6');
    lookups = lib
      ? { user: lib.func('void *getpwuid(uint32_t uid)'), group: lib.func('void *getgrgid(uint32_t gid)') }
      : null;
  } catch {
    lookups = null;
  }
  return lookups;
}

/** Whether names can be looked up here (koffi and glibc). */
export function namesAvailable(): boolean {
  return bound() !== null;
}

function name(cache: Map<number, string>, lookup: Lookup, id: number): string {
  let found = cache.get(id);
  if (found === undefined) {
    // struct passwd and struct group both start with the name's pointer.
    const entry = lookup(id);
    found = entry === null ? String(id) : (koffi()!.decode(entry, 'char *') as string);
    cache.set(id, found);
  }
  return found;
}

export function userName(uid: number): string {
  return name(users, bound()!.user, uid);
}

export function groupName(gid: number): string {
  return name(groups, bound()!.group, gid);
}

let byName: ((name: string) => unknown) | null | undefined;
let passwdHead: unknown;

/** The uid of the user `name` (NSS), or undefined where there is none or it cannot be asked. */
export function uidOf(name: string): number | undefined {
  const k = koffi();
  if (!k) return undefined;
  if (byName === undefined) {
    try {
      byName = k.load('libc.so.6').func('void *getpwnam(const char *name)');
      // struct passwd begins with its name and password pointers, then uid and gid.
      passwdHead = k.struct('consfig_passwd_head', { name: 'char *', passwd: 'char *', uid: 'uint32', gid: 'uint32' });
    } catch {
      byName = null;
    }
  }
  if (!byName) return undefined;
  const entry = byName(name);
  return entry === null ? undefined : (k.decode(entry, passwdHead as never) as { uid: number }).uid;
}
