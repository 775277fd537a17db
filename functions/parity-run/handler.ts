import { createParityRunHandler } from './parity-run-handler';

/** The scheduled parity run Lambda: each strategy's parity report, compared with its last stored one, stored, logged and measured. */
export const handler = createParityRunHandler(process.env);
