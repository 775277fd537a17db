import { GetParametersCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { PARITY_READ_BATCH, parityParameterName, type ParityReportStore } from '../core/parity-run';

/**
 * The last parity report of each strategy in SSM Parameter Store, `parity/<strategy_id>` under the
 * stage prefix: a String in the Standard tier (free, 4 KB), which the stored form fits. Reads are
 * `GetParameters` in batches of ten; each write replaces the value (Parameter Store keeps the 100
 * latest versions, so an operator can read the history with `aws ssm get-parameter-history`).
 */
export class SsmParityStore implements ParityReportStore {
  constructor(
    private readonly ssm: SSMClient,
    /** The stage prefix, e.g. `/lean-router/paper/`. */
    private readonly prefix: string,
  ) {}

  async readLast(strategyIds: readonly string[], timeoutMs: number): Promise<ReadonlyMap<string, string>> {
    const signal = AbortSignal.timeout(timeoutMs);
    const byName = new Map(strategyIds.map((strategyId) => [parityParameterName(this.prefix, strategyId), strategyId]));
    const found = new Map<string, string>();
    const names = [...byName.keys()];
    for (let start = 0; start < names.length; start += PARITY_READ_BATCH) {
      // Names without a parameter come back in InvalidParameters: a strategy without a report yet.
      const out = await this.ssm.send(new GetParametersCommand({ Names: names.slice(start, start + PARITY_READ_BATCH) }), { abortSignal: signal });
      for (const parameter of out.Parameters ?? []) {
        const strategyId = parameter.Name === undefined ? undefined : byName.get(parameter.Name);
        if (strategyId !== undefined && parameter.Value !== undefined) found.set(strategyId, parameter.Value);
      }
    }
    return found;
  }

  async write(strategyId: string, value: string, timeoutMs: number): Promise<void> {
    await this.ssm.send(
      new PutParameterCommand({ Name: parityParameterName(this.prefix, strategyId), Value: value, Type: 'String', Tier: 'Standard', Overwrite: true }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
  }
}
