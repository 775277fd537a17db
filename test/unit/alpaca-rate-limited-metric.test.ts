import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ALPACA_RATE_LIMITED_METRIC, PowertoolsRouteMetrics } from '../../functions/adapters/powertools-route-metrics';
import { parseEmf } from '../support/emf';

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

describe('PowertoolsRouteMetrics.alpacaRateLimited', () => {
  it('counts one alpaca_rate_limited_total with no dimension but the service', () => {
    const metrics = new Metrics({ namespace: 'LeanRouter', serviceName: SERVICE });

    new PowertoolsRouteMetrics(metrics).alpacaRateLimited();
    metrics.publishStoredMetrics();

    const emitted = parseEmf(written).filter((metric) => metric.name === ALPACA_RATE_LIMITED_METRIC);
    expect(emitted.map(({ unit, value, dimensions }) => ({ unit, value, dimensions }))).toEqual([{ unit: 'Count', value: 1, dimensions: { service: SERVICE } }]);
  });

  it('is named alpaca_rate_limited_total', () => {
    expect(ALPACA_RATE_LIMITED_METRIC).toBe('alpaca_rate_limited_total');
  });
});
