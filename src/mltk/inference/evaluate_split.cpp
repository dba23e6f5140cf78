#include "mltk/inference/evaluate_split.h"

#include "mltk/data/data_loader.h"
#include "mltk/pipeline/dataset.h"
#include "mltk/pipeline/transform_options.h"

#include <torch/torch.h>

namespace mltk::inference {

SplitEvaluation evaluate_split(const pipeline::ForwardFn& forward, const config::Config& config, const std::string& split_file,
                               const std::vector<std::string>& class_names, int64_t batch_size) {
  const auto layout = pipeline::dataset_layout(config);
  data::LoaderOptions options;
  options.batch_size = batch_size;
  options.num_workers = config.data.num_workers;
  SplitEvaluation out;
  out.split_file = split_file;
  out.samples = pipeline::load_split(layout, split_file, class_names);
  data::DataLoader loader(out.samples, std::make_shared<const data::EvalTransform>(pipeline::eval_transform_options(config)),
                          options);
  out.predictions = pipeline::predict(forward, loader);
  out.report = make_report(out.predictions.labels, out.predictions.predicted, class_names);
  return out;
}

pipeline::ForwardFn onnx_forward(runtime::OnnxRunner& runner) {
  return [&runner](const torch::Tensor& images) {
    std::vector<torch::Tensor> rows;
    for (int64_t i = 0; i < images.size(0); ++i) rows.push_back(runner.run({images.narrow(0, i, 1).contiguous()}).at(0));
    return torch::cat(rows);
  };
}

}  // namespace mltk::inference
