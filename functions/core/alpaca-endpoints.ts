/** Alpaca's Trading API endpoints. Constants only, so the CDK app can import them without the HTTP client. */

/** Paper trading, the default everywhere; live is always an explicit choice. */
export const ALPACA_PAPER_URL = 'https://paper-api.alpaca.markets';

/** Alpaca's live Trading API; only the `live` stage ever points at it. */
export const ALPACA_LIVE_URL = 'https://api.alpaca.markets';
