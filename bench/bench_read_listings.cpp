// Read + validate throughput of the streaming listings reader against pandas.read_csv on the same
// file, in the same run. Usage: bench_read_listings [rows=2000000] [python=/usr/bin/python3]
// The file is built from the bundled sample rows with fresh ids (quoted multi-line descriptions
// included), so its shape is that of real listings.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "kspam/core/timer.hpp"
#include "kspam/data/read_listings.hpp"
#include "kspam/data/write_listings.hpp"

namespace fs = std::filesystem;

static double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

int main(int argc, char** argv) {
  const std::size_t rows = argc > 1 ? std::stoul(argv[1]) : 2000000;
  const std::string python = argc > 2 ? argv[2] : "/usr/bin/python3";
  const auto sample = kspam::data::read_listings(std::string(KSPAM_SOURCE_DIR) + "/data/sample/listings.tsv");
  const fs::path file = fs::temp_directory_path() / "kspam_bench_listings.tsv";
  {
    std::ofstream out(file, std::ios::binary);
    out << "product_id\tdescription\timage_url\tlabel\tyes_count\tno_count\n";
    for (std::size_t i = 0; i < rows; ++i) {
      const auto& r = sample.rows[i % sample.rows.size()];
      out << "B" << i << '\t' << kspam::data::tsv_escape(r.description) << '\t' << r.image_url << '\t' << *r.label
          << '\t' << r.yes_count << '\t' << r.no_count << '\n';
    }
  }
  const double mb = static_cast<double>(fs::file_size(file)) / 1e6;
  const double rss_before = peak_rss_mib();

  kspam::Stopwatch watch;
  std::size_t spam = 0;
  const auto report = kspam::data::for_each_listing(file.string(), {}, [&](const kspam::data::Listing& r) {
    spam += *r.label;
  });
  const double ours = watch.seconds();
  const double rss_ours = peak_rss_mib();

  // pandas: read_csv with the same dtypes a careful user would give it, timed inside Python.
  const fs::path result = fs::temp_directory_path() / "kspam_bench_pandas.txt";
  const std::string cmd = python + " -c \"import time,resource,pandas as pd;t=time.perf_counter();"
                          "df=pd.read_csv('" + file.string() + "',sep='\\t',dtype={'product_id':str,'description':str,"
                          "'image_url':str},keep_default_na=False);el=time.perf_counter()-t;"
                          "print(len(df),el,resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)\" > " +
                          result.string();
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "pandas run failed (is python3-pandas installed?)\n");
    return 1;
  }
  std::size_t pandas_rows = 0;
  double pandas_s = 0, pandas_rss = 0;
  std::ifstream(result) >> pandas_rows >> pandas_s >> pandas_rss;

  std::printf("file: %zu rows, %.1f MB\n", rows, mb);
  std::printf("%-34s %10s %10s %10s %12s\n", "reader", "seconds", "rows/s", "MB/s", "peak RSS MiB");
  std::printf("%-34s %10.3f %10.0f %10.1f %12.1f\n", "kspam for_each_listing (validates)", ours,
              static_cast<double>(report.rows) / ours, mb / ours, rss_ours);
  std::printf("%-34s %10.3f %10.0f %10.1f %12.1f\n", "pandas.read_csv (parse only)", pandas_s,
              static_cast<double>(pandas_rows) / pandas_s, mb / pandas_s, pandas_rss);
  std::printf("speed-up: %.2fx   (RSS before reading: %.1f MiB, sample rows held for generation)\n",
              pandas_s / ours, rss_before);
  fs::remove(file);
  fs::remove(result);
  return report.rows == rows && pandas_rows == rows ? 0 : 1;
}
