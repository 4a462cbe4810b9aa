import type { Connection } from '@consfig/core';

/**
 * What systemd in a just-started container says once its boot has settled. Right after
 * lxc-start its socket may not exist yet, and `is-system-running --wait` then fails at
 * once instead of waiting; so ask again until it answers with a settled state.
 */
export async function bootSettled(conn: Connection): Promise<string> {
  for (let tries = 0; ; tries++) {
    const r = await conn.run(['systemctl', 'is-system-running', '--wait']);
    const said = r.stdout.toString('utf8').trim();
    if (process.env.SDDBG) console.error('SDDBG', tries, r.exitCode, said, r.stderr.toString());
    if (['running', 'degraded', 'maintenance', 'stopping'].includes(said) || tries === 120) return said;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
