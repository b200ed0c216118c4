// CRI RuntimeService: what exists today (Version, Status, RuntimeConfig); the rest answers UNIMPLEMENTED.
import type { RuntimeConfigResponse, StatusRequest__Output, StatusResponse, VersionResponse } from './proto';
import type { UnaryImpl } from './rpc';

export const RUNTIME_NAME = 'berth';
export const CRI_API_VERSION = 'v1';

export interface RuntimeInfo {
  version: string;
  cgroupDriver: 'cgroupfs' | 'systemd';
  /** Network readiness as the network domain reports it. */
  networkStatus: () => { ready: boolean; reason?: string; message?: string };
  /** Extra verbose Status info (config, etc.). */
  verboseInfo: () => Record<string, string>;
}

export function runtimeHandlers(info: RuntimeInfo): Record<string, UnaryImpl<any, any>> {
  return {
    Version: (): VersionResponse => ({
      version: '0.1.0',
      runtimeName: RUNTIME_NAME,
      runtimeVersion: info.version,
      runtimeApiVersion: CRI_API_VERSION,
    }),

    Status: (req: StatusRequest__Output): StatusResponse => {
      const net = info.networkStatus();
      return {
        status: {
          conditions: [
            { type: 'RuntimeReady', status: true, reason: '', message: '' },
            { type: 'NetworkReady', status: net.ready, reason: net.reason ?? '', message: net.message ?? '' },
          ],
        },
        info: req.verbose ? info.verboseInfo() : {},
        runtimeHandlers: [],
        features: null,
      };
    },

    RuntimeConfig: (): RuntimeConfigResponse => ({
      linux: { cgroupDriver: info.cgroupDriver === 'systemd' ? 'SYSTEMD' : 'CGROUPFS' },
    }),
  };
}
