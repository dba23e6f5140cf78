#include "mltk/onnx_export/model_writer.h"

#include "mltk/common/atomic_file.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/wire_format_lite.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <filesystem>
#include <stdexcept>
#include <utility>

namespace mltk::onnx_export {
namespace {

void declare_tensor(onnx::ValueInfoProto& info, const GraphIo& io) {
  info.set_name(io.name);
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx_data_type(io.dtype));
  auto* dims = tensor->mutable_shape();
  for (size_t i = 0; i < io.shape.size(); ++i) {
    if (const auto symbolic = io.symbolic_dims.find(i); symbolic != io.symbolic_dims.end())
      dims->add_dim()->set_dim_param(symbolic->second);
    else
      dims->add_dim()->set_dim_value(io.shape[i]);
  }
}

bool holds_data(const onnx::TensorProto& tensor) {
  return !tensor.raw_data().empty() || tensor.float_data_size() > 0 || tensor.int32_data_size() > 0 ||
         tensor.string_data_size() > 0 || tensor.int64_data_size() > 0 || tensor.double_data_size() > 0 ||
         tensor.uint64_data_size() > 0 || tensor.data_location() == onnx::TensorProto::EXTERNAL;
}

// The checks below see a deferred initializer's name, type and dims only; what they cannot see of
// its data, its type, shape and layout, is checked here.
void require_deferred_data_fits(const onnx::GraphProto& graph, const DeferredInitializers& deferred) {
  for (const auto& initializer : graph.initializer()) {
    const auto found = deferred.find(initializer.name());
    if (found == deferred.end()) continue;
    const auto& data = found->second;
    const std::vector<int64_t> dims(initializer.dims().begin(), initializer.dims().end());
    if (holds_data(initializer) || !data.device().is_cpu() || !data.is_contiguous() ||
        initializer.data_type() != onnx_data_type(data.scalar_type()) || data.sizes().vec() != dims)
      throw std::logic_error("initializer '" + initializer.name() + "' does not match the tensor holding its data");
  }
}

// onnx 1.12's checker asks which data field of an initializer is filled, never how many bytes it
// holds or what they are, and shape inference reads initializer values only where an operator takes
// a shape-like input (Reshape, Slice, ...), which the exporter always feeds from Constant nodes. So a
// one-byte stand-in for each deferred initializer's data lets both run exactly as on the written
// model without copying the weights into it; a stand-in read as a value would fail inference, not
// pass it. require_deferred_data_fits checks the real data.
class StandInData {
 public:
  StandInData(onnx::GraphProto& graph, const DeferredInitializers& deferred) {
    for (auto& initializer : *graph.mutable_initializer()) {
      if (!deferred.count(initializer.name())) continue;
      initializer.set_raw_data(std::string(1, '\0'));
      filled_.push_back(&initializer);
    }
  }
  ~StandInData() {
    for (auto* initializer : filled_) initializer->clear_raw_data();
  }
  StandInData(const StandInData&) = delete;
  StandInData& operator=(const StandInData&) = delete;

 private:
  std::vector<onnx::TensorProto*> filled_;
};

using google::protobuf::io::CodedOutputStream;
using google::protobuf::internal::WireFormatLite;

// Copies of `message` holding only its fields numbered below `field` (first) and above it (second).
template <typename Message>
std::pair<Message, Message> split_around_field(const Message& message, int field) {
  std::pair<Message, Message> parts{message, message};
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* candidate = descriptor->field(i);
    if (candidate->number() >= field) reflection->ClearField(&parts.first, candidate);
    if (candidate->number() <= field) reflection->ClearField(&parts.second, candidate);
  }
  return parts;
}

size_t length_delimited_size(int field, size_t length) {
  return CodedOutputStream::VarintSize32(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) +
         CodedOutputStream::VarintSize64(length) + length;
}

void write_length_delimited_header(CodedOutputStream& out, int field, size_t length) {
  out.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  out.WriteVarint64(length);
}

// An initializer as written: the fields around raw_data, with raw_data taken from a deferred tensor.
struct SplicedInitializer {
  onnx::TensorProto below_data, above_data;
  at::Tensor data;  // undefined: the initializer is not deferred and below_data holds all of it

  size_t byte_size() const {
    const size_t data_size =
        data.defined() ? length_delimited_size(onnx::TensorProto::kRawDataFieldNumber, data.nbytes()) : 0;
    return below_data.ByteSizeLong() + data_size + above_data.ByteSizeLong();
  }
  void write(CodedOutputStream& out) const {
    below_data.SerializePartialToCodedStream(&out);
    if (data.defined()) {
      write_length_delimited_header(out, onnx::TensorProto::kRawDataFieldNumber, data.nbytes());
      out.WriteRawMaybeAliased(data.data_ptr(), static_cast<int>(data.nbytes()));
    }
    above_data.SerializePartialToCodedStream(&out);
  }
};

SplicedInitializer splice(const onnx::TensorProto& initializer, const DeferredInitializers& deferred) {
  const auto found = deferred.find(initializer.name());
  if (found == deferred.end()) return {initializer, {}, {}};
  auto [below, above] = split_around_field(initializer, onnx::TensorProto::kRawDataFieldNumber);
  return {std::move(below), std::move(above), found->second};
}

// Protobuf writes the fields of a message in field-number order. Writing the model's fields below
// the graph, the graph's fields below its initializers, each initializer with its deferred data
// spliced in, then the fields above the initializers and above the graph, each message prefixed by
// its length, therefore gives byte for byte what serializing the model with the data filled in
// would, while the weights go from the tensors to the file without an intermediate copy.
class SplicedModel {
 public:
  SplicedModel(const onnx::ModelProto& model, const DeferredInitializers& deferred) {
    std::tie(model_below_graph_, model_above_graph_) = split_around_field(model, onnx::ModelProto::kGraphFieldNumber);
    std::tie(graph_below_initializers_, graph_above_initializers_) =
        split_around_field(model.graph(), onnx::GraphProto::kInitializerFieldNumber);
    for (const auto& initializer : model.graph().initializer()) initializers_.push_back(splice(initializer, deferred));
    // Protobuf sizes are ints: a larger file could be written but not read.
    const size_t size = model_below_graph_.ByteSizeLong() +
                        length_delimited_size(onnx::ModelProto::kGraphFieldNumber, graph_size()) +
                        model_above_graph_.ByteSizeLong();
    if (size > static_cast<size_t>(INT_MAX))
      throw std::runtime_error("the model takes " + std::to_string(size) +
                               " bytes, more than the 2 GiB an ONNX file without external data can hold");
  }

  void write(CodedOutputStream& out) const {
    model_below_graph_.SerializePartialToCodedStream(&out);
    write_length_delimited_header(out, onnx::ModelProto::kGraphFieldNumber, graph_size());
    graph_below_initializers_.SerializePartialToCodedStream(&out);
    for (const auto& initializer : initializers_) {
      write_length_delimited_header(out, onnx::GraphProto::kInitializerFieldNumber, initializer.byte_size());
      initializer.write(out);
    }
    graph_above_initializers_.SerializePartialToCodedStream(&out);
    model_above_graph_.SerializePartialToCodedStream(&out);
  }

 private:
  size_t graph_size() const {
    size_t size = graph_below_initializers_.ByteSizeLong() + graph_above_initializers_.ByteSizeLong();
    for (const auto& initializer : initializers_)
      size += length_delimited_size(onnx::GraphProto::kInitializerFieldNumber, initializer.byte_size());
    return size;
  }

  onnx::ModelProto model_below_graph_, model_above_graph_;
  onnx::GraphProto graph_below_initializers_, graph_above_initializers_;
  std::vector<SplicedInitializer> initializers_;
};

// Writes to a file descriptor and has the kernel start writing each stretch to disk right away, so
// that the fsync before the rename finds most of a large model on disk already instead of waiting
// for all of it.
class EagerWritebackStream : public google::protobuf::io::CopyingOutputStream {
 public:
  explicit EagerWritebackStream(int fd) : fd_(fd) {}

  bool Write(const void* buffer, int size) override {
    const auto* bytes = static_cast<const char*>(buffer);
    while (size > 0) {
      const ssize_t written = ::write(fd_, bytes, std::min(size, kWritebackStretchBytes));
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        error_ = written < 0 ? errno : EIO;
        return false;
      }
      ::sync_file_range(fd_, offset_, written, SYNC_FILE_RANGE_WRITE);  // only a hint: fsync follows
      offset_ += written;
      bytes += written;
      size -= static_cast<int>(written);
    }
    return true;
  }
  // The errno value of the write that failed, 0 while none has.
  int error() const { return error_; }

 private:
  static constexpr int kWritebackStretchBytes = 32 << 20;
  int fd_;
  int error_ = 0;
  off_t offset_ = 0;
};

// Large blocks keep the number of write() calls small; the deferred data bypasses them (aliasing).
constexpr int kWriteBlockBytes = 1 << 20;

// Returns 0 or the errno value of the write that failed.
int write_spliced_model(const SplicedModel& model, int fd) {
  EagerWritebackStream stream(fd);
  google::protobuf::io::CopyingOutputStreamAdaptor file(&stream, kWriteBlockBytes);
  bool written = true;
  {
    CodedOutputStream out(&file);
    out.EnableAliasing(true);
    model.write(out);
    out.Trim();
    written = !out.HadError();
  }
  written = file.Flush() && written;
  if (written) return 0;
  return stream.error() != 0 ? stream.error() : EIO;
}

}  // namespace

void declare_graph_io(onnx::GraphProto& graph, const std::vector<GraphIo>& inputs, const std::vector<GraphIo>& outputs) {
  graph.clear_input();
  graph.clear_output();
  for (const auto& input : inputs) declare_tensor(*graph.add_input(), input);
  for (const auto& output : outputs) declare_tensor(*graph.add_output(), output);
}

int64_t ir_version_for_opset(int opset) {
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  return 8;
}

onnx::ModelProto build_model(onnx::GraphProto graph, int opset, const std::map<std::string, std::string>& metadata) {
  onnx::ModelProto model;
  model.set_ir_version(ir_version_for_opset(opset));
  model.set_producer_name("mltk");
  model.set_producer_version(MLTK_VERSION);
  auto* opset_import = model.add_opset_import();
  opset_import->set_domain("");
  opset_import->set_version(opset);
  for (const auto& [key, value] : metadata) {
    auto* entry = model.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  *model.mutable_graph() = std::move(graph);
  return model;
}

void validate_model(onnx::ModelProto& model, const DeferredInitializers& deferred) {
  require_deferred_data_fits(model.graph(), deferred);
  const StandInData stand_in(*model.mutable_graph(), deferred);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& error) {
    throw std::runtime_error(std::string("the exported model fails onnx::checker::check_model: ") + error.what());
  }
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& error) {
    throw std::runtime_error(std::string("the exported model fails strict ONNX shape inference: ") + error.what());
  }
}

void write_model_atomically(const onnx::ModelProto& model, const std::string& path,
                            const DeferredInitializers& deferred) {
  require_deferred_data_fits(model.graph(), deferred);
  const SplicedModel spliced(model, deferred);
  const auto target = std::filesystem::absolute(path);
  if (!target.parent_path().empty()) std::filesystem::create_directories(target.parent_path());
  write_file_atomically(target.string(), [&spliced](int fd) { return write_spliced_model(spliced, fd); });
}

}  // namespace mltk::onnx_export
