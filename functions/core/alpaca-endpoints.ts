/** Alpaca's Trading API endpoints. Constants only, so the CDK app can import them without the HTTP client. */

/** Requests per minute Alpaca's Trading API allows an account, shared by everything that uses its keys. */
export const ALPACA_REQUESTS_PER_MINUTE = 200;

/** Paper trading, the default everywhere; live is always an explicit choice. */
export const ALPACA_PAPER_URL = 'https://paper-api.alpaca.markets';

/** Alpaca's live Trading API; only the `live` stage ever points at it. */
export const ALPACA_LIVE_URL = 'https://api.alpaca.markets';
