// Image references in the docker grammar (what `docker pull` and the kubelet accept), normalized
// the way docker/containerd do so that `busybox` and `docker.io/library/busybox:latest` are the
// same image.
//
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [ domain "/" ] path
//   domain    := host [ ":" port ]           host: DNS name, IPv4, or [IPv6]
//   path      := component ( "/" component )*  component: [a-z0-9]+ ( separator [a-z0-9]+ )*
//   separator := "_" | "__" | "." | "-"+
//   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest    := algorithm ":" hex
import { invalidArgument } from '../util/errors';

export interface ImageReference {
  /** Registry host, with port if any: `docker.io`, `registry.k8s.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
/** distribution/reference caps the full name (domain + path). */
const NAME_TOTAL_LENGTH_MAX = 255;

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?$`);
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
/** A bare 64-hex string is an image ID, never a repository name. */
const IMAGE_ID_RE = /^[a-f0-9]{64}$/;

/** Hex lengths of the digest algorithms we can verify. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Why `s` is not a valid digest, or undefined when it is one (`sha256:<64 lowercase hex>`, sha384, sha512). */
export function digestProblem(s: string): string | undefined {
  const colon = s.indexOf(':');
  if (colon <= 0) return 'missing algorithm prefix (expected e.g. sha256:<hex>)';
  const alg = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  const want = DIGEST_HEX_LENGTH[alg];
  if (want === undefined) return `unsupported digest algorithm "${alg}"`;
  if (!/^[a-f0-9]*$/.test(hex)) return `digest must be lowercase hex`;
  if (hex.length !== want) return `${alg} digest must have ${want} hex characters, got ${hex.length}`;
  return undefined;
}

export function isDigest(s: string): boolean {
  return digestProblem(s) === undefined;
}

/** Throws invalid-argument unless `s` is a valid digest. */
export function validateDigest(s: string, ctx: Record<string, unknown> = {}): string {
  const problem = digestProblem(s);
  if (problem) throw invalidArgument(`invalid digest "${s}": ${problem}`, { digest: s, ...ctx });
  return s;
}

/** Splits `s` into a domain and remainder the way docker does: the first component is a domain only if it looks like one. */
function splitDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const looksLikeHost =
    slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first);
  let domain = looksLikeHost ? first : DEFAULT_DOMAIN;
  let remainder = looksLikeHost ? name.slice(slash + 1) : name;
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * Parses and normalizes a reference. A reference without tag or digest gets `:latest`;
 * `name:tag@digest` keeps both (the digest is authoritative for pulls).
 */
export function parseReference(s: string): ImageReference {
  const fail = (why: string): never => {
    throw invalidArgument(`invalid image reference "${s}": ${why}`, { reference: s });
  };
  if (typeof s !== 'string' || s.length === 0) fail('empty reference');
  if (s.trim() !== s) fail('leading or trailing whitespace');
  if (IMAGE_ID_RE.test(s)) fail('a 64-character hex string is an image ID, not a repository name');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem) fail(`bad digest: ${problem}`);
  }
  // A tag is whatever follows the last ':' after the last '/', so a `host:port/repo` port is not a tag.
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) fail(`bad tag "${tag}" (allowed: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`);
  }
  if (rest.length === 0) fail('missing repository name');

  const { domain, remainder } = splitDomain(rest);
  if (!DOMAIN_RE.test(domain)) fail(`bad registry host "${domain}"`);
  if (remainder.toLowerCase() !== remainder) fail('repository name must be lowercase');
  if (!PATH_RE.test(remainder)) {
    fail(`bad repository name "${remainder}" (components of [a-z0-9] separated by '.', '_', '__' or '-', joined by '/')`);
  }
  if (domain.length + 1 + remainder.length > NAME_TOTAL_LENGTH_MAX) {
    fail(`repository name longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const ref: ImageReference = { domain, path: remainder };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `docker.io/library/busybox` */
export function repoName(r: ImageReference): string {
  return `${r.domain}/${r.path}`;
}

/** Full normalized form: `docker.io/library/busybox:latest`, `repo@sha256:…`, or `repo:tag@sha256:…`. */
export function formatReference(r: ImageReference): string {
  let out = repoName(r);
  if (r.tag !== undefined) out += `:${r.tag}`;
  if (r.digest !== undefined) out += `@${r.digest}`;
  return out;
}

/** Same repository with this tag (and no digest). */
export function withTag(r: ImageReference, tag: string): ImageReference {
  if (!TAG_RE.test(tag)) throw invalidArgument(`invalid tag "${tag}" for ${repoName(r)}`, { reference: repoName(r), tag });
  return { domain: r.domain, path: r.path, tag };
}

/** Same repository pinned to this digest (and no tag). */
export function withDigest(r: ImageReference, digest: string): ImageReference {
  validateDigest(digest, { reference: repoName(r) });
  return { domain: r.domain, path: r.path, digest };
}

/** Docker's short display form: `busybox:latest` for official images, full name otherwise. */
export function familiarName(r: ImageReference): string {
  let name = repoName(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith(OFFICIAL_REPO_PREFIX) ? r.path.slice(OFFICIAL_REPO_PREFIX.length) : r.path;
  }
  return formatReference({ ...r, domain: '', path: name }).slice(1);
}
