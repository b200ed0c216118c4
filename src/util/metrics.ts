// Prometheus metrics shared by every layer (one registry per process).
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'berth_process_' });

export const criRequests = new Counter({
  name: 'berth_cri_requests_total',
  help: 'CRI requests by method and gRPC status code',
  labelNames: ['method', 'code'] as const,
  registers: [registry],
});

export const criLatency = new Histogram({
  name: 'berth_cri_request_duration_seconds',
  help: 'CRI request latency by method',
  labelNames: ['method'] as const,
  buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 120],
  registers: [registry],
});

export const pullDuration = new Histogram({
  name: 'berth_image_pull_duration_seconds',
  help: 'Image pull latency (successful pulls)',
  buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
  registers: [registry],
});

export const cniDuration = new Histogram({
  name: 'berth_cni_operation_duration_seconds',
  help: 'CNI ADD/DEL latency',
  labelNames: ['operation'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
  registers: [registry],
});
