import { hash } from '../b3/index.ts'

/**
 * The 32-byte key under which the state root commits to an entry of a state table:
 * BLAKE3(table ‖ 0x00 ‖ key), the key as UTF-8 text, an integer key written as "#" and its decimal.
 * Shared by the node (which builds the tree) and clients (which verify state proofs).
 */
export function computeStateKey(table: string, key: string | number): Uint8Array {
  const text = typeof key === 'number' ? `#${key}` : key
  return hash(new TextEncoder().encode(`${table}\u0000${text}`))
}
