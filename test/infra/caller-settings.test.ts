import { describe, expect, it } from 'vitest';
import { orderApiCallers, routerSettingsFromContext } from '../../lib/router-settings';

const fromContext = (context: Record<string, unknown>) => routerSettingsFromContext((key) => context[key]);
const SCHEDULER = 'arn:aws:iam::123456789012:role/order-scheduler';
const OPERATOR = 'arn:aws:iam::123456789012:role/trading-operators';

describe('order API callers from CDK context', () => {
  it('reads operators given as a comma list or an array, trimmed, without duplicates or blanks', () => {
    const expected = { scheduler: SCHEDULER, operators: [OPERATOR] };

    expect(orderApiCallers(fromContext({ schedulerPrincipalArn: ` ${SCHEDULER} `, operatorPrincipalArns: ` ${OPERATOR}, ,${OPERATOR}` }))).toEqual(expected);
    expect(orderApiCallers(fromContext({ schedulerPrincipalArn: SCHEDULER, operatorPrincipalArns: [OPERATOR, OPERATOR] }))).toEqual(expected);
  });

  it('names no caller on paper when none is given, blanks included', () => {
    expect(orderApiCallers(fromContext({ schedulerPrincipalArn: '', operatorPrincipalArns: '' }))).toBeUndefined();
  });

  it('accepts a scheduler alone, with no operator', () => {
    expect(orderApiCallers(fromContext({ stage: 'live', schedulerPrincipalArn: SCHEDULER }))).toEqual({ scheduler: SCHEDULER, operators: [] });
  });

  it('refuses live without a scheduler', () => {
    expect(() => orderApiCallers(fromContext({ stage: 'live' }))).toThrow('live needs context "schedulerPrincipalArn"');
  });

  it('refuses an operator that is not an IAM role or user ARN, naming the key', () => {
    expect(() => fromContext({ schedulerPrincipalArn: SCHEDULER, operatorPrincipalArns: 'trading-operators' })).toThrow('context "operatorPrincipalArns.0" must be an IAM role or user ARN');
  });
});
