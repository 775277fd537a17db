import { GetParametersByPathCommand, GetParametersCommand, PutParameterCommand, type Parameter, type SSMClient } from '@aws-sdk/client-ssm';
import {
  controlParameterName,
  CONTROL_PARAMETER,
  manualReviewParameterName,
  strategyOfParameter,
  strategyParameterName,
  symbolOfReviewParameter,
} from '../core/control-parameters';
import {
  killSwitchValue,
  leanHealthValue,
  parseKillSwitch,
  parseLeanHealth,
  parsePolicyOverride,
  parseSymbolReview,
  symbolReviewValue,
  UNAVAILABLE_CONTROL,
  type ControlSnapshot,
  type KillSwitch,
  type KillSwitchTrip,
  type LeanHealth,
  type SymbolReview,
} from '../core/control';
import { defaultControlMaxAgeMs } from '../core/config';
import { describeError } from '../core/objects';
import { systemClock, type Clock, type ControlPlane, type RouteLogger } from '../core/ports';
import {
  parseStrategyEnablement,
  strategyEnablementValue,
  type StrategyControl,
  type StrategyEnablement,
  type StrategyState,
} from '../core/strategy-enablement';

/** Options of the SSM-backed control plane. */
export interface SsmControlPlaneOptions {
  readonly ssm: SSMClient;
  /** The stage prefix, e.g. `/lean-router/paper/`. */
  readonly prefix: string;
  /** How long one read is trusted, and how long to wait before retrying after a failed read. */
  readonly ttlMs: number;
  /**
   * The oldest values a read answers without waiting: past the TTL but within this age the cached
   * values are answered at once while one refresh runs in the background. Three TTLs when not given;
   * never below the TTL.
   */
  readonly maxAgeMs?: number;
  /** The longest one read of every control value, or one write, may take, SDK retries included. */
  readonly callTimeoutMs?: number;
  readonly clock?: Clock;
  readonly logger?: RouteLogger;
}

/** The bound of one SSM operation when the caller gives none. */
const DEFAULT_CALL_TIMEOUT_MS = 2_000;

// GetParametersByPath answers at most 10 per page; 20 pages is 200 review parameters (cleared ones stay until deleted). Past that the read fails.
const MAX_REVIEW_PAGES = 20;
// 20 pages is 200 strategies with a parameter; past that the rest read as missing (not enabled), the safe side.
const MAX_STRATEGY_PAGES = 20;

/**
 * The control values in SSM Parameter Store, read as one cached batch: `GetParameters` for
 * `kill-switch`, `policy` and `lean-health`, plus `GetParametersByPath` for `manual-review/` and
 * for `strategies/`.
 * Within the TTL no call is made. Past the TTL but within the maximum age the cached values are
 * answered at once and one refresh runs in the background, so an order does not wait on SSM; past
 * the maximum age (or with nothing read yet) the order waits for the refresh. Concurrent readers
 * share one refresh; a failed refresh keeps the last good values and is not retried before the TTL
 * passes again, so a throttled SSM is not hammered.
 */
export class SsmControlPlane implements ControlPlane, StrategyControl {
  private lastGood: ControlSnapshot | undefined;
  private lastAttemptMs: number | undefined;
  /** Monotonic time of the last good read: how old the cached values are. */
  private lastGoodMs: number | undefined;
  private lastRefreshFailed = false;
  private refreshing: Promise<ControlSnapshot> | undefined;
  /** This process's own writes made while a read was under way: each replayed over a read that started before it. */
  private writes: { readonly atMs: number; readonly apply: (values: ControlSnapshot) => ControlSnapshot }[] = [];
  /** When each read of SSM now under way started. */
  private readonly readsUnderWay: number[] = [];
  /** When the read whose values are kept started; an older read landing later is not kept. */
  private keptReadStartMs = -Infinity;
  private readonly clock: Clock;
  private readonly names;
  private readonly maxAgeMs: number;

  constructor(private readonly options: SsmControlPlaneOptions) {
    this.clock = options.clock ?? systemClock;
    this.maxAgeMs = Math.max(options.ttlMs, options.maxAgeMs ?? defaultControlMaxAgeMs(options.ttlMs));
    this.names = {
      killSwitch: controlParameterName(options.prefix, CONTROL_PARAMETER.killSwitch),
      policy: controlParameterName(options.prefix, CONTROL_PARAMETER.policy),
      leanHealth: controlParameterName(options.prefix, CONTROL_PARAMETER.leanHealth),
      manualReview: controlParameterName(options.prefix, CONTROL_PARAMETER.manualReview),
      strategies: controlParameterName(options.prefix, CONTROL_PARAMETER.strategies),
    };
  }

  /** The full names this plane reads and writes, for logs, the CLI and the docs. */
  get parameterNames(): {
    readonly killSwitch: string;
    readonly policy: string;
    readonly leanHealth: string;
    readonly manualReview: string;
    readonly strategies: string;
  } {
    return this.names;
  }

  async read(): Promise<ControlSnapshot> {
    const now = this.clock.monotonicMs();
    const sinceAttempt = this.lastAttemptMs === undefined ? Infinity : now - this.lastAttemptMs;
    // Concurrent orders share the refresh under way rather than each calling SSM (or, at cold start, seeing nothing).
    const refreshing = this.refreshing ?? (sinceAttempt < this.options.ttlMs ? undefined : this.startRefresh());
    if (refreshing === undefined) return this.cachedOrUnavailable();
    const age = this.lastGoodMs === undefined ? Infinity : now - this.lastGoodMs;
    // Values still young enough answer now; the refresh lands for the next order.
    if (age < this.maxAgeMs) return this.cachedOrUnavailable();
    return refreshing;
  }

  async readFresh(): Promise<ControlSnapshot> {
    return this.fetchAndRemember();
  }

  async tripKillSwitch(trip: KillSwitchTrip): Promise<void> {
    const at = this.clock.now();
    await this.put(this.names.killSwitch, killSwitchValue(trip, at));
    this.patch({ killSwitch: { state: 'on', reason: trip.reason, set_by: trip.set_by, set_at: at.toISOString(), changed_at: at.toISOString(), source: 'parameter' } });
  }

  /** Operator command: turn the kill switch off (LEAN allowed again) or on, with who and why. */
  async setKillSwitch(state: 'on' | 'off', reason: string, setBy: string): Promise<void> {
    const at = this.clock.now().toISOString();
    await this.put(this.names.killSwitch, JSON.stringify({ state, reason, set_by: setBy, set_at: at }));
    this.patch({ killSwitch: { state, reason, set_by: setBy, set_at: at, changed_at: at, source: 'parameter' } });
  }

  async putSymbolInReview(symbol: string, reason: string, setBy: string): Promise<void> {
    const at = this.clock.now();
    await this.put(manualReviewParameterName(this.options.prefix, symbol), symbolReviewValue(reason, at, setBy));
    this.patchReview({ symbol, state: 'review', changed_at: at.toISOString(), reason });
  }

  /**
   * Operator command: end a symbol's review. The parameter stays, holding `cleared`, so its
   * modification time marks where the next fallback count starts.
   */
  async clearSymbolReview(symbol: string): Promise<void> {
    // Every name that reads as the symbol (an operator's `aapl` as well as `AAPL`): a review left
    // under one of them would still hold it.
    const names = new Set([manualReviewParameterName(this.options.prefix, symbol)]);
    for (const parameter of await this.reviewParameters(this.bound())) {
      if (parameter.Name !== undefined && symbolOfReviewParameter(parameter.Name) === symbol) names.add(parameter.Name);
    }
    await Promise.all([...names].map((name) => this.put(name, 'cleared')));
    this.patchReview({ symbol, state: 'cleared', changed_at: this.clock.now().toISOString() });
  }

  /** Writes one strategy's state, with who and why; in force here at once. */
  async setStrategyState(strategyId: string, state: StrategyState, reason: string, setBy: string): Promise<void> {
    const at = this.clock.now();
    await this.put(strategyParameterName(this.options.prefix, strategyId), strategyEnablementValue(state, reason, setBy, at));
    this.patchStrategy({ strategy_id: strategyId, state, reason, set_by: setBy, set_at: at.toISOString() });
  }

  /** The lifecycle sync's block on a divergent id: `blocked`, whatever the strategy held; only an operator lifts it. */
  async blockStrategy(strategyId: string, reason: string, setBy: string): Promise<void> {
    await this.setStrategyState(strategyId, 'blocked', reason, setBy);
  }

  /** The health-check's probe result. */
  async writeLeanHealth(health: LeanHealth): Promise<void> {
    await this.put(this.names.leanHealth, leanHealthValue(health));
    this.patch({ leanHealth: health });
  }

  private startRefresh(): Promise<ControlSnapshot> {
    const refreshing = this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    // Nobody may await a background refresh: refresh() logs its own failures, so this only keeps one from surfacing as unhandled.
    void refreshing.catch(() => undefined);
    this.refreshing = refreshing;
    return refreshing;
  }

  private async refresh(): Promise<ControlSnapshot> {
    this.lastAttemptMs = this.clock.monotonicMs();
    try {
      return await this.fetchAndRemember();
    } catch (error) {
      this.lastRefreshFailed = true;
      this.options.logger?.error('control_read_failed', {
        error: describeError(error),
        using: this.lastGood === undefined ? 'kill switch on (no value ever read)' : 'last known good values',
        last_good_read_at: this.lastGood?.readAt ?? null,
      });
      return this.cachedOrUnavailable();
    }
  }

  private async fetch(): Promise<ControlSnapshot> {
    // One bound for the whole read, review pages included: it is one step of an order's deadline.
    const bound = this.bound();
    const [batch, reviews, strategies] = await Promise.all([
      this.options.ssm.send(new GetParametersCommand({ Names: [this.names.killSwitch, this.names.policy, this.names.leanHealth] }), bound),
      this.readReviews(bound),
      this.readStrategiesOrNone(bound),
    ]);
    const parameters = new Map((batch.Parameters ?? []).map((parameter) => [parameter.Name, parameter]));
    const leanHealth = parseLeanHealth(parameters.get(this.names.leanHealth)?.Value);
    return {
      killSwitch: toKillSwitch(parameters.get(this.names.killSwitch)),
      policy: parsePolicyOverride(parameters.get(this.names.policy)?.Value),
      ...(leanHealth === undefined ? {} : { leanHealth }),
      reviews,
      strategies,
      source: 'fresh',
      readAt: this.clock.now().toISOString(),
    };
  }

  private async readReviews(bound: { abortSignal: AbortSignal }): Promise<Map<string, SymbolReview>> {
    const reviews = new Map<string, SymbolReview>();
    for (const parameter of await this.reviewParameters(bound)) {
      const review = toReview(parameter);
      if (review === undefined) continue;
      // Two names for one symbol (`AAPL` and `aapl`): a review in either holds it, the safe side;
      // between two clearings, the later one marks where the fallback count starts.
      const held = reviews.get(review.symbol);
      if (held === undefined || (held.state !== 'review' && (review.state === 'review' || review.changed_at > held.changed_at))) reviews.set(review.symbol, review);
    }
    return reviews;
  }

  /** Every parameter of the manual-review folder, page by page. */
  private async reviewParameters(bound: { abortSignal: AbortSignal }): Promise<Parameter[]> {
    const parameters: Parameter[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_REVIEW_PAGES; page += 1) {
      const out = await this.options.ssm.send(
        new GetParametersByPathCommand({ Path: this.names.manualReview, Recursive: false, MaxResults: 10, NextToken: nextToken }),
        bound,
      );
      parameters.push(...(out.Parameters ?? []));
      nextToken = out.NextToken;
      if (nextToken === undefined) return parameters;
    }
    // A review past the pages read would not gate its symbol: fail the read, so the routers keep
    // the last values they read whole, or keep LEAN off, and say why.
    throw new Error(
      `${this.names.manualReview} holds more parameters than ${MAX_REVIEW_PAGES} pages of one read cover (${parameters.length} read); delete the cleared reviews (aws ssm delete-parameter) to bring it under`,
    );
  }

  /**
   * The strategies, or none when their folder cannot be read: no strategy then reads `enabled`,
   * which gates LEAN only where enablement is required, instead of failing the whole read (and
   * with it the kill switch) for stages that do not use enablement.
   */
  private async readStrategiesOrNone(bound: { abortSignal: AbortSignal }): Promise<Map<string, StrategyEnablement>> {
    try {
      return await this.readStrategies(bound);
    } catch (error) {
      this.options.logger?.error('control_read_failed', { error: describeError(error), part: 'strategies', using: 'no strategy enabled' });
      return new Map();
    }
  }

  private async readStrategies(bound: { abortSignal: AbortSignal }): Promise<Map<string, StrategyEnablement>> {
    const strategies = new Map<string, StrategyEnablement>();
    const folder = `${this.names.strategies}/`;
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_STRATEGY_PAGES; page += 1) {
      const out = await this.options.ssm.send(
        new GetParametersByPathCommand({ Path: this.names.strategies, Recursive: false, MaxResults: 10, NextToken: nextToken }),
        bound,
      );
      for (const parameter of out.Parameters ?? []) {
        if (parameter.Name?.startsWith(folder) !== true || parameter.Value === undefined) continue;
        const strategyId = strategyOfParameter(parameter.Name);
        if (strategyId !== undefined) strategies.set(strategyId, parseStrategyEnablement(strategyId, parameter.Value));
      }
      nextToken = out.NextToken;
      if (nextToken === undefined) break;
    }
    return strategies;
  }

  private put(name: string, value: string): Promise<unknown> {
    return this.options.ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }), this.bound());
  }

  private bound(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS) };
  }

  /** One read of SSM, kept by {@link remember}; while it runs, the writes made meanwhile are kept for it. */
  private async fetchAndRemember(): Promise<ControlSnapshot> {
    const startedMs = this.clock.monotonicMs();
    this.readsUnderWay.push(startedMs);
    try {
      return this.remember(await this.fetch(), startedMs);
    } finally {
      this.readsUnderWay.splice(this.readsUnderWay.indexOf(startedMs), 1);
      // A write only a read under way can have missed is all that needs keeping.
      const oldestUnderWay = Math.min(...this.readsUnderWay);
      this.writes = this.writes.filter((write) => write.atMs >= oldestUnderWay);
    }
  }

  /**
   * Keeps a read that started at `startedMs`, with this process's writes since then applied over
   * it: SSM answered before they landed, and a trip must not be undone here by a slower read. A
   * read that started before the last one kept is older news: the values stay as they are.
   */
  private remember(snapshot: ControlSnapshot, startedMs: number): ControlSnapshot {
    if (this.lastGood !== undefined && startedMs < this.keptReadStartMs) return this.lastGood;
    this.keptReadStartMs = startedMs;
    this.lastGood = this.writes.filter((write) => write.atMs >= startedMs).reduce((values, write) => write.apply(values), snapshot);
    this.lastAttemptMs = this.clock.monotonicMs();
    this.lastGoodMs = this.lastAttemptMs;
    this.lastRefreshFailed = false;
    return this.lastGood;
  }

  private cachedOrUnavailable(): ControlSnapshot {
    if (this.lastGood === undefined) return UNAVAILABLE_CONTROL;
    // Values kept through a failed refresh are older than the TTL promises: the row says so.
    return { ...this.lastGood, source: this.lastRefreshFailed ? 'last_known_good' : 'cached' };
  }

  /**
   * A write this process made is in force at once here, before the next read, and over any read
   * already under way when it was made (see {@link remember}).
   */
  private applyWrite(apply: (values: ControlSnapshot) => ControlSnapshot): void {
    if (this.readsUnderWay.length > 0) this.writes.push({ atMs: this.clock.monotonicMs(), apply });
    if (this.lastGood !== undefined) this.lastGood = apply(this.lastGood);
  }

  private patch(change: Partial<ControlSnapshot>): void {
    this.applyWrite((values) => ({ ...values, ...change }));
  }

  private patchStrategy(strategy: StrategyEnablement): void {
    this.applyWrite((values) => ({ ...values, strategies: new Map(values.strategies).set(strategy.strategy_id, strategy) }));
  }

  private patchReview(review: SymbolReview): void {
    this.applyWrite((values) => ({ ...values, reviews: new Map(values.reviews).set(review.symbol, review) }));
  }
}

/** The switch as written, and when: the error rate's window starts at an operator's unkill. */
function toKillSwitch(parameter: Parameter | undefined): KillSwitch {
  const killSwitch = parseKillSwitch(parameter?.Value);
  const changedAt = parameter?.LastModifiedDate;
  return changedAt === undefined ? killSwitch : { ...killSwitch, changed_at: changedAt.toISOString() };
}

function toReview(parameter: Parameter): SymbolReview | undefined {
  if (parameter.Name === undefined || parameter.Value === undefined) return undefined;
  const changedAt = (parameter.LastModifiedDate ?? new Date(0)).toISOString();
  return parseSymbolReview(symbolOfReviewParameter(parameter.Name), parameter.Value, changedAt);
}
