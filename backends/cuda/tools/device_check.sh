#!/bin/bash
# One device-machine session for the CUDA backend: the whole test suite with cpu and cuda
# required, compute-sanitizer memcheck on the cuda cases, then sla2-bench at the shapes.
# Usage (on the GPU machine, from the repo root, after `. .device/setup.sh`):
#   backends/cuda/tools/device_check.sh [tests] [memcheck] [racecheck] [bench] [big] [sweep]
# Logs go to $OUT (or ./device-logs).
out=${OUT:-device-logs}
# libcjson is not on the device image: carried in the build folder.
export LD_LIBRARY_PATH=$PWD/build-cuda/devlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$out"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv | tee "$out/gpu.txt"
T=./build-cuda/tests/sla2-tests
B=./build-cuda/bench/sla2-bench
CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
for step in "$@"; do
  case $step in
  tests) SLA2_TEST_REQUIRE=cpu,cuda timeout 300 $T >"$out/tests.txt" 2>&1; echo "tests rc=$?"; tail -3 "$out/tests.txt"
         SLA2_TEST_REQUIRE=cuda timeout 120 ./build-cuda/tests/sla2-cuda-encoders-test ;;
  memcheck) CK_FORK=no SLA2_TEST_REQUIRE=cuda CK_RUN_CASE=cuda timeout 300 $CS --tool memcheck --error-exitcode 9 $T \
              >"$out/memcheck.txt" 2>&1; echo "memcheck rc=$?"; tail -4 "$out/memcheck.txt" ;;
  racecheck) CK_FORK=no SLA2_TEST_REQUIRE=cuda CK_RUN_CASE=cuda timeout 300 $CS --tool racecheck --error-exitcode 9 $T \
              >"$out/racecheck.txt" 2>&1; echo "racecheck rc=$?"; tail -4 "$out/racecheck.txt" ;;
  bench) timeout 200 $B --device cuda0 --batch 1 --heads 12 --seq 32760 --dim 128 --dtype bf16 --topk 0.03,1.0 \
           --quant int8_fp8,none --warmup 2 --runs 5 --stages 2>&1 | tee "$out/bench.txt" ;;
  big) timeout 200 $B --device cuda0 --batch 1 --heads 40 --seq 75600 --dim 128 --dtype bf16 --topk 0.03 \
         --quant int8_fp8,none --warmup 1 --runs 3 --no-dense --stages 2>&1 | tee "$out/bench_big.txt" ;;
  sweep) timeout 200 $B --device cuda0 --batch 1 --heads 12 --seq 32760 --dim 128 --dtype bf16 --sweep \
           --quant int8_fp8 --warmup 1 --runs 3 --json 2>&1 | tee "$out/sweep.jsonl" ;;
  esac
done
