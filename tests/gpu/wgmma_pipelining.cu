// Compiled (not run) by tests/gpu/ptxas_check.cmake with ptxas's report on: every shape the NF4 GEMM's dispatcher
// can launch must keep its wgmma instructions pipelined. ptxas serialises them all, silently but for a
// "C7513 Potential Performance Loss" line, when it cannot prove a wgmma's register operands untouched while it runs,
// and a small change to the K step's control flow is enough for that (seen on barrier-free variants of the kernel,
// bench/RESULTS.md).
#include "kspam/cuda/nf4_gemm_wgmma.cuh"

void every_wgmma_shape(const kspam::cuda::Nf4View& w, const __nv_bfloat16* x, int m, __nv_bfloat16* y) {
  kspam::cuda::nf4_gemm_wgmma(w, x, m, y);
}
