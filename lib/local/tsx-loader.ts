import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * tsx's loader for `--import`, resolved from this repository rather than from the working
 * directory: a forked TypeScript module runs the same under `npm start`, vitest and the benches.
 */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
