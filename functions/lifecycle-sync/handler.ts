import { createLifecycleSyncHandler } from './lifecycle-sync-handler';

/** The scheduled lifecycle sync Lambda: reconciles rows left pending or unknown, then writes the open orders' broker state on their rows. */
export const handler = createLifecycleSyncHandler(process.env);
