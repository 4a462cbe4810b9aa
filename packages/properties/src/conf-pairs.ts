/**
 * Setting keys in a key/value configuration file the way Consfigurator's
 * file:contains-conf-* do: the first line that sets a key, live or commented out, is
 * reused and set; later live lines setting it are commented out; keys the file lacks
 * are appended in the order given. Only the separator differs between the styles.
 */

export type ConfStyle = 'space' | 'tab' | 'equals' | 'unspaced' | 'shell';

const SEPARATOR: Record<ConfStyle, string> = { space: ' ', tab: '\t', equals: ' = ', unspaced: '=', shell: '=' };

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A value as sh reads it back: bare when it is safe, else in double quotes. */
export function shellValue(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** The line that sets `key` to `value` in `style`. */
export function confLine(style: ConfStyle, key: string, value: string): string {
  return `${key}${SEPARATOR[style]}${style === 'shell' ? shellValue(value) : value}`;
}

/** Matches a line setting `key` (group 1: a comment mark). */
function setter(style: ConfStyle, key: string): RegExp {
  const k = escapeRegExp(key);
  const after = style === 'space' || style === 'tab' ? '(?:\\s|$)' : '\\s*=';
  return new RegExp(`^\\s*(#\\s*)?${k}${after}`);
}

/** `lines` with each pair set; a pure line edit for checkLines/rewriteLines. */
export function setConfPairs(style: ConfStyle, pairs: ReadonlyArray<readonly [string, string]>) {
  return (lines: string[]): string[] => {
    const out = [...lines];
    const missing: string[] = [];
    for (const [key, value] of pairs) {
      const re = setter(style, key);
      let first = -1;
      out.forEach((line, i) => {
        const m = re.exec(line);
        if (!m) return;
        if (first === -1) {
          first = i;
          out[i] = confLine(style, key, value);
        } else if (m[1] === undefined) {
          out[i] = `# ${line}`;
        }
      });
      if (first === -1) missing.push(confLine(style, key, value));
    }
    return [...out, ...missing];
  };
}
