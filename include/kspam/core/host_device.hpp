#pragma once
// KSPAM_HOST_DEVICE marks a small inline function that host code and CUDA device code both call (NF4
// codebook, bf16/f16 conversion, the LoRA dropout hash): __host__ __device__ under nvcc, plain inline
// elsewhere. Headers using it must need nothing beyond the C++ standard headers that device code accepts.
#ifndef KSPAM_HOST_DEVICE
#if defined(__CUDACC__)
#define KSPAM_HOST_DEVICE __host__ __device__ inline
#else
#define KSPAM_HOST_DEVICE inline
#endif
#endif
