/** One metric as CloudWatch files it from an EMF line: namespace, name, unit, value, every dimension. */
export interface EmfMetric {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string | undefined;
  readonly value: unknown;
  /** Every dimension of the metric, by name, with its value from the line. */
  readonly dimensions: Record<string, string>;
}

interface EmfLine {
  readonly _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[] };
  readonly [key: string]: unknown;
}

/** Reads every metric out of what a process wrote to stdout: one EMF document per line. */
export function parseEmf(written: readonly string[]): EmfMetric[] {
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
    .flatMap((line) => {
      const emf = JSON.parse(line) as EmfLine;
      return emf._aws.CloudWatchMetrics.flatMap((directive) =>
        directive.Metrics.map((metric) => ({
          namespace: directive.Namespace,
          name: metric.Name,
          unit: metric.Unit,
          value: emf[metric.Name],
          dimensions: Object.fromEntries(directive.Dimensions.flat().map((name) => [name, String(emf[name])])),
        })),
      );
    });
}
