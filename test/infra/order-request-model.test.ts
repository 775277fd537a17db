import { describe, expect, it } from 'vitest';
import { parseOrderRequest, orderRequestSchema } from '../../functions/core/order-request';
import { orderRequestJsonSchema } from '../../lib/order-request-model';
import { orderBody } from '../support/fakes';

type Schema = Record<string, any>;

/** The keywords the model may use: API Gateway's draft-4 validator knows them, and `accepts` below implements them. */
const KNOWN_KEYWORDS = new Set(['schema', 'title', 'type', 'properties', 'required', 'additionalProperties', 'enum', 'pattern', 'minLength', 'maxLength']);

/** A minimal draft-4 check of the keywords above, enough to compare the model with the handler. */
function accepts(schema: Schema, value: unknown): boolean {
  const types = [schema.type ?? []].flat() as string[];
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v);
  if (types.length > 0 && !types.includes(typeOf(value))) return false;
  if (schema.enum && !schema.enum.includes(value)) return false;
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) return false;
    if (schema.minLength !== undefined && value.length < schema.minLength) return false;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    if ((schema.required ?? []).some((key: string) => !(key in object))) return false;
    for (const [key, child] of Object.entries(object)) {
      const property = schema.properties?.[key];
      if (property === undefined) {
        if (schema.additionalProperties === false) return false;
      } else if (!accepts(property, child)) return false;
    }
  }
  return true;
}

function keywordsOf(schema: Schema): string[] {
  return Object.entries(schema).flatMap(([key, value]) =>
    key === 'properties' ? Object.values(value as Record<string, Schema>).flatMap(keywordsOf) : [key],
  );
}

describe('POST /orders model generated from the zod schema', () => {
  const model = orderRequestJsonSchema();

  it('is draft 4, strict, and lists every field of the zod schema', () => {
    expect(model.schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(model).not.toHaveProperty('$schema');
    expect(model.additionalProperties).toBe(false);
    expect(Object.keys(model.properties ?? {}).sort()).toEqual(Object.keys(orderRequestSchema.shape).sort());
  });

  it('uses only keywords API Gateway validates (a zod change that adds others fails here)', () => {
    for (const keyword of keywordsOf(model as Schema)) expect(KNOWN_KEYWORDS).toContain(keyword);
  });

  it.each([
    ['a minimal market order', orderBody()],
    ['a lower-case, padded symbol the handler normalizes', orderBody({ symbol: ' brk.b ' })],
    ['numeric quantities and prices', orderBody({ qty: 15, type: 'limit', limit_price: 101.25 })],
    ['a notional market order', orderBody({ qty: undefined, notional: '250.00' })],
    ['every optional field', orderBody({ type: 'stop_limit', limit_price: '10', stop_price: '9.5', extended_hours: false, strategy_id: 's1', reference_price: '10' })],
  ])('lets through what the handler accepts: %s', (_what, raw) => {
    const body = JSON.parse(JSON.stringify(raw));
    expect(parseOrderRequest(body).ok).toBe(true);
    expect(accepts(model as Schema, body)).toBe(true);
  });

  it.each([
    ['an unknown field', orderBody({ venue: 'x' })],
    ['a missing client_order_id', orderBody({ client_order_id: undefined })],
    ['a client_order_id with a space', orderBody({ client_order_id: 'ord 1' })],
    ['an unknown side', orderBody({ side: 'short' })],
    ['a boolean quantity', orderBody({ qty: true })],
  ])('refuses, as the handler does: %s', (_what, raw) => {
    const body = JSON.parse(JSON.stringify(raw));
    expect(parseOrderRequest(body).ok).toBe(false);
    expect(accepts(model as Schema, body)).toBe(false);
  });
});
