import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { addSingleMetric, PowertoolsRouteMetrics } from '../../functions/adapters/powertools-route-metrics';
import { routeOrder } from '../../functions/core/route-order';
import { parseEmf, type EmfMetric } from '../support/emf';
import { accepted, brokerOrder, fakeWorld, found, leanFailure, lookupError, notFound, order } from '../support/fakes';

const SERVICE = 'lean-router';

let written: string[];

beforeEach(() => {
  // vitest sets POWERTOOLS_DEV=true, which disables metrics and routes them to the global console.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  written = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** Runs `act` against real Powertools metrics, flushes once as the handler does, and returns what was emitted. */
async function emitted(act: (metrics: PowertoolsRouteMetrics) => void | Promise<void>): Promise<EmfMetric[]> {
  const metrics = new Metrics({ namespace: 'LeanRouter', serviceName: SERVICE });
  await act(new PowertoolsRouteMetrics(metrics));
  metrics.publishStoredMetrics();
  return parseEmf(written);
}

function only(metrics: EmfMetric[], name: string): EmfMetric {
  const matches = metrics.filter((metric) => metric.name === name);
  expect(matches, `exactly one ${name}`).toHaveLength(1);
  return matches[0] as EmfMetric;
}

/** The unit, value and complete dimension set of the one metric called `name`. */
function measured(metrics: EmfMetric[], name: string): Pick<EmfMetric, 'unit' | 'value' | 'dimensions'> {
  const { unit, value, dimensions } = only(metrics, name);
  return { unit, value, dimensions };
}

describe('PowertoolsRouteMetrics', () => {
  it.each(['lean', 'alpaca'] as const)('counts a submit to %s in execution_requests_total with the adapter dimension', async (adapter) => {
    const metrics = await emitted((route) => route.brokerSubmit(adapter, 42));

    expect(measured(metrics, 'execution_requests_total')).toEqual({ unit: 'Count', value: 1, dimensions: { service: SERVICE, adapter } });
  });

  it.each(['lean', 'alpaca'] as const)('records the submit latency of %s with the adapter dimension', async (adapter) => {
    const metrics = await emitted((route) => route.brokerSubmit(adapter, 42));

    expect(measured(metrics, 'execution_submit_latency_ms')).toEqual({ unit: 'Milliseconds', value: 42, dimensions: { service: SERVICE, adapter } });
  });

  it('counts a fallback in execution_fallback_total without a reason dimension', async () => {
    const metrics = await emitted((route) => route.fallback('lean_submit_timeout'));

    expect(measured(metrics, 'execution_fallback_total')).toEqual({ unit: 'Count', value: 1, dimensions: { service: SERVICE } });
  });

  it('counts a fallback in execution_fallback_reason_total with exactly the reason dimension', async () => {
    const metrics = await emitted((route) => route.fallback('lean_submit_http_502'));

    expect(measured(metrics, 'execution_fallback_reason_total')).toEqual({ unit: 'Count', value: 1, dimensions: { service: SERVICE, reason: 'lean_submit_http_502' } });
  });

  it('counts a gate in execution_gated_total with exactly the reason dimension', async () => {
    const metrics = await emitted((route) => route.gated('kill_switch'));

    expect(measured(metrics, 'execution_gated_total')).toEqual({ unit: 'Count', value: 1, dimensions: { service: SERVICE, reason: 'kill_switch' } });
  });

  it.each([
    ['outcomeUnknown', 'order_outcome_unknown_total'],
    ['provenanceWriteFailure', 'provenance_write_failures_total'],
    ['policyMisconfigured', 'policy_misconfigured_total'],
    ['leanAckMismatch', 'lean_ack_mismatch_total'],
  ] as const)('counts %s in %s without extra dimensions', async (method, name) => {
    const metrics = await emitted((route) => route[method]());

    expect(measured(metrics, name)).toEqual({ unit: 'Count', value: 1, dimensions: { service: SERVICE } });
  });

  it('does not let a reason dimension leak onto the next undimensioned counter', async () => {
    const metrics = await emitted((route) => {
      route.fallback('lean_submit_timeout');
      route.outcomeUnknown();
    });

    expect(only(metrics, 'order_outcome_unknown_total').dimensions).toEqual({ service: SERVICE });
  });

  it('builds one single-metric instance for every dimensioned counter of an order', async () => {
    const metrics = new Metrics({ namespace: 'LeanRouter', serviceName: SERVICE });
    const singleMetric = vi.spyOn(metrics, 'singleMetric');
    const route = new PowertoolsRouteMetrics(metrics);

    route.brokerSubmit('lean', 5);
    route.fallback('lean_submit_timeout');
    route.brokerSubmit('alpaca', 7);

    expect(singleMetric).toHaveBeenCalledTimes(1);
  });

  it('gives each of two consecutive dimensioned counters only its own dimension', async () => {
    const metrics = await emitted((route) => {
      route.brokerSubmit('lean', 5);
      route.gated('breaker_open');
    });

    expect(only(metrics, 'execution_gated_total').dimensions).toEqual({ service: SERVICE, reason: 'breaker_open' });
  });

  it('does not let the dimension of a refused metric ride on the next one', () => {
    const metrics = new Metrics({ namespace: 'LeanRouter', serviceName: SERVICE });
    const tooLongName = 'x'.repeat(256);
    expect(() => addSingleMetric(metrics, 'adapter', 'lean', tooLongName)).toThrow(RangeError);

    new PowertoolsRouteMetrics(metrics).gated('breaker_open');

    expect(only(parseEmf(written), 'execution_gated_total').dimensions).toEqual({ service: SERVICE, reason: 'breaker_open' });
  });

  it('writes every metric to the LeanRouter namespace', async () => {
    const metrics = await emitted((route) => {
      route.brokerSubmit('lean', 5);
      route.fallback('lean_submit_timeout');
      route.gated('breaker_open');
      route.outcomeUnknown();
    });

    expect(new Set(metrics.map((metric) => metric.namespace))).toEqual(new Set(['LeanRouter']));
  });
});

describe('metrics of a routed order', () => {
  const ORDER = order({ symbol: 'NVDA', client_order_id: 'sched-2025-01-02-nvda-7' });

  /** The longest path: ambiguous LEAN, lookups, fallback, an Alpaca duplicate adopted. */
  async function routeLongestPath(route: PowertoolsRouteMetrics): Promise<void> {
    const world = fakeWorld({
      lean: { submits: [leanFailure('lean_submit_timeout', 'ambiguous')], lookups: [lookupError] },
      alpaca: { submits: [{ kind: 'duplicate', httpStatus: 422, detail: 'client_order_id must be unique' }], lookups: [notFound, found(brokerOrder(ORDER))] },
    });
    await routeOrder({ ...world.deps, metrics: route }, ORDER, { correlationId: 'corr-metrics-1' });
  }

  it('emits the metrics of the longest path, so the dimension checks below are not vacuous', async () => {
    const metrics = await emitted(routeLongestPath);

    expect(new Set(metrics.map((metric) => metric.name))).toEqual(
      new Set(['execution_requests_total', 'execution_submit_latency_ms', 'execution_fallback_total', 'execution_fallback_reason_total']),
    );
  });

  it('uses no dimension other than service, adapter and reason', async () => {
    const metrics = await emitted(routeLongestPath);

    const names = new Set(metrics.flatMap((metric) => Object.keys(metric.dimensions)));
    expect([...names].filter((name) => !['service', 'adapter', 'reason'].includes(name))).toEqual([]);
  });

  it('puts neither the symbol nor the order id nor the correlation id in any dimension', async () => {
    const metrics = await emitted(routeLongestPath);

    const values = metrics.flatMap((metric) => Object.values(metric.dimensions).map(String));
    for (const identifier of ['NVDA', 'sched-2025-01-02-nvda-7', 'corr-metrics-1', 'broker-1']) {
      expect(values.some((value) => value.includes(identifier))).toBe(false);
    }
  });

  it('counts one request per submit of a LEAN order', async () => {
    const metrics = await emitted(async (route) => {
      const world = fakeWorld({ lean: { submits: [accepted(brokerOrder(ORDER))] } });
      await routeOrder({ ...world.deps, metrics: route }, ORDER, { correlationId: 'corr-metrics-2' });
    });

    expect(metrics.filter((metric) => metric.name === 'execution_requests_total').map((metric) => metric.dimensions.adapter)).toEqual(['lean']);
  });
});

describe('PowertoolsRouteMetrics.alpacaRateLimited', () => {
  it('counts one alpaca_rate_limited_total with no dimension but the service', async () => {
    const metrics = await emitted((routeMetrics) => routeMetrics.alpacaRateLimited());

    expect(metrics.filter((metric) => metric.name === 'alpaca_rate_limited_total').map(({ unit, value, dimensions }) => ({ unit, value, dimensions }))).toEqual([
      { unit: 'Count', value: 1, dimensions: { service: SERVICE } },
    ]);
  });
});
