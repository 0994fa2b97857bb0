/**
 * The edges that follow this control plane (docs/EDGE.md "The control plane's view"):
 * `GET /api/v1/edges`, administrators only. `start` supplies the list (its EdgeRegistry).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import { errorResponses } from '../schemas.js';

/** One edge as `start` lists it (EdgeRegistry.list). */
export interface EdgeListing {
  pop: string;
  /** Source addresses seen, most recent first (at most 8). */
  addresses: string[];
  /** Where it asked to be NOTIFYed (`ADDR:PORT`), when it said. */
  notify?: string;
  /** ISO time of the last check or transfer. */
  lastSeen: string;
  /** Zones it checked or transferred (still served). */
  zones: number;
  /** Of those, zones whose serial at the edge is not the one served now. */
  behind: number;
  /** Seconds since the oldest of those changed on the platform (0: none behind). */
  maxLagSeconds: number;
  /** Up to 10 zones behind, as `zone edge-serial → served-serial`. */
  behindZones: string[];
}

const edgeSchema = {
  type: 'object',
  properties: {
    pop: { type: 'string', description: "The edge key's name (the point of presence)" },
    addresses: {
      type: 'array',
      items: { type: 'string' },
      description: 'Source addresses seen, newest first',
    },
    notify: { type: 'string', description: 'Where the edge asked to be NOTIFYed (ADDR:PORT)' },
    lastSeen: { type: 'string', description: 'Last check or transfer (ISO time)' },
    zones: { type: 'integer', description: 'Zones it checked or transferred' },
    behind: { type: 'integer', description: 'Zones whose serial at the edge is not the one served' },
    maxLagSeconds: { type: 'integer', description: 'Age of the oldest change it has not taken' },
    behindZones: {
      type: 'array',
      items: { type: 'string' },
      description: 'Up to 10: ZONE EDGE-SERIAL → SERIAL',
    },
  },
  required: ['pop', 'addresses', 'lastSeen', 'zones', 'behind', 'maxLagSeconds', 'behindZones'],
} as const;

export function registerEdgeRoutes(app: FastifyInstance, edges: () => EdgeListing[]): void {
  app.get(
    '/api/v1/edges',
    {
      schema: {
        tags: ['transfers'],
        summary: 'The edges that transfer with an edge key (switchboard edge), with their lag',
        response: { 200: { type: 'array', items: edgeSchema }, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      if (!principalOf(request).scope.admin)
        throw new ApiError(403, 'API_ERR_FORBIDDEN', 'the edge list needs an administrator key');
      return edges();
    },
  );
}
