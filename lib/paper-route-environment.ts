import { provenanceTableName } from '../functions/adapters/provenance-table';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../functions/core/control-parameters';
import { routerEnvironment } from './router-environment';
import { routerSettingsFromContext } from './router-settings';

/**
 * The route function's environment on the paper stage with a LEAN runner configured, exactly as
 * the stack gives it: what the route bundle is imported with when its import is timed
 * (`npm run bench:bundle`) and tested (test/infra/lambda-bundle-aliases.test.ts).
 */
export function paperRouteEnvironment(): Record<string, string> {
  const stage = 'paper';
  const prefix = controlParameterPrefix(stage);
  const settings = routerSettingsFromContext(
    (key) => ({ stage, leanRunnerUrl: 'https://lean-runner.example.com', executionAdapter: 'lean', executionPolicy: 'all' })[key],
  );
  return routerEnvironment(settings, {
    tableName: provenanceTableName(stage),
    controlParameterPrefix: prefix,
    alpacaCredentialsParameter: controlParameterName(prefix, CONTROL_PARAMETER.alpacaCredentials),
  });
}
