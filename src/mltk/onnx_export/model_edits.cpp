#include "mltk/onnx_export/model_edits.h"

#include "mltk/onnx_export/model_writer.h"
#include "mltk/runtime/onnx_model_loader.h"

#include <filesystem>

namespace mltk::onnx_export {

void set_metadata(onnx::ModelProto& model, const std::map<std::string, std::string>& entries) {
  for (const auto& [key, value] : entries) {
    onnx::StringStringEntryProto* entry = nullptr;
    for (auto& existing : *model.mutable_metadata_props())
      if (existing.key() == key) entry = &existing;
    if (entry == nullptr) {
      entry = model.add_metadata_props();
      entry->set_key(key);
    }
    entry->set_value(value);
  }
}

void fix_batch_dimension(onnx::GraphProto& graph, int64_t batch) {
  for (auto* values : {graph.mutable_input(), graph.mutable_output()})
    for (auto& value : *values) {
      auto* shape = value.mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() > 0) shape->mutable_dim(0)->set_dim_value(batch);
    }
}

int64_t write_rewritten_model(onnx::ModelProto& model, const std::string& output_path,
                              std::optional<int64_t> fixed_batch, const std::map<std::string, std::string>& metadata) {
  if (fixed_batch) fix_batch_dimension(*model.mutable_graph(), *fixed_batch);
  set_metadata(model, metadata);
  validate_model(model);
  write_model_atomically(model, output_path);
  return static_cast<int64_t>(std::filesystem::file_size(output_path));
}

void update_onnx_metadata(const std::string& path, const std::map<std::string, std::string>& entries) {
  auto model = runtime::load_onnx_model(path);
  set_metadata(model, entries);
  write_model_atomically(model, path);
}

}  // namespace mltk::onnx_export
