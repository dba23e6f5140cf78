#include "mltk/checkpoint/torch_file_reader.h"

#include "mltk/checkpoint/zip_checksums.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

namespace mltk::checkpoint {
namespace {

// A pickle stack entry: either a value, a MARK, or a reference to a Python global (a callable).
struct StackItem {
  enum class Kind { value, mark, global } kind = Kind::value;
  c10::IValue value;
  std::string global;  // "module.name" when kind == global
};

c10::ScalarType storage_dtype(const std::string& storage_type) {
  static const std::map<std::string, c10::ScalarType> types = {
      {"torch.FloatStorage", c10::kFloat},   {"torch.DoubleStorage", c10::kDouble},
      {"torch.HalfStorage", c10::kHalf},     {"torch.BFloat16Storage", c10::kBFloat16},
      {"torch.LongStorage", c10::kLong},     {"torch.IntStorage", c10::kInt},
      {"torch.ShortStorage", c10::kShort},   {"torch.CharStorage", c10::kChar},
      {"torch.ByteStorage", c10::kByte},     {"torch.BoolStorage", c10::kBool},
  };
  auto it = types.find(storage_type);
  if (it == types.end()) throw std::runtime_error("unsupported tensor storage type " + storage_type);
  return it->second;
}

void verify_checksum(const std::map<std::string, uint32_t>& checksums, const std::string& record, const void* data,
                     size_t size) {
  auto it = checksums.find(record);
  if (it != checksums.end() && it->second != crc32_of(data, size))
    throw std::runtime_error("record '" + record + "' is corrupted (checksum mismatch)");
}

std::vector<int64_t> to_int_vector(const c10::IValue& value) {
  std::vector<int64_t> out;
  for (const auto& element : value.toTupleRef().elements()) out.push_back(element.toInt());
  return out;
}

class Unpickler {
 public:
  Unpickler(const std::string& bytes, caffe2::serialize::PyTorchStreamReader& archive,
            const std::map<std::string, uint32_t>& checksums)
      : bytes_(bytes), archive_(archive), checksums_(checksums) {}

  c10::IValue run() {
    while (true) {
      const uint8_t opcode = read_u8();
      if (opcode == '.') break;
      step(opcode);
    }
    if (stack_.size() != 1 || stack_.back().kind != StackItem::Kind::value)
      throw std::runtime_error("malformed pickle: the stack does not hold exactly one object at STOP");
    return stack_.back().value;
  }

 private:
  void step(uint8_t opcode) {
    switch (opcode) {
      case 0x80: read_u8(); return;            // PROTO
      case 0x95: read_bytes(8); return;        // FRAME (protocol 4 framing carries no data)
      case '(': stack_.push_back({StackItem::Kind::mark, {}, {}}); return;
      case 'N': push(c10::IValue()); return;
      case 0x88: push(true); return;
      case 0x89: push(false); return;
      case 'K': push(static_cast<int64_t>(read_u8())); return;
      case 'M': push(static_cast<int64_t>(read_le<uint16_t>())); return;
      case 'J': push(static_cast<int64_t>(read_le<int32_t>())); return;
      case 0x8a: push(read_long1()); return;
      case 'G': push(read_be_double()); return;
      case 'X': push(read_bytes(read_le<uint32_t>())); return;
      case 0x8c: push(read_bytes(read_u8())); return;
      case 0x8d: push(read_bytes(read_le<uint64_t>())); return;
      case 'U': case 'C': push(read_bytes(read_u8())); return;
      case 'T': case 'B': push(read_bytes(read_le<uint32_t>())); return;
      case ')': push(c10::ivalue::Tuple::create({})); return;
      case 0x85: make_tuple(1); return;
      case 0x86: make_tuple(2); return;
      case 0x87: make_tuple(3); return;
      case 't': make_tuple(stack_.size() - last_mark() - 1, /*pop_mark=*/true); return;
      case ']': push(c10::impl::GenericList(c10::AnyType::get())); return;
      case 'l': push(c10::impl::GenericList(c10::AnyType::get())); append_from_mark(); return;
      case 'a': append(1); return;
      case 'e': append_from_mark(); return;
      case '}': push(new_dict()); return;
      case 'd': push(new_dict()); set_items_from_mark(); return;
      case 's': set_items(1); return;
      case 'u': set_items_from_mark(); return;
      case 'q': memo_[read_u8()] = stack_.back(); return;
      case 'r': memo_[read_le<uint32_t>()] = stack_.back(); return;
      case 0x94: memo_[memo_.size()] = stack_.back(); return;
      case 'h': push_memo(read_u8()); return;
      case 'j': push_memo(read_le<uint32_t>()); return;
      case 'c': {
        std::string module = read_line();
        std::string name = read_line();
        stack_.push_back({StackItem::Kind::global, {}, module + "." + name});
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        std::string name = pop_value().toStringRef();
        std::string module = pop_value().toStringRef();
        stack_.push_back({StackItem::Kind::global, {}, module + "." + name});
        return;
      }
      case 'R': reduce(); return;
      case 0x81: reduce(); return;  // NEWOBJ: cls, args -> same handling as REDUCE for our globals
      case 'b': pop_value(); return;  // BUILD: instance state (OrderedDict._metadata); not needed
      case 'Q': push(persistent_load(pop_value())); return;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", opcode);
        throw std::runtime_error(std::string("unsupported pickle opcode ") + hex + " at byte " +
                                 std::to_string(position_ - 1));
      }
    }
  }

  // ----- reading primitives
  uint8_t read_u8() {
    if (position_ >= bytes_.size()) throw std::runtime_error("pickle data ends unexpectedly (truncated file?)");
    return static_cast<uint8_t>(bytes_[position_++]);
  }
  std::string read_bytes(size_t count) {
    if (count > bytes_.size() - position_) throw std::runtime_error("pickle data ends unexpectedly (truncated file?)");
    std::string out = bytes_.substr(position_, count);
    position_ += count;
    return out;
  }
  template <typename T>
  T read_le() {
    std::string raw = read_bytes(sizeof(T));
    T value;
    std::memcpy(&value, raw.data(), sizeof(T));  // pickle is little-endian, as is every target we build for
    return value;
  }
  double read_be_double() {
    std::string raw = read_bytes(8);
    std::reverse(raw.begin(), raw.end());
    double value;
    std::memcpy(&value, raw.data(), 8);
    return value;
  }
  int64_t read_long1() {
    const uint8_t size = read_u8();
    if (size > 8) throw std::runtime_error("pickle integer wider than 64 bits");
    std::string raw = read_bytes(size);
    uint64_t value = 0;
    for (size_t i = 0; i < size; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(raw[i])) << (8 * i);
    if (size > 0 && size < 8 && (raw[size - 1] & 0x80)) value |= ~uint64_t{0} << (8 * size);  // sign-extend
    return static_cast<int64_t>(value);
  }
  std::string read_line() {
    const size_t end = bytes_.find('\n', position_);
    if (end == std::string::npos) throw std::runtime_error("pickle data ends unexpectedly (truncated file?)");
    std::string line = bytes_.substr(position_, end - position_);
    position_ = end + 1;
    return line;
  }

  // ----- stack helpers
  void push(c10::IValue value) { stack_.push_back({StackItem::Kind::value, std::move(value), {}}); }
  void push_memo(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) throw std::runtime_error("malformed pickle: memo key " + std::to_string(key) + " unset");
    stack_.push_back(it->second);
  }
  StackItem pop() {
    if (stack_.empty()) throw std::runtime_error("malformed pickle: stack underflow");
    StackItem item = std::move(stack_.back());
    stack_.pop_back();
    return item;
  }
  c10::IValue pop_value() {
    StackItem item = pop();
    if (item.kind != StackItem::Kind::value) throw std::runtime_error("malformed pickle: expected a value");
    return item.value;
  }
  // Inside tuples a global stands for a type (the storage type of a tensor); its name suffices.
  c10::IValue pop_as_value() {
    StackItem item = pop();
    if (item.kind == StackItem::Kind::global) return item.global;
    if (item.kind == StackItem::Kind::mark) throw std::runtime_error("malformed pickle: unexpected MARK");
    return item.value;
  }
  size_t last_mark() const {
    for (size_t i = stack_.size(); i-- > 0;)
      if (stack_[i].kind == StackItem::Kind::mark) return i;
    throw std::runtime_error("malformed pickle: MARK not found");
  }
  c10::IValue& top_value(size_t index) {
    if (stack_[index].kind != StackItem::Kind::value) throw std::runtime_error("malformed pickle: expected a value");
    return stack_[index].value;
  }
  static c10::IValue new_dict() { return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()); }

  void make_tuple(size_t count, bool pop_mark = false) {
    std::vector<c10::IValue> elements(count);
    for (size_t i = count; i-- > 0;) elements[i] = pop_as_value();
    if (pop_mark) pop();
    push(c10::ivalue::Tuple::create(std::move(elements)));
  }
  void append(size_t count) {
    const size_t first = stack_.size() - count;
    auto list = top_value(first - 1).toList();
    for (size_t i = first; i < stack_.size(); ++i) list.push_back(top_value(i));
    stack_.resize(first);
  }
  void append_from_mark() {
    const size_t mark = last_mark();
    stack_.erase(stack_.begin() + mark);
    append(stack_.size() - mark);
  }
  void set_items(size_t pairs) {
    const size_t first = stack_.size() - 2 * pairs;
    auto& target = top_value(first - 1);
    if (!target.isGenericDict()) throw std::runtime_error("malformed pickle: SETITEM on a non-dict");
    auto dict = target.toGenericDict();
    for (size_t i = first; i < stack_.size(); i += 2) dict.insert_or_assign(top_value(i), top_value(i + 1));
    stack_.resize(first);
  }
  void set_items_from_mark() {
    const size_t mark = last_mark();
    stack_.erase(stack_.begin() + mark);
    set_items((stack_.size() - mark) / 2);
  }

  // ----- Python objects torch.save emits
  void reduce() {
    auto args = pop_value();
    StackItem callable = pop();
    if (callable.kind != StackItem::Kind::global) throw std::runtime_error("malformed pickle: REDUCE without a global");
    const auto& elements = args.toTupleRef().elements();
    const std::string& name = callable.global;
    if (name == "collections.OrderedDict") {
      push(new_dict());
    } else if (name == "torch._utils._rebuild_tensor_v2") {
      const at::Tensor storage = elements.at(0).toTensor();
      push(storage.as_strided(to_int_vector(elements.at(2)), to_int_vector(elements.at(3)), elements.at(1).toInt()));
    } else if (name == "torch._utils._rebuild_parameter") {
      push(elements.at(0));
    } else if (name.rfind("torch.jit._pickle.", 0) == 0) {
      // LibTorch's own writer tags typed containers (restore_type_tag, build_intlist, ...); the
      // wrapped container is the value.
      push(elements.at(0));
    } else {
      throw std::runtime_error("unsupported Python object '" + name +
                               "' (only tensors, containers, numbers and strings can be read)");
    }
  }

  // ('storage', storage_type, key, location, numel): the tensor bytes live in record data/<key>.
  c10::IValue persistent_load(const c10::IValue& pid) {
    const auto& elements = pid.toTupleRef().elements();
    if (elements.size() < 5 || elements[0].toStringRef() != "storage")
      throw std::runtime_error("unsupported persistent id in pickle");
    const std::string key = elements[2].toStringRef();
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const c10::ScalarType dtype = storage_dtype(elements[1].toStringRef());
    const int64_t numel = elements[4].toInt();
    const std::string record = "data/" + key;
    if (!archive_.hasRecord(record)) throw std::runtime_error("tensor record '" + record + "' is missing");
    auto [data, size] = archive_.getRecord(record);
    verify_checksum(checksums_, record, data.get(), size);
    const size_t expected = static_cast<size_t>(numel) * c10::elementSize(dtype);
    if (size < expected)
      throw std::runtime_error("tensor record '" + record + "' holds " + std::to_string(size) + " bytes, expected " +
                               std::to_string(expected));
    // The record's buffer (from LibTorch's CPU allocator, so suitably aligned) becomes the tensor's
    // storage: the weights are not copied once more.
    c10::Storage storage(c10::Storage::use_byte_size_t(), size, std::move(data), /*allocator=*/nullptr,
                         /*resizable=*/false);
    at::Tensor tensor = at::empty({0}, at::TensorOptions().dtype(dtype)).set_(storage, 0, {numel}, {1});
    storages_.emplace(key, tensor);
    return tensor;
  }

  const std::string& bytes_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  const std::map<std::string, uint32_t>& checksums_;
  size_t position_ = 0;
  std::vector<StackItem> stack_;
  std::unordered_map<uint64_t, StackItem> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;
};

}  // namespace

c10::IValue read_torch_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw TorchFileError(path + ": file not found");
  try {
    const auto checksums = read_zip_checksums(path);
    caffe2::serialize::PyTorchStreamReader archive(path);
    auto [data, size] = archive.getRecord("data.pkl");
    verify_checksum(checksums, "data.pkl", data.get(), size);
    std::string bytes(static_cast<const char*>(data.get()), size);
    Unpickler unpickler(bytes, archive, checksums);
    return unpickler.run();
  } catch (const TorchFileError&) {
    throw;
  } catch (const std::exception& e) {
    std::string reason = e.what();
    reason = reason.substr(0, reason.find('\n'));  // c10 errors append a backtrace
    throw TorchFileError(path + ": not a readable torch.save file (" + reason + ")");
  }
}

}  // namespace mltk::checkpoint
