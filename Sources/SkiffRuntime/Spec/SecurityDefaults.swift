public import SkiffOCI

/// The confinement every instance gets: capabilities, masked and read-only /proc paths, and
/// a seccomp filter.
public enum SecurityDefaults {
    /// Docker's default capability set minus `NET_RAW` (raw sockets: ARP/ICMP spoofing on
    /// the bridge), `MKNOD` (device nodes) and `SYS_CHROOT`: what ordinary servers need
    /// (bind ports below 1024, drop to another user, chown files they write).
    public static let capabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
    ]

    /// The same set as the kernel's bitmask (`CapEff` in /proc/PID/status).
    public static let capabilityMask: UInt64 = {
        let bits: [UInt64] = [0, 1, 3, 4, 5, 6, 7, 8, 10, 29, 31]
        return bits.reduce(0) { $0 | (1 << $1) }
    }()

    /// Docker's and runc's default masked paths: kernel memory, keys, timers, firmware.
    public static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]

    /// Docker's default read-only paths.
    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// A deny-list filter: everything is allowed except system calls that reach past the
    /// container (kernel modules, kexec, keyrings, bpf, perf, mount and namespace calls,
    /// clock setting, io_uring, cross-process memory access) and `clone` with
    /// `CLONE_NEWUSER`, the door to capabilities in a fresh user namespace. `clone3` gets
    /// `ENOSYS` so libc falls back to `clone`, whose flags the filter can see. Names the
    /// kernel or libseccomp does not know are ignored by runc.
    public static let seccomp: RuntimeSpec.Seccomp = {
        let denied = [
            "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
            "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "get_mempolicy",
            "init_module", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp",
            "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "migrate_pages", "mount",
            "mount_setattr", "move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
            "open_tree", "perf_event_open", "pidfd_getfd", "pivot_root", "process_vm_readv", "process_vm_writev",
            "ptrace", "query_module", "quotactl", "quotactl_fd", "reboot", "request_key", "set_mempolicy",
            "setns", "settimeofday", "stime", "swapoff", "swapon", "_sysctl", "sysfs", "syslog", "umount",
            "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
        ]
        let cloneNewUser: UInt64 = 0x1000_0000
        let enosys: UInt32 = 38
        #if arch(arm64)
            let architectures = ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
        #else
            let architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        #endif
        return RuntimeSpec.Seccomp(
            defaultAction: "SCMP_ACT_ALLOW", architectures: architectures,
            syscalls: [
                .init(names: denied, action: "SCMP_ACT_ERRNO", errnoRet: 1),
                .init(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: enosys),
                .init(
                    names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
                    args: [.init(index: 0, value: cloneNewUser, valueTwo: cloneNewUser, op: "SCMP_CMP_MASKED_EQ")]),
            ])
    }()
}
