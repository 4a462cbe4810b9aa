/**
 * Quickstart: configure this machine (as whoever runs it) under /tmp/consfig-quickstart.
 *
 *   pnpm consfig deploy --config examples/quickstart/consfig.ts    # apply
 *   pnpm consfig check  --config examples/quickstart/consfig.ts    # dry run with diffs
 *
 * Edit a value below and run `check` to see the diff, then `deploy` to apply it.
 */
import { defineConsfig, defineHost, desc, onChange } from '@consfig/core';
import { cmd, file, os } from '@consfig/properties';

const root = '/tmp/consfig-quickstart';

const workstation = defineHost(
  'localhost',
  [
    os.debianStable('bookworm', 'amd64'),
    file.directoryExists(`${root}/etc`, { mode: '0755' }),
    file.hasContent(`${root}/etc/motd`, ['Welcome to a host configured by consfig.', 'Managed file: do not edit.']),
    file.containsLines(`${root}/etc/hosts.allow`, ['sshd: 127.0.0.1', 'sshd: [::1]']),
    file.containsIniSettings(
      `${root}/etc/app.ini`,
      ['server', 'port', '8080'],
      ['server', 'bind', '127.0.0.1'],
      ['log', 'level', 'info'],
    ),
    file.symlinked(`${root}/motd`, `${root}/etc/motd`),
    desc(
      'Settings digest is current',
      onChange(
        file.hasContent(`${root}/etc/settings`, 'colour=blue\n'),
        cmd.single(['sh', '-c', `sha256sum ${root}/etc/settings > ${root}/etc/settings.sha256`]),
      ),
    ),
    cmd.single(['touch', `${root}/stamp`], { unless: ['test', '-e', `${root}/stamp`] }),
  ],
  { via: 'local', desc: 'this machine, in a scratch directory' },
);

export default defineConsfig({ hosts: [workstation] });
