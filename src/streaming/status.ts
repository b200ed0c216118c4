// The metav1.Status objects written to the exec/attach error stream (remotecommand v4+), encoded
// field for field the way kubernetes' Go JSON encoding lays them out, so clients parse them as usual.

export interface K8sStatusCause {
  reason?: string;
  message?: string;
}

export interface K8sStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: K8sStatusCause[] };
  code?: number;
}

export const NON_ZERO_EXIT_CODE_REASON = 'NonZeroExitCode';
export const EXIT_CODE_CAUSE = 'ExitCode';

export function successStatus(): K8sStatus {
  return { metadata: {}, status: 'Success' };
}

export function exitCodeStatus(exitCode: number): K8sStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: NON_ZERO_EXIT_CODE_REASON,
    details: { causes: [{ reason: EXIT_CODE_CAUSE, message: String(exitCode) }] },
  };
}

/** Like apimachinery's NewInternalError: HTTP 500, reason InternalError, the error as the one cause. */
export function internalErrorStatus(message: string): K8sStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}

/** v4/v5: the Status as JSON. */
export function encodeStatusV4(s: K8sStatus): Buffer {
  return Buffer.from(JSON.stringify(s), 'utf8');
}

/** v1–v3: nothing on success, the error text on failure. */
export function encodeStatusV1(s: K8sStatus): Buffer {
  return s.status === 'Success' ? Buffer.alloc(0) : Buffer.from(s.message ?? 'unknown error', 'utf8');
}
