import { GetParameterCommand, GetParametersByPathCommand, ParameterNotFound, type Parameter, type SSMClient } from '@aws-sdk/client-ssm';
import { CONTROL_PARAMETER, controlParameterName, strategyOfParameter, strategyParameterName } from '../../functions/core/control-parameters';
import { parseStrategyEnablement, type StrategyEnablement } from '../../functions/core/strategy-enablement';
import type { ListedStrategy } from './strategy-decision';

/**
 * The `strategies/<strategy_id>` parameters of a stage, as the strategy commands read them: by
 * path for the list, one by name otherwise, each call bounded, and every failure raised (the
 * routers' own read treats an unreadable folder as no strategy enabled; an operator is told).
 * Writes go through the control plane, like the kill switch's.
 */

/** Every strategy parameter under the prefix, by path; names no strategy command writes are returned apart. */
export async function listStrategies(ssm: SSMClient, prefix: string, timeoutMs: number): Promise<{ strategies: ListedStrategy[]; ignored: string[] }> {
  const strategies: ListedStrategy[] = [];
  const ignored: string[] = [];
  const folder = controlParameterName(prefix, CONTROL_PARAMETER.strategies);
  let nextToken: string | undefined;
  do {
    const out = await ssm.send(
      new GetParametersByPathCommand({ Path: folder, Recursive: true, NextToken: nextToken }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
    for (const parameter of out.Parameters ?? []) {
      const listed = toListed(parameter, folder);
      if (listed === undefined) ignored.push(parameter.Name ?? '');
      else strategies.push(listed);
    }
    nextToken = out.NextToken;
  } while (nextToken !== undefined);
  strategies.sort((a, b) => a.strategy_id.localeCompare(b.strategy_id));
  return { strategies, ignored };
}

/** One strategy's parameter as read; undefined when there is none. */
export async function readStrategy(ssm: SSMClient, prefix: string, strategyId: string, timeoutMs: number): Promise<StrategyEnablement | undefined> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: strategyParameterName(prefix, strategyId) }), { abortSignal: AbortSignal.timeout(timeoutMs) });
    return out.Parameter?.Value === undefined ? undefined : parseStrategyEnablement(strategyId, out.Parameter.Value);
  } catch (error) {
    if (error instanceof ParameterNotFound || (error as { name?: unknown }).name === 'ParameterNotFound') return undefined;
    throw error;
  }
}

function toListed(parameter: Parameter, folder: string): ListedStrategy | undefined {
  if (parameter.Name === undefined || parameter.Value === undefined) return undefined;
  // A name nested deeper than strategies/<segment> is no strategy's: the routers read one level.
  if (parameter.Name.slice(folder.length + 1).includes('/')) return undefined;
  const strategyId = strategyOfParameter(parameter.Name);
  if (strategyId === undefined) return undefined;
  return {
    ...parseStrategyEnablement(strategyId, parameter.Value),
    parameter: parameter.Name,
    ...(parameter.LastModifiedDate === undefined ? {} : { modifiedAt: parameter.LastModifiedDate.toISOString() }),
  };
}
