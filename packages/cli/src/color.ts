/**
 * Whether to colour the output: --color/--no-color first, then the environment as other
 * tools read it (FORCE_COLOR, including FORCE_COLOR=0; NO_COLOR; TERM=dumb), then
 * whether stdout is a terminal.
 */
export function useColor(flag: boolean | undefined, isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (flag !== undefined) return flag;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR) return false;
  if (env.TERM === 'dumb') return false;
  return isTTY;
}
