// Pods and containers are found by full id or by a unique prefix (as crictl users type them).
export function findByIdOrPrefix<T extends { id: string }>(items: Map<string, T>, idOrPrefix: string): T | undefined {
  const exact = items.get(idOrPrefix);
  if (exact) return exact;
  if (idOrPrefix.length < 3) return undefined;
  let hit: T | undefined;
  for (const item of items.values()) {
    if (!item.id.startsWith(idOrPrefix)) continue;
    if (hit) return undefined; // ambiguous
    hit = item;
  }
  return hit;
}
