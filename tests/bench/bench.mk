# Hypervisor benchmarks run under the emulators (host-side module benchmarks add theirs).
BENCHES += tests/bench/cpuid-exit
