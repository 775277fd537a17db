import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ORDER_API_DOCUMENT_PATH, renderOrderApiDocument } from '../lib/openapi/order-api-document';

// `npm run openapi`: regenerates the checked-in OpenAPI document from the zod schemas.
mkdirSync(dirname(ORDER_API_DOCUMENT_PATH), { recursive: true });
writeFileSync(ORDER_API_DOCUMENT_PATH, renderOrderApiDocument());
console.log(`wrote ${ORDER_API_DOCUMENT_PATH}`);
