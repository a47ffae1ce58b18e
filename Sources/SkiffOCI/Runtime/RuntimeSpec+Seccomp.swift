extension RuntimeSpec {
    /// A seccomp system call filter (runtime-spec config-linux.md, "Seccomp").
    public struct Seccomp: Codable, Sendable, Equatable {
        /// The action for system calls no rule matches, e.g. `SCMP_ACT_ALLOW`.
        public var defaultAction: String
        /// The architectures the filter applies to, e.g. `SCMP_ARCH_X86_64`.
        public var architectures: [String]?
        /// The rules, matched against each system call.
        public var syscalls: [Syscall]?

        public init(defaultAction: String, architectures: [String]? = nil, syscalls: [Syscall]? = nil) {
            self.defaultAction = defaultAction
            self.architectures = architectures
            self.syscalls = syscalls
        }
    }

    /// A seccomp rule: what to do for the named system calls when the arguments match.
    public struct Syscall: Codable, Sendable, Equatable {
        /// The system call names.
        public var names: [String]
        /// The action, e.g. `SCMP_ACT_ERRNO`.
        public var action: String
        /// The errno returned by `SCMP_ACT_ERRNO`; absent means `EPERM`.
        public var errnoRet: UInt32?
        /// Conditions on the arguments; all must hold.
        public var args: [SyscallArg]?

        public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [SyscallArg]? = nil) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
        }
    }

    /// A condition on one system call argument.
    public struct SyscallArg: Codable, Sendable, Equatable {
        /// The argument's index, from 0.
        public var index: UInt
        /// The value compared with.
        public var value: UInt64
        /// The second value, for `SCMP_CMP_MASKED_EQ` the expected result of the mask.
        public var valueTwo: UInt64?
        /// The comparison, e.g. `SCMP_CMP_MASKED_EQ`.
        public var op: String

        public init(index: UInt, value: UInt64, valueTwo: UInt64? = nil, op: String) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }
    }
}
