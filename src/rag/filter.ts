/** Metadata filters: `{ field: value }` must be equal, `{ field: [a, b] }` any of them (an array field: any shared). */
import type { Meta, MetaFilter, MetaValue } from './types.ts';

export function matchFilter(filter: MetaFilter, meta: Meta, docId: string): boolean {
  if (typeof filter === 'function') return filter(meta, docId);
  for (const [field, want] of Object.entries(filter)) {
    const have = field === 'id' && !(field in meta) ? docId : meta[field];
    const haves: (MetaValue | undefined)[] = Array.isArray(have) ? have : [have];
    const wants: MetaValue[] = Array.isArray(want) ? want : [want];
    if (!haves.some((h) => wants.some((w) => w === h))) return false;
  }
  return true;
}
