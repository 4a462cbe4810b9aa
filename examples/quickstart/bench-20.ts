import { defineConsfig, defineHost } from '@consfig/core';
import { file } from '@consfig/properties';
const props = Array.from({ length: 20 }, (_, i) => file.hasContent(`/tmp/cmp/files-new-20/f${i}`, `file ${i}\n`));
export default defineConsfig({ hosts: [defineHost('bench.local', props, { via: 'local' })] });
