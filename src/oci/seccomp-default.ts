// berth's RuntimeDefault seccomp profile.
//
// Design: a DENY-LIST (default action SCMP_ACT_ALLOW, listed syscalls fail with EPERM), not an
// allow-list like Docker's. It blocks the syscalls that reach non-namespaced kernel state or are
// classic container-escape surface, and relaxes each group when the container holds the
// capability that legitimately grants it. Trade-off: syscalls added to future kernels are allowed
// until listed here, whereas an allow-list denies them by default.
import type { OciSeccomp, OciSeccompSyscall } from './runtime-spec';

const EPERM = 1;
const ENOSYS = 38;

/** Syscalls denied unless the container holds the capability (CAP_ names). */
const GATED_BY_CAP: Record<string, string[]> = {
  CAP_SYS_ADMIN: [
    'mount', 'umount', 'umount2', 'pivot_root', 'unshare', 'setns', 'swapon', 'swapoff',
    'quotactl', 'quotactl_fd', 'fanotify_init', 'lookup_dcookie', 'bpf', 'perf_event_open',
    'fsopen', 'fsconfig', 'fsmount', 'fspick', 'open_tree', 'move_mount', 'mount_setattr',
  ],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'adjtimex', 'clock_adjtime', 'clock_adjtime64'],
  CAP_SYS_BOOT: ['reboot', 'kexec_load', 'kexec_file_load'],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_PTRACE: ['process_vm_readv', 'process_vm_writev', 'kcmp', 'userfaultfd'],
  CAP_SYS_NICE: ['mbind', 'set_mempolicy', 'move_pages', 'get_mempolicy'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYSLOG: ['syslog'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at', 'name_to_handle_at'],
};

/** Denied whatever the capabilities: not namespaced, obsolete, or a large attack surface. */
const ALWAYS_DENIED = [
  'add_key', 'keyctl', 'request_key', // the kernel keyring is not namespaced
  'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl', 'uselib', '_sysctl', 'sysfs', 'ustat',
  'vm86', 'vm86old',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
];

// clone(2) flags that create namespaces; only CAP_SYS_ADMIN holders may use them.
const CLONE_NS_FLAGS = [
  0x00000080, // CLONE_NEWTIME
  0x00020000, // CLONE_NEWNS
  0x02000000, // CLONE_NEWCGROUP
  0x04000000, // CLONE_NEWUTS
  0x08000000, // CLONE_NEWIPC
  0x10000000, // CLONE_NEWUSER
  0x20000000, // CLONE_NEWPID
  0x40000000, // CLONE_NEWNET
];

function architecturesFor(arch: string): string[] | undefined {
  // Listing the compat ABIs makes the rules apply to them too instead of leaving a bypass.
  switch (arch) {
    case 'x64':
      return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
    case 'arm64':
      return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
    case 'ppc64':
      return ['SCMP_ARCH_PPC64LE'];
    case 's390x':
      return ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'];
    default:
      return undefined;
  }
}

/**
 * The RuntimeDefault profile for a container holding `capabilities` (the bounding set, CAP_
 * names). `arch` is a node `process.arch` value.
 */
export function defaultSeccompProfile(capabilities: Iterable<string>, arch: string = process.arch): OciSeccomp {
  const caps = new Set(capabilities);
  const denied = [...ALWAYS_DENIED];
  for (const [cap, names] of Object.entries(GATED_BY_CAP)) if (!caps.has(cap)) denied.push(...names);

  const syscalls: OciSeccompSyscall[] = [{ names: [...new Set(denied)].sort(), action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }];
  if (!caps.has('CAP_SYS_ADMIN')) {
    const flagsArg = arch === 's390x' ? 1 : 0; // s390 swaps clone's first two arguments
    for (const flag of CLONE_NS_FLAGS) {
      syscalls.push({
        names: ['clone'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: EPERM,
        args: [{ index: flagsArg, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
      });
    }
    // clone3 passes flags in memory, out of seccomp's reach: report it missing so libc falls back to clone.
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  const profile: OciSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls };
  const architectures = architecturesFor(arch);
  if (architectures) profile.architectures = architectures;
  return profile;
}
