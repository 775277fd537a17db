import type { SsmControlPlane } from '../../functions/adapters/ssm-control-plane';
import type { Governance } from '../../functions/core/config';
import { symbolsInReview, type KillSwitch } from '../../functions/core/control';
import type { HealthCheckReport, HealthCheckStore } from '../../functions/core/health-check';
import type { LifecycleSyncReport } from '../../functions/core/lifecycle-sync';
import type { ProxyHandler } from './api-front-door';

/** The router settings an experiment needs, as the route handler in service was built with them. */
export interface RouterSettingsView {
  /** How long the route handler trusts one read of the control values (TRADING_CONTROL_CACHE_TTL_MS). */
  readonly control_cache_ttl_ms: number;
  /** The oldest control values it uses without waiting for a read (TRADING_CONTROL_MAX_AGE_MS): a change is in force for every order after this long. */
  readonly control_max_age_ms: number;
  readonly breaker_failure_threshold: number;
  readonly breaker_cooldown_ms: number;
  readonly manual_review_fallbacks: number;
  readonly manual_review_window_ms: number;
  readonly runner_health_stale_ms: number;
}

/** `GET /_router`: the control values in the Parameter Store now, and the route handler in service. */
export interface RouterView {
  readonly kill_switch: KillSwitch;
  readonly symbols_in_review: readonly string[];
  /** When the route handler in service was built; its breaker and control cache started empty then. */
  readonly route_handler_since: string;
  readonly settings: RouterSettingsView;
}

/** `POST /_router/reset`: what the reset changed, then the view after it. */
export interface RouterResetReport extends RouterView {
  readonly reset: {
    readonly kill_switch_was: KillSwitch['state'];
    /** Symbols that were in manual review; now `cleared`. */
    readonly reviews_cleared: readonly string[];
    /** Symbols with fallbacks in the review window, not in review; `cleared` too, so those fallbacks no longer count. */
    readonly fallback_counts_restarted: readonly string[];
    /** The health-check run that followed, as at start: it refreshes `lean-health`. */
    readonly health_check: {
      readonly runner: HealthCheckReport['runner'];
      readonly kill_switch: HealthCheckReport['killSwitch'];
      readonly tripped?: string;
      readonly symbols_in_review: readonly string[];
    };
  };
}

/** The local router's admin API: a look at its state, a reset for a fresh experiment, and a lifecycle sync on demand. */
export interface RouterAdmin {
  view(): Promise<RouterView>;
  reset(): Promise<RouterResetReport>;
  /** `POST /_router/sync`: one lifecycle sync run now, as the schedule would start it; answers its report. */
  sync(): Promise<LifecycleSyncReport>;
}

/** What a resettable local router is made of. */
export interface ResettableRouterParts {
  /** Builds a route handler as a new Lambda container would: fresh breaker, empty control cache. */
  readonly build: () => ProxyHandler;
  /** A control plane with no cache (ttlMs 0), for reads and the reset's writes. */
  readonly control: Pick<SsmControlPlane, 'readFresh' | 'setKillSwitch' | 'clearSymbolReview'>;
  readonly fallbacks: Pick<HealthCheckStore, 'listFallbacks'>;
  readonly governance: Governance;
  /** One health-check run, as EventBridge would start it. */
  readonly healthCheck: () => Promise<HealthCheckReport>;
  /** One lifecycle sync run, as EventBridge would start it. */
  readonly lifecycleSync: () => Promise<LifecycleSyncReport>;
  /** Runs the reset and an asked-for sync so that no scheduled run overlaps them. */
  readonly exclusively: <T>(work: () => Promise<T>) => Promise<T>;
}

/** Who the reset says turned the kill switch off, in the parameter's JSON form. */
const RESET_BY = 'local-stack';
const RESET_REASON = 'router state reset (POST /_router/reset)';

/**
 * The local stack's route handler behind a reset: `handler` always calls the handler in service,
 * and `admin.reset()` puts the control values back to a fresh stage's (kill switch off, no symbol
 * in review, every fallback count starting now), runs the health-check once, then replaces the
 * handler with a new one, as a new Lambda container would start: breaker closed, nothing cached.
 * The Lambda bundle never sees any of this; provenance rows and the simulators are left alone.
 * `admin.sync()` runs the lifecycle sync once, outside its schedule, never alongside another chore.
 */
export function resettableRouter(parts: ResettableRouterParts): { readonly handler: ProxyHandler; readonly admin: RouterAdmin } {
  let inService = parts.build();
  let since = new Date();

  const view = async (): Promise<RouterView> => {
    const snapshot = await parts.control.readFresh();
    return {
      kill_switch: snapshot.killSwitch,
      symbols_in_review: symbolsInReview(snapshot).sort(),
      route_handler_since: since.toISOString(),
      settings: settingsView(parts.governance),
    };
  };

  const reset = (): Promise<RouterResetReport> =>
    parts.exclusively(async () => {
      const before = await parts.control.readFresh();
      const inReview = new Set(symbolsInReview(before));
      const windowStart = new Date(Date.now() - parts.governance.manualReviewWindowMs).toISOString();
      const fellBack = new Set((await parts.fallbacks.listFallbacks(windowStart)).map((fallback) => fallback.symbol));
      const toClear = [...new Set([...inReview, ...fellBack])].sort();
      // Written even when already off: the switch's change time is where the error rate's window starts.
      await parts.control.setKillSwitch('off', RESET_REASON, RESET_BY);
      // `cleared` rather than deleted: a review parameter's change time is where its symbol's
      // fallback count starts, so fallbacks from before the reset cannot trip a review after it.
      await Promise.all(toClear.map((symbol) => parts.control.clearSymbolReview(symbol)));
      const run = await parts.healthCheck();
      inService = parts.build();
      since = new Date();
      return {
        reset: {
          kill_switch_was: before.killSwitch.state,
          reviews_cleared: toClear.filter((symbol) => inReview.has(symbol)),
          fallback_counts_restarted: toClear.filter((symbol) => !inReview.has(symbol)),
          health_check: {
            runner: run.runner,
            kill_switch: run.killSwitch,
            ...(run.tripped === undefined ? {} : { tripped: run.tripped }),
            symbols_in_review: run.symbolsInReview,
          },
        },
        ...(await view()),
      };
    });

  // Waits its turn behind a scheduled run rather than skipping, as a person asking for it expects a run.
  const sync = (): Promise<LifecycleSyncReport> => parts.exclusively(() => parts.lifecycleSync());

  return { handler: (event) => inService(event), admin: { view, reset, sync } };
}

function settingsView(governance: Governance): RouterSettingsView {
  return {
    control_cache_ttl_ms: governance.controlCacheTtlMs,
    control_max_age_ms: governance.controlMaxAgeMs,
    breaker_failure_threshold: governance.breakerFailureThreshold,
    breaker_cooldown_ms: governance.breakerCooldownMs,
    manual_review_fallbacks: governance.manualReviewFallbacks,
    manual_review_window_ms: governance.manualReviewWindowMs,
    runner_health_stale_ms: governance.runnerHealthStaleMs,
  };
}
