#pragma once
// The worst mistakes of an evaluation (the wrong predictions made with the highest confidence) and
// the small JPEG thumbnails that show them on a page.
#include "mltk/data/split_index.h"
#include "mltk/pipeline/predict.h"
#include "mltk/report/mistake.h"

#include <string>
#include <vector>

namespace mltk::report {

// At most `count` wrong predictions, most confident first (ties in sample order), each with a
// thumbnail whose longer side is `side` pixels. `samples` is what predictions.sample_indices index.
std::vector<Mistake> worst_mistakes(const pipeline::Predictions& predictions, const std::vector<data::Sample>& samples,
                                    size_t count = 12, int side = 96);

// The image at `path` shrunk to fit `side` x `side`, as a JPEG; empty when it cannot be decoded.
std::string thumbnail_jpeg(const std::string& path, int side);

}  // namespace mltk::report
