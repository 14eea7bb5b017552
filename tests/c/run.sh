#!/usr/bin/env bash
# Build tests/c/test_variants.c with the kernels it tests and run it.
#   bash tests/c/run.sh                 native: every variant this CPU runs
#   bash tests/c/run.sh aarch64         cross-compiled (gcc-aarch64-linux-gnu) and run
#                                       under qemu-aarch64 (qemu-user): the neon variants
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# (serial: no OpenMP runtime to link; the kernels called here run on one thread)
# the kernels of the families, their generic twins and the CPU description (src_c/meson.build)
srcs=(cpu.c gemm_variants.c optimizers.c pool.c pool_variants.c conv_variants.c
      arch/{avx512,avx2,neon}/gemm_f{32,64}.c
      arch/{avx512,avx2,neon}/adam_f32.c
      arch/{avx512,avx2,neon}/maxpool2x2_f32.c
      arch/{avx512,avx2,neon}/conv_f32.c)
flags=(-O2 -std=gnu11 -Wall -Werror -Wno-unknown-pragmas -fopenmp-simd -fno-math-errno -I"$repo/src_c")
case "${1:-native}" in
    native)
        cc="${CC:-cc}"; run=(); expect=() ;;
    aarch64)
        cc=aarch64-linux-gnu-gcc; run=(qemu-aarch64 -L /usr/aarch64-linux-gnu); expect=(--expect neon) ;;
    *) echo "usage: $0 [native|aarch64]" >&2; exit 2 ;;
esac
# one object per source, compiled side by side (the conv and gemm variants take a while)
objs=() pids=()
for src in tests/c/test_variants.c "${srcs[@]/#/src_c/}"; do
    obj="$out/$(echo "$src" | tr / _).o"
    objs+=("$obj")
    "$cc" "${flags[@]}" -c -o "$obj" "$repo/$src" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done  # (set -e: a failed compile stops here)
"$cc" -o "$out/test_variants" "${objs[@]}" -lm
"${run[@]}" "$out/test_variants" "${expect[@]}"
