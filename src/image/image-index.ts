// The set of known images, keyed by image id (the config digest, as CRI defines it), with the
// tag and digest references that point at each. Pure in-memory logic; persistence is the caller's.
import type { Descriptor, ImageConfig } from './oci-types';

export interface LayerRecord {
  digest: string;
  size: number;
  mediaType: string;
  diffId: string;
  chainId: string;
}

export interface ImageRecord {
  /** Config digest: the CRI image id. */
  id: string;
  /** Fully qualified tag references, e.g. docker.io/library/busybox:latest. */
  repoTags: string[];
  /** name@sha256:<manifest or index digest> references. */
  repoDigests: string[];
  /** The manifest for this platform. */
  manifest: Descriptor;
  /** The index or manifest list it was chosen from, if any. */
  index?: Descriptor;
  configSize: number;
  layers: LayerRecord[];
  /** Compressed bytes of config + layers (what a registry transfers), as crictl shows. */
  size: number;
  config: ImageConfig;
  pinned: boolean;
  createdAt: string;
}

export class ImageIndex {
  private readonly byId = new Map<string, ImageRecord>();
  private readonly byRef = new Map<string, string>();

  constructor(records: Iterable<ImageRecord> = []) {
    for (const r of records) this.set(r);
  }

  all(): ImageRecord[] {
    return [...this.byId.values()];
  }

  get(id: string): ImageRecord | undefined {
    return this.byId.get(id);
  }

  /** Insert or replace a record and (re)index its references. */
  set(r: ImageRecord): void {
    const old = this.byId.get(r.id);
    if (old) for (const ref of [...old.repoTags, ...old.repoDigests]) this.byRef.delete(ref);
    this.byId.set(r.id, r);
    for (const ref of [...r.repoTags, ...r.repoDigests]) this.byRef.set(ref, r.id);
  }

  delete(id: string): ImageRecord | undefined {
    const r = this.byId.get(id);
    if (!r) return undefined;
    for (const ref of [...r.repoTags, ...r.repoDigests]) if (this.byRef.get(ref) === id) this.byRef.delete(ref);
    this.byId.delete(id);
    return r;
  }

  /** The image a full reference (tag or digest form) points at. */
  byReference(ref: string): ImageRecord | undefined {
    const id = this.byRef.get(ref);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /**
   * Find by id ("sha256:<hex>" or the bare hex), by a unique id prefix of at least 3 hex chars
   * (the way `crictl inspecti <short id>` is used), or by a normalized reference.
   */
  lookup(s: string, normalizedRef?: string): ImageRecord | undefined {
    const direct = this.byId.get(s) ?? this.byId.get(`sha256:${s}`);
    if (direct) return direct;
    if (normalizedRef) {
      const r = this.byReference(normalizedRef);
      if (r) return r;
    }
    const m = /^(?:sha256:)?([a-f0-9]{3,64})$/.exec(s);
    if (m) {
      const prefix = `sha256:${m[1]}`;
      const hits = this.all().filter((r) => r.id.startsWith(prefix));
      if (hits.length === 1) return hits[0];
    }
    return undefined;
  }

  /**
   * Point `ref` at image `id`, taking it away from any other image. Returns the images whose
   * references changed (to be persisted), and those left with no reference at all.
   */
  moveReference(ref: string, kind: 'tag' | 'digest', id: string): { changed: ImageRecord[] } {
    const changed: ImageRecord[] = [];
    const prevId = this.byRef.get(ref);
    if (prevId !== undefined && prevId !== id) {
      const prev = this.byId.get(prevId);
      if (prev) {
        prev.repoTags = prev.repoTags.filter((t) => t !== ref);
        prev.repoDigests = prev.repoDigests.filter((d) => d !== ref);
        changed.push(prev);
      }
    }
    const r = this.byId.get(id);
    if (!r) throw new Error(`moveReference: unknown image ${id}`);
    const list = kind === 'tag' ? r.repoTags : r.repoDigests;
    if (!list.includes(ref)) {
      list.push(ref);
      list.sort();
    }
    this.byRef.set(ref, id);
    changed.push(r);
    return { changed };
  }

  /** Every blob digest any image still needs (index, manifest, config, layers). */
  referencedBlobs(): Set<string> {
    const s = new Set<string>();
    for (const r of this.byId.values()) {
      if (r.index) s.add(r.index.digest);
      s.add(r.manifest.digest);
      s.add(r.id);
      for (const l of r.layers) s.add(l.digest);
    }
    return s;
  }

  /** Every snapshot key (chain id) any image still needs. */
  referencedChains(): Set<string> {
    const s = new Set<string>();
    for (const r of this.byId.values()) for (const l of r.layers) s.add(l.chainId);
    return s;
  }
}

/** Chain ids per the OCI image spec: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainIds(diffIds: string[], sha256: (s: string) => string): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

/** The CRI user of an image: a numeric USER is a uid, anything else a user name (group part dropped). */
export function imageUser(config: ImageConfig): { uid?: number; username?: string } {
  const user = config.config?.User ?? '';
  if (!user) return {};
  const name = user.split(':')[0];
  if (/^\d+$/.test(name)) return { uid: Number(name) };
  return { username: name };
}
