# cmake -DNVCC=... -DGENCODE=... -DSOURCE_DIR=... -P ptxas_check.cmake
# Compiles tests/gpu/wgmma_pipelining.cu with ptxas's report and fails if ptxas serialised any wgmma (C7513).
separate_arguments(gencode UNIX_COMMAND "${GENCODE}")
execute_process(
  COMMAND "${NVCC}" -std=c++20 -O3 ${gencode} -I${SOURCE_DIR}/include -Xptxas -v -c ${SOURCE_DIR}/tests/gpu/wgmma_pipelining.cu -o /dev/null
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "nvcc failed on tests/gpu/wgmma_pipelining.cu (exit ${status}):\n${out}${err}")
endif()
string(REGEX MATCHALL "[^\n]*C7513[^\n]*" serialized "${out}${err}")
if(serialized)
  list(JOIN serialized "\n" lines)
  message(FATAL_ERROR "ptxas serialised wgmma instructions (the K step's register sets are no longer provably separate):\n${lines}")
endif()
string(REGEX MATCHALL "Compiling entry function '[^']*nf4_gemm_wgmma[^']*'" kernels "${out}${err}")
list(LENGTH kernels count)
if(count EQUAL 0)
  message(FATAL_ERROR "ptxas reported no nf4_gemm_wgmma kernel: is the gencode (${GENCODE}) for sm_90a?")
endif()
message(STATUS "${count} nf4_gemm_wgmma kernels, every wgmma pipelined")
