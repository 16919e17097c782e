import { COMMODITY_TYPES, PARAM_NAMES, type NodePorts } from '../../lib/tx/index.ts'
import type { StateOverlay } from './state.ts'
import type {
  AccountInfo,
  BeaconState,
  Committee,
  NodeInfo,
  NodeServed,
  Participation,
  ProtocolParams,
  ReportedMeasurement,
  Service,
  TotalServed,
} from './types.ts'
import { toHex } from '../../lib/bytes.ts'

/**
 * Typed access to the state tables. Records are stored as DAG-CBOR with bigints as decimal strings.
 * Keys: accounts by lowercase address; nodes, committees' members and the like by the node public key
 * in lowercase hex; per-epoch tables by `epoch:…` with the epoch zero-padded to 12 digits.
 */
export class State {
  readonly overlay: StateOverlay

  constructor(overlay: StateOverlay) {
    this.overlay = overlay
  }

  // ---- meta ----
  getMetaNumber(name: 'epoch' | 'height' | 'chainId'): number {
    return (this.overlay.get('meta', name) as number | undefined) ?? 0
  }
  putMetaNumber(name: 'epoch' | 'height' | 'chainId', value: number): void {
    this.overlay.put('meta', name, value)
  }
  getMetaAmount(name: 'totalSupply' | 'supplyYearStart'): bigint {
    return BigInt((this.overlay.get('meta', name) as string | undefined) ?? '0')
  }
  putMetaAmount(name: 'totalSupply' | 'supplyYearStart', value: bigint): void {
    this.overlay.put('meta', name, value.toString())
  }
  getMetaString(name: 'governanceAddress' | 'protocolFundAddress'): string {
    return (this.overlay.get('meta', name) as string | undefined) ?? ''
  }
  putMetaString(name: 'governanceAddress' | 'protocolFundAddress', value: string): void {
    this.overlay.put('meta', name, value)
  }
  getFaucet(): boolean {
    return this.overlay.get('meta', 'faucet') === true
  }
  putFaucet(enabled: boolean): void {
    this.overlay.put('meta', 'faucet', enabled)
  }

  // ---- params ----
  getParams(): ProtocolParams {
    const params = {} as ProtocolParams
    for (const name of PARAM_NAMES)
      params[name] = (this.overlay.get('params', name) as number | undefined) ?? 0
    return params
  }
  putParam(name: keyof ProtocolParams, value: number): void {
    this.overlay.put('params', name, value)
  }

  // ---- accounts ----
  /** The account (zero balances and nonce when it was never touched). */
  getAccount(address: string): AccountInfo {
    const raw = this.overlay.get('accounts', address) as
      { flk: string; usd: string; nonce: number } | undefined
    if (raw === undefined) return { flk: 0n, usd: 0n, nonce: 0 }
    return { flk: BigInt(raw.flk), usd: BigInt(raw.usd), nonce: raw.nonce }
  }
  hasAccount(address: string): boolean {
    return this.overlay.get('accounts', address) !== undefined
  }
  putAccount(address: string, a: AccountInfo): void {
    this.overlay.put('accounts', address, { flk: a.flk.toString(), usd: a.usd.toString(), nonce: a.nonce })
  }
  listAccounts(): Array<[string, AccountInfo]> {
    return this.overlay.entries('accounts').map(([k]) => [String(k), this.getAccount(String(k))])
  }
  /**
   * The account's public key (33 bytes, compressed), recorded when its first transaction executed;
   * undefined before. Its signatures are then checked against it instead of by recovery.
   */
  getAccountKey(address: string): Uint8Array | undefined {
    return this.overlay.get('accountKeys', address) as Uint8Array | undefined
  }
  putAccountKey(address: string, publicKey: Uint8Array): void {
    this.overlay.put('accountKeys', address, publicKey)
  }

  // ---- nodes ----
  getNode(publicKeyHex: string): NodeInfo | undefined {
    const raw = this.overlay.get('nodes', publicKeyHex) as RawNode | undefined
    return raw === undefined ? undefined : decodeNode(raw)
  }
  putNode(node: NodeInfo): void {
    this.overlay.put('nodes', toHex(node.publicKey), encodeNode(node))
  }
  listNodes(): NodeInfo[] {
    return this.overlay.entries('nodes').map(([, raw]) => decodeNode(raw as RawNode))
  }
  getNodeByConsensusKey(consensusKeyHex: string): string | undefined {
    return this.overlay.get('consensusKeys', consensusKeyHex) as string | undefined
  }
  putConsensusKey(consensusKeyHex: string, publicKeyHex: string): void {
    this.overlay.put('consensusKeys', consensusKeyHex, publicKeyHex)
  }

  // ---- committees ----
  getCommittee(epoch: number): Committee | undefined {
    return this.overlay.get('committees', epoch) as Committee | undefined
  }
  putCommittee(c: Committee): void {
    this.overlay.put('committees', c.epoch, c)
  }

  // ---- committee beacon (by the epoch it changes away from) ----
  getBeacon(epoch: number): BeaconState | undefined {
    const raw = this.overlay.get('beacon', epoch) as RawBeacon | undefined
    if (raw === undefined) return undefined
    return { ...raw, slashed: raw.slashed.map((x) => ({ ...x, amount: BigInt(x.amount) })) }
  }
  putBeacon(b: BeaconState): void {
    const raw: RawBeacon = { ...b, slashed: b.slashed.map((x) => ({ ...x, amount: x.amount.toString() })) }
    this.overlay.put('beacon', b.epoch, raw)
  }

  // ---- services ----
  getService(id: number): Service | undefined {
    return this.overlay.get('services', id) as Service | undefined
  }
  putService(s: Service): void {
    this.overlay.put('services', s.id, s)
  }
  listServices(): Service[] {
    return this.overlay.entries('services').map(([, v]) => v as Service)
  }

  // ---- served commodities and revenue ----
  getServed(epoch: number, publicKeyHex: string): NodeServed {
    const raw = this.overlay.get('served', `${pad(epoch)}:${publicKeyHex}`) as RawServed | undefined
    return raw === undefined ? emptyServed() : decodeServed(raw)
  }
  putServed(epoch: number, publicKeyHex: string, s: NodeServed): void {
    this.overlay.put('served', `${pad(epoch)}:${publicKeyHex}`, {
      served: s.served.map(String),
      revenue: s.revenue.toString(),
    })
  }
  listServed(epoch: number): Array<[string, NodeServed]> {
    const prefix = `${pad(epoch)}:`
    return this.overlay
      .entries('served', { prefix })
      .map(([k, v]) => [String(k).slice(prefix.length), decodeServed(v as RawServed)])
  }
  getTotalServed(epoch: number): TotalServed {
    const raw = this.overlay.get('totalServed', epoch) as { served: string[]; rewardPool: string } | undefined
    if (raw === undefined) return { served: COMMODITY_TYPES.map(() => 0n), rewardPool: 0n }
    return { served: raw.served.map((x) => BigInt(x)), rewardPool: BigInt(raw.rewardPool) }
  }
  putTotalServed(epoch: number, t: TotalServed): void {
    this.overlay.put('totalServed', epoch, {
      served: t.served.map(String),
      rewardPool: t.rewardPool.toString(),
    })
  }
  getServiceRevenue(epoch: number, serviceId: number): bigint {
    return BigInt(
      (this.overlay.get('serviceRevenue', `${pad(epoch)}:${pad(serviceId)}`) as string | undefined) ?? '0',
    )
  }
  putServiceRevenue(epoch: number, serviceId: number, value: bigint): void {
    this.overlay.put('serviceRevenue', `${pad(epoch)}:${pad(serviceId)}`, value.toString())
  }
  listServiceRevenue(epoch: number): Array<[number, bigint]> {
    const prefix = `${pad(epoch)}:`
    return this.overlay
      .entries('serviceRevenue', { prefix })
      .map(([k, v]) => [Number(String(k).slice(prefix.length)), BigInt(v as string)])
  }

  // ---- reputation ----
  putMeasurement(targetHex: string, m: ReportedMeasurement): void {
    this.overlay.put('measurements', `${targetHex}:${toHex(m.reporter)}`, m)
  }
  listMeasurements(targetHex: string): ReportedMeasurement[] {
    return this.overlay
      .entries('measurements', { prefix: `${targetHex}:` })
      .map(([, v]) => v as ReportedMeasurement)
  }
  getSubmissions(reporterHex: string): number {
    return (this.overlay.get('submissions', reporterHex) as number | undefined) ?? 0
  }
  putSubmissions(reporterHex: string, count: number): void {
    this.overlay.put('submissions', reporterHex, count)
  }
  getReputationScore(publicKeyHex: string): number | undefined {
    return this.overlay.get('reputation', publicKeyHex) as number | undefined
  }
  putLatency(aHex: string, bHex: string, latencyMs: number): void {
    const [lo, hi] = aHex < bHex ? [aHex, bHex] : [bHex, aHex]
    this.overlay.put('latencies', `${lo}:${hi}`, latencyMs)
  }

  // ---- replay protection ----
  hasExecutedDigest(digestHex: string): boolean {
    return this.overlay.get('executedDigests', digestHex) !== undefined
  }
  putExecutedDigest(digestHex: string): void {
    this.overlay.put('executedDigests', digestHex, true)
  }

  /** Deletes every entry of a table (per-epoch tables at the epoch change). */
  clearTable(table: 'executedDigests' | 'measurements' | 'submissions'): void {
    for (const [key] of this.overlay.entries(table)) this.overlay.delete(table, key)
  }

  // ---- content registry ----
  /** The registry is kept both ways: `content` by uri then node, `nodeContent` by node then uri. */
  setContentProvider(uriHex: string, nodeHex: string, present: boolean): void {
    if (present) {
      this.overlay.put('content', `${uriHex}:${nodeHex}`, true)
      this.overlay.put('nodeContent', `${nodeHex}:${uriHex}`, true)
    } else {
      this.overlay.delete('content', `${uriHex}:${nodeHex}`)
      this.overlay.delete('nodeContent', `${nodeHex}:${uriHex}`)
    }
  }
  /** Removes every content entry of a node (it stopped participating). */
  clearNodeContent(nodeHex: string): void {
    for (const [key] of this.overlay.entries('nodeContent', { prefix: `${nodeHex}:` })) {
      this.setContentProvider(String(key).slice(nodeHex.length + 1), nodeHex, false)
    }
  }
  listContentProviders(uriHex: string): string[] {
    return this.overlay
      .entries('content', { prefix: `${uriHex}:` })
      .map(([k]) => String(k).slice(uriHex.length + 1))
  }
}

interface RawBeacon extends Omit<BeaconState, 'slashed'> {
  slashed: Array<{ node: Uint8Array; round: number; amount: string }>
}

interface RawNode {
  publicKey: Uint8Array
  owner: string
  consensusKey: Uint8Array
  host: string
  ports: NodePorts
  stake: { staked: string; locked: string; lockedUntil: number; stakeLockedUntil: number }
  stakedSince: number
  participation: Participation
  nonce: number
}

function encodeNode(n: NodeInfo): RawNode {
  return {
    ...n,
    stake: { ...n.stake, staked: n.stake.staked.toString(), locked: n.stake.locked.toString() },
  }
}

function decodeNode(raw: RawNode): NodeInfo {
  return {
    ...raw,
    stake: { ...raw.stake, staked: BigInt(raw.stake.staked), locked: BigInt(raw.stake.locked) },
  }
}

interface RawServed {
  served: string[]
  revenue: string
}

function decodeServed(raw: RawServed): NodeServed {
  return { served: raw.served.map((x) => BigInt(x)), revenue: BigInt(raw.revenue) }
}

function emptyServed(): NodeServed {
  return { served: COMMODITY_TYPES.map(() => 0n), revenue: 0n }
}

export function pad(n: number): string {
  return String(n).padStart(12, '0')
}

export { toHex }

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}
