/**
 * The deployable stages and the names derived from them. Kept free of imports so the operator CLI
 * can use them without loading the stack's settings.
 */

/** The stages, in the order an operator meets them. */
export const STAGES = ['paper', 'live'] as const;

/** Stages the router deploys to; `live` is never a default. */
export type Stage = (typeof STAGES)[number];

/** The stack name of a stage; the CLI and docs/operations.md assume it. */
export function stackName(stage: Stage): string {
  return `lean-router-${stage}`;
}

/** The start of every alarm name of a stage's stack (`lean-router-<stage>-<alarm>`); no other stage's names start with it. */
export function alarmNamePrefix(stage: Stage): string {
  return `${stackName(stage)}-`;
}
