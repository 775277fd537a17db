import type { SimAdminAnswer } from './sim-http';

/**
 * The messages between the local stack and its stand-ins process (lib/local/stand-ins-process.ts)
 * over the IPC channel of `child_process.fork`. Plain JSON: the channel serializes them.
 */

/** The simulators the stand-ins process can run. */
export type SimulatorName = 'lean' | 'alpaca';

/** What the stand-ins process starts; a simulator left out is a real service the stack was pointed at. */
export interface StandInsSettings {
  readonly host: string;
  readonly dynamoDbPort: number;
  readonly ssmPort: number;
  /** Keeps dynalite's LevelDB, the parameters and the Alpaca simulator's orders across restarts. */
  readonly dataDir?: string;
  readonly alpaca?: { readonly port: number; readonly keyId: string; readonly secretKey: string; readonly fillDelayMs: number };
  /** `alpacaUrl` is the real Alpaca; absent, the LEAN simulator places its orders at the Alpaca simulator. */
  readonly lean?: { readonly port: number; readonly alpacaUrl?: string; readonly alpacaKeyId: string; readonly alpacaSecretKey: string };
}

/** Where the stand-ins listen, once all of them do. */
export interface StandInsEndpoints {
  readonly dynamoDbEndpoint: string;
  readonly ssmEndpoint: string;
  readonly alpacaUrl?: string;
  readonly leanRunnerUrl?: string;
}

/** Why the stand-ins could not start; `portInUse` lets the stack raise PortInUseError as before. */
export interface StandInsFailure {
  readonly message: string;
  readonly portInUse?: { readonly service: string; readonly host: string; readonly port: number };
}

/** From the stack to the stand-ins process. */
export type ToStandIns =
  | { readonly type: 'start'; readonly settings: StandInsSettings }
  | { readonly type: 'admin'; readonly id: number; readonly simulator: SimulatorName; readonly method: string; readonly path: string; readonly body: string }
  | { readonly type: 'close' };

/** From the stand-ins process to the stack. */
export type FromStandIns =
  | { readonly type: 'ready'; readonly endpoints: StandInsEndpoints }
  | { readonly type: 'failed'; readonly failure: StandInsFailure }
  | { readonly type: 'admin-answer'; readonly id: number; readonly answer: SimAdminAnswer }
  | { readonly type: 'admin-failed'; readonly id: number; readonly message: string };
