/**
 * The consensus key's export format, a PEM of fleek's own (there is no standard one for BLS12-381):
 *
 *   Fleek consensus key (BLS12-381, min-pk). Keep this file secret.
 *   Public key: <hex of the 48-byte compressed G1 public key>
 *   -----BEGIN FLEEK BLS12-381 PRIVATE KEY-----
 *   <base64 of the 32-byte big-endian secret scalar>
 *   -----END FLEEK BLS12-381 PRIVATE KEY-----
 *
 * - The body is exactly 32 bytes: the scalar s, big-endian, with 0 < s < r (r the order of the
 *   BLS12-381 scalar field, 0x73eda753…00000001); other values are refused. The base64 must be
 *   canonical (RFC 4648, padded, 64-character lines; no headers inside the block).
 * - The public key is s·G1 compressed (ZCash/IETF encoding), the min-pk variant: public keys in G1
 *   (48 bytes), signatures in G2 (96 bytes), as Ethereum's consensus layer uses.
 * - The lines before the block are explanatory text (RFC 7468 §5.2). When a "Public key:" line is
 *   present, import checks that it is the public key of the scalar, so an edited byte is refused
 *   rather than turned into another key. A bare block (without those lines) is accepted too.
 * - The format is not encrypted: keep the file 0600, or re-encrypt it with your own tools.
 */
import { FleekError } from '../errors.ts'
import { bytesToHex } from './bytes.ts'
import { deriveBlsPublicKey } from './bls12-381.ts'
import { assertValidSecret, assertValidSecretKey } from './derive.ts'
import { formatPem, parsePem, wrongPemLabel } from './pem.ts'
import { describeKindWithArticle, type SecretKey } from './types.ts'

export const CONSENSUS_PEM_LABEL = 'FLEEK BLS12-381 PRIVATE KEY'

export function exportConsensusPem(key: SecretKey): string {
  assertValidSecretKey(key)
  if (key.kind !== 'consensus') {
    throw new FleekError(
      'INVALID_INPUT',
      `${describeKindWithArticle(key.kind)} cannot be written as a consensus key PEM`,
    )
  }
  const notes = [
    'Fleek consensus key (BLS12-381, min-pk). Keep this file secret.',
    `Public key: ${bytesToHex(deriveBlsPublicKey(key.secret))}`,
  ]
  return formatPem(CONSENSUS_PEM_LABEL, key.secret, notes)
}

/** The consensus key of a PEM written by `exportConsensusPem` (or by hand to the format above). */
export function importConsensusPem(text: string): SecretKey {
  const what = 'the consensus key PEM'
  const block = parsePem(text, what)
  if (block.label !== CONSENSUS_PEM_LABEL) throw wrongPemLabel(block.label, 'consensus')
  assertValidSecret('consensus', block.body, `${what}'s scalar`)
  const noted = block.notes.get('public key')
  if (noted !== undefined && noted.toLowerCase() !== bytesToHex(deriveBlsPublicKey(block.body))) {
    throw new FleekError(
      'INVALID_INPUT',
      `${what} is corrupted: the key does not match the public key written above it`,
    )
  }
  return { kind: 'consensus', secret: block.body }
}
