/**
 * Setting keys in an INI file the way Consfigurator's file:contains-ini-settings does:
 * the first occurrence of a key in its section, live or commented out, is reused and
 * set; later live duplicates are commented out; keys a section lacks go at its end,
 * before its trailing blank lines; missing sections are appended in sorted order.
 */

export type IniSetting = readonly [section: string, key: string, value: string];

const HEADER = /^\s*\[([^\]]*)\]\s*$/;
const ENTRY = /^\s*([;#]?)\s*([^\s=;#[][^=]*?)\s*=\s*(.*?)\s*$/;

export function setIniSettings(text: string, settings: readonly IniSetting[]): string {
  const wanted = new Map<string, Map<string, string>>();
  for (const [section, key, value] of settings) {
    const keys = wanted.get(section) ?? new Map<string, string>();
    keys.set(key, value);
    wanted.set(section, keys);
  }
  const lines = text === '' ? [] : (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const out: string[] = [];
  const present = new Set<string>();
  let section = '';
  let block: string[] = [];
  let done = new Set<string>();

  const flush = () => {
    const keys = wanted.get(section);
    if (keys) {
      const missing = [...keys].filter(([k]) => !done.has(k)).map(([k, v]) => `${k}=${v}`);
      let at = block.length;
      while (at > 0 && block[at - 1]!.trim() === '') at--;
      // A section that has only its header keeps the new keys right below it.
      block.splice(at, 0, ...missing);
    }
    out.push(...block);
  };

  for (const line of lines) {
    const header = HEADER.exec(line);
    if (header) {
      flush();
      section = header[1]!.trim();
      present.add(section);
      block = [line];
      done = new Set();
      continue;
    }
    const entry = ENTRY.exec(line);
    const keys = wanted.get(section);
    if (entry && keys?.has(entry[2]!)) {
      const [, comment, key, value] = entry as unknown as [string, string, string, string];
      if (!done.has(key)) {
        block.push(`${key}=${keys.get(key)}`);
        done.add(key);
      } else if (comment === '') {
        block.push(`# ${key}=${value}`);
      } else {
        block.push(line);
      }
      continue;
    }
    block.push(line);
  }
  flush();

  for (const name of [...wanted.keys()].filter((s) => s !== '' && !present.has(s)).sort()) {
    if (out.length > 0) out.push('');
    out.push(`[${name}]`, ...[...wanted.get(name)!].map(([k, v]) => `${k}=${v}`));
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
