// Prometheus metrics (prom-client), one registry a daemon so tests can run several in a process.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({
    name: 'gavel_decisions_total',
    help: 'Gate decisions recorded, by gate and verdict',
    labelNames: ['gate', 'verdict'] as const,
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: 'gavel_events_total',
    help: 'Events recorded through the API, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'gavel_requests_refused_total',
    help: 'Requests answered with an error, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'gavel_request_duration_seconds',
    help: 'Request latency (decide + durable append + answer), by route',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly appendLatency = new Histogram({
    name: 'gavel_ledger_append_seconds',
    help: 'Time from append to fsync acknowledgement (group commit)',
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly fuel = new Counter({
    name: 'gavel_fuel_used_total',
    help: 'Policy fuel consumed, by gate',
    labelNames: ['gate'] as const,
    registers: [this.registry],
  });
  readonly ledgerSize = new Gauge({
    name: 'gavel_ledger_entries',
    help: 'Entries in the ledger',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gavel_process_' });
  }
}
