/**
 * Prometheus metrics of a node, in its own registry: `fleek_<component>_<what>_<unit>` (STYLE habit 8),
 * plus the process metrics (RSS, CPU, event loop lag) from prom-client.
 */
import { Counter, Gauge, type Registry, collectDefaultMetrics } from 'prom-client'

export class NodeMetrics {
  readonly registry: Registry
  readonly #rpc: Counter<'method' | 'outcome'>

  constructor(registry: Registry, sources: { height: () => number }) {
    this.registry = registry
    collectDefaultMetrics({ register: registry })
    new Gauge({
      name: 'fleek_application_height',
      help: 'Height of the last executed block.',
      registers: [registry],
      collect() {
        this.set(sources.height())
      },
    })
    this.#rpc = new Counter({
      name: 'fleek_rpc_requests_total',
      help: 'JSON-RPC requests by method and outcome.',
      labelNames: ['method', 'outcome'],
      registers: [registry],
    })
  }

  rpcRequest(method: string, outcome: string): void {
    this.#rpc.inc({ method, outcome })
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
