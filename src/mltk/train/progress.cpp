#include "mltk/train/progress.h"

#include "mltk/common/logging.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace mltk::train {

EpochProgress::EpochProgress(std::string label, size_t num_batches)
    : label_(std::move(label)),
      num_batches_(num_batches),
      interactive_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void EpochProgress::update(size_t batches_done, size_t images_done, double mean_loss) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? images_done / elapsed : 0.0;
  const double eta = batches_done > 0 ? elapsed * (num_batches_ - batches_done) / batches_done : 0.0;
  if (interactive_) {
    // Redrawing more often than ~10 times a second only costs terminal time.
    if (batches_done < num_batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = num_batches_ ? static_cast<int>(kWidth * batches_done / num_batches_) : kWidth;
    fmt::print(stderr, "\r{} [{}{}] {}/{} | {:.1f} img/s | loss {:.4f} | ETA {:.0f}s\033[K", label_,
               std::string(filled, '#'), std::string(kWidth - filled, '.'), batches_done, num_batches_, rate, mean_loss,
               eta);
    std::fflush(stderr);
    return;
  }
  const size_t every = std::max<size_t>(1, num_batches_ / 10);
  if (batches_done % every == 0 || batches_done == num_batches_)
    log::info("{} batch {}/{} | {:.1f} img/s | loss {:.4f} | ETA {:.0f}s", label_, batches_done, num_batches_, rate,
              mean_loss, eta);
}

void EpochProgress::finish() {
  if (interactive_) fmt::print(stderr, "\r\033[K");
}

}  // namespace mltk::train
