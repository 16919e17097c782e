import { base58btc } from 'multiformats/bases/base58'
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml'
import { formatTokenAmount, parseTokenAmount } from '../../lib/amount.ts'
import { FleekError } from '../../lib/errors.ts'
import { verifyConsensusKeyProof } from '../../lib/keys/index.ts'
import {
  COMMODITY_TYPES,
  PARAM_NAMES,
  PORT_NAMES,
  normalizeAddress,
  type CommodityType,
  type NodePorts,
} from '../../lib/tx/index.ts'
import { checkParams } from './params.ts'
import { defaultProtocolParams, type ProtocolParams } from './types.ts'
import { toHex } from '../../lib/bytes.ts'

/**
 * The genesis of a chain: its id, parameters, initial accounts, nodes (with stake and keys), the
 * genesis committee and services. Written as TOML (snake_case keys, amounts as decimal strings of
 * whole tokens, node keys in base58, consensus keys in hex).
 */
export interface Genesis {
  chainId: number
  /** Start of epoch 0 (ms since the Unix epoch). */
  epochStartMs: number
  /** Whether the Faucet transaction mints tokens (devnets). */
  faucet: boolean
  /**
   * Set (only ever to true) on the genesis of a local devnet, which createDevnetGenesis writes: its
   * nodes may go without `consensusKeyProof`. Every other genesis must prove each consensus key.
   */
  devnet?: true
  /** The account allowed to change protocol parameters and add services. */
  governanceAddress: string
  /** The account receiving the protocol's share of rewards. */
  protocolFundAddress: string
  /** FLK supply at genesis, base units (emissions start from it). */
  supplyAtGenesis: bigint
  params: ProtocolParams
  accounts: GenesisAccount[]
  nodes: GenesisNode[]
  services: GenesisService[]
}

export interface GenesisAccount {
  address: string
  flk: bigint
  usd: bigint
}

export interface GenesisNode {
  owner: string
  /** ed25519, 32 bytes. */
  publicKey: Uint8Array
  /** BLS12-381 G1, 48 bytes. */
  consensusKey: Uint8Array
  /**
   * Proof of possession of `consensusKey` (96 bytes), always checked. Required unless the genesis is a
   * devnet's (whose files may be written from public keys only).
   */
  consensusKeyProof?: Uint8Array
  host: string
  ports: NodePorts
  /** FLK base units. */
  stake: bigint
  stakeLockedUntil: number
  /** Member of epoch 0's committee. */
  committee: boolean
}

export interface GenesisService {
  id: number
  owner: string
  commodityType: CommodityType
}

export const defaultNodePorts: NodePorts = {
  primary: 4310,
  worker: 4311,
  mempool: 4210,
  rpc: 4240,
  pool: 4300,
  pinger: 4350,
  handshakeHttp: 4220,
  handshakeWebrtc: 4320,
  handshakeWebtransport: 4321,
}

// ---- parse ---------------------------------------------------------------------------------------

export function parseGenesis(text: string): Genesis {
  let doc: Record<string, unknown>
  try {
    doc = parseToml(text) as Record<string, unknown>
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0]
    throw new FleekError('INVALID_INPUT', `genesis is not valid TOML: ${first}`, { cause: err })
  }
  return readGenesis(doc)
}

const TOP_KEYS = [
  'chain_id',
  'epoch_start_ms',
  'faucet',
  'devnet',
  'governance_address',
  'protocol_fund_address',
  'supply_at_genesis',
  'params',
  'account',
  'node',
  'service',
]

function readGenesis(doc: Record<string, unknown>): Genesis {
  checkKeys(doc, '', TOP_KEYS, ['chain_id', 'governance_address', 'protocol_fund_address'])
  const params = { ...defaultProtocolParams }
  if (doc.params !== undefined) {
    const table = readTable(doc.params, 'params')
    const names = PARAM_NAMES.map(toSnake)
    checkKeys(table, 'params.', names, [])
    for (const name of PARAM_NAMES) {
      const v = table[toSnake(name)]
      if (v !== undefined) params[name] = readInt(v, `params.${toSnake(name)}`)
    }
  }
  const paramError = checkParams(params)
  if (paramError !== undefined) fail(`params: ${paramError}`)
  const genesis: Genesis = {
    chainId: readInt(doc.chain_id, 'chain_id', 0xffff_ffff),
    epochStartMs: doc.epoch_start_ms === undefined ? 0 : readInt(doc.epoch_start_ms, 'epoch_start_ms'),
    faucet: doc.faucet === undefined ? false : readBool(doc.faucet, 'faucet'),
    ...(doc.devnet !== undefined && readBool(doc.devnet, 'devnet') && { devnet: true as const }),
    governanceAddress: readAddress(doc.governance_address, 'governance_address'),
    protocolFundAddress: readAddress(doc.protocol_fund_address, 'protocol_fund_address'),
    supplyAtGenesis:
      doc.supply_at_genesis === undefined ? 0n : readFlk(doc.supply_at_genesis, 'supply_at_genesis'),
    params,
    accounts: readArray(doc.account, 'account').map((x, i) => readAccount(x, `account[${i}]`)),
    nodes: readArray(doc.node, 'node').map((x, i) => readNode(x, `node[${i}]`)),
    services: readArray(doc.service, 'service').map((x, i) => readService(x, `service[${i}]`)),
  }
  validateGenesis(genesis)
  return genesis
}

function readAccount(value: unknown, path: string): GenesisAccount {
  const t = readTable(value, path)
  checkKeys(t, `${path}.`, ['address', 'flk', 'usd'], ['address'])
  return {
    address: readAddress(t.address, `${path}.address`),
    flk: t.flk === undefined ? 0n : readFlk(t.flk, `${path}.flk`),
    usd: t.usd === undefined ? 0n : readToken(t.usd, 'usd', `${path}.usd`),
  }
}

function readNode(value: unknown, path: string): GenesisNode {
  const t = readTable(value, path)
  const keys = [
    'owner',
    'public_key',
    'consensus_key',
    'consensus_key_proof',
    'host',
    'ports',
    'stake',
    'stake_locked_until',
    'committee',
  ]
  checkKeys(t, `${path}.`, keys, ['owner', 'public_key', 'consensus_key', 'host', 'stake'])
  const ports = { ...defaultNodePorts }
  if (t.ports !== undefined) {
    const p = readTable(t.ports, `${path}.ports`)
    checkKeys(p, `${path}.ports.`, PORT_NAMES.map(toSnake), [])
    for (const name of PORT_NAMES) {
      const v = p[toSnake(name)]
      if (v !== undefined) ports[name] = readInt(v, `${path}.ports.${toSnake(name)}`, 65535)
    }
  }
  return {
    owner: readAddress(t.owner, `${path}.owner`),
    publicKey: readBase58Key(t.public_key, `${path}.public_key`),
    consensusKey: readHexBytes(t.consensus_key, `${path}.consensus_key`, 48),
    ...(t.consensus_key_proof !== undefined && {
      consensusKeyProof: readHexBytes(t.consensus_key_proof, `${path}.consensus_key_proof`, 96),
    }),
    host: readHost(t.host, `${path}.host`),
    ports,
    stake: readFlk(t.stake, `${path}.stake`),
    stakeLockedUntil:
      t.stake_locked_until === undefined ? 0 : readInt(t.stake_locked_until, `${path}.stake_locked_until`),
    committee: t.committee === undefined ? false : readBool(t.committee, `${path}.committee`),
  }
}

function readService(value: unknown, path: string): GenesisService {
  const t = readTable(value, path)
  checkKeys(t, `${path}.`, ['id', 'owner', 'commodity_type'], ['id', 'owner', 'commodity_type'])
  const type = t.commodity_type
  if (typeof type !== 'string' || !(COMMODITY_TYPES as readonly string[]).includes(type)) {
    fail(`${path}.commodity_type must be one of ${COMMODITY_TYPES.join(', ')}`)
  }
  return {
    id: readInt(t.id, `${path}.id`, 0xffff_ffff),
    owner: readAddress(t.owner, `${path}.owner`),
    commodityType: type as CommodityType,
  }
}

/** Checks the cross-field rules; throws FleekError INVALID_INPUT naming the field. */
export function validateGenesis(g: Genesis): void {
  const paramError = checkParams(g.params)
  if (paramError !== undefined) fail(`params: ${paramError}`)
  const seen = new Set<string>()
  g.accounts.forEach((a, i) => {
    if (seen.has(a.address)) fail(`account[${i}].address ${a.address} appears twice`)
    seen.add(a.address)
  })
  const keys = new Set<string>()
  const consensusKeys = new Set<string>()
  const minStake = BigInt(g.params.minStake) * 10n ** 18n
  g.nodes.forEach((n, i) => {
    const pk = toHex(n.publicKey)
    const ck = toHex(n.consensusKey)
    if (keys.has(pk)) fail(`node[${i}].public_key appears twice`)
    if (consensusKeys.has(ck)) fail(`node[${i}].consensus_key appears twice`)
    keys.add(pk)
    consensusKeys.add(ck)
    if (n.consensusKeyProof === undefined) {
      // Checkpoints aggregate the committee's keys: only keys their nodes hold may join them.
      if (g.devnet !== true)
        fail(
          `node[${i}].consensus_key_proof is missing (required unless devnet = true; \`fleek keys show --consensus-key-proof\` on that node's home prints it)`,
        )
    } else if (!verifyConsensusKeyProof(n.consensusKey, n.consensusKeyProof)) {
      fail(`node[${i}].consensus_key_proof is not a proof of possession of node[${i}].consensus_key`)
    }
    if (n.committee && n.stake < minStake) {
      fail(`node[${i}].stake is below params.min_stake (${g.params.minStake} FLK) for a committee member`)
    }
  })
  if (!g.nodes.some((n) => n.committee)) fail('node: at least one node must have committee = true')
  const ids = new Set<number>()
  g.services.forEach((s, i) => {
    if (ids.has(s.id)) fail(`service[${i}].id ${s.id} appears twice`)
    ids.add(s.id)
  })
}

// ---- serialize -----------------------------------------------------------------------------------

export function serializeGenesis(g: Genesis): string {
  validateGenesis(g)
  const params: Record<string, number> = {}
  for (const name of PARAM_NAMES) params[toSnake(name)] = g.params[name]
  const doc = {
    chain_id: g.chainId,
    epoch_start_ms: g.epochStartMs,
    faucet: g.faucet,
    ...(g.devnet === true && { devnet: true }),
    governance_address: g.governanceAddress,
    protocol_fund_address: g.protocolFundAddress,
    supply_at_genesis: formatTokenAmount(g.supplyAtGenesis, 'flk'),
    params,
    account: g.accounts.map((a) => ({
      address: a.address,
      flk: formatTokenAmount(a.flk, 'flk'),
      usd: formatTokenAmount(a.usd, 'usd'),
    })),
    node: g.nodes.map((n) => ({
      owner: n.owner,
      public_key: base58btc.baseEncode(n.publicKey),
      consensus_key: toHex(n.consensusKey),
      ...(n.consensusKeyProof !== undefined && { consensus_key_proof: toHex(n.consensusKeyProof) }),
      host: n.host,
      stake: formatTokenAmount(n.stake, 'flk'),
      stake_locked_until: n.stakeLockedUntil,
      committee: n.committee,
      ports: Object.fromEntries(PORT_NAMES.map((p) => [toSnake(p), n.ports[p]])),
    })),
    service: g.services.map((s) => ({ id: s.id, owner: s.owner, commodity_type: s.commodityType })),
  }
  return stringifyToml(doc) + '\n'
}

// ---- devnet --------------------------------------------------------------------------------------

/**
 * Protocol parameters of the devnets that `fleek node run` and `fleek devnet up` create: the
 * commit–reveal beacon on, with phase timeouts short enough for short devnet epochs.
 */
export const DEVNET_PARAMS: Partial<ProtocolParams> = {
  beaconEnabled: 1,
  beaconCommitTimeoutMs: 10_000,
  beaconRevealTimeoutMs: 10_000,
}

export interface DevnetNode {
  /** The owner account's address. */
  owner: string
  publicKey: Uint8Array
  consensusKey: Uint8Array
  /** Written to the genesis when given (and then checked). */
  consensusKeyProof?: Uint8Array
  host?: string
  ports?: Partial<NodePorts>
}

export interface DevnetGenesisOptions {
  nodes: DevnetNode[]
  chainId?: number
  epochTimeMs?: number
  faucet?: boolean
  /** Defaults to now. */
  epochStartMs?: number
  /** FLK each owner account starts with, whole tokens (default 10 000). */
  ownerBalance?: bigint
  params?: Partial<ProtocolParams>
}

/**
 * A genesis for a single-node network or a local devnet (marked `devnet = true`, so proofs of the
 * consensus keys are optional): every node staked with the minimum stake and in the committee (up to
 * the committee size), owners funded, the first owner as governance and protocol fund, services 0
 * (CDN, bandwidth) and 1 (JS, compute).
 */
export function createDevnetGenesis(options: DevnetGenesisOptions): Genesis {
  if (options.nodes.length === 0) throw new FleekError('INVALID_INPUT', 'a devnet needs at least one node')
  const params: ProtocolParams = {
    ...defaultProtocolParams,
    committeeSize: Math.max(defaultProtocolParams.committeeSize, options.nodes.length),
    ...options.params,
  }
  if (options.epochTimeMs !== undefined) params.epochTimeMs = options.epochTimeMs
  const owners = [...new Set(options.nodes.map((n) => normalizeAddress(n.owner)))]
  const stake = BigInt(params.minStake) * 10n ** 18n
  const balance = (options.ownerBalance ?? 10_000n) * 10n ** 18n
  const genesis: Genesis = {
    chainId: options.chainId ?? 1337,
    epochStartMs: options.epochStartMs ?? Date.now(),
    faucet: options.faucet ?? true,
    devnet: true,
    governanceAddress: owners[0],
    protocolFundAddress: owners[0],
    supplyAtGenesis: 1_000_000n * 10n ** 18n,
    params,
    accounts: owners.map((address) => ({ address, flk: balance, usd: 0n })),
    nodes: options.nodes.map((n, i) => ({
      owner: normalizeAddress(n.owner),
      publicKey: n.publicKey,
      consensusKey: n.consensusKey,
      ...(n.consensusKeyProof !== undefined && { consensusKeyProof: n.consensusKeyProof }),
      host: n.host ?? '127.0.0.1',
      ports: { ...defaultNodePorts, ...n.ports },
      stake,
      stakeLockedUntil: 0,
      committee: i < params.committeeSize,
    })),
    services: [
      { id: 0, owner: owners[0], commodityType: 'bandwidth' },
      { id: 1, owner: owners[0], commodityType: 'compute' },
    ],
  }
  validateGenesis(genesis)
  return genesis
}

// ---- readers -------------------------------------------------------------------------------------

function fail(message: string): never {
  throw new FleekError('INVALID_INPUT', `genesis: ${message}`)
}

function toSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())
}

function checkKeys(t: Record<string, unknown>, prefix: string, allowed: string[], required: string[]): void {
  for (const key of Object.keys(t)) if (!allowed.includes(key)) fail(`unknown field ${prefix}${key}`)
  for (const key of required) if (t[key] === undefined) fail(`${prefix}${key} is missing`)
}

function readTable(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) {
    fail(`${path} must be a table`)
  }
  return value as Record<string, unknown>
}

function readArray(value: unknown, path: string): unknown[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) fail(`${path} must be an array of tables ([[${path}]])`)
  return value
}

function readInt(value: unknown, path: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    fail(`${path} must be an integer from 0 to ${max}`)
  }
  return value
}

function readBool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(`${path} must be true or false`)
  return value
}

function readAddress(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(`${path} must be a 0x address`)
  try {
    return normalizeAddress(value, path)
  } catch (err) {
    fail((err as Error).message)
  }
}

function readFlk(value: unknown, path: string): bigint {
  return readToken(value, 'flk', path)
}

function readToken(value: unknown, token: 'flk' | 'usd', path: string): bigint {
  if (typeof value !== 'string') fail(`${path} must be a decimal string like "1000.5"`)
  try {
    return parseTokenAmount(value, token, path)
  } catch (err) {
    fail((err as Error).message)
  }
}

function readBase58Key(value: unknown, path: string): Uint8Array {
  let bytes: Uint8Array | undefined
  if (typeof value === 'string') {
    try {
      bytes = base58btc.baseDecode(value)
    } catch {
      bytes = undefined
    }
  }
  if (bytes === undefined || bytes.length !== 32)
    fail(`${path} must be a base58 ed25519 public key (32 bytes)`)
  return bytes
}

function readHexBytes(value: unknown, path: string, length: number): Uint8Array {
  if (typeof value !== 'string' || !new RegExp(`^(0x)?[0-9a-fA-F]{${length * 2}}$`).test(value)) {
    fail(`${path} must be ${length} bytes in hex`)
  }
  return new Uint8Array(Buffer.from(value.replace(/^0x/, ''), 'hex'))
}

function readHost(value: unknown, path: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9.:\-[\]]{1,253}$/.test(value)) {
    fail(`${path} must be a host name or an IP address`)
  }
  return value
}
