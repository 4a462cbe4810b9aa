/**
 * @consfig/core: the property model, hosts and hostattrs, the engine and the
 * connection interface with its local, agent-backed implementation.
 */
export { defprop, invalidApplication, isPropapp, PROPAPP, toCheck, toOutcome } from './property.js';
export type {
  ApplyReturn,
  CheckResult,
  FileChange,
  HostattrsContext,
  Outcome,
  Property,
  PropertyContext,
  PropertyDefinition,
  Propapp,
  Result,
  TextResult,
} from './property.js';
export { asUser, desc, eseq, flattenProps, hasAttr, onChange, seq, unapply, withFlagfile } from './combinators.js';
export type { PropSpec } from './combinators.js';
export { deploys, deploysThese } from './deploys.js';
export { attrs, hostattr, HostattrStore, osSchema, requireOs } from './hostattrs.js';
export type { HostattrKey, HostattrView, OperatingSystem } from './hostattrs.js';
export { childHost, defineHost, Host, hostsInside, isHost, isValidHostname } from './host.js';
export type { HostOptions, Via } from './host.js';
export { deploy, deployMany, deployThese } from './engine/deploy.js';
export type { DeployManyOptions, DeployOptions, DeployTheseOptions } from './engine/deploy.js';
export type { DeployEvent, EventListener, HostResult, NestedIn, PropertyStatus } from './events.js';
export { describeChain } from './connection.js';
export type {
  Ask,
  CommandEvent,
  CommandResult,
  Connection,
  FileInfo,
  FileType,
  Hop,
  HopContext,
  LockOptions,
  OutputSink,
  ProbeQuery,
  RunOptions,
  WriteOptions,
} from './connection.js';
export { openConnection, tempPathFor } from './agent/connection.js';
export type { OpenOptions } from './agent/connection.js';
export { checkVia, knownHopKinds, parseHop, registerHopKind, resolveVia, UnknownHopError } from './hop-registry.js';
export type { HopParser } from './hop-registry.js';
export { shellJoin, shellQuote } from './agent/shell-quote.js';
export {
  AgentProtocolError,
  CannotUnapplyError,
  CommandFailedError,
  ConnectionError,
  ConnectionLostError,
  ConsfigError,
  DeployAbortedError,
  FileNotFoundError,
  formatArgv,
  InapplicablePropertyError,
  InvalidArgumentError,
  InvalidHostError,
  InvalidDefinitionError,
  InvalidHopError,
  InvalidRequestError,
  isConsfigError,
  isErrorOf,
  LockedError,
  NoViaError,
  PropertyFailedError,
  toConsfigError,
  WriteFailedError,
} from './errors.js';
export type { ConsfigErrorCode, ErrorContext } from './errors.js';
export { defineConsfig, isConsfig } from './consfig.js';
export type { Consfig } from './consfig.js';
export { ConfigError, findConfig, loadConfig } from './config-file/load.js';
export { commandSource, dataAttr, envSource, fetchData, fetchItem, fileSource, MissingDataError } from './data.js';
export type { DataItem, DataSource } from './data.js';
/** The zod this package validates with, so property authors need not match its version. */
export { z } from 'zod';
export { yamlSource, type YamlSourceOptions } from './yaml/data-source.js';
export { hostVars, type HostVars } from './yaml/host-vars.js';
export { YamlFileError } from './yaml/document.js';
