// Generated container names, docker-style "adjective_noun", from berth's own harbour-themed words.
import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'amber', 'brave', 'calm', 'clever', 'cosy', 'crisp', 'daring', 'eager', 'fair', 'fleet', 'gentle', 'glad', 'hardy', 'jolly',
  'keen', 'kind', 'lively', 'lucky', 'merry', 'mellow', 'nimble', 'noble', 'patient', 'proud', 'quiet', 'rapid', 'salty', 'serene',
  'shiny', 'snug', 'steady', 'sturdy', 'sunny', 'swift', 'tidy', 'trusty', 'vivid', 'wise', 'witty', 'zesty',
];

const NOUNS = [
  'anchor', 'bay', 'beacon', 'bollard', 'buoy', 'cabin', 'capstan', 'cargo', 'cove', 'crane', 'current', 'deck', 'dinghy', 'dock',
  'ferry', 'gull', 'harbour', 'helm', 'hull', 'inlet', 'jetty', 'keel', 'lantern', 'lighthouse', 'mast', 'mooring', 'oar', 'pier',
  'pilot', 'quay', 'rudder', 'sail', 'schooner', 'skiff', 'slipway', 'tide', 'tugboat', 'wake', 'wharf', 'yacht',
];

/** A name not in `taken` ("steady_lighthouse", then "steady_lighthouse2"... if needed). */
export function generateName(taken: ReadonlySet<string>, rnd: (n: number) => number = (n) => randomInt(n)): string {
  for (let i = 0; i < 20; i++) {
    const name = `${ADJECTIVES[rnd(ADJECTIVES.length)]}_${NOUNS[rnd(NOUNS.length)]}`;
    if (!taken.has(name)) return name;
  }
  const base = `${ADJECTIVES[rnd(ADJECTIVES.length)]}_${NOUNS[rnd(NOUNS.length)]}`;
  for (let n = 2; ; n++) if (!taken.has(`${base}${n}`)) return `${base}${n}`;
}

/** docker's rule for container names. */
export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A pod hostname from a container name: RFC 1123 labels have no '_' or '.', and at most 63 chars. */
export function hostnameFor(name: string): string {
  const h = name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return h || 'berth';
}
