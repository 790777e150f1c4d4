#pragma once
// Warp-level tensor-core primitives (mma.sync, sm_80+; movmatrix, sm_75+) shared by the NF4 GEMV and GEMM and
// the LoRA kernels.
#include <cstdint>

namespace kspam::cuda::kernels {

// c += A B for one 16x16 (A, row-major fragment a0..a3) by 16x8 (B, column-major fragment b0, b1) bf16 tile, fp32
// accumulators; lane (g, t) = (lane / 4, lane % 4) holds c rows g and g + 8, columns 2t and 2t + 1. Not volatile:
// a register-only op the compiler may interleave with the surrounding loads.
__device__ __forceinline__ void mma_bf16_m16n8k16(float* c, std::uint32_t a0, std::uint32_t a1, std::uint32_t a2, std::uint32_t a3,
                                                  std::uint32_t b0, std::uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// The 8x8 b16 matrix whose rows the warp's lanes hold as (g, t) -> row g, columns 2t, 2t + 1, transposed: lane
// (g, t) gets row g of the transpose, that is column g, rows 2t and 2t + 1.
__device__ __forceinline__ std::uint32_t transpose8x8(std::uint32_t v) {
  std::uint32_t r;
  asm("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;\n" : "=r"(r) : "r"(v));
  return r;
}

}  // namespace kspam::cuda::kernels
