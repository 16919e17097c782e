/**
 * The node's configuration: one section per component, every field typed once with its default and
 * a comment. Precedence, resolved in `resolveConfig` alone: defaults < config file < FLEEK_* env < flags.
 * In TOML and env the names are snake_case (`[rpc] max_body_bytes`, `FLEEK_RPC_MAX_BODY_BYTES`); in
 * code camelCase (`config.rpc.maxBodyBytes`).
 */
import { parse as parseToml } from 'smol-toml'

import { FleekError } from '../lib/errors.ts'

type FieldType = 'string' | 'integer' | 'boolean' | 'string[]'
type ValueOf<T extends FieldType> = T extends 'string'
  ? string
  : T extends 'integer'
    ? number
    : T extends 'boolean'
      ? boolean
      : string[]

interface Field<T extends FieldType = FieldType> {
  type: T
  default: ValueOf<T>
  doc: string
  min?: number
  max?: number
  choices?: readonly string[]
}

const str = (value: string, doc: string, choices?: readonly string[]): Field<'string'> => ({
  type: 'string',
  default: value,
  doc,
  ...(choices ? { choices } : {}),
})
const int = (value: number, doc: string, min = 0, max = Number.MAX_SAFE_INTEGER): Field<'integer'> => ({
  type: 'integer',
  default: value,
  doc,
  min,
  max,
})
const bool = (value: boolean, doc: string): Field<'boolean'> => ({ type: 'boolean', default: value, doc })
const list = (value: string[], doc: string): Field<'string[]'> => ({ type: 'string[]', default: value, doc })

/** Every section and field of config.toml. Relative paths are relative to the node home. */
export const configSchema = {
  keystore: {
    doc: 'Keys: the node key (ed25519), the consensus key (BLS12-381) and the account key (secp256k1).',
    fields: {
      dir: str('keys', 'Folder of the key files (mode 0700; files 0600).'),
      keychain: bool(false, 'Keep the key passphrase in the OS keychain (where one is usable).'),
    },
  },
  storage: {
    doc: 'The embedded database (lmdb) that holds the chain state.',
    fields: {
      dir: str('data/state', 'Folder of the state database.'),
    },
  },
  application: {
    doc: 'The chain: genesis and state machine.',
    fields: {
      genesis: str(
        '',
        'Genesis file of the network to join; empty = genesis.toml in the home, created as a single-node devnet on first run.',
      ),
      devnetEpochTimeMs: int(300_000, 'Epoch length of a devnet genesis created by `fleek node run`.', 1000),
    },
  },
  consensus: {
    doc: 'Narwhal + Bullshark among the epoch committee.',
    fields: {
      dir: str('data/consensus', 'Folder of the DAG store.'),
      maxBatchBytes: int(512 * 1024, 'Seal a batch of transactions at this size…', 1024),
      maxBatchDelayMs: int(100, '…or after this delay.', 1),
      maxHeaderDelayMs: int(200, 'Propose the next header after this delay at the latest.', 1),
      gcDepth: int(50, 'Rounds of the DAG kept below the last committed round.', 2),
      maxParentWaitMs: int(
        50,
        'After a quorum of parents, wait at most this long for our own certificate and for members heard from lately.',
        1,
      ),
      faultWithholdReveal: bool(
        false,
        'Fault injection for devnet tests: commit to the epoch beacon but never reveal (the member is slashed). Never on a real network.',
      ),
    },
  },
  sync: {
    doc: 'How a node that starts behind the network catches up.',
    fields: {
      mode: str(
        'checkpoint',
        'checkpoint = restore the state of the latest epoch checkpoint signed by the committee, then follow the parcels after it; full = replay every parcel since the last executed one.',
        ['checkpoint', 'full'],
      ),
      dir: str('data/snapshots', 'Folder of the state snapshots served to late nodes.'),
      snapshotsKept: int(2, 'State snapshots of the latest epoch changes kept to serve late nodes.', 1, 100),
    },
  },
  network: {
    doc: 'Peer-to-peer networking (libp2p).',
    fields: {
      listen: list(['/ip4/127.0.0.1/tcp/4310'], 'Addresses to listen on (multiaddrs).'),
      announce: list([], 'Addresses to announce to peers (empty = the listen addresses).'),
      bootstrap: list([], 'Peers to dial at start (multiaddrs with /p2p/<peer id>).'),
      maxConnections: int(200, 'Bound on connections beyond the committee.', 1),
    },
  },
  blockstore: {
    doc: 'Content-addressed blobs (BLAKE3) with their block trees.',
    fields: {
      dir: str('data/blockstore', 'Folder of the blobs.'),
      maxSizeBytes: int(0, 'Size budget; least-recently-used unpinned blobs are evicted past it (0 = none).'),
    },
  },
  rpc: {
    doc: 'JSON-RPC over HTTP (flk_* methods), /health and /metrics.',
    fields: {
      address: str('127.0.0.1', 'Address to bind (loopback by default).'),
      port: int(4240, 'Port to bind (0 = any free port).', 0, 65535),
      maxBodyBytes: int(1 << 20, 'Largest request body accepted.', 1024),
    },
  },
  log: {
    doc: 'Logging.',
    fields: {
      level: str('info', 'Least severe level written.', ['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
    },
  },
} as const satisfies Record<string, { doc: string; fields: Record<string, Field> }>

type Schema = typeof configSchema
export type Config = {
  -readonly [S in keyof Schema]: {
    -readonly [K in keyof Schema[S]['fields']]: Schema[S]['fields'][K] extends Field<infer T>
      ? ValueOf<T>
      : never
  }
}
export type ConfigSection = keyof Schema
/** Overrides given as flags: `{ 'rpc.port': 5000 }` (camelCase field names). */
export type ConfigOverrides = Record<string, string | number | boolean | string[] | undefined>

export const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

export function defaultConfig(): Config {
  const out: Record<string, Record<string, unknown>> = {}
  for (const [section, { fields }] of Object.entries(configSchema)) {
    out[section] = {}
    for (const [name, field] of Object.entries(fields as Record<string, Field>))
      out[section][name] = structuredClone(field.default)
  }
  return out as Config
}

/**
 * The one function that decides the configuration. `fileText` is config.toml's text (undefined when
 * there is none); `env` the process environment; `flags` the command's overrides. Unknown sections or
 * keys in the file, and values of the wrong type anywhere, are refused with one line naming them.
 */
export function resolveConfig(
  sources: {
    fileText?: string | undefined
    filePath?: string
    env?: NodeJS.ProcessEnv
    flags?: ConfigOverrides
  } = {},
): Config {
  const config = defaultConfig() as unknown as Record<string, Record<string, unknown>>
  const where = sources.filePath ?? 'config.toml'

  if (sources.fileText !== undefined) {
    let doc: Record<string, unknown>
    try {
      doc = parseToml(sources.fileText) as Record<string, unknown>
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0]
      throw new FleekError('INVALID_INPUT', `${where} is not valid TOML: ${msg}`, { cause: err })
    }
    for (const [section, table] of Object.entries(doc)) {
      const spec = (configSchema as Record<string, { fields: Record<string, Field> }>)[section]
      if (spec === undefined) throw new FleekError('INVALID_INPUT', `${where}: unknown section [${section}]`)
      if (typeof table !== 'object' || table === null || Array.isArray(table))
        throw new FleekError('INVALID_INPUT', `${where}: ${section} must be a table`)
      for (const [key, value] of Object.entries(table)) {
        const name = Object.keys(spec.fields).find((n) => snakeCase(n) === key)
        if (name === undefined)
          throw new FleekError('INVALID_INPUT', `${where}: unknown key ${section}.${key}`)
        config[section][name] = checkValue(spec.fields[name], value, `${where}: ${section}.${key}`)
      }
    }
  }

  const env = sources.env ?? {}
  for (const [section, { fields }] of Object.entries(configSchema)) {
    for (const [name, field] of Object.entries(fields as Record<string, Field>)) {
      const variable = `FLEEK_${section.toUpperCase()}_${snakeCase(name).toUpperCase()}`
      const raw = env[variable]
      if (raw !== undefined && raw !== '') config[section][name] = parseText(field, raw, variable)
    }
  }

  for (const [path, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue
    const [section, name] = path.split('.')
    const field = (configSchema as Record<string, { fields: Record<string, Field> }>)[section]?.fields[name]
    if (field === undefined) throw new FleekError('INTERNAL', `no config field ${path}`)
    config[section][name] =
      typeof value === 'string' && field.type !== 'string'
        ? parseText(field, value, `--${path}`)
        : checkValue(field, value, `--${path}`)
  }
  return config as unknown as Config
}

function parseText(field: Field, raw: string, where: string): unknown {
  switch (field.type) {
    case 'integer':
      if (!/^-?\d+$/.test(raw.trim()))
        throw new FleekError('INVALID_INPUT', `${where}: expected an integer, got "${raw}"`)
      return checkValue(field, Number(raw.trim()), where)
    case 'boolean': {
      const v = raw.trim().toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(v)) return true
      if (['0', 'false', 'no', 'off'].includes(v)) return false
      throw new FleekError('INVALID_INPUT', `${where}: expected true or false, got "${raw}"`)
    }
    case 'string[]':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
    default:
      return checkValue(field, raw, where)
  }
}

function checkValue(field: Field, value: unknown, where: string): unknown {
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') throw new FleekError('INVALID_INPUT', `${where}: expected a string`)
      if (field.choices && !field.choices.includes(value))
        throw new FleekError(
          'INVALID_INPUT',
          `${where}: expected one of ${field.choices.join(', ')}, got "${value}"`,
        )
      return value
    case 'integer':
      if (typeof value === 'bigint') value = Number(value)
      if (typeof value !== 'number' || !Number.isSafeInteger(value))
        throw new FleekError('INVALID_INPUT', `${where}: expected an integer`)
      if (value < (field.min ?? 0) || value > (field.max ?? Number.MAX_SAFE_INTEGER))
        throw new FleekError(
          'INVALID_INPUT',
          `${where}: ${value} is out of range ${field.min ?? 0}…${field.max}`,
        )
      return value
    case 'boolean':
      if (typeof value !== 'boolean')
        throw new FleekError('INVALID_INPUT', `${where}: expected true or false`)
      return value
    case 'string[]':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
        throw new FleekError('INVALID_INPUT', `${where}: expected a list of strings`)
      return [...value]
  }
}

/** config.toml with every section and field written out, each with its comment (the defaults unless `values` are given). */
export function renderDefaultConfig(values: Config = defaultConfig()): string {
  const lines = [
    '# fleek node configuration.',
    '# Precedence: these values < FLEEK_<SECTION>_<KEY> environment variables < command flags.',
    '# Relative paths are relative to the node home (this folder).',
  ]
  const current = values as unknown as Record<string, Record<string, unknown>>
  for (const [section, { doc, fields }] of Object.entries(configSchema)) {
    lines.push('', `# ${doc}`, `[${section}]`)
    for (const [name, field] of Object.entries(fields as Record<string, Field>)) {
      lines.push(`# ${field.doc}`, `${snakeCase(name)} = ${tomlValue(current[section][name])}`)
    }
  }
  return `${lines.join('\n')}\n`
}

function tomlValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`
  if (typeof value === 'string') return JSON.stringify(value)
  return String(value)
}
