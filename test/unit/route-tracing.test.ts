import { afterEach, describe, expect, it, vi } from 'vitest';
import { SERVICE_NAME, tracer } from '../../functions/adapters/observability';
import { createRouteHandler, routeAnnotations } from '../../functions/route/route-handler';
import { proxyEvent } from '../support/api-gateway';

// The route function's trace annotations. Outside Lambda the tracer is disabled, so its methods
// are spied on: the calls are what matters, the tracer itself records nothing here.

const CLIENT_ORDER_ID = 'momentum-AAPL-0001';
const SYMBOL = 'AAPL';

/** A handler whose dependencies are never reached: the requests below are answered before any store call. */
function routeHandler() {
  return createRouteHandler({ PROVENANCE_TABLE_NAME: 'lean-router-provenance-test', CONTROL_PARAMETER_PREFIX: '/lean-router/test/', AWS_REGION: 'us-east-1' });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the tracer', () => {
  it('is disabled outside Lambda, so tests and the local stack send nothing to X-Ray', () => {
    expect(tracer.isTracingEnabled()).toBe(false);
  });
});

describe('the route handler', () => {
  it('annotates the cold start and the service of each invocation', async () => {
    const coldStart = vi.spyOn(tracer, 'annotateColdStart');
    const service = vi.spyOn(tracer, 'addServiceNameAnnotation');

    await routeHandler()(proxyEvent('GET', '/unknown', null));

    expect([coldStart.mock.calls.length, service.mock.calls.length]).toEqual([1, 1]);
  });

  it('annotates the method, the resource and the status, not the path that holds the id', async () => {
    // As in Lambda with tracing on: the invocation runs inside its own subsegment.
    vi.spyOn(tracer, 'isTracingEnabled').mockReturnValue(true);
    vi.spyOn(tracer.provider, 'captureAsyncFunc').mockImplementation(((_name: string, fn: (subsegment: unknown) => unknown) => fn({ addFaultFlag: () => undefined, close: () => undefined })) as never);
    const annotate = vi.spyOn(tracer, 'putAnnotation');

    const response = await routeHandler()(proxyEvent('GET', `/orders/${CLIENT_ORDER_ID}/extra`, null));

    expect(response.statusCode).toBe(404);
    expect(Object.fromEntries(annotate.mock.calls)).toEqual({ ColdStart: false, Service: 'lean-router', http_method: 'GET', resource: 'other', status_code: 404 });
  });
});

describe('an untraced invocation', () => {
  it('puts no annotation, so the answer is not read again for one', async () => {
    const annotate = vi.spyOn(tracer, 'putAnnotation');

    await routeHandler()(proxyEvent('GET', '/unknown', null));

    expect(annotate).not.toHaveBeenCalled();
  });
});

describe('routeAnnotations', () => {
  const orderEvent = proxyEvent('GET', `/orders/${CLIENT_ORDER_ID}`, null, {}, { client_order_id: CLIENT_ORDER_ID });

  it('takes the route from the route evidence and the resource template from API Gateway', () => {
    const body = JSON.stringify({ client_order_id: CLIENT_ORDER_ID, symbol: SYMBOL, status: 'accepted', execution_route: 'alpaca_fallback', broker_order_id: 'b-1' });

    expect(routeAnnotations(orderEvent, { statusCode: 201, body })).toEqual({ http_method: 'GET', resource: '/orders/{client_order_id}', status_code: 201, execution_route: 'alpaca_fallback' });
  });

  it('reads the route of a failed order from its details', () => {
    const body = JSON.stringify({ error: 'order_failed', details: { client_order_id: CLIENT_ORDER_ID, execution_route: 'none' } });

    expect(routeAnnotations(orderEvent, { statusCode: 502, body }).execution_route).toBe('none');
  });

  it('never carries the client_order_id or the symbol', () => {
    const body = JSON.stringify({ client_order_id: CLIENT_ORDER_ID, symbol: SYMBOL, execution_route: 'lean' });

    const values = Object.values(routeAnnotations(orderEvent, { statusCode: 201, body })).map(String);

    expect(values.filter((value) => value.includes(CLIENT_ORDER_ID) || value.includes(SYMBOL))).toEqual([]);
  });

  it('leaves out a route that is not one of the known routes', () => {
    const body = JSON.stringify({ execution_route: CLIENT_ORDER_ID });

    expect(routeAnnotations(orderEvent, { statusCode: 201, body })).not.toHaveProperty('execution_route');
  });
});
