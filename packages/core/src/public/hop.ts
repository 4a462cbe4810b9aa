/**
 * @consfig/core/hop, for those who add a kind of connection (a hop in a `via` chain):
 * the hop interface, its registry, and quoting for the command lines hops build.
 */
export * from '../index.js';
export type { CommandEvent, Hop, HopContext, LockOptions, TargetTree } from '../connection.js';
export { checkVia, knownHopKinds, parseHop, registerHopKind } from '../hop-registry.js';
export type { HopParser } from '../hop-registry.js';
export { shellJoin, shellQuote } from '../agent/shell-quote.js';
export { FRONT_PERL } from '../agent/front.js';
export { PERL_ARCH } from '../agent/perl-arch.js';
export { randomHex } from '../random.js';
export { connectAbstract } from '../native/unix-socket.js';
export { uidOf } from '../native/passwd.js';
export { fnv1a64Hex } from '../digest.js';
export { buildIdOf, coreBuildId } from '../build-id.js';
