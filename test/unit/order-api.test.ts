import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AlpacaSubmitOutcome } from '../../functions/core/execution';
import { MAX_ORDER_BODY_BYTES } from '../../functions/core/order-request';
import type { CancelOutcome } from '../../functions/core/ports';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { API_ERRORS, apiErrorSchema, cancelReceiptSchema, orderReceiptSchema, orderRowSchema, type ApiErrorCode } from '../../functions/route/order-responses';
import { createOrderApi } from '../../functions/route/order-api';
import { startApiFrontDoor } from '../../lib/local/api-front-door';
import {
  accepted,
  brokerOrder,
  fakeWorld,
  leanFailure,
  lookupError,
  order,
  orderBody,
  pendingRow,
  routerConfig,
  type FakeWorld,
} from '../support/fakes';
import { apiGatewayEvent, JSON_CONTENT_TYPE } from '../support/api-gateway';

const REQUEST_ID = 'apigw-request-1';
const ORDER = order();
const LEAN_ACCEPTS = { submits: [accepted(brokerOrder(ORDER, {}, 'lean-order-1'))] };
const ALPACA_REJECTS: AlpacaSubmitOutcome = { kind: 'rejected', httpStatus: 403, detail: 'insufficient buying power' };

/** An API Gateway proxy event with a fixed request id; only what the order API reads is meaningful. */
function apiEvent(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return apiGatewayEvent({ requestContext: { requestId: REQUEST_ID } as APIGatewayProxyEvent['requestContext'], ...overrides });
}

/** A JSON `POST /orders`; `overrides.headers` are added to its content type. */
const postEvent = (body: unknown, overrides: Partial<APIGatewayProxyEvent> = {}) =>
  apiEvent({ body: typeof body === 'string' ? body : JSON.stringify(body), ...overrides, headers: { ...JSON_CONTENT_TYPE, ...overrides.headers } });
/** A `POST /orders` of a valid order with exactly these headers. */
const postWithHeaders = (headers: Record<string, string>) => apiEvent({ body: JSON.stringify(orderBody()), headers });
/** A `POST /orders` whose body is these bytes, base64-encoded as API Gateway passes a binary body. */
const postBytes = (bytes: Buffer) => apiEvent({ body: bytes.toString('base64'), isBase64Encoded: true });
/** The bytes of a valid order whose strategy_id is `bytes`, sent as they are. */
function orderWithStrategyBytes(bytes: readonly number[]): Buffer {
  const [before = '', after = ''] = JSON.stringify(orderBody({ strategy_id: '#' })).split('#');
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
}
/** A valid order whose strategy_id is `a` then 0xC3 0x28: a lead byte, then a byte that cannot continue it. */
const NOT_UTF8 = orderWithStrategyBytes([0x61, 0xc3, 0x28]);
/** A valid order, then `qty` again: JSON.parse alone would keep the last, 1000. */
const DUPLICATE_QTY = JSON.stringify(orderBody({ qty: '1' })).replace(/}$/, ',"qty":"1000"}');
const getEvent = (path: string, overrides: Partial<APIGatewayProxyEvent> = {}) =>
  apiEvent({ httpMethod: 'GET', path, resource: '/orders/{client_order_id}', ...overrides });
const deleteEvent = (path: string) => apiEvent({ httpMethod: 'DELETE', path, resource: '/orders/{client_order_id}' });

const CANCEL_REQUESTED: CancelOutcome = { kind: 'requested', httpStatus: 200 };
const CANCEL_TIMES_OUT: CancelOutcome = { kind: 'failed', detail: 'timeout', certainty: 'ambiguous' };

/** A world whose store holds ORDER accepted by LEAN (Alpaca's id alpaca-order-1), with these cancel answers scripted. */
function withAcceptedLeanOrder(overrides: Partial<ProvenanceRow> = {}, cancels: { lean?: CancelOutcome[]; alpaca?: CancelOutcome[] } = {}): FakeWorld {
  const world = fakeWorld({ lean: { cancels: cancels.lean ?? [] }, alpaca: { cancels: cancels.alpaca ?? [] } });
  world.store.seed(pendingRow({ status: 'accepted', execution_adapter: 'lean', execution_route: 'lean', broker_order_id: 'alpaca-order-1', ...overrides }));
  return world;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: Record<string, unknown>;
}

async function call(world: FakeWorld, event: APIGatewayProxyEvent): Promise<Answer> {
  const result: APIGatewayProxyResult = await createOrderApi(world.deps)(event);
  return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body) as Record<string, unknown> };
}

/** A world whose store already holds the row of a first POST of ORDER. */
async function afterFirstPost(world: FakeWorld): Promise<FakeWorld> {
  await call(world, postEvent(orderBody()));
  return world;
}

function brokerCalls(world: FakeWorld): number {
  return world.lean.submitCalls.length + world.alpaca.submitCalls.length + world.lean.lookupCalls.length + world.alpaca.lookupCalls.length;
}

describe('POST /orders success answers', () => {
  it('answers 201 with the route evidence when the order is accepted', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });

    const answer = await call(world, postEvent(orderBody()));

    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      client_order_id: 'ord-0001',
      status: 'accepted',
      execution_expected_adapter: 'lean',
      execution_route: 'lean',
      broker_order_id: 'lean-order-1',
      persisted: true,
    });
  });

  it('answers 200 with header idempotent-replay: true when the same order is sent again', async () => {
    const world = await afterFirstPost(fakeWorld({ lean: LEAN_ACCEPTS }));

    const answer = await call(world, postEvent(orderBody()));

    expect(answer.status).toBe(200);
    expect(answer.headers['idempotent-replay']).toBe('true');
    expect(answer.body).toMatchObject({ status: 'accepted', broker_order_id: 'lean-order-1' });
  });

  it('sends a replayed order to no broker', async () => {
    const world = await afterFirstPost(fakeWorld({ lean: LEAN_ACCEPTS }));

    await call(world, postEvent(orderBody()));

    // The one call is the first POST's LEAN submit.
    expect(world.lean.submitCalls).toHaveLength(1);
    expect(brokerCalls(world)).toBe(1);
  });

  it('answers 202 when the outcome is unknown', async () => {
    const world = fakeWorld({ lean: { submits: [leanFailure('lean_submit_timeout', 'ambiguous')], lookups: [lookupError] }, alpaca: { lookups: [lookupError] } });

    const answer = await call(world, postEvent(orderBody()));

    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'unknown' });
  });

  it('accepts a base64-encoded body', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });
    const body = Buffer.from(JSON.stringify(orderBody())).toString('base64');

    const answer = await call(world, apiEvent({ body, isBase64Encoded: true }));

    expect(answer.status).toBe(201);
  });

  it.each([
    ['with a charset', { 'content-type': 'application/json; charset=utf-8' }],
    ['in another case, with a quoted charset', { 'Content-Type': 'Application/JSON; Charset="UTF-8"' }],
    ['with a parameter other than charset', { 'CONTENT-TYPE': 'application/json;profile=order' }],
  ])('accepts a JSON content type %s', async (_case, headers) => {
    const answer = await call(fakeWorld({ lean: LEAN_ACCEPTS }), postWithHeaders(headers));

    expect(answer.status).toBe(201);
  });

  it('accepts a body with non-ASCII UTF-8 text and keeps it as sent', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });

    await call(world, postBytes(Buffer.from(JSON.stringify(orderBody({ strategy_id: 'élan-€' })), 'utf8')));

    expect(world.store.rows.get('ord-0001')?.strategy_id).toBe('élan-€');
  });

  it('accepts a trailing slash on the path', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });

    expect((await call(world, postEvent(orderBody(), { path: '/orders/' }))).status).toBe(201);
  });
});

/** Every error answer: how to provoke it, and what it must say. */
interface ErrorCase {
  readonly name: string;
  readonly world: () => Promise<FakeWorld>;
  readonly event: APIGatewayProxyEvent;
  readonly status: number;
  readonly error: ApiErrorCode;
}

const fresh = async () => fakeWorld();
const ERROR_CASES: readonly ErrorCase[] = [
  { name: 'a body that is not JSON', world: fresh, event: postEvent('{"symbol": '), status: 400, error: 'invalid_json' },
  { name: 'an empty body', world: fresh, event: postEvent(''), status: 400, error: 'invalid_json' },
  { name: 'no body at all', world: fresh, event: apiEvent({ body: null }), status: 400, error: 'invalid_json' },
  { name: 'an invalid order', world: fresh, event: postEvent(orderBody({ qty: '-1' })), status: 400, error: 'validation_failed' },
  { name: 'a body over 16 KiB', world: fresh, event: postEvent('x'.repeat(MAX_ORDER_BODY_BYTES + 1)), status: 413, error: 'payload_too_large' },
  { name: 'a text/plain body', world: fresh, event: postWithHeaders({ 'content-type': 'text/plain' }), status: 415, error: 'unsupported_media_type' },
  { name: 'a form body', world: fresh, event: postWithHeaders({ 'content-type': 'application/x-www-form-urlencoded' }), status: 415, error: 'unsupported_media_type' },
  { name: 'a multipart body', world: fresh, event: postWithHeaders({ 'content-type': 'multipart/form-data; boundary=x' }), status: 415, error: 'unsupported_media_type' },
  { name: 'a JSON-like media type', world: fresh, event: postWithHeaders({ 'content-type': 'application/json-patch+json' }), status: 415, error: 'unsupported_media_type' },
  { name: 'a JSON body in another charset', world: fresh, event: postWithHeaders({ 'content-type': 'application/json; charset=iso-8859-1' }), status: 415, error: 'unsupported_media_type' },
  { name: 'a body without a content type', world: fresh, event: postWithHeaders({}), status: 415, error: 'unsupported_media_type' },
  { name: 'a body that is not UTF-8', world: fresh, event: postBytes(NOT_UTF8), status: 400, error: 'invalid_json' },
  {
    name: 'a text body with a lone surrogate',
    world: fresh,
    event: postEvent(JSON.stringify(orderBody({ strategy_id: '#' })).replace('#', '\ud800')),
    status: 400,
    error: 'invalid_json',
  },
  {
    name: 'a text body holding U+FFFD, as API Gateway passes invalid UTF-8 on',
    world: fresh,
    event: postEvent(JSON.stringify(orderBody({ strategy_id: 'mom\ufffd' }))),
    status: 400,
    error: 'invalid_json',
  },
  { name: 'a body with a duplicated key', world: fresh, event: postEvent(DUPLICATE_QTY), status: 400, error: 'invalid_json' },
  { name: 'a non-ASCII symbol that upper-cases to a ticker', world: fresh, event: postEvent(orderBody({ symbol: 'ıbm' })), status: 400, error: 'validation_failed' },
  { name: 'extended hours on a market order', world: fresh, event: postEvent(orderBody({ extended_hours: true })), status: 400, error: 'validation_failed' },
  {
    name: 'a fractional qty on a limit order',
    world: fresh,
    event: postEvent(orderBody({ qty: '1.5', type: 'limit', limit_price: '10' })),
    status: 400,
    error: 'validation_failed',
  },
  {
    name: 'an order still being routed',
    world: async () => {
      const world = fakeWorld({ lean: LEAN_ACCEPTS });
      world.store.failOn('finalize'); // the first POST leaves its row pending
      return afterFirstPost(world);
    },
    event: postEvent(orderBody()),
    status: 409,
    error: 'order_in_flight',
  },
  {
    name: 'a different order under a used client_order_id',
    world: () => afterFirstPost(fakeWorld({ lean: LEAN_ACCEPTS })),
    event: postEvent(orderBody({ qty: '11' })),
    status: 409,
    error: 'client_order_id_conflict',
  },
  {
    name: 'an order Alpaca rejects',
    world: async () => fakeWorld({ config: routerConfig({ adapter: 'alpaca' }), alpaca: { submits: [ALPACA_REJECTS] } }),
    event: postEvent(orderBody()),
    status: 422,
    error: 'order_rejected',
  },
  {
    name: 'an order no broker accepted',
    world: async () => fakeWorld({ config: routerConfig({ fallback: 'none' }), lean: { submits: [leanFailure('lean_submit_network_error', 'definite')] } }),
    event: postEvent(orderBody()),
    status: 502,
    error: 'order_failed',
  },
  {
    name: 'an unreachable provenance table on POST',
    world: async () => fakeWorldWithFailingStore('claim'),
    event: postEvent(orderBody()),
    status: 503,
    error: 'provenance_unavailable',
  },
  {
    name: 'a dependency that throws before the order is claimed',
    world: async () => {
      const world = fakeWorld();
      world.control.read = () => Promise.reject(new Error('control plane bug'));
      return world;
    },
    event: postEvent(orderBody()),
    status: 500,
    error: 'internal_error',
  },
  { name: 'GET of an order that does not exist', world: fresh, event: getEvent('/orders/ord-404'), status: 404, error: 'order_not_found' },
  { name: 'GET of a 129-character id', world: fresh, event: getEvent(`/orders/${'a'.repeat(129)}`), status: 400, error: 'validation_failed' },
  { name: 'GET of an id with a space', world: fresh, event: getEvent('/orders/ord%20404'), status: 400, error: 'validation_failed' },
  { name: 'GET of an id with malformed percent-encoding', world: fresh, event: getEvent('/orders/ord%E0%A4%A'), status: 400, error: 'validation_failed' },
  {
    name: 'GET of an id in path parameters with bad characters',
    world: fresh,
    event: getEvent('/orders/x', { pathParameters: { client_order_id: 'ord/../1' } }),
    status: 400,
    error: 'validation_failed',
  },
  { name: 'GET while the store is unreachable', world: async () => fakeWorldWithFailingStore('get'), event: getEvent('/orders/ord-0001'), status: 503, error: 'provenance_unavailable' },
  { name: 'an unknown path', world: fresh, event: apiEvent({ httpMethod: 'GET', path: '/health' }), status: 404, error: 'not_found' },
  { name: 'a path below an order', world: fresh, event: apiEvent({ path: '/orders/ord-1/cancel' }), status: 404, error: 'not_found' },
  { name: 'GET /orders', world: fresh, event: apiEvent({ httpMethod: 'GET' }), status: 405, error: 'method_not_allowed' },
  { name: 'PUT /orders', world: fresh, event: postEvent(orderBody(), { httpMethod: 'PUT' }), status: 405, error: 'method_not_allowed' },
  { name: 'PUT /orders/{id}', world: fresh, event: apiEvent({ httpMethod: 'PUT', path: '/orders/ord-0001' }), status: 405, error: 'method_not_allowed' },
  { name: 'DELETE of an order that does not exist', world: fresh, event: deleteEvent('/orders/ord-404'), status: 404, error: 'order_not_found' },
  { name: 'DELETE of an id with a space', world: fresh, event: deleteEvent('/orders/ord%20404'), status: 400, error: 'validation_failed' },
  {
    name: 'DELETE of an order filled at the broker',
    world: async () => withAcceptedLeanOrder({ broker_status: 'filled' }),
    event: deleteEvent('/orders/ord-0001'),
    status: 409,
    error: 'order_final',
  },
  {
    name: 'DELETE of an order whose outcome is unknown',
    world: async () => afterFirstPost(LEAN_FAILS_AMBIGUOUSLY()),
    event: deleteEvent('/orders/ord-0001'),
    status: 409,
    error: 'order_not_cancellable',
  },
  {
    name: 'DELETE that no broker takes',
    world: async () => withAcceptedLeanOrder({}, { lean: [CANCEL_TIMES_OUT], alpaca: [CANCEL_TIMES_OUT] }),
    event: deleteEvent('/orders/ord-0001'),
    status: 502,
    error: 'cancel_failed',
  },
  { name: 'DELETE while the store is unreachable', world: async () => fakeWorldWithFailingStore('get'), event: deleteEvent('/orders/ord-0001'), status: 503, error: 'provenance_unavailable' },
];

function fakeWorldWithFailingStore(operation: 'claim' | 'get'): FakeWorld {
  const world = fakeWorld();
  world.store.failOn(operation);
  return world;
}

describe('error answers', () => {
  it.each(ERROR_CASES)('answers $name with $status $error', async ({ world, event, status, error }) => {
    const answer = await call(await world(), event);

    expect({ status: answer.status, error: answer.body.error }).toEqual({ status, error });
  });

  it.each(ERROR_CASES)('answers $name with a body of only error, message and details', async ({ world, event }) => {
    const answer = await call(await world(), event);

    expect(Object.keys(answer.body).filter((key) => !['error', 'message', 'details'].includes(key))).toEqual([]);
    expect(answer.body.message).toEqual(expect.any(String));
    expect(answer.body.message).not.toBe('');
  });

  it.each(ERROR_CASES)('answers $name with the correlation id header', async ({ world, event }) => {
    const answer = await call(await world(), { ...event, headers: { ...event.headers, 'x-correlation-id': 'corr-err-1' } });

    expect(answer.headers['x-correlation-id']).toBe('corr-err-1');
  });
});

/** Every success answer: how to provoke it, and which schema its body follows. */
interface SuccessCase {
  readonly name: string;
  readonly world: () => Promise<FakeWorld>;
  readonly event: APIGatewayProxyEvent;
  readonly status: 200 | 201 | 202;
  readonly schema: z.ZodType;
}

const LEAN_FAILS_AMBIGUOUSLY = () =>
  fakeWorld({ lean: { submits: [leanFailure('lean_submit_timeout', 'ambiguous')], lookups: [lookupError] }, alpaca: { lookups: [lookupError] } });
const LEAN_FAILS_THEN_ALPACA_ACCEPTS = () =>
  fakeWorld({ lean: { submits: [leanFailure('lean_submit_http_502', 'definite', 502)] }, alpaca: { submits: [accepted(brokerOrder(ORDER, {}, 'alpaca-order-1'))] } });
const ALPACA_REJECTS_WORLD = () => fakeWorld({ config: routerConfig({ adapter: 'alpaca' }), alpaca: { submits: [ALPACA_REJECTS] } });
const KILL_SWITCH_ON = () =>
  fakeWorld({ control: { killSwitch: { state: 'on', reason: 'runner upgrade', source: 'parameter' } }, alpaca: { submits: [accepted(brokerOrder(ORDER, {}, 'alpaca-order-1'))] } });

const SUCCESS_CASES: readonly SuccessCase[] = [
  { name: 'an order LEAN accepts', world: async () => fakeWorld({ lean: LEAN_ACCEPTS }), event: postEvent(orderBody()), status: 201, schema: orderReceiptSchema },
  { name: 'an order that falls back to Alpaca', world: async () => LEAN_FAILS_THEN_ALPACA_ACCEPTS(), event: postEvent(orderBody()), status: 201, schema: orderReceiptSchema },
  { name: 'an order whose outcome is unknown', world: async () => LEAN_FAILS_AMBIGUOUSLY(), event: postEvent(orderBody()), status: 202, schema: orderReceiptSchema },
  { name: 'a replay of an accepted order', world: () => afterFirstPost(fakeWorld({ lean: LEAN_ACCEPTS })), event: postEvent(orderBody()), status: 200, schema: orderReceiptSchema },
  { name: 'a replay of a rejected order', world: () => afterFirstPost(ALPACA_REJECTS_WORLD()), event: postEvent(orderBody()), status: 200, schema: orderReceiptSchema },
  { name: 'a replay of an order whose outcome is unknown', world: () => afterFirstPost(LEAN_FAILS_AMBIGUOUSLY()), event: postEvent(orderBody()), status: 202, schema: orderReceiptSchema },
  { name: 'GET of an order LEAN accepted', world: () => afterFirstPost(fakeWorld({ lean: LEAN_ACCEPTS })), event: getEvent('/orders/ord-0001'), status: 200, schema: orderRowSchema },
  { name: 'GET of an order that fell back to Alpaca', world: () => afterFirstPost(LEAN_FAILS_THEN_ALPACA_ACCEPTS()), event: getEvent('/orders/ord-0001'), status: 200, schema: orderRowSchema },
  { name: 'GET of an order gated by the kill switch', world: () => afterFirstPost(KILL_SWITCH_ON()), event: getEvent('/orders/ord-0001'), status: 200, schema: orderRowSchema },
  { name: 'DELETE of an open LEAN order', world: async () => withAcceptedLeanOrder({}, { lean: [CANCEL_REQUESTED] }), event: deleteEvent('/orders/ord-0001'), status: 202, schema: cancelReceiptSchema },
  {
    name: 'a repeated DELETE once a broker took the cancel',
    world: async () => {
      const world = withAcceptedLeanOrder({}, { lean: [CANCEL_REQUESTED] });
      await call(world, deleteEvent('/orders/ord-0001'));
      return world;
    },
    event: deleteEvent('/orders/ord-0001'),
    status: 200,
    schema: cancelReceiptSchema,
  },
  {
    name: 'GET of an order still pending',
    world: async () => {
      const world = fakeWorld({ lean: LEAN_ACCEPTS });
      world.store.failOn('finalize');
      return afterFirstPost(world);
    },
    event: getEvent('/orders/ord-0001'),
    status: 200,
    schema: orderRowSchema,
  },
];

describe('answers as the response schemas say', () => {
  it.each(SUCCESS_CASES)('answers $name $status with a body its schema accepts', async ({ world, event, status, schema }) => {
    const answer = await call(await world(), event);

    expect({ status: answer.status, issues: schema.safeParse(answer.body).error?.issues }).toEqual({ status, issues: undefined });
  });

  it.each(ERROR_CASES)('answers $name with the status of its code and a body its code’s schema accepts', async ({ world, event, error }) => {
    const answer = await call(await world(), event);

    expect({ status: answer.status, issues: apiErrorSchema(error).safeParse(answer.body).error?.issues }).toEqual({ status: API_ERRORS[error].status, issues: undefined });
  });
});

/** The checked-in OpenAPI document with every `$ref` replaced by what it points at. */
const DOCUMENT = new Validator().resolveRefs({
  specification: JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as Record<string, unknown>,
}) as { paths: Record<string, Record<string, { responses: Record<string, { content: { 'application/json': { schema: Record<string, unknown> } } }> }>> };

/** The document's operation for an event: `POST /orders` or `GET /orders/{client_order_id}`; undefined for anything else. */
function documentedOperation(event: APIGatewayProxyEvent) {
  const path = /^\/orders\/[^/]+$/.test(event.path) ? '/orders/{client_order_id}' : event.path;
  return DOCUMENT.paths[path]?.[event.httpMethod.toLowerCase()];
}

const DOCUMENTED_CASES = [...SUCCESS_CASES, ...ERROR_CASES].filter(({ event }) => documentedOperation(event) !== undefined);

describe('answers as docs/openapi.json documents them', () => {
  it('leaves out only the answers to paths and methods the API does not have', () => {
    const undocumented = ERROR_CASES.filter(({ event }) => documentedOperation(event) === undefined).map(({ error }) => error);

    expect(new Set(undocumented)).toEqual(new Set<ApiErrorCode>(['not_found', 'method_not_allowed']));
  });

  it.each(DOCUMENTED_CASES)('answers $name with a status and body the document gives its operation', async ({ world, event }) => {
    const answer = await call(await world(), event);

    const response = documentedOperation(event)?.responses[String(answer.status)];
    const schema = z.fromJSONSchema(response?.content['application/json'].schema ?? false);
    expect({ documented: response !== undefined, issues: schema.safeParse(answer.body).error?.issues }).toEqual({ documented: true, issues: undefined });
  });
});

describe('error details', () => {
  it('lists every invalid field in the details of a validation failure', async () => {
    const answer = await call(fakeWorld(), postEvent(orderBody({ qty: '-1', side: 'hold', account: 'x' })));

    const fields = (answer.body.details as { field: string }[]).map((detail) => detail.field).sort();
    expect(fields).toEqual(['account', 'qty', 'side']);
  });

  it('writes no row and calls no broker for a body over 16 KiB', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });
    const padded = JSON.stringify(orderBody({ strategy_id: 's' })).replace('"s"', `"s"${' '.repeat(MAX_ORDER_BODY_BYTES)}`);

    await call(world, postEvent(padded));

    expect(world.store.claims).toEqual([]);
    expect(brokerCalls(world)).toBe(0);
  });

  it('measures the decoded size of a base64 body, not its encoded length', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });
    const body = JSON.stringify(orderBody()).padEnd(MAX_ORDER_BODY_BYTES - 100, ' ');
    const encoded = Buffer.from(body).toString('base64');

    const answer = await call(world, apiEvent({ body: encoded, isBase64Encoded: true }));

    expect(encoded.length).toBeGreaterThan(MAX_ORDER_BODY_BYTES);
    expect(answer.status).toBe(201);
  });

  it.each([
    ['invalid JSON', postEvent('nope')],
    ['a validation failure', postEvent(orderBody({ type: 'limit' }))],
    ['a text/plain body', postWithHeaders({ 'content-type': 'text/plain' })],
    ['a body without a content type', postWithHeaders({})],
    ['a body that is not UTF-8', postBytes(NOT_UTF8)],
    ['a duplicated key', postEvent(DUPLICATE_QTY)],
    ['U+FFFD in a text body', postEvent(JSON.stringify(orderBody({ strategy_id: 'mom\ufffd' })))],
    ['a non-ASCII symbol', postEvent(orderBody({ symbol: 'ſpy' }))],
    ['extended hours on a market order', postEvent(orderBody({ extended_hours: true }))],
    ['a fractional qty on a limit order', postEvent(orderBody({ qty: '1.5', type: 'limit', limit_price: '10' }))],
  ])('writes no row and calls no broker on %s', async (_case, event) => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });

    await call(world, event);

    expect(world.store.claims).toEqual([]);
    expect(brokerCalls(world)).toBe(0);
  });

  it('names the duplicated key in the message', async () => {
    const answer = await call(fakeWorld(), postEvent(DUPLICATE_QTY));

    expect(answer.body.message).toBe('body has the key "qty" more than once');
  });

  it('says the body is not valid UTF-8', async () => {
    const answer = await call(fakeWorld(), postBytes(NOT_UTF8));

    expect(answer.body.message).toBe('body is not valid UTF-8');
  });

  it('names U+FFFD in a text body as the mark of bytes that were not UTF-8', async () => {
    const answer = await call(fakeWorld(), postEvent(JSON.stringify(orderBody({ strategy_id: 'mom\ufffd' }))));

    expect(answer.body.message).toBe('body holds U+FFFD, the mark left where bytes were not valid UTF-8');
  });

  it.each([
    ['a non-ASCII symbol', { symbol: 'ſpy' }, 'symbol', 'ASCII'],
    ['extended hours on a stop order', { extended_hours: true, type: 'stop', stop_price: '10' }, 'extended_hours', 'limit orders with time_in_force day or gtc'],
    ['extended hours on a limit ioc order', { extended_hours: true, type: 'limit', limit_price: '10', time_in_force: 'ioc' }, 'extended_hours', 'limit orders'],
    ['a fractional qty on a market gtc order', { qty: '0.5', time_in_force: 'gtc' }, 'qty', 'market orders with time_in_force day'],
  ])('names the field and the reason of %s in the details', async (_case, overrides, field, reason) => {
    const answer = await call(fakeWorld(), postEvent(orderBody(overrides)));

    expect(answer.body.details).toEqual([{ field, message: expect.stringContaining(reason) }]);
  });

  it('answers a sub-penny limit_price 400 validation_failed naming the field, writing no row and calling no broker', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });

    const answer = await call(world, postEvent(orderBody({ type: 'limit', limit_price: '10.505' })));

    expect({ status: answer.status, error: answer.body.error, details: answer.body.details }).toEqual({
      status: 400,
      error: 'validation_failed',
      details: [{ field: 'limit_price', message: expect.stringContaining('at most 2 decimals') }],
    });
    expect(world.store.claims).toEqual([]);
    expect(brokerCalls(world)).toBe(0);
  });

  it('answers a body over 16 KiB 413 before looking at its content type', async () => {
    const event = apiEvent({ body: 'x'.repeat(MAX_ORDER_BODY_BYTES + 1), headers: { 'content-type': 'text/plain' } });

    const answer = await call(fakeWorld(), event);

    expect(answer.status).toBe(413);
  });

  it('answers 415 before looking at the bytes of a body that is not UTF-8', async () => {
    const event = { ...postBytes(NOT_UTF8), headers: { 'content-type': 'text/plain' } };

    const answer = await call(fakeWorld(), event);

    expect(answer.status).toBe(415);
  });

  it('refuses a duplicated key before validating the order', async () => {
    const body = JSON.stringify(orderBody({ side: 'hold' })).replace(/}$/, ',"side":"hold"}');

    const answer = await call(fakeWorld(), postEvent(body));

    expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 400, error: 'invalid_json' });
  });

  it('sends nothing to any broker when the provenance table is unreachable', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });
    world.store.failOn('claim');

    const answer = await call(world, postEvent(orderBody()));

    expect(brokerCalls(world)).toBe(0);
    expect(answer.headers['retry-after']).toBe('5');
  });

  it('names the allowed method on a 405', async () => {
    const answer = await call(fakeWorld(), apiEvent({ httpMethod: 'GET' }));

    expect(answer.headers.allow).toBe('POST');
  });

  it('names both methods an order takes on a 405 for its path', async () => {
    const answer = await call(fakeWorld(), apiEvent({ httpMethod: 'PUT', path: '/orders/ord-0001' }));

    expect(answer.headers.allow).toBe('GET, DELETE');
  });

  it('marks a repeated cancel as an idempotent replay', async () => {
    const world = withAcceptedLeanOrder({}, { lean: [CANCEL_REQUESTED] });
    await call(world, deleteEvent('/orders/ord-0001'));

    const answer = await call(world, deleteEvent('/orders/ord-0001'));

    expect(answer.headers['idempotent-replay']).toBe('true');
    expect(world.lean.cancelCalls).toHaveLength(1);
  });

  it('answers a DELETE of an invalid id without reading the table', async () => {
    const world = fakeWorld();

    await call(world, deleteEvent('/orders/ord%20404'));

    expect(world.store.reads).toEqual([]);
  });

  it('carries the cancel evidence in the details of a 409 for a filled order', async () => {
    const world = withAcceptedLeanOrder({ broker_status: 'filled', filled_qty: '10' });

    const answer = await call(world, deleteEvent('/orders/ord-0001'));

    expect(answer.body.details).toEqual({ client_order_id: 'ord-0001', status: 'accepted', broker_order_id: 'alpaca-order-1', execution_route: 'lean', broker_status: 'filled', filled_qty: '10' });
  });

  it('carries the route evidence in the details of a rejection', async () => {
    const world = fakeWorld({ config: routerConfig({ adapter: 'alpaca' }), alpaca: { submits: [ALPACA_REJECTS] } });

    const answer = await call(world, postEvent(orderBody()));

    expect(answer.body.details).toMatchObject({ status: 'rejected', execution_route: 'none', execution_route_reason: 'adapter_alpaca' });
  });

  it('answers 500 internal_error when a dependency throws before the order is claimed', async () => {
    const world = fakeWorld();
    world.control.read = () => Promise.reject(new Error('control plane bug'));

    const answer = await call(world, postEvent(orderBody()));

    expect({ status: answer.status, error: answer.body.error, rows: world.store.rows.size }).toEqual({ status: 500, error: 'internal_error', rows: 0 });
  });

  it('answers 202 with a final unknown row when the broker port throws after the claim', async () => {
    const world = fakeWorld({ config: routerConfig({ adapter: 'alpaca' }) }); // Alpaca unscripted: its submit throws

    const answer = await call(world, postEvent(orderBody()));

    expect({ status: answer.status, row: world.store.rows.get('ord-0001')?.status }).toEqual({ status: 202, row: 'unknown' });
  });
});

describe('GET /orders/{client_order_id}', () => {
  it('answers 200 with the stored row', async () => {
    const world = await afterFirstPost(fakeWorld({ lean: LEAN_ACCEPTS }));

    const answer = await call(world, getEvent('/orders/ord-0001'));

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(JSON.parse(JSON.stringify(world.store.rows.get('ord-0001'))));
  });

  it('reads the id from the path parameters when API Gateway provides them', async () => {
    const world = await afterFirstPost(fakeWorld({ lean: LEAN_ACCEPTS }));

    await call(world, getEvent('/orders/ord-0001', { pathParameters: { client_order_id: 'ord-0001' } }));

    expect(world.store.reads).toEqual(['ord-0001']);
  });

  it('decodes a percent-encoded id in the path', async () => {
    const world = fakeWorld();

    await call(world, getEvent('/orders/ord%3A1'));

    expect(world.store.reads).toEqual(['ord:1']);
  });
});

describe('x-correlation-id', () => {
  it.each(['x-correlation-id', 'X-Correlation-ID', 'X-CORRELATION-ID'])('echoes the caller’s id sent as %s', async (header) => {
    const answer = await call(fakeWorld({ lean: LEAN_ACCEPTS }), postEvent(orderBody(), { headers: { [header]: 'sched-run-42:ord-1' } }));

    expect(answer.headers['x-correlation-id']).toBe('sched-run-42:ord-1');
  });

  it('records the caller’s id on the row', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });

    await call(world, postEvent(orderBody(), { headers: { 'x-correlation-id': 'sched-run-42' } }));

    expect(world.store.rows.get('ord-0001')?.correlation_id).toBe('sched-run-42');
  });

  it.each([
    ['absent', {}],
    ['empty', { 'x-correlation-id': '' }],
    ['containing spaces', { 'x-correlation-id': 'not a valid id' }],
    ['longer than 128 characters', { 'x-correlation-id': 'c'.repeat(129) }],
    ['carrying a newline', { 'x-correlation-id': 'abc\r\nset-cookie: x=1' }],
  ])('generates a well-formed id when the header is %s', async (_case, headers) => {
    const answer = await call(fakeWorld({ lean: LEAN_ACCEPTS }), postEvent(orderBody(), { headers }));

    const id = answer.headers['x-correlation-id'];
    expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(id).not.toBe(headers['x-correlation-id' as keyof typeof headers]);
  });

  it('generates an id when there is no request context either', async () => {
    const event = postEvent(orderBody());
    const answer = await call(fakeWorld({ lean: LEAN_ACCEPTS }), { ...event, requestContext: undefined as unknown as APIGatewayProxyEvent['requestContext'] });

    expect(answer.headers['x-correlation-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  });

  it('records the generated id on the row it answers for', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });

    const answer = await call(world, postEvent(orderBody()));

    expect(world.store.rows.get('ord-0001')?.correlation_id).toBe(answer.headers['x-correlation-id']);
  });

  it('passes the correlation id to the broker', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });

    await call(world, postEvent(orderBody(), { headers: { 'x-correlation-id': 'sched-run-42' } }));

    expect(world.lean.submitCalls[0]?.context.correlationId).toBe('sched-run-42');
  });
});

describe('the order API behind the local front door', () => {
  /** One HTTP request to a front door started for this world's order API. */
  async function throughFrontDoor(world: FakeWorld, path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const door = await startApiFrontDoor(createOrderApi(world.deps), { port: 0 });
    try {
      const response = await fetch(`${door.url}${path}`, init);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    } finally {
      await door.close();
    }
  }

  it('answers GET with malformed percent-encoding 400 validation_failed', async () => {
    const answer = await throughFrontDoor(fakeWorld(), '/orders/%E0%A4%A');

    expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 400, error: 'validation_failed' });
  });

  it('answers a body that is not UTF-8 400 invalid_json and writes no row', async () => {
    const world = fakeWorld({ lean: LEAN_ACCEPTS });

    const answer = await throughFrontDoor(world, '/orders', { method: 'POST', headers: JSON_CONTENT_TYPE, body: NOT_UTF8 });

    expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 400, error: 'invalid_json' });
    expect(world.store.claims).toEqual([]);
  });
});
