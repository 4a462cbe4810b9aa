/**
 * @consfig/core, for those who write a consfig or embed consfig in a tool: hosts,
 * combinators, deploying, data sources, errors, and `defprop` for a property of one's
 * own. Writing a property library: `@consfig/core/property`; a connection kind:
 * `@consfig/core/hop`.
 */
export { defprop, withParams } from './property.js';
export type {
  ApplyReturn,
  Arg,
  CheckResult,
  FileChange,
  Property,
  PropertyContext,
  PropertyOf,
  PropertyWithoutArgs,
  Propapp,
} from './property.js';
export { asUser, desc, eseq, hasAttr, onChange, seq, unapply, withFlagfile } from './combinators.js';
export type { PropSpec } from './combinators.js';
export { atMost, reappliedAtMost, type Period } from './periodic.js';
export { deploys, deploysThese } from './deploys.js';
export { attrs, hostattr } from './hostattrs.js';
export type { HostattrKey, HostattrView, OperatingSystem } from './hostattrs.js';
export { childHost, defineHost, Host, hostsInside, isHost, isValidHostname } from './host.js';
export type { HostOptions, Via } from './host.js';
export { deploy, deployMany, deployThese } from './engine/deploy.js';
export type { DeployManyOptions, DeployOptions, DeployTheseOptions } from './engine/deploy.js';
export type { DeployEvent, EventListener, HostFailure, HostResult, NestedIn, PropertyStatus } from './events.js';
export { describeChain } from './connection.js';
export type { Ask, CommandResult, Connection, OutputSink, RunOptions } from './connection.js';
export { openConnection } from './agent/connection.js';
export type { OpenOptions } from './agent/connection.js';
export { resolveVia } from './hop-registry.js';
export {
  AgentProtocolError,
  CannotUnapplyError,
  CommandFailedError,
  ConnectionError,
  ConnectionLostError,
  ConsfigError,
  DeployAbortedError,
  FileNotFoundError,
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
export { UnknownHopError } from './hop-registry.js';
export type { ConsfigErrorCode, ErrorContext } from './errors.js';
export { defineConsfig, isConsfig } from './consfig.js';
export type { Consfig } from './consfig.js';
export { ConfigError, findConfig, loadConfig } from './config-file/load.js';
export { commandSource, envSource, fetchItem, fileSource, MissingDataError } from './data.js';
export type { DataItem, DataSource } from './data.js';
/** The zod this package validates with, so property authors need not match its version. */
export { z } from 'zod';
export { yamlSource, type YamlSourceOptions } from './yaml/data-source.js';
export { hostVars, type HostVars } from './yaml/host-vars.js';
export { YamlFileError } from './yaml/document.js';
