/**
 * The broker's request quota, and the limits of the order path sized from it.
 *
 * Alpaca allows 200 requests a minute per account, and every caller shares it: the route
 * function, the LEAN runner (it submits to the same Alpaca account) and the lifecycle sync.
 *
 * - An order costs one Alpaca call in the steady state (a submit, through the runner or direct);
 *   at worst three (LEAN's submit at the runner, a lookup at Alpaca after an ambiguous failure,
 *   the fallback submit), plus one lookup when that submit is ambiguous too.
 * - The lifecycle sync takes one to four list calls a minute, plus lookups for the few rows left
 *   `pending`/`unknown` (at most 20 a run); the runner makes its own calls for its cancels and lookups.
 *
 * So the API admits 2 requests/s steady (120 a minute: 120 Alpaca calls in the steady state,
 * leaving 80 a minute for the sync, the runner and the lookups of failures) with bursts of 10 (ten
 * orders at once, even at three calls each, are 30 calls). A burst beyond that is a runaway
 * client, answered 429 by API Gateway before any broker call; a 429 Alpaca still answers (another
 * user of the keys) is recorded on the row (`alpaca_submit_http_429`) and counted
 * (`alpaca_rate_limited_total`), never retried.
 */
export { ALPACA_REQUESTS_PER_MINUTE } from '../../functions/core/alpaca-endpoints';

/** API Gateway stage throttling (token bucket): requests per second, and the bucket's size. */
export const ORDER_API_THROTTLING = { rateLimit: 2, burstLimit: 10 } as const;

/**
 * Route instances at once: one burst. More could only queue at the broker; fewer would refuse part
 * of a burst API Gateway admitted. Reserved, so orders never take the scheduled functions' capacity.
 */
export const ROUTE_RESERVED_CONCURRENCY = ORDER_API_THROTTLING.burstLimit;

/** The health-check and the lifecycle sync each run once at a time: one reserved instance each. */
export const SCHEDULED_RESERVED_CONCURRENCY = 1;
