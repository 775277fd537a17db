import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { orderRequestSchema, parseOrderRequest } from '../../functions/core/order-request';
import { API_ERRORS, type ApiErrorCode } from '../../functions/route/order-responses';
import { ORDER_API_DOCUMENT_PATH, orderApiDocument, renderOrderApiDocument } from '../../lib/openapi/order-api-document';
import { orderBody } from '../support/fakes';

type Json = Record<string, any>;

const document = orderApiDocument() as Json;
const operations = Object.values(document.paths as Json).flatMap((path: Json) => Object.values(path)) as Json[];

/** The document with every `$ref` replaced by what it points at. */
const resolved = new Validator().resolveRefs({ specification: structuredClone(document) }) as Json;
const resolvedOperations = Object.values(resolved.paths as Json).flatMap((path: Json) => Object.values(path)) as Json[];
const requestSchema = z.fromJSONSchema(resolved.paths['/orders'].post.requestBody.content['application/json'].schema);

describe(ORDER_API_DOCUMENT_PATH, () => {
  it('is what the zod schemas generate now', () => {
    const checkedIn = readFileSync(new URL(`../../${ORDER_API_DOCUMENT_PATH}`, import.meta.url), 'utf8');

    expect(checkedIn, `${ORDER_API_DOCUMENT_PATH} is out of date: run \`npm run openapi\` and commit the result`).toBe(renderOrderApiDocument());
  });

  it('is a valid OpenAPI 3.1 document in which every $ref resolves', async () => {
    const result = await new Validator().validate(structuredClone(document));

    expect(result).toEqual({ valid: true });
  });

  it('carries the package version', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

    expect({ openapi: document.openapi, version: document.info.version }).toEqual({ openapi: '3.1.0', version });
  });

  it('documents POST /orders, GET and DELETE /orders/{client_order_id} and nothing else', () => {
    const routes = Object.entries(document.paths as Json).flatMap(([path, methods]) => Object.keys(methods as Json).map((method) => `${method.toUpperCase()} ${path}`));

    expect(routes).toEqual(['POST /orders', 'GET /orders/{client_order_id}', 'DELETE /orders/{client_order_id}']);
  });

  it('gives every response of every operation a one-line description and a JSON schema', () => {
    const responses = operations.flatMap((operation) => Object.values(operation.responses as Json)) as Json[];

    expect(responses.length).toBeGreaterThan(0);
    for (const response of responses) {
      expect(response.description).toMatch(/^[^\n]+$/);
      expect(response.content['application/json'].schema).toEqual(expect.any(Object));
    }
  });

  it('documents each error code under the status the handler answers it with', () => {
    const documented = resolvedOperations.flatMap((operation) =>
      Object.entries(operation.responses as Json).flatMap(([status, response]) => {
        const schema = (response as Json).content['application/json'].schema as Json;
        const codes = ((schema.oneOf ?? [schema]) as Json[]).map((body) => body.properties?.error?.const as ApiErrorCode | undefined);
        return codes.filter((code) => code !== undefined).map((code) => [code, Number(status)] as const);
      }),
    );

    expect(documented.length).toBeGreaterThan(0);
    expect(documented).toEqual(documented.map(([code]) => [code, API_ERRORS[code].status]));
  });

  it('has an error body for every error code the handler answers with', () => {
    const documented = Object.values(document.components.schemas as Json).map((schema: Json) => schema.properties?.error?.const).filter(Boolean);

    expect(documented.sort()).toEqual(Object.keys(API_ERRORS).sort());
  });

  it('requires AWS SigV4 on every operation', () => {
    const schemes = (document.security as Json[]).flatMap((requirement) => Object.keys(requirement));

    expect(schemes).toEqual(['sigv4']);
    expect(document.components.securitySchemes.sigv4).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization', 'x-amazon-apigateway-authtype': 'awsSigv4' });
    expect(operations.filter((operation) => operation.security !== undefined)).toEqual([]);
  });

  it("describes the request body with the zod schema's own JSON Schema", () => {
    const { description: _prose, ...component } = document.components.schemas.OrderRequest as Json;
    const { $schema: _dialect, ...generated } = z.toJSONSchema(orderRequestSchema, { io: 'input' }) as Json;

    expect(component).toEqual(generated);
  });

  it.each([
    ['a market order', orderBody()],
    ['a lower-case, padded symbol the handler normalizes', orderBody({ symbol: ' brk.b ' })],
    ['a limit order with numeric quantity and price', orderBody({ qty: 15, type: 'limit', limit_price: 101.25 })],
    ['a notional order', orderBody({ qty: undefined, notional: '250.00' })],
    ['every optional field', orderBody({ type: 'stop_limit', limit_price: '10', stop_price: '9.5', extended_hours: false, strategy_id: 's1', reference_price: '10' })],
  ])('lets through, as the handler does, %s', (_what, raw) => {
    const body = JSON.parse(JSON.stringify(raw)) as unknown;

    expect({ handler: parseOrderRequest(body).ok, document: requestSchema.safeParse(body).success }).toEqual({ handler: true, document: true });
  });

  it.each([
    ['an unknown field', orderBody({ venue: 'x' })],
    ['a missing symbol', orderBody({ symbol: undefined })],
    ['a client_order_id with a space', orderBody({ client_order_id: 'ord 1' })],
    ['an unknown time_in_force', orderBody({ time_in_force: 'week' })],
    ['a boolean quantity', orderBody({ qty: true })],
  ])('refuses, as the handler does, %s', (_what, raw) => {
    const body = JSON.parse(JSON.stringify(raw)) as unknown;

    expect({ handler: parseOrderRequest(body).ok, document: requestSchema.safeParse(body).success }).toEqual({ handler: false, document: false });
  });
});
