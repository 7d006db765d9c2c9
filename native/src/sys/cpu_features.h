// What the CPU can do, asked once: the addon's log decoder and the monitor's log writer pick their
// AVX2 paths by it.
#pragma once

namespace berth {

#if defined(__x86_64__)
inline bool has_avx2() {
  // In a function, not at namespace scope: __builtin_cpu_supports may not run before libgcc's
  // own constructor has, unless __builtin_cpu_init comes first.
  static const bool avx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));
  return avx2;
}
#endif

}  // namespace berth
