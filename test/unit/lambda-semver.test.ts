import { describe, expect, it } from 'vitest';
import { gte } from '../../functions/adapters/lambda-semver';

describe('the semver stand-in of the Lambda bundles', () => {
  it.each([
    ['22.11.0', '8.0.0'],
    ['v20.19.2', '8.0.0'],
    ['2.7.0', '2.7.0'],
    ['10.0.0', '9.99.99'],
    ['1.0.0', '1.0.0-rc.1'],
    ['1.0.0-rc.11', '1.0.0-rc.2'],
    ['1.0.0-beta', '1.0.0-2'],
    ['1.0.0-alpha.1', '1.0.0-alpha'],
    ['1.0.0+build.7', '1.0.0'],
  ])('answers that %s is at least %s', (version, other) => {
    expect(gte(version, other)).toBe(true);
  });

  it.each([
    ['2.6.9', '2.7.0'],
    ['8.0.0', '22.11.0'],
    ['1.0.0-rc.1', '1.0.0'],
    ['1.0.0-alpha', '1.0.0-alpha.1'],
    ['1.0.0-2', '1.0.0-beta'],
  ])('answers that %s is below %s', (version, other) => {
    expect(gte(version, other)).toBe(false);
  });

  it.each(['2.7', 'not-a-version', '01.2.3', ''])('refuses %j with a TypeError, as semver does', (version) => {
    expect(() => gte(version, '1.0.0')).toThrow(new TypeError(`Invalid Version: ${version}`));
  });
});
