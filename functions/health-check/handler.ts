import { createHealthCheckHandler } from './health-check-handler';

/** The scheduled health-check Lambda: probe LEAN, trip the kill switch on degradation, sweep manual reviews. */
export const handler = createHealthCheckHandler(process.env);
