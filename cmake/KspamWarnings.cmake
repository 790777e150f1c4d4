# Strict warnings for kspam's own code. Third-party headers come in as SYSTEM includes
# (imported targets), so these never fire on them.
add_library(kspam_warnings INTERFACE)
target_compile_options(kspam_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wunused -Woverloaded-virtual -Wimplicit-fallthrough -Werror
    # GCC 12 -O3 misreports std::string concatenation (GCC bug 105329).
    -Wno-restrict>
  $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Wall,-Wextra,-Werror>)
