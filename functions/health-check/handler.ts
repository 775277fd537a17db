import { createHealthCheckHandler } from './health-check-handler';

/** The scheduled health-check Lambda: probe LEAN, trip the kill switch on degradation, reconcile. */
export const handler = createHealthCheckHandler(process.env);
