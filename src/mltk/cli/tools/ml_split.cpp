// ml-split: writes the stratified cross-validation folds and test set of an image-folder dataset.
#include "mltk/cli/tool_mains.h"

#include "mltk/cli/app.h"
#include "mltk/common/logging.h"
#include "mltk/data/splitter.h"

#include <filesystem>

namespace mltk::cli {

namespace ml_split {

void log_report(const data::SplitReport& report, const data::SplitOptions& options) {
  log::info("Layout: {}", !report.given_split_layout ? "raw/<class>"
                          : options.keep_given_split ? "raw/{train,val}/<class>, val/ kept as the test set"
                                                     : "raw/{train,val}/<class>, pooled");
  for (const auto& name : report.class_names) {
    const auto& counts = report.per_class.at(name);
    log::info("  {:<20} {:>6} images: {:>5} test, per fold {} train / {} val", name, counts.images, counts.test,
              fmt::join(counts.fold_train, ","), fmt::join(counts.fold_val, ","));
  }
  if (!report.skipped_files.empty()) {
    log::warning("Skipped {} file(s) without an extension OpenCV decodes (jpg jpeg png bmp webp tif tiff ppm pgm):",
                 report.skipped_files.size());
    for (const auto& path : report.skipped_files) log::warning("  {}", path);
  }
  for (const auto& path : report.written_files) log::debug("wrote {}", path);
}

}  // namespace ml_split

int ml_split_main(int argc, char** argv) {
  using namespace ml_split;
  CLI::App app{
      "ml-split: stratified k-fold cross-validation splits plus a held-out test set.\n\n"
      "Two raw layouts are understood:\n"
      "  raw/<class>/*.jpg                    every image is pooled, a test_ratio share of each class\n"
      "                                       becomes test.txt and the rest is split into the folds\n"
      "  raw/train/<class>, raw/val/<class>   (hymenoptera style) by default pooled exactly as above;\n"
      "                                       with --keep_given_split, train/ makes the folds and val/\n"
      "                                       becomes test.txt unchanged (--test_ratio is ignored)\n\n"
      "Writes fold_<k>_train.txt, fold_<k>_val.txt (k = 0..folds-1) and test.txt, one path per line\n"
      "relative to the raw folder. Files without an extension OpenCV decodes (GIF included) are\n"
      "skipped and reported.\n"
      "The same input and seed always give byte-identical files."};
  std::string raw_dir, output_dir;
  data::SplitOptions options;
  cli::CommonOptions common;
  app.add_option("--raw_data", raw_dir, "The dataset's raw folder, e.g. data/<name>/raw")->required()->check(CLI::ExistingDirectory);
  app.add_option("--folds", options.folds, "Number of cross-validation folds")->capture_default_str()->check(CLI::Range(2, 100));
  app.add_option("--test_ratio", options.test_ratio, "Share of each class held out for test.txt")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--seed", options.seed, "Seed of the shuffles")->capture_default_str();
  app.add_flag("--keep_given_split", options.keep_given_split,
               "With raw/train + raw/val: use val/ as the test set instead of pooling (default: pool)");
  app.add_option("--output_dir", output_dir, "Where to write the index files (default: splits/ next to the raw folder)");
  cli::add_common_options(app, common);

  return cli::run(app, common, argc, argv, [&]() -> int {
    if (output_dir.empty()) {
      auto raw = std::filesystem::path(raw_dir).lexically_normal();
      if (!raw.has_filename()) raw = raw.parent_path();  // "raw/" has an empty last component
      output_dir = (raw.parent_path() / "splits").string();
    }
    const auto report = data::split_dataset(raw_dir, output_dir, options);
    log_report(report, options);
    log::success("✓ Wrote {} folds and test.txt to {}", options.folds, output_dir);
    return 0;
  });
}

}  // namespace mltk::cli
