import { JsonSchemaVersion, type JsonSchema } from 'aws-cdk-lib/aws-apigateway';
import { z } from 'zod';
import { orderRequestSchema } from '../functions/core/order-request';

/** Constraints that describe a string after a normalizing step such as `.trim()` or `.toUpperCase()`. */
const NORMALIZED_STRING_KEYWORDS = ['pattern', 'minLength', 'maxLength', 'format'] as const;

/**
 * The `POST /orders` body as a JSON Schema draft 4 model for API Gateway, generated from the
 * handler's own zod schema so the two cannot drift.
 *
 * - It describes the *input* (`io: 'input'`): decimals are strings or numbers, as sent.
 * - A constraint checked after a normalizing overwrite does not describe the raw input, so it is
 *   dropped here. `symbol` is checked as sent (ASCII only, blanks around it allowed) before it is
 *   trimmed and upper-cased, so its pattern stays: `"aapl"` passes, `"ıbm"` is refused here too.
 * - Cross-field rules (`superRefine`: exactly one of qty/notional, prices required by type) have no
 *   draft-4 form here and stay in the handler, which answers them with field paths.
 * - Unrepresentable types throw (zod's default), so a schema change that the model cannot follow
 *   fails the synth instead of silently loosening the gate.
 */
export function orderRequestJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(orderRequestSchema, {
    target: 'draft-04',
    io: 'input',
    override: ({ zodSchema, jsonSchema }) => {
      const checks = zodSchema._zod.def.checks ?? [];
      if (checks.some((check) => check._zod.def.check === 'overwrite')) {
        const mutable = jsonSchema as Record<string, unknown>;
        for (const keyword of NORMALIZED_STRING_KEYWORDS) delete mutable[keyword];
      }
    },
  }) as Record<string, unknown>;
  // CDK spells `$schema` as `schema` and maps it back when it renders the model.
  const { $schema: _draft, ...rest } = generated;
  return { schema: JsonSchemaVersion.DRAFT4, title: 'OrderRequest', ...(rest as JsonSchema) };
}
