/**
 * The committee of an epoch: equal weights, f = ⌊(n−1)/3⌋, quorum n−f (2f+1 when n = 3f+1), validity f+1.
 */
import { FleekError } from '../../lib/errors.ts'
import { toHex } from '../../lib/bytes.ts'

export interface CommitteeMember {
  /** ed25519 public key, 32 bytes: the node key. */
  publicKey: Uint8Array
}

export interface Committee {
  epoch: number
  members: CommitteeMember[]
}

/** f: the number of faulty members a committee of `size` tolerates. */
export function computeMaxFaulty(size: number): number {
  return Math.floor((size - 1) / 3)
}

/**
 * n−f: votes for a certificate, parents for a header. Any two quorums share at least f+1 members (one
 * honest), and a quorum meets every f+1 supporters of an anchor, for every n — 2f+1 only does when
 * n = 3f+1: with 3 members it is 1, and each member would certify and commit a DAG of its own.
 */
export function computeQuorumThreshold(size: number): number {
  return size - computeMaxFaulty(size)
}

/** f+1: support that commits an anchor. */
export function computeValidityThreshold(size: number): number {
  return computeMaxFaulty(size) + 1
}

/** Throws INVALID_INPUT unless the committee is usable: ≥ 1 member, 32-byte keys, no duplicates. */
export function validateCommittee(committee: Committee): void {
  if (!Number.isSafeInteger(committee.epoch) || committee.epoch < 0) {
    throw new FleekError(
      'INVALID_INPUT',
      `committee epoch must be a non-negative integer, got ${committee.epoch}`,
    )
  }
  if (committee.members.length === 0) throw new FleekError('INVALID_INPUT', 'the committee has no members')
  const seen = new Set<string>()
  for (const [i, m] of committee.members.entries()) {
    if (!(m.publicKey instanceof Uint8Array) || m.publicKey.length !== 32) {
      throw new FleekError('INVALID_INPUT', `committee member ${i} needs a 32-byte ed25519 public key`)
    }
    const hex = toHex(m.publicKey)
    if (seen.has(hex)) throw new FleekError('INVALID_INPUT', `committee member ${i} appears twice`)
    seen.add(hex)
  }
}

/** The index of `publicKey` in the committee, or -1. */
export function findMemberIndex(committee: Committee, publicKey: Uint8Array): number {
  const hex = toHex(publicKey)
  return committee.members.findIndex((m) => toHex(m.publicKey) === hex)
}

export { toHex }
