/**
 * What runs inside an image (see image.ts), on the target, with nothing of the deploying
 * machine: the hostattrs the image carries, answered as during the deploy, and the
 * entry called with them. Kept free of imports, so that images stay small.
 */

/** The hostattrs of one host, as an image carries them. */
export interface CarriedHost {
  attrs: Record<string, unknown[]>;
  parent?: string;
}

export interface CarriedData {
  /** The host the image was made for. */
  host: string;
  hosts: Record<string, CarriedHost>;
}

/** A host as an image's entry sees it: the same queries as HostattrView, and other hosts. */
export interface ImageHost {
  readonly hostname: string;
  get<T>(key: { name: string; readonly __type?: T }): readonly T[];
  first<T>(key: { name: string; readonly __type?: T }): T | undefined;
  has(key: { name: string }): boolean;
  entries(): [string, readonly unknown[]][];
  readonly parent: ImageHost | undefined;
  /** Another host the image carries: a container named in this host's hostattrs, say. */
  of(host: string | { host: string } | { name: string }): ImageHost;
}

export type ImageEntry = (host: ImageHost, argv: string[], env: NodeJS.ProcessEnv) => unknown;

/** Thrown by an entry to refuse, with a message and an exit code (default 1), and no trace. */
export class ImageRefusal extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function carriedHost(data: CarriedData, name: string): ImageHost {
  const carried = data.hosts[name];
  if (!carried) throw new ImageRefusal(`this image carries no host ${name}`);
  return {
    hostname: name,
    get: <T>(key: { name: string }) => (carried.attrs[key.name] ?? []) as T[],
    first: <T>(key: { name: string }) => (carried.attrs[key.name] ?? [])[0] as T | undefined,
    has: (key) => (carried.attrs[key.name]?.length ?? 0) > 0,
    entries: () => Object.entries(carried.attrs),
    get parent() {
      return carried.parent ? carriedHost(data, carried.parent) : undefined;
    },
    of: (host) => carriedHost(data, typeof host === 'string' ? host : 'host' in host ? host.host : host.name),
  };
}

/** Run an image's entry: its exit code, its refusal's message, never a stack trace. */
export async function runImage(entry: ImageEntry, data: CarriedData): Promise<void> {
  try {
    const code = await entry(carriedHost(data, data.host), process.argv.slice(2), process.env);
    process.exitCode = typeof code === 'number' ? code : 0;
  } catch (error) {
    const refusal = error instanceof ImageRefusal;
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = refusal ? (error as ImageRefusal).exitCode : 1;
  }
}
