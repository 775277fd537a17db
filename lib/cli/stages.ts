import { STAGES, type Stage } from '../stage-names';

/** The stage `npm start` runs: loopback endpoints and dummy keys, no CloudWatch. */
export const LOCAL_STAGE = 'local';

/** A stage the CLI can talk to: the local stack or a deployed one. */
export type CliStage = typeof LOCAL_STAGE | Stage;

/** Every stage the CLI accepts, local first. */
export const KNOWN_STAGES: readonly CliStage[] = [LOCAL_STAGE, ...STAGES];

/** Whether `name` is a stage the CLI knows; anything else is refused before any call. */
export function isKnownStage(name: string): name is CliStage {
  return (KNOWN_STAGES as readonly string[]).includes(name);
}

/** A deployed stage, as opposed to the local stack. */
export function isDeployedStage(stage: CliStage): stage is Stage {
  return stage !== LOCAL_STAGE;
}
