/** The `apt` namespace: the first wave's properties and the second's, in one. */
export {
  additionalSources,
  cacheCleaned,
  installed,
  installedMinimally,
  mirrors,
  mirrorsAttr,
  missingPackages,
  proxy,
  proxyAttr,
  removed,
  standardSourcesList,
  updated,
  upgraded,
} from './apt.js';
export {
  autoremoved,
  backports,
  pinned,
  trustsKey,
  unattendedUpgrades,
  usesParentMirrors,
  usesParentProxy,
} from './apt-extras.js';
export { reconfigured } from './debconf.js';
