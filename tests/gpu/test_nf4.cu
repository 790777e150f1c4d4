// The CUDA NF4 kernels against the CPU reference on random inputs: quantization codes and dequantized values
// bit for bit, GEMV (single, grouped, after a dependent launch) and GEMM (fused and dequantize+cuBLAS) within
// bf16 tolerance. Exits 77 (ctest: skipped) without an NVIDIA GPU.
// GCC 12 misreports std::string concatenation at -O3 (bug 105329); the CXX flags say -Wno-restrict, the
// host flags nvcc passes do not.
#pragma GCC diagnostic ignored "-Wrestrict"
#include "gpu_test_support.hpp"  // first: it sets EIGEN_NO_CUDA before Eigen is seen

#include <cstring>
#include <memory>

#include "kspam/backend/cpu/nf4_matmul.hpp"
#include "kspam/cuda/nf4_gemm.cuh"
#include "kspam/cuda/nf4_gemv.cuh"
#include "kspam/cuda/nf4_quantize.cuh"
#include "kspam/quant/nf4_tensor.hpp"

using namespace kspam;
using namespace kspam::gpu_test;

namespace {
void test_quantize_bit_identical() {
  for (int bs : {32, 64, 256, 4096}) {
    auto bits = random_bf16(1 << 20, 0.02, 100 + bs);
    for (int i = 0; i < 2 * bs; ++i) bits[static_cast<std::size_t>(5 * bs + i)] = 0;  // whole zero blocks
    const auto values = widen(bits);
    const quant::Nf4Tensor cpu = quant::quantize_nf4(values, {1024, 1024}, {bs, false, 256});
    auto x = upload_bf16(bits);
    cuda::DeviceBuffer<std::uint8_t> packed(cpu.packed.size());
    cuda::DeviceBuffer<float> absmax(cpu.absmax.size());
    cuda::nf4_quantize(x.data(), static_cast<std::int64_t>(bits.size()), bs, packed.data(), absmax.data());
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
    check(packed.download() == cpu.packed, "NF4 codes CUDA == CPU, bit for bit (blocksize " + std::to_string(bs) + ")");
    check(absmax.download() == cpu.absmax, "NF4 absmax CUDA == CPU (blocksize " + std::to_string(bs) + ")");
  }
}

// Spins for about 50 us, then copies src into dst, or fills dst with NaNs when src is null: a previous kernel still
// writing a buffer that a kernel launched by programmatic dependent launch reads or overwrites.
__global__ void write_late(const bf16* src, bf16* dst, std::size_t n) {
  const long long start = clock64();
  while (clock64() - start < 100000) {
  }
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    reinterpret_cast<std::uint16_t*>(dst)[i] = src != nullptr ? reinterpret_cast<const std::uint16_t*>(src)[i] : std::uint16_t{0xffff};
}

void test_dequantize_bit_identical() {
  // 72 columns: a warp's groups of 8 weights run across row ends and quantization blocks.
  for (int cols : {768, 72})
    for (bool dq : {false, true}) {
      const auto bits = random_bf16(static_cast<std::size_t>(512) * cols, 0.05, 7);
      const quant::Nf4Tensor t = quant::quantize_nf4(widen(bits), {512, cols}, {64, dq, 256});
      const auto cpu = quant::dequantize_nf4_bf16(t);
      cuda::Nf4DeviceWeight w(t);
      const int ld = cols + 16;  // a padded row, as the fused LoRA layout uses
      cuda::DeviceBuffer<bf16> out(static_cast<std::size_t>(512) * ld);
      for (bool pdl : {false, true}) {
        // With programmatic dependent launch, right after a kernel that writes `out`: nothing may be stored before it ends.
        if (pdl) write_late<<<64, 256>>>(nullptr, out.data(), out.size());
        cuda::nf4_dequantize(w.view(), out.data(), ld, nullptr, pdl);
        std::vector<std::uint16_t> got(out.size());
        KSPAM_CUDA_CHECK(cudaMemcpy(got.data(), out.data(), got.size() * 2, cudaMemcpyDeviceToHost));
        std::size_t mismatches = 0;
        for (int r = 0; r < 512; ++r)
          for (int c = 0; c < cols; ++c)
            mismatches += got[static_cast<std::size_t>(r) * ld + c] != cpu[static_cast<std::size_t>(r) * cols + c];
        check(mismatches == 0, "NF4 dequantize to bf16 CUDA == CPU, bit for bit, " + std::to_string(cols) + " columns" + (dq ? " (double quant)" : "") +
                                   (pdl ? ", launched dependent on a kernel writing the output" : ""));
      }
    }
}

const char* gemv_kernel_name(cuda::GemvKernel k) {
  return k == cuda::GemvKernel::automatic ? "automatic" : k == cuda::GemvKernel::tensor_core ? "tensor core" : "shared LUT";
}

// Three weights sharing one input in one launch (q, k, v), then a GEMV whose input is the first one's output,
// launched with programmatic dependent launch: it must wait for that output, not read it half-written.
void test_gemv_group_and_dependent_launch() {
  const int K = 2048;
  const int rows[3] = {2048, 512, 77};
  std::vector<quant::Nf4Tensor> ts;
  std::vector<cuda::Nf4DeviceWeight> dws;
  for (int s = 0; s < 3; ++s) ts.push_back(quant::quantize_nf4(widen(random_bf16(static_cast<std::size_t>(rows[s]) * K, 0.02, 40 + s)), {rows[s], K}));
  for (const auto& t : ts) dws.emplace_back(t);
  const quant::Nf4Tensor t2 = quant::quantize_nf4(widen(random_bf16(static_cast<std::size_t>(K) * K, 0.02, 44)), {K, K});
  cuda::Nf4DeviceWeight dw2(t2);
  for (auto kernel : {cuda::GemvKernel::automatic, cuda::GemvKernel::tensor_core, cuda::GemvKernel::shared_lut}) {
    for (int batch : {1, 5}) {
      const auto xb = random_bf16(static_cast<std::size_t>(batch) * K, 1.0, 50 + batch);
      const MatrixRM x = to_matrix(widen(xb), batch, K);
      auto dx = upload_bf16(xb);
      std::vector<cuda::DeviceBuffer<bf16>> ys;
      for (int s = 0; s < 3; ++s) ys.emplace_back(static_cast<std::size_t>(batch) * rows[s]);
      cuda::DeviceBuffer<bf16> z(static_cast<std::size_t>(batch) * K);
      const cuda::Nf4View views[3] = {dws[0].view(), dws[1].view(), dws[2].view()};
      bf16* const outs[3] = {ys[0].data(), ys[1].data(), ys[2].data()};
      cudaStream_t stream;
      KSPAM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
      for (int rep = 0; rep < 20; ++rep) {  // repeated so a missing wait has many chances to show
        KSPAM_CUDA_CHECK(cudaMemsetAsync(ys[0].data(), 0xff, ys[0].bytes(), stream));  // NaNs until the group writes
        cuda::nf4_gemv_group(views, outs, dx.data(), batch, stream, {kernel, true});
        cuda::nf4_gemv(dw2.view(), ys[0].data(), z.data(), batch, stream, {kernel, true});
      }
      KSPAM_CUDA_CHECK(cudaStreamSynchronize(stream));
      KSPAM_CUDA_CHECK(cudaStreamDestroy(stream));
      double worst = 0;
      MatrixRM first;
      for (int s = 0; s < 3; ++s) {
        const MatrixRM got = to_matrix(download_bf16(ys[s].data(), ys[s].size()), batch, rows[s]);
        worst = std::max(worst, rel_err(got, x * backend::cpu::nf4_dense(ts[static_cast<std::size_t>(s)]).transpose()));
        if (s == 0) first = got;
      }
      check(worst < 1e-2, std::string("NF4 GEMV group of 3 (") + gemv_kernel_name(kernel) + ") batch " + std::to_string(batch) +
                              " vs CPU (max rel err " + std::to_string(worst) + ")");
      const double e = rel_err(to_matrix(download_bf16(z.data(), z.size()), batch, K), first * backend::cpu::nf4_dense(t2).transpose());
      check(e < 1e-2, std::string("NF4 GEMV (") + gemv_kernel_name(kernel) + ") after a dependent launch reads the finished input, batch " +
                          std::to_string(batch) + " (max rel err " + std::to_string(e) + ")");
    }
  }
}

void test_gemv_and_gemm() {
  const int N = 1024, K = 2048;
  const auto wbits = random_bf16(static_cast<std::size_t>(N) * K, 0.02, 11);
  const quant::Nf4Tensor t = quant::quantize_nf4(widen(wbits), {N, K});
  const MatrixRM w = backend::cpu::nf4_dense(t);  // bf16-rounded dequantized weight
  cuda::Nf4DeviceWeight dw(t);
  for (int batch : {1, 2, 3, 4, 5, 6, 7, 8}) {
    const auto xb = random_bf16(static_cast<std::size_t>(batch) * K, 1.0, 20 + batch);
    const MatrixRM x = to_matrix(widen(xb), batch, K);
    auto dx = upload_bf16(xb);
    cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(batch) * N);
    for (auto kernel : {cuda::GemvKernel::automatic, cuda::GemvKernel::tensor_core, cuda::GemvKernel::shared_lut}) {
      cuda::nf4_gemv(dw.view(), dx.data(), y.data(), batch, nullptr, {kernel});
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      const double e = rel_err(to_matrix(download_bf16(y.data(), y.size()), batch, N), x * w.transpose());
      check(e < 1e-2, std::string("NF4 GEMV (") + gemv_kernel_name(kernel) +
                          ") batch " + std::to_string(batch) + " vs CPU (max rel err " + std::to_string(e) + ")");
    }
  }
  {
    // More rows than two blocks per SM hold in one wave: the tensor-core kernel then dequantizes after the wait.
    const int n3 = 4608;
    const quant::Nf4Tensor t3 = quant::quantize_nf4(widen(random_bf16(static_cast<std::size_t>(n3) * K, 0.02, 14)), {n3, K});
    const MatrixRM w3 = backend::cpu::nf4_dense(t3);
    cuda::Nf4DeviceWeight dw3(t3);
    for (int batch : {1, 3, 8}) {
      const auto xb = random_bf16(static_cast<std::size_t>(batch) * K, 1.0, 15 + batch);
      auto dx = upload_bf16(xb);
      cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(batch) * n3);
      cuda::nf4_gemv(dw3.view(), dx.data(), y.data(), batch);
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      const double e = rel_err(to_matrix(download_bf16(y.data(), y.size()), batch, n3), to_matrix(widen(xb), batch, K) * w3.transpose());
      check(e < 1e-2, "NF4 GEMV 4608 x 2048 (dequantized after the wait) batch " + std::to_string(batch) + " vs CPU (max rel err " + std::to_string(e) + ")");
    }
  }
  {
    // Odd row count (the second row of the last warp is masked) and a long row (several steps per lane).
    const int n2 = 77, k2 = 6144;
    const quant::Nf4Tensor t2 = quant::quantize_nf4(widen(random_bf16(static_cast<std::size_t>(n2) * k2, 0.02, 12)), {n2, k2}, {128, true, 256});
    const MatrixRM w2 = backend::cpu::nf4_dense(t2);
    cuda::Nf4DeviceWeight dw2(t2);
    const auto xb = random_bf16(static_cast<std::size_t>(2) * k2, 1.0, 13);
    auto dx = upload_bf16(xb);
    cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(2) * n2);
    for (auto kernel : {cuda::GemvKernel::automatic, cuda::GemvKernel::tensor_core, cuda::GemvKernel::shared_lut}) {
      cuda::nf4_gemv(dw2.view(), dx.data(), y.data(), 2, nullptr, {kernel});
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      const double e = rel_err(to_matrix(download_bf16(y.data(), y.size()), 2, n2), to_matrix(widen(xb), 2, k2) * w2.transpose());
      check(e < 1e-2, std::string("NF4 GEMV (") + gemv_kernel_name(kernel) +
                          ") 77 x 6144, blocksize 128, batch 2 (max rel err " + std::to_string(e) + ")");
    }
  }
  cuda::CublasHandle cublas;
  for (int M : {128, 200}) {
    const auto xb = random_bf16(static_cast<std::size_t>(M) * K, 1.0, 30 + M);
    const MatrixRM want = to_matrix(widen(xb), M, K) * w.transpose();
    auto dx = upload_bf16(xb);
    cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * N), scratch(static_cast<std::size_t>(N) * K);
    double e = 0;
    for (const bool portable : {false, true}) {
      if (portable) cuda::nf4_gemm_mma_sync(dw.view(), dx.data(), M, y.data());
      else cuda::nf4_gemm_fused(dw.view(), dx.data(), M, y.data());
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      e = rel_err(to_matrix(download_bf16(y.data(), y.size()), M, N), want);
      check(e < 1e-2, std::string("NF4 GEMM ") + (portable ? "mma.sync" : "fused (wgmma on sm_90)") + " M=" + std::to_string(M) +
                          " vs CPU (max rel err " + std::to_string(e) + ")");
    }
    cuda::nf4_gemm_dequant_cublas(cublas.get(), dw.view(), dx.data(), M, y.data(), scratch.data());
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
    e = rel_err(to_matrix(download_bf16(y.data(), y.size()), M, N), want);
    check(e < 1e-2, "NF4 GEMM dequantize+cuBLAS M=" + std::to_string(M) + " vs CPU (max rel err " + std::to_string(e) + ")");
    // Both are launched by programmatic dependent launch: right after a kernel still writing X (fused) or the
    // scratch weight (dequantize + cuBLAS), they must wait for it.
    cuda::DeviceBuffer<bf16> late_x(dx.size());
    KSPAM_CUDA_CHECK(cudaMemset(late_x.data(), 0xff, late_x.bytes()));
    write_late<<<64, 256>>>(dx.data(), late_x.data(), late_x.size());
    cuda::nf4_gemm_fused(dw.view(), late_x.data(), M, y.data());
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
    e = rel_err(to_matrix(download_bf16(y.data(), y.size()), M, N), want);
    check(e < 1e-2, "NF4 GEMM fused M=" + std::to_string(M) + " right after a kernel writing its X (max rel err " + std::to_string(e) + ")");
    write_late<<<64, 256>>>(nullptr, scratch.data(), scratch.size());
    cuda::nf4_gemm_dequant_cublas(cublas.get(), dw.view(), dx.data(), M, y.data(), scratch.data());
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
    e = rel_err(to_matrix(download_bf16(y.data(), y.size()), M, N), want);
    check(e < 1e-2, "NF4 GEMM dequantize+cuBLAS M=" + std::to_string(M) + " right after a kernel writing its scratch (max rel err " + std::to_string(e) + ")");
  }
  {
    // Enough rows for the fused kernel's 128-row tiles (over two tiles per SM; 4300 is no multiple of 128), against
    // dequantize + cuBLAS, which the cases above check against the CPU.
    const int M = 4300;
    auto dx = upload_bf16(random_bf16(static_cast<std::size_t>(M) * K, 1.0, 35));
    cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * N), ref(static_cast<std::size_t>(M) * N), scratch(static_cast<std::size_t>(N) * K);
    cuda::nf4_gemm_mma_sync(dw.view(), dx.data(), M, y.data());
    cuda::nf4_gemm_dequant_cublas(cublas.get(), dw.view(), dx.data(), M, ref.data(), scratch.data());
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
    const double e = rel_err_device(y.data(), ref.data(), M, N);
    check(e < 1e-2, "NF4 GEMM mma.sync M=4300 (128-row tiles) vs dequantize+cuBLAS (max rel err " + std::to_string(e) + ")");
    for (int m : {200, M}) {
      cuda::nf4_gemm_wgmma_tiles<64>(dw.view(), dx.data(), m, y.data());
      cuda::nf4_gemm_dequant_cublas(cublas.get(), dw.view(), dx.data(), m, ref.data(), scratch.data());
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      double er = rel_err_device(y.data(), ref.data(), m, N);
      check(er < 1e-2, "NF4 GEMM wgmma 64-token tiles M=" + std::to_string(m) + " vs dequantize+cuBLAS (max rel err " + std::to_string(er) + ")");
      for (int shape = 0; shape < 5; ++shape) {
        const char* name[5] = {"160-token tiles", "192-token tiles", "256-token tiles", "64-token tiles, K split in 2", "128-token tiles, K split in 2"};
        if (shape == 0) cuda::nf4_gemm_wgmma_tiles<160>(dw.view(), dx.data(), m, y.data());
        else if (shape == 1) cuda::nf4_gemm_wgmma_tiles<192>(dw.view(), dx.data(), m, y.data());
        else if (shape == 2) cuda::nf4_gemm_wgmma_tiles<256>(dw.view(), dx.data(), m, y.data());
        else if (shape == 3) cuda::nf4_gemm_wgmma_tiles<64, 2>(dw.view(), dx.data(), m, y.data());
        else cuda::nf4_gemm_wgmma_tiles<128, 2>(dw.view(), dx.data(), m, y.data());
        KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
        er = rel_err_device(y.data(), ref.data(), m, N);
        check(er < 1e-2, std::string("NF4 GEMM wgmma ") + name[shape] + " M=" + std::to_string(m) + " vs dequantize+cuBLAS (max rel err " +
                             std::to_string(er) + ")");
      }
      cuda::nf4_gemm_wgmma(dw.view(), dx.data(), m, y.data());
      cuda::nf4_gemm_dequant_cublas(cublas.get(), dw.view(), dx.data(), m, ref.data(), scratch.data());
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      const double ew = rel_err_device(y.data(), ref.data(), m, N);
      check(ew < 1e-2, "NF4 GEMM wgmma M=" + std::to_string(m) + " vs dequantize+cuBLAS (max rel err " + std::to_string(ew) + ")");
    }
    {
      // An odd number of 64-wide K steps (the wgmma kernel pads them to pairs) and a ragged M.
      const int n3 = 256, k3 = 192, m3 = 77;
      const auto wv3 = widen(random_bf16(static_cast<std::size_t>(n3) * k3, 0.02, 37));
      const quant::Nf4Tensor t3 = quant::quantize_nf4(wv3, {n3, k3}, {64, true, 256});
      cuda::Nf4DeviceWeight dw3(t3);
      auto dx3 = upload_bf16(random_bf16(static_cast<std::size_t>(m3) * k3, 1.0, 38));
      cuda::DeviceBuffer<bf16> y3(static_cast<std::size_t>(m3) * n3), ref3(static_cast<std::size_t>(m3) * n3), scratch3(static_cast<std::size_t>(n3) * k3);
      cuda::nf4_gemm_dequant_cublas(cublas.get(), dw3.view(), dx3.data(), m3, ref3.data(), scratch3.data());
      cuda::nf4_gemm_wgmma_tiles<128>(dw3.view(), dx3.data(), m3, y3.data());
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      const double e3 = rel_err_device(y3.data(), ref3.data(), m3, n3);
      check(e3 < 1e-2, "NF4 GEMM wgmma 128-token tiles, 77 x 192 x 256 (3 K steps) vs dequantize+cuBLAS (max rel err " + std::to_string(e3) + ")");
    }
    {
      // Three warpgroups (192-row tiles): an odd number of K steps, a ragged M and more than one row tile; bit for
      // bit the two-warpgroup kernel's result (each output's sum runs over the same steps in the same order), and a
      // clear error where N is no multiple of 192.
      const int n5 = 384, k5 = 192;
      const quant::Nf4Tensor t5 = quant::quantize_nf4(widen(random_bf16(static_cast<std::size_t>(n5) * k5, 0.02, 41)), {n5, k5}, {64, true, 256});
      cuda::Nf4DeviceWeight dw5(t5);
      for (int m5 : {77, 300}) {
        auto dx5 = upload_bf16(random_bf16(static_cast<std::size_t>(m5) * k5, 1.0, 42));
        cuda::DeviceBuffer<bf16> y5(static_cast<std::size_t>(m5) * n5), two(static_cast<std::size_t>(m5) * n5), ref5(static_cast<std::size_t>(m5) * n5),
            scratch5(static_cast<std::size_t>(n5) * k5);
        cuda::nf4_gemm_dequant_cublas(cublas.get(), dw5.view(), dx5.data(), m5, ref5.data(), scratch5.data());
        cuda::nf4_gemm_wgmma_tiles<128, 1, 4, 3>(dw5.view(), dx5.data(), m5, y5.data());
        cuda::nf4_gemm_wgmma_tiles<128>(dw5.view(), dx5.data(), m5, two.data());
        KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
        const double e5 = rel_err_device(y5.data(), ref5.data(), m5, n5);
        const auto got = download_bf16(y5.data(), y5.size()), want2 = download_bf16(two.data(), two.size());
        const bool same = std::memcmp(got.data(), want2.data(), got.size() * sizeof(bf16)) == 0;
        check(e5 < 1e-2 && same, "NF4 GEMM wgmma, three warpgroups (192 x 128 tiles), " + std::to_string(m5) + " x 192 x 384 vs dequantize+cuBLAS (max rel err " +
                                     std::to_string(e5) + ") and bit-identical to two warpgroups: " + (same ? "yes" : "no"));
      }
      bool threw = false;
      try {
        cuda::nf4_gemm_wgmma_tiles<128, 1, 4, 3>(dw.view(), dx.data(), 200, y.data());
      } catch (const Error& err) {
        threw = std::string(err.what()).find("N % 192") != std::string::npos;
      }
      check(threw, "NF4 GEMM wgmma with three warpgroups refuses N = " + std::to_string(N) + " (no multiple of 192) by name");
    }
    {
      // K split in 2 with an odd number of steps per block (each pads its own to a pair), and a ragged M.
      const int n4 = 256, k4 = 384, m4 = 77;
      const quant::Nf4Tensor t4 = quant::quantize_nf4(widen(random_bf16(static_cast<std::size_t>(n4) * k4, 0.02, 39)), {n4, k4}, {64, true, 256});
      cuda::Nf4DeviceWeight dw4(t4);
      auto dx4 = upload_bf16(random_bf16(static_cast<std::size_t>(m4) * k4, 1.0, 40));
      cuda::DeviceBuffer<bf16> y4(static_cast<std::size_t>(m4) * n4), ref4(static_cast<std::size_t>(m4) * n4), scratch4(static_cast<std::size_t>(n4) * k4);
      cuda::nf4_gemm_dequant_cublas(cublas.get(), dw4.view(), dx4.data(), m4, ref4.data(), scratch4.data());
      cuda::nf4_gemm_wgmma_tiles<128, 2>(dw4.view(), dx4.data(), m4, y4.data());
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      const double e4 = rel_err_device(y4.data(), ref4.data(), m4, n4);
      check(e4 < 1e-2, "NF4 GEMM wgmma, K split in 2 with 3 steps each, 77 x 384 x 256 vs dequantize+cuBLAS (max rel err " + std::to_string(e4) + ")");
    }
    // nf4_gemm picks a path by M (fused up to 512 rows on sm_90, dequantize + cuBLAS above): each against the other.
    for (int m : {200, 1000}) {
      cuda::nf4_gemm(cublas.get(), dw.view(), dx.data(), m, y.data(), scratch.data());
      if (m <= cuda::kNf4FusedGemmMaxRows) cuda::nf4_gemm_dequant_cublas(cublas.get(), dw.view(), dx.data(), m, ref.data(), scratch.data());
      else cuda::nf4_gemm_fused(dw.view(), dx.data(), m, ref.data());
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      const double ea = rel_err_device(y.data(), ref.data(), m, N);
      check(ea < 1e-2, "NF4 GEMM nf4_gemm (path chosen by M) M=" + std::to_string(m) + " vs the other path (max rel err " + std::to_string(ea) + ")");
    }
    // A block size the fused kernel cannot take is refused by name.
    const quant::Nf4Tensor t32 = quant::quantize_nf4(widen(random_bf16(static_cast<std::size_t>(128) * 128, 0.02, 36)), {128, 128}, {32, true, 256});
    cuda::Nf4DeviceWeight dw32(t32);
    bool refused = false;
    try {
      cuda::nf4_gemm_mma_sync(dw32.view(), dx.data(), 16, y.data());
    } catch (const Error& err) {
      refused = std::string(err.what()).find("block size") != std::string::npos;
    }
    check(refused, "NF4 GEMM mma.sync refuses block size 32 with a clear error");
    refused = false;
    try {
      cuda::nf4_gemm_wgmma(dw32.view(), dx.data(), 16, y.data());
    } catch (const Error& err) {
      refused = std::string(err.what()).find("block size") != std::string::npos;
    }
    check(refused, "NF4 GEMM wgmma refuses block size 32 with a clear error");
  }
}

}  // namespace

int main() { return run_gpu_tests({test_quantize_bit_identical, test_dequantize_bit_identical, test_gemv_and_gemm, test_gemv_group_and_dependent_launch}); }
