/**
 * Token amounts as people write them ("1.5", "0.000001", "250") and as the chain holds them
 * (`bigint` base units, 18 decimals: `ONE_TOKEN`). Parsing is exact string arithmetic, never a
 * float: "0.1" is 100000000000000000n, not the nearest double times 10^18.
 */
import { FulmenError } from '../../core/errors.ts'

/** Decimals of every token on the chain (model.ts `ONE_TOKEN` = 10^18). */
export const AMOUNT_DECIMALS = 18
const SCALE = 10n ** BigInt(AMOUNT_DECIMALS)
/** The largest amount a state entry holds (cbor-shape.ts `MAX_AMOUNT`): 2^256 − 1 base units. */
export const MAX_AMOUNT = (1n << 256n) - 1n

export type AmountErrorCode =
  /** Text that is not an amount: not digits with at most one point, more than 18 decimals,
   * negative, or over 2^256 − 1 base units. */
  'CLI_BAD_AMOUNT'

export class AmountError extends FulmenError<AmountErrorCode> {
  override readonly name = 'AmountError'
}

// Digits, optionally a point and 1..18 more digits. No sign, exponent, separators or spaces:
// an amount that moves money is written one way.
const AMOUNT_TEXT = /^(\d+)(?:\.(\d+))?$/

/**
 * "1.5" → 1500000000000000000n. Whole tokens with up to 18 decimals; `what` names the flag in
 * the error ("--amount").
 */
export function parseAmount(text: string, what = 'an amount'): bigint {
  const m = AMOUNT_TEXT.exec(text)
  if (m === null) {
    throw new AmountError(
      'CLI_BAD_AMOUNT',
      `${what}: '${text}' is not an amount (digits, optionally a point and up to ${AMOUNT_DECIMALS} decimals, e.g. 1.5)`,
    )
  }
  const fraction = m[2] ?? ''
  if (fraction.length > AMOUNT_DECIMALS) {
    throw new AmountError(
      'CLI_BAD_AMOUNT',
      `${what}: '${text}' has ${fraction.length} decimals; tokens have ${AMOUNT_DECIMALS}`,
    )
  }
  const value = BigInt(m[1]!) * SCALE + BigInt(fraction.padEnd(AMOUNT_DECIMALS, '0') || '0')
  if (value > MAX_AMOUNT) {
    throw new AmountError('CLI_BAD_AMOUNT', `${what}: '${text}' is over the largest amount`)
  }
  return value
}

/**
 * 1500000000000000000n → "1.5": whole tokens, a point and the decimals without trailing
 * zeros; no point for whole amounts. The inverse of `parseAmount` for every amount.
 */
export function formatAmount(value: bigint): string {
  if (typeof value !== 'bigint' || value < 0n) {
    throw new RangeError(`an amount is a non-negative bigint, got ${String(value)}`)
  }
  const whole = value / SCALE
  const fraction = (value % SCALE).toString().padStart(AMOUNT_DECIMALS, '0').replace(/0+$/, '')
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`
}
