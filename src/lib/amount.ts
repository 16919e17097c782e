import { FleekError } from './errors.ts'

/** FLK has 18 decimals, the stablecoin 6. Amounts are `bigint` base units everywhere inside fleek. */
export const FLK_DECIMALS = 18
export const USD_DECIMALS = 6

export type Token = 'flk' | 'usd'

export function getTokenDecimals(token: Token): number {
  return token === 'flk' ? FLK_DECIMALS : USD_DECIMALS
}

const DECIMAL_PATTERN = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/

/**
 * Parses a non-negative decimal string ("1.5", "0.000001", "1000") into base units with `decimals`
 * fraction digits. Strict: no sign, no exponent, no spaces, no leading zeros, no more fraction digits
 * than the token has.
 */
export function parseAmount(text: string, decimals: number, what = 'amount'): bigint {
  if (typeof text !== 'string') throw new FleekError('INVALID_INPUT', `${what} must be a decimal string`)
  const match = DECIMAL_PATTERN.exec(text)
  if (match === null) {
    throw new FleekError('INVALID_INPUT', `${what} "${clip(text)}" is not a decimal number like 1.5`)
  }
  const whole = match[1]
  const fraction = match[2] ?? ''
  if (fraction.length > decimals) {
    throw new FleekError('INVALID_INPUT', `${what} "${clip(text)}" has more than ${decimals} decimals`)
  }
  const value = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0')
  if (value > MAX_BASE_UNITS)
    throw new FleekError('INVALID_INPUT', `${what} "${clip(text)}" is larger than any balance can be`)
  return value
}

/** The largest amount a transaction carries (2^128 − 1 base units). */
const MAX_BASE_UNITS = (1n << 128n) - 1n

/** Formats base units as the shortest exact decimal string ("1.5", "0", "0.000001"). */
export function formatAmount(value: bigint, decimals: number): string {
  const negative = value < 0n
  const abs = negative ? -value : value
  const scale = 10n ** BigInt(decimals)
  const whole = (abs / scale).toString()
  const fraction = (abs % scale).toString().padStart(decimals, '0').replace(/0+$/, '')
  return (negative ? '-' : '') + (fraction === '' ? whole : `${whole}.${fraction}`)
}

/** Parses an amount of `token` given as a decimal string of whole tokens. */
export function parseTokenAmount(text: string, token: Token, what = 'amount'): bigint {
  return parseAmount(text, getTokenDecimals(token), what)
}

export function formatTokenAmount(value: bigint, token: Token): string {
  return formatAmount(value, getTokenDecimals(token))
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
