#pragma once
// A progress line for long loops: "label  1234/5000  24.7%  812.3/s  ETA 4s". Thread-safe; redraws
// at most every 100 ms on a terminal, and prints only a few milestone lines when stderr is a file
// or pipe (so logs stay readable). Silent when KSPAM_QUIET is set.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include <unistd.h>

#include "kspam/core/timer.hpp"

namespace kspam {

class Progress {
 public:
  Progress(std::string label, std::size_t total, std::string unit = "items")
      : label_(std::move(label)), unit_(std::move(unit)), total_(total),
        tty_(::isatty(STDERR_FILENO) != 0), quiet_(std::getenv("KSPAM_QUIET") != nullptr) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() { finish(); }

  void advance(std::size_t n = 1) {
    const std::size_t done = done_.fetch_add(n) + n;
    maybe_draw(done, false);
  }

  void finish() {
    if (finished_.exchange(true)) return;
    maybe_draw(done_.load(), true);
  }

  static std::string format_duration(double seconds) {
    if (seconds < 0 || seconds > 1e7) return "?";
    const auto s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
    else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%lds", s);
    return buf;
  }

 private:
  void maybe_draw(std::size_t done, bool final) {
    if (quiet_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    const double elapsed = watch_.seconds();
    if (!final) {
      if (tty_ && elapsed - last_draw_ < 0.1) return;
      if (!tty_) {
        // Milestones at each quarter when not on a terminal.
        const std::size_t quarter = total_ ? done * 4 / total_ : 0;
        if (quarter <= last_quarter_ || quarter >= 4) return;
        last_quarter_ = quarter;
      }
    }
    last_draw_ = elapsed;
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    char line[256];
    if (total_ > 0) {
      const double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total_);
      const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done, total_)) / rate : -1;
      std::snprintf(line, sizeof line, "%-12s %zu/%zu %s  %5.1f%%  %.1f/s  %s %s", label_.c_str(), done,
                    total_, unit_.c_str(), pct, rate, final ? "in" : "ETA",
                    format_duration(final ? elapsed : eta).c_str());
    } else {
      std::snprintf(line, sizeof line, "%-12s %zu %s  %.1f/s  %s", label_.c_str(), done, unit_.c_str(), rate,
                    format_duration(elapsed).c_str());
    }
    std::fprintf(stderr, tty_ ? "\r\033[K%s%s" : "%s%s", line, (final || !tty_) ? "\n" : "");
    std::fflush(stderr);
  }

  std::string label_;
  std::string unit_;
  std::size_t total_;
  bool tty_;
  bool quiet_;
  std::atomic<std::size_t> done_{0};
  std::atomic<bool> finished_{false};
  std::mutex mutex_;
  Stopwatch watch_;
  double last_draw_ = -1.0;
  std::size_t last_quarter_ = 0;
};

}  // namespace kspam
