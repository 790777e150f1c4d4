# Finds kspam's third-party dependencies (all from Debian 12 packages) and defines the imported
# targets the kspam interface targets link. Used by the build and by the installed package config.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)
find_package(PkgConfig REQUIRED)
find_dependency(Eigen3 3.4 NO_MODULE)
find_dependency(xtensor)
find_dependency(OpenSSL)
find_dependency(Threads)
pkg_check_modules(KSPAM_SIMDJSON REQUIRED IMPORTED_TARGET GLOBAL simdjson)
pkg_check_modules(KSPAM_HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)
pkg_check_modules(KSPAM_LIBZIP REQUIRED IMPORTED_TARGET GLOBAL libzip)
pkg_check_modules(KSPAM_UTF8PROC REQUIRED IMPORTED_TARGET GLOBAL libutf8proc)
pkg_check_modules(KSPAM_WEBP REQUIRED IMPORTED_TARGET GLOBAL libwebp)
pkg_check_modules(KSPAM_STB REQUIRED IMPORTED_TARGET GLOBAL stb)
pkg_check_modules(KSPAM_JPEG REQUIRED IMPORTED_TARGET GLOBAL libjpeg)  # libjpeg-turbo: decodes JPEG exactly as PIL does
