import type { CancelReceipt } from '../../functions/route/order-responses';
import type { OrderApiAnswer } from './order-api-client';
import { isDeployedStage, type CliStage } from './stages';

/**
 * What `lean-router cancel` says about each answer of `DELETE /orders/{client_order_id}`: one
 * short paragraph an operator can act on without the API documentation, and the exit code.
 */

/** The words for one answer, and whether the cancel was taken (exit 0) or not (exit 1). */
export interface CancelReport {
  readonly exitCode: 0 | 1;
  readonly text: string;
}

/** What the report needs besides the answer: the order, the stage (for the commands it suggests) and the API asked. */
export interface CancelContext {
  readonly clientOrderId: string;
  readonly stage: CliStage;
  readonly apiUrl: string;
}

type ErrorBody = { readonly error?: string; readonly message?: string; readonly details?: Partial<CancelReceipt> };

/** The report of one order API answer. */
export function cancelReport(answer: OrderApiAnswer, context: CancelContext): CancelReport {
  const { clientOrderId: id } = context;
  if (!('json' in answer.body)) {
    const excerpt = answer.body.text.trim().slice(0, 200);
    return failed(`the order API at ${context.apiUrl} answered ${answer.status} with a body that is not JSON${excerpt === '' ? '' : `: ${excerpt}`}`);
  }
  const body = objectOf(answer.body.json);
  const error = body as ErrorBody;
  const watch = `watch \`${orderCommand(context)}\` for the broker's status`;
  switch (answer.status) {
    case 202: {
      const receipt = body as Partial<CancelReceipt>;
      return done(`${id}: cancel requested ${routeWords(receipt)}; the broker is working on it: ${watch}${filledSoFar(receipt)}`);
    }
    case 200: {
      const receipt = body as Partial<CancelReceipt>;
      const at = receipt.cancel_requested_at === undefined ? '' : `, at ${receipt.cancel_requested_at}`;
      return done(`${id}: cancel already requested earlier${at}, ${routeWords(receipt)}; no broker was asked again: ${watch}${filledSoFar(receipt)}`);
    }
    case 409:
      if (error.error === 'order_final') return failed(`${id}: nothing to cancel: ${error.message ?? 'the order is final'}${filledSoFar(error.details ?? {})}`);
      return failed(`${id}: not canceled, and no broker was asked: ${error.message ?? error.error ?? 'the order cannot be canceled now'}`);
    case 404:
      if (error.error === 'order_not_found') {
        return failed(`${id}: no such order in the ${context.stage} stage (404 order_not_found): check the id and --stage; nothing was sent to a broker`);
      }
      return failed(`the order API at ${context.apiUrl} has no cancel route (404 ${error.error ?? ''}: ${messageOf(body)}): check --api-url`);
    case 400:
      return failed(`${id}: the order API refused the request (400 ${error.error ?? ''}): ${messageOf(body)}`);
    case 502:
      return failed(
        [`${id}: NOT canceled: no broker took the cancel: ${error.message ?? 'cancel_failed'}`, ...attemptLines(error.details ?? {}),
          `the order may still be open at the broker: run the same cancel again (it tries the brokers again) and check \`${orderCommand(context)}\``].join('\n'),
      );
    case 503:
      return failed(`${id}: not canceled, and no broker was asked: the cancel could not be recorded on the row (503 ${error.error ?? ''}); retry in ${answer.headers['retry-after'] ?? 'a few'} s`);
    case 403:
      return failed(
        `the order API at ${context.apiUrl} refused the caller (403: ${messageOf(body)}): the credentials in use (AWS_PROFILE) need execute-api:Invoke on the ${context.stage} stage's API, and the URL must be that API's`,
      );
    case 429:
      return failed(`${id}: not canceled: the order API throttled the request (429); retry in a few seconds`);
    default: {
      const correlation = answer.headers['x-correlation-id'];
      const logs = correlation === undefined ? '' : `; the route function's logs hold it under x-correlation-id ${correlation}`;
      return failed(`${id}: the order API answered ${answer.status}${error.error === undefined ? '' : ` ${error.error}`}: ${messageOf(body)}${logs}; read the row with \`${orderCommand(context)}\` before retrying`);
    }
  }
}

const done = (text: string): CancelReport => ({ exitCode: 0, text });
const failed = (text: string): CancelReport => ({ exitCode: 1, text });

/** Which broker was asked and why, in words. */
function routeWords(receipt: Partial<CancelReceipt>): string {
  const reason = receipt.cancel_route_reason === undefined ? '' : ` (${receipt.cancel_route_reason})`;
  switch (receipt.cancel_route) {
    case 'lean':
      return `through LEAN${reason}`;
    case 'alpaca':
      return `at Alpaca${reason}`;
    case 'alpaca_gated':
      return `at Alpaca directly, LEAN skipped${reason}`;
    case 'alpaca_fallback':
      return `at Alpaca after LEAN's cancel did not go through${reason}`;
    case 'none':
      return `by no broker${reason}`;
    default:
      return 'through the router';
  }
}

/** Each broker call of the cancel, one indented line each, as the row records them. */
function attemptLines(receipt: Partial<CancelReceipt>): string[] {
  return (receipt.cancel_attempts ?? []).map((attempt) => {
    const status = attempt.http_status === undefined ? '' : `HTTP ${attempt.http_status}, `;
    return `  ${attempt.adapter} cancel of ${attempt.broker_order_id}: ${attempt.outcome} (${status}${attempt.latency_ms} ms)${attempt.detail === undefined ? '' : `: ${attempt.detail}`}`;
  });
}

function filledSoFar(receipt: Partial<CancelReceipt>): string {
  const filled = receipt.filled_qty;
  return filled === undefined || Number(filled) === 0 ? '' : ` (filled so far: ${filled})`;
}

function orderCommand(context: CancelContext): string {
  return `lean-router order ${context.clientOrderId}${isDeployedStage(context.stage) ? ` --stage ${context.stage}` : ''}`;
}

/** The message of an error body: the order API's `message`, or API Gateway's `message` / `Message`. */
function messageOf(body: Record<string, unknown>): string {
  const message = body.message ?? body.Message;
  return typeof message === 'string' ? message : JSON.stringify(body);
}

function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
