// Protocol names and header values of kubernetes' streaming API (remotecommand and portforward).

export const HEADER_PROTOCOL_VERSION = 'X-Stream-Protocol-Version';
export const HEADER_ACCEPTED_PROTOCOL_VERSIONS = 'X-Accepted-Stream-Protocol-Versions';
export const SPDY_UPGRADE = 'SPDY/3.1';

/** remotecommand subprotocols over SPDY, newest first (v5 behaves as v4 over SPDY). */
export const RC_V1 = 'channel.k8s.io';
export const RC_V2 = 'v2.channel.k8s.io';
export const RC_V3 = 'v3.channel.k8s.io';
export const RC_V4 = 'v4.channel.k8s.io';
export const RC_V5 = 'v5.channel.k8s.io';
export const SPDY_REMOTECOMMAND_PROTOCOLS = [RC_V5, RC_V4, RC_V3, RC_V2, RC_V1];

export const PORTFORWARD_V1 = 'portforward.k8s.io';
export const SPDY_PORTFORWARD_PROTOCOLS = [PORTFORWARD_V1];

/** WebSocket subprotocols: binary (first byte = channel) or base64 (first char = channel digit). */
export const WS_BINARY = 'channel.k8s.io';
export const WS_BASE64 = 'base64.channel.k8s.io';
export const WS_V4_BINARY = 'v4.channel.k8s.io';
export const WS_V4_BASE64 = 'v4.base64.channel.k8s.io';
export const WS_V5_BINARY = 'v5.channel.k8s.io';

/** SPDY stream header names and values. */
export const HDR_STREAM_TYPE = 'streamType';
export const HDR_PORT = 'port';
export const HDR_REQUEST_ID = 'requestID';
export const STREAM_TYPE = {
  error: 'error',
  stdin: 'stdin',
  stdout: 'stdout',
  stderr: 'stderr',
  resize: 'resize',
  data: 'data',
} as const;

/** remotecommand channel numbers. */
export const CH_STDIN = 0;
export const CH_STDOUT = 1;
export const CH_STDERR = 2;
export const CH_ERROR = 3;
export const CH_RESIZE = 4;
/** v5: [255, n] closes channel n. */
export const CH_CLOSE = 255;

/** First protocol in the client's order that the server supports ('' if none offered/matching). */
export function negotiate(clientOffers: string[], supported: string[]): string {
  for (const c of clientOffers) if (supported.includes(c)) return c;
  return '';
}

/** Split comma-separated, possibly repeated header values. */
export function headerList(v: string | string[] | undefined): string[] {
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}
