import { createRouteHandler } from './route-handler';

/** The route function's entry point: the order API behind API Gateway. */
export const handler = createRouteHandler(process.env);
