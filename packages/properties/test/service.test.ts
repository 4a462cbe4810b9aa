import { describe, expect, it } from 'vitest';
import { attrs, defineHost, deploy } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { service } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('service');

describe('service', () => {
  it('services do nothing on hosts without services', async () => {
    const host = defineHost('lib.example', [debian, service.running('no-such-service')], {
      attrs: [[attrs.noServices, true]],
    });
    const r = await deploy(host, [chroot(t.root)]);
    expect([r.status, r.changed]).toEqual(['ok', 0]);
  });
});
