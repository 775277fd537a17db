/** `npm run build:cli`: rebuilds the operator CLI under dist/ (see cli-bundle.ts). */
import { CLI_BUNDLE_DIR, writeCliBundle } from './cli-bundle';

const files = await writeCliBundle();
console.log(`wrote ${files.map((file) => `${CLI_BUNDLE_DIR}/${file}`).join(', ')}`);
