/**
 * A devnet: N real node processes on this machine sharing one genesis. Each node has its own home
 * (<dir>/node-<i>: keys in plaintext, config.toml pointing at the shared genesis, its own ports) and
 * runs `fleek node run` detached, logging JSON lines to <home>/node.log. <dir>/devnet.json records
 * the nodes and their process ids.
 */
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

import { FleekError, fromSystemError } from '../../lib/errors.ts'
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts'
import { formatNodeKey } from '../../lib/ids.ts'
import { isProcessRunning } from '../../lib/process.ts'
import {
  derivePublicKey,
  ethAddress,
  generateKey,
  peerIdFromEd25519,
  proveConsensusKey,
} from '../../lib/keys/index.ts'
import {
  DEVNET_PARAMS,
  createDevnetGenesis,
  defaultNodePorts,
  serializeGenesis,
} from '../application/index.ts'
import { defaultConfig } from '../config.ts'
import { NodeHome } from '../home.ts'
import { Keystore, keyKinds } from '../keystore/index.ts'

export interface DevnetOptions {
  /** Folder of the devnet (node homes, genesis, state file). */
  dir: string
  nodes: number
  committee: number
  epochTimeMs: number
  /** First port: node i uses basePort + 10·i (libp2p) and basePort + 10·i + 1 (RPC); 0 picks free ports. */
  basePort: number
  chainId?: number
}

export interface DevnetNode {
  index: number
  home: string
  nodeId: string
  peerId: string
  primaryPort: number
  rpcPort: number
  rpcUrl: string
  committee: boolean
  pid?: number
}

export interface DevnetState {
  version: 1
  createdAtMs: number
  genesis: string
  epochTimeMs: number
  nodes: DevnetNode[]
}

const STATE_FILE = 'devnet.json'

/** Free TCP ports on 127.0.0.1 (bound then released, so another process could take one in between). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer()
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve(server))
        }),
    ),
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

/** Writes the homes, keys, configs and the shared genesis. Refuses a folder that already holds a devnet. */
export async function createDevnet(options: DevnetOptions): Promise<DevnetState> {
  const { dir, nodes, committee } = options
  if (!Number.isSafeInteger(nodes) || nodes < 1 || nodes > 64)
    throw new FleekError('INVALID_INPUT', `--nodes must be 1…64, got ${nodes}`)
  if (!Number.isSafeInteger(committee) || committee < 1 || committee > nodes)
    throw new FleekError(
      'INVALID_INPUT',
      `--committee must be 1…${nodes} (the number of nodes), got ${committee}`,
    )
  if (existsSync(join(dir, STATE_FILE)))
    throw new FleekError(
      'EXISTS',
      `a devnet already exists in ${dir} (\`fleek devnet down --clean\` removes it)`,
    )
  if (options.basePort !== 0 && (options.basePort < 1024 || options.basePort + 10 * nodes > 65535))
    throw new FleekError(
      'INVALID_INPUT',
      `--base-port must leave room for ${nodes} nodes below 65536, got ${options.basePort}`,
    )
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw fromSystemError(err, 'create', dir)
  }
  const ports = options.basePort === 0 ? await freePorts(2 * nodes) : []
  const entries = Array.from({ length: nodes }, (_, index) => {
    const primaryPort = options.basePort === 0 ? ports[2 * index] : options.basePort + 10 * index
    const rpcPort = options.basePort === 0 ? ports[2 * index + 1] : options.basePort + 10 * index + 1
    const keys = keyKinds.map((kind) => generateKey(kind))
    return { index, primaryPort, rpcPort, keys, home: new NodeHome(join(dir, `node-${index}`)) }
  })
  const genesisPath = join(dir, 'genesis.toml')
  const genesis = createDevnetGenesis({
    nodes: entries.map((e) => ({
      owner: ethAddress(derivePublicKey(e.keys[2])),
      publicKey: derivePublicKey(e.keys[0]),
      consensusKey: derivePublicKey(e.keys[1]),
      consensusKeyProof: proveConsensusKey(e.keys[1]),
      host: '127.0.0.1',
      ports: { ...defaultNodePorts, primary: e.primaryPort, rpc: e.rpcPort },
    })),
    ...(options.chainId !== undefined ? { chainId: options.chainId } : {}),
    epochTimeMs: options.epochTimeMs,
    faucet: true,
    params: { ...DEVNET_PARAMS, committeeSize: committee },
  })
  writeFileAtomic(genesisPath, serializeGenesis(genesis), { mode: 0o600 })
  const state: DevnetState = {
    version: 1,
    createdAtMs: Date.now(),
    genesis: genesisPath,
    epochTimeMs: options.epochTimeMs,
    nodes: entries.map((e) => {
      e.home.ensure()
      const config = defaultConfig()
      config.application.genesis = genesisPath
      config.rpc.port = e.rpcPort
      config.network.listen = [`/ip4/127.0.0.1/tcp/${e.primaryPort}`]
      e.home.writeDefaultConfig(config)
      new Keystore({ dir: e.home.path(config.keystore.dir) }).saveAll(e.keys)
      const publicKey = derivePublicKey(e.keys[0])
      return {
        index: e.index,
        home: e.home.dir,
        nodeId: formatNodeKey(publicKey),
        peerId: peerIdFromEd25519(publicKey),
        primaryPort: e.primaryPort,
        rpcPort: e.rpcPort,
        rpcUrl: `http://127.0.0.1:${e.rpcPort}`,
        committee: e.index < committee,
      }
    }),
  }
  writeDevnetState(dir, state)
  return state
}

export function writeDevnetState(dir: string, state: DevnetState): void {
  writeFileAtomic(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
}

export function readDevnetState(dir: string): DevnetState {
  let text: string
  try {
    text = readFileSync(join(dir, STATE_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FleekError('NOT_FOUND', `no devnet in ${dir} (run \`fleek devnet up\`)`)
    throw fromSystemError(err, 'read', join(dir, STATE_FILE))
  }
  let state: DevnetState
  try {
    state = JSON.parse(text) as DevnetState
  } catch {
    throw new FleekError('INVALID_INPUT', `${join(dir, STATE_FILE)} is damaged (not JSON)`)
  }
  if (state.version !== 1 || !Array.isArray(state.nodes))
    throw new FleekError('INVALID_INPUT', `${join(dir, STATE_FILE)} is not a devnet state file`)
  return state
}

export function devnetNode(state: DevnetState, index: number): DevnetNode {
  const node = state.nodes[index]
  if (!Number.isSafeInteger(index) || node === undefined)
    throw new FleekError(
      'INVALID_INPUT',
      `no node ${index} in this devnet (it has nodes 0…${state.nodes.length - 1})`,
    )
  return node
}

/** True while a process with this id exists. */
export const isRunning = isProcessRunning

/** Starts `fleek node run` for one node, detached, appending its output to <home>/node.log. */
export function startDevnetProcess(node: DevnetNode, command: { execPath: string; args: string[] }): number {
  const log = openSync(join(node.home, 'node.log'), 'a', 0o600)
  try {
    const child = spawn(
      command.execPath,
      [...command.args, 'node', 'run', '--home', node.home, '--no-dashboard'],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEEK_'))),
      },
    )
    child.unref()
    if (child.pid === undefined) throw new FleekError('INTERNAL', `could not start node ${node.index}`)
    return child.pid
  } finally {
    closeSync(log)
  }
}

/** Resolves once the node answers /health, or throws TIMEOUT (naming its log) after `timeoutMs`. */
export async function waitForHealth(node: DevnetNode, timeoutMs: number, pid?: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const res = await fetch(`${node.rpcUrl}/health`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (pid !== undefined && !isRunning(pid))
      throw new FleekError(
        'UNAVAILABLE',
        `node ${node.index} exited during start; see ${join(node.home, 'node.log')}`,
      )
    if (Date.now() > deadline)
      throw new FleekError(
        'TIMEOUT',
        `node ${node.index} did not answer within ${timeoutMs} ms; see ${join(node.home, 'node.log')}`,
      )
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** SIGTERM (SIGKILL with `force`), then waits until the process is gone (bounded). */
export async function stopDevnetProcess(
  pid: number | undefined,
  options: { force?: boolean; timeoutMs?: number } = {},
): Promise<boolean> {
  if (!isRunning(pid)) return false
  process.kill(pid!, options.force ? 'SIGKILL' : 'SIGTERM')
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  while (isRunning(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid!, 'SIGKILL')
      await new Promise((r) => setTimeout(r, 200))
      break
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return true
}

/** The last `lines` lines of a node's log. */
export function readDevnetLog(node: DevnetNode, lines: number): string[] {
  const path = join(node.home, 'node.log')
  if (!existsSync(path)) return []
  const all = readFileSync(path, 'utf8').split('\n')
  if (all.at(-1) === '') all.pop()
  return all.slice(-lines)
}

/** The node homes present in a devnet folder (for `down --clean` safety checks). */
export function listDevnetHomes(dir: string): string[] {
  return readdirSync(dir).filter((n) => /^node-\d+$/.test(n))
}
