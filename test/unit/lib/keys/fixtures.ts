/** Fixed keys of the key codec tests (no randomness in the inputs). */
import type { KeyKind, SecretKey } from '../../../../src/lib/keys/index.ts'
import { hex } from './helpers.ts'

export const fixedKeys: Readonly<Record<KeyKind, SecretKey>> = {
  // RFC 8032 §7.1 test 1 seed
  node: { kind: 'node', secret: hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60') },
  consensus: {
    kind: 'consensus',
    secret: hex('263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3'),
  },
  account: {
    kind: 'account',
    secret: hex('4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'),
  },
}

/** A second key of each kind, for swaps. */
export const otherKeys: Readonly<Record<KeyKind, SecretKey>> = {
  node: { kind: 'node', secret: hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb') },
  consensus: {
    kind: 'consensus',
    secret: hex('47b8192d77bf871b62e87859d653922725724a5c031afeabc60bcef5ff665138'),
  },
  account: {
    kind: 'account',
    secret: hex('0000000000000000000000000000000000000000000000000000000000000001'),
  },
}
