// Seccomp for containers, the module the rest of Berth imports: Docker-format profiles (seccomp-profile.ts),
// the BPF compiler (seccomp-compile.ts) and Berth's default profile (default-profile.ts).

export {
  parseProfile,
  ProfileError,
  SECCOMP_ACTIONS,
  SECCOMP_OPS,
  unknownSyscalls,
  type SeccompAction,
  type SeccompArg,
  type SeccompFilter,
  type SeccompOp,
  type SeccompProfile,
  type SeccompRule,
} from './seccomp-profile';
export { AUDIT_ARCH_X86_64, compileProfile, SECCOMP_RET, X32_SYSCALL_BIT, type CompileOptions } from './seccomp-compile';
export { DEFAULT_PROFILE, defaultProgram } from './default-profile';
