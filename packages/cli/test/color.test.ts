import { describe, expect, it } from 'vitest';
import { useColor } from '../src/color.js';

describe('useColor', () => {
  it('follows the flag, then FORCE_COLOR (0 too), NO_COLOR, TERM=dumb, then the terminal', () => {
    expect(useColor(false, true, { FORCE_COLOR: '1' })).toBe(false);
    expect(useColor(true, false, { NO_COLOR: '1' })).toBe(true);
    expect(useColor(undefined, false, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor(undefined, true, { FORCE_COLOR: '0' })).toBe(false);
    expect(useColor(undefined, true, { FORCE_COLOR: '', NO_COLOR: '1' })).toBe(true);
    expect(useColor(undefined, true, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(undefined, true, { TERM: 'dumb' })).toBe(false);
    expect(useColor(undefined, true, { TERM: 'xterm-256color' })).toBe(true);
    expect(useColor(undefined, false, {})).toBe(false);
  });
});
