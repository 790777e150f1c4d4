#pragma once
// parallel_for over an index range on plain std::threads: each worker takes contiguous chunks from
// a shared counter, so uneven work balances itself. The first exception thrown by any task is
// rethrown to the caller after all workers stop.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kspam {

inline unsigned default_thread_count() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

// Calls fn(i) for i in [begin, end) on `threads` threads (0 = all cores). `grain` indices per claim.
template <typename Fn>
void parallel_for(std::size_t begin, std::size_t end, Fn&& fn, unsigned threads = 0, std::size_t grain = 1) {
  if (end <= begin) return;
  if (threads == 0) threads = default_thread_count();
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t chunks = (end - begin + grain - 1) / grain;
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, chunks));
  if (threads <= 1) {
    for (std::size_t i = begin; i < end; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{begin};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  std::atomic<bool> stop{false};
  auto worker = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t start = next.fetch_add(grain);
      if (start >= end) break;
      const std::size_t stop_at = std::min(end, start + grain);
      try {
        for (std::size_t i = start; i < stop_at; ++i) fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        stop = true;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace kspam
