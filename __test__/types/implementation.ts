// What index.js exports (lib/), checked against what index.d.ts declares: each export of
// the implementation must be usable where its declaration is. `npm run typecheck`; never run.
import type * as api from 'subwire';
import { listen, TransportServer } from '../../lib/transport.js';
import { useServer } from '../../lib/use-server.js';
import { PubSub, createPubSub } from '../../lib/pubsub.js';
import { publish } from '../../lib/topics.js';
import { registerMetrics, CONTENT_TYPE } from '../../lib/metrics.js';

export const exported: {
  listen: typeof api.listen;
  useServer: typeof api.useServer;
  PubSub: new (options?: api.PubSubOptions) => api.PubSub;
  createPubSub: typeof api.createPubSub;
  publish: typeof api.publish;
  TransportServer: abstract new (...args: never[]) => api.TransportServer;
  registerMetrics: typeof api.registerMetrics;
  METRICS_CONTENT_TYPE: typeof api.METRICS_CONTENT_TYPE;
} = { listen, useServer, PubSub, createPubSub, publish, TransportServer, registerMetrics, METRICS_CONTENT_TYPE: CONTENT_TYPE };
