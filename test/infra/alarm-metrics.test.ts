import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseEmf, type EmfMetric } from '../support/emf';
import { render, removeSynthOutputs, synthRouter, type SynthResult } from './synth';

/**
 * CloudWatch matches a metric by namespace, name and the *whole* dimension set. These tests read
 * what the functions' own Powertools instance (functions/adapters/observability.ts) writes as EMF
 * and require every router metric an alarm or a dashboard widget reads to be exactly one of those.
 */

let emitted: EmfMetric[];
let paper: SynthResult;
let namespace: string;

beforeAll(async () => {
  // vitest sets POWERTOOLS_DEV=true, which silences metrics; the singleton reads it when its module
  // is first evaluated, and synth.ts has already imported it: evaluate it again, with metrics on.
  vi.resetModules();
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  // As the stack sets it for the paper functions (lib/router-environment.ts).
  vi.stubEnv('ROUTER_STAGE', 'paper');
  const written: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const { metrics, METRICS_NAMESPACE } = await import('../../functions/adapters/observability');
    const { PowertoolsRouteMetrics } = await import('../../functions/adapters/powertools-route-metrics');
    const { PowertoolsHealthMetrics } = await import('../../functions/adapters/powertools-health-metrics');
    const { PowertoolsLifecycleMetrics } = await import('../../functions/adapters/powertools-lifecycle-metrics');
    const { PowertoolsParityMetrics } = await import('../../functions/adapters/powertools-parity-metrics');
    namespace = METRICS_NAMESPACE;
    const route = new PowertoolsRouteMetrics(metrics);
    const health = new PowertoolsHealthMetrics(metrics);
    const lifecycle = new PowertoolsLifecycleMetrics(metrics);
    const parity = new PowertoolsParityMetrics(metrics);
    route.brokerSubmit('lean', 10);
    route.brokerSubmit('alpaca', 20);
    route.fallback('lean_submit_timeout');
    route.gated('kill_switch');
    route.outcomeUnknown();
    route.provenanceWriteFailure();
    route.policyMisconfigured();
    route.leanAckMismatch();
    route.killSwitchTrip('notional_mismatch');
    health.killSwitchTrip('lean_error_rate');
    health.killSwitchTrip('runner_health_stale');
    health.killSwitchState(true);
    health.runnerHealth(false);
    health.leanErrorRate(50);
    health.symbolsInManualReview(1);
    lifecycle.openOrders(3);
    lifecycle.brokerStateChanged('filled');
    lifecycle.routeDivergence();
    parity.strategiesReported(2);
    parity.strategiesFailing(1);
    parity.checkRegressions(1);
    parity.differences('momentum-1', -2.5, 7.5);
    metrics.publishStoredMetrics();
  } finally {
    write.mockRestore();
    vi.unstubAllEnvs();
  }
  emitted = parseEmf(written);
  paper = synthRouter({ stage: 'paper', leanRunnerUrl: 'https://lean-runner.example.com', executionAdapter: 'lean', executionPolicy: 'all' }, { bundle: false });
}, 60_000);

afterAll(() => {
  removeSynthOutputs();
  // Files share this worker: the next one imports the singleton afresh, with the settings it stubs.
  vi.resetModules();
});

/** The emitted metrics a reader matches, by name. */
function filed(name: string): EmfMetric[] {
  return emitted.filter((metric) => metric.namespace === namespace && metric.name === name);
}

type Properties = Record<string, any>;

/** What an alarm names: the metric without a unit or value. */
type NamedMetric = Pick<EmfMetric, 'namespace' | 'name' | 'dimensions'>;

/** Every router metric an alarm reads: single-metric alarms and the inputs of metric math. */
function alarmMetrics(): { alarm: string; metric: NamedMetric }[] {
  const alarms = Object.values(paper.template.findResources('AWS::CloudWatch::Alarm')).map((resource) => resource.Properties as Properties);
  return alarms.flatMap((properties) => {
    const stats = properties.MetricName !== undefined ? [properties] : (properties.Metrics ?? []).flatMap((query: Properties) => query.MetricStat?.Metric ?? []);
    return stats
      .filter((stat: Properties) => stat.Namespace === namespace)
      .map((stat: Properties) => ({
        alarm: properties.AlarmName as string,
        metric: {
          namespace: stat.Namespace,
          name: stat.MetricName,
          dimensions: Object.fromEntries((stat.Dimensions ?? []).map((dimension: { Name: string; Value: unknown }) => [dimension.Name, render(dimension.Value)])),
        },
      }));
  });
}

function dashboardBody(): { widgets: { properties: { title?: string; metrics?: unknown[][] } }[] } {
  const [dashboard] = Object.values(paper.template.findResources('AWS::CloudWatch::Dashboard'));
  return JSON.parse(render(dashboard?.Properties.DashboardBody));
}

describe('alarms and dashboard read the metrics the functions emit', () => {
  it('emits into one namespace (sanity check of the EMF capture)', () => {
    expect(emitted.length).toBeGreaterThanOrEqual(10);
    expect(new Set(emitted.map((metric) => metric.namespace))).toEqual(new Set([namespace]));
  });

  it('every router metric of every alarm has exactly an emitted dimension set', () => {
    const read = alarmMetrics();
    expect(new Set(read.map(({ alarm }) => alarm))).toEqual(
      new Set(
        [
          'lean-fallback-rate',
          'kill-switch-engaged',
          'runner-unhealthy',
          'order-outcome-unknown',
          'provenance-write-failures',
          'symbols-in-manual-review',
          'route-divergence',
          'lean-ack-mismatch',
          'policy-misconfigured',
          'kill-switch-tripped',
          'parity-check-regressed',
        ].map((name) => `lean-router-paper-${name}`),
      ),
    );
    for (const { alarm, metric } of read) {
      expect(filed(metric.name).map((candidate) => candidate.dimensions), alarm).toContainEqual(metric.dimensions);
    }
  });

  it('every router metric of every dashboard graph has exactly an emitted dimension set', () => {
    const lines = dashboardBody().widgets.flatMap((widget) => widget.properties.metrics ?? []);
    const plain = lines.filter((line) => line[0] === namespace);
    expect(plain.length).toBeGreaterThanOrEqual(9);
    for (const line of plain) {
      const [, name, ...rest] = line as string[];
      const pairs = rest.filter((part) => typeof part === 'string');
      const dimensions = Object.fromEntries(Array.from({ length: pairs.length / 2 }, (_, index) => [pairs[2 * index], pairs[2 * index + 1]]));
      expect(filed(name!).map((candidate) => candidate.dimensions), name).toContainEqual(dimensions);
    }
  });

  it('every SEARCH of the dashboard names exactly an emitted dimension set, with its service and stage values', () => {
    const searches = dashboardBody()
      .widgets.flatMap((widget) => widget.properties.metrics ?? [])
      .flatMap((line) => line.map((part) => (part as { expression?: string }).expression ?? []))
      .flat() as string[];
    expect(searches).toHaveLength(5);
    for (const search of searches) {
      const match = /SEARCH\('\{([^}]+)\} MetricName="([^"]+)" service="([^"]+)" stage="([^"]+)"'/.exec(search);
      expect(match, search).not.toBeNull();
      const [schema, name, service, stage] = match!.slice(1) as [string, string, string, string];
      const [searchNamespace, ...dimensionNames] = schema.split(',');
      expect(searchNamespace).toBe(namespace);
      const candidates = filed(name);
      expect(candidates.length, name).toBeGreaterThan(0);
      for (const candidate of candidates) {
        expect(Object.keys(candidate.dimensions).sort(), name).toEqual([...dimensionNames].sort());
        expect(candidate.dimensions.service).toBe(service);
        expect(candidate.dimensions.stage).toBe(stage);
      }
    }
  });
});
