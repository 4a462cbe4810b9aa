/**
 * A real ACME CA on 127.0.0.1 for the tests: pebble (Let's Encrypt's test server, from
 * Debian), validating http-01 challenges for real against port 80 of this machine, with
 * pebble-challtestsrv as its DNS server answering 127.0.0.1 for every name.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** PEM of the CA that signed pebble's own TLS certificate (for the client to trust). */
  caFile: string;
  stop(): void;
}

async function waitFor(url: string, ca: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('curl', ['-sf', '--cacert', ca, url], { stdio: 'ignore' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`pebble did not answer at ${url}`);
}

export async function startPebble(): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'consfig-pebble-'));
  const file = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=consfig-test-ca',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('key.pem'),
    '-out',
    file('csr.pem'),
  );
  writeFileSync(file('san'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    'x509',
    '-req',
    '-in',
    file('csr.pem'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('san'),
    '-out',
    file('cert.pem'),
  );
  const [dns, acme, mgmt] = [18053, 14000, 15000];
  writeFileSync(
    file('pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acme}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: file('cert.pem'),
        privateKey: file('key.pem'),
        httpPort: 80,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const children: ChildProcess[] = [
    spawn(
      'pebble-challtestsrv',
      [
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-management',
        '127.0.0.1:18055',
        '-dns01',
        `127.0.0.1:${dns}`,
        '-defaultIPv4',
        '127.0.0.1',
        '-defaultIPv6',
        '',
      ],
      { stdio: 'ignore' },
    ),
    // No nonces refused at random, no sleeps before validating: a test, not a drill.
    spawn('pebble', ['-config', file('pebble.json'), '-dnsserver', `127.0.0.1:${dns}`], {
      stdio: 'ignore',
      env: { ...process.env, PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_VA_NOSLEEP: '1' },
    }),
  ];
  const stop = () => children.forEach((c) => c.kill());
  try {
    await waitFor(`https://127.0.0.1:${acme}/dir`, file('ca.pem'));
  } catch (error) {
    stop();
    throw error;
  }
  return { directory: `https://127.0.0.1:${acme}/dir`, caFile: file('ca.pem'), stop };
}
