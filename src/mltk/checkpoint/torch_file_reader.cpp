#include "mltk/checkpoint/torch_file_reader.h"

#include "mltk/checkpoint/zip_checksums.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
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

using ZipRecords = std::map<std::string, ZipRecord>;

// Real checkpoints nest a handful of levels (checkpoint -> optimizer state -> parameter -> tensor).
// The limit keeps the recursive destruction of nested values (and every reader of them) far from
// the end of the thread's stack, whatever the file holds.
constexpr size_t kMaxNesting = 256;

void verify_checksum(const ZipRecords& records, const std::string& record, const void* data, size_t size) {
  auto it = records.find(record);
  if (it != records.end() && it->second.crc32 != crc32_of(data, size))
    throw std::runtime_error("record '" + record + "' is corrupted (checksum mismatch)");
}

// torch.save stores records uncompressed, so none can be larger than the file: a larger claim is
// refused before the archive reader allocates a buffer of that size.
void check_record_size(const ZipRecords& records, const std::string& record, uintmax_t file_size) {
  auto it = records.find(record);
  if (it != records.end() && it->second.size > file_size)
    throw std::runtime_error("record '" + record + "' claims " + std::to_string(it->second.size) +
                             " bytes, more than the whole file holds (" + std::to_string(file_size) + ")");
}

[[noreturn]] void malformed(const std::string& problem) { throw std::runtime_error("malformed pickle: " + problem); }

std::vector<c10::IValue> tuple_elements(const c10::IValue& value, const char* what) {
  if (!value.isTuple()) malformed(std::string(what) + " is not a tuple");
  return value.toTupleRef().elements().vec();
}

std::vector<int64_t> to_int_vector(const c10::IValue& value, const char* what) {
  std::vector<int64_t> out;
  for (const auto& element : tuple_elements(value, what)) {
    if (!element.isInt()) malformed(std::string(what) + " holds a non-integer");
    out.push_back(element.toInt());
  }
  return out;
}

const std::string& string_of(const c10::IValue& value, const char* what) {
  if (!value.isString()) malformed(std::string(what) + " is not a string");
  return value.toStringRef();
}

// The largest element index a view reaches, checked against the storage before the view is made:
// as_strided itself trusts its arguments.
void check_view_fits(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides, int64_t offset,
                     int64_t storage_numel) {
  if (sizes.size() != strides.size())
    malformed("a tensor has " + std::to_string(sizes.size()) + " sizes but " + std::to_string(strides.size()) +
              " strides");
  if (offset < 0) malformed("a tensor has a negative storage offset");
  int64_t numel = 1, last = offset;
  bool empty = false;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0 || strides[i] < 0) malformed("a tensor has a negative size or stride");
    if (sizes[i] == 0) empty = true;
    int64_t reach = 0;
    if (__builtin_mul_overflow(numel, sizes[i], &numel) ||
        (sizes[i] > 0 && (__builtin_mul_overflow(sizes[i] - 1, strides[i], &reach) ||
                          __builtin_add_overflow(last, reach, &last))))
      malformed("a tensor's sizes and strides overflow 64-bit indexing");
  }
  if (empty ? offset > storage_numel : last >= storage_numel)
    malformed("a tensor's sizes, strides and offset reach past its storage of " + std::to_string(storage_numel) +
              " elements");
}

class Unpickler {
 public:
  Unpickler(const std::string& bytes, caffe2::serialize::PyTorchStreamReader& archive, const ZipRecords& records,
            uintmax_t file_size)
      : bytes_(bytes), archive_(archive), records_(records), file_size_(file_size) {}

  c10::IValue run() {
    while (true) {
      const uint8_t opcode = read_u8();
      if (opcode == '.') break;
      step(opcode);
    }
    if (stack_.size() != 1 || stack_.back().kind != StackItem::Kind::value)
      malformed("the stack does not hold exactly one object at STOP");
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
      case ')': push(make_tuple({})); return;
      case 0x85: push(make_tuple(pop_values(1))); return;
      case 0x86: push(make_tuple(pop_values(2))); return;
      case 0x87: push(make_tuple(pop_values(3))); return;
      case 't': push(make_tuple(pop_to_mark())); return;
      case ']': push(new_list()); return;
      case 'l': {
        auto items = pop_to_mark();
        push(new_list());
        append(std::move(items));
        return;
      }
      case 'a': append(pop_values(1)); return;
      case 'e': append(pop_to_mark()); return;
      case '}': push(new_dict()); return;
      case 'd': {
        auto items = pop_to_mark();
        push(new_dict());
        set_items(std::move(items));
        return;
      }
      case 's': set_items(pop_values(2)); return;
      case 'u': set_items(pop_to_mark()); return;
      case 'q': memoize(read_u8()); return;
      case 'r': memoize(read_le<uint32_t>()); return;
      case 0x94: memoize(memo_.size()); return;
      case 'h': push_memo(read_u8()); return;
      case 'j': push_memo(read_le<uint32_t>()); return;
      case 'c': {
        std::string module = read_line();
        std::string name = read_line();
        stack_.push_back({StackItem::Kind::global, {}, module + "." + name});
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        std::string name = string_of(pop_value(), "a STACK_GLOBAL name");
        std::string module = string_of(pop_value(), "a STACK_GLOBAL module");
        stack_.push_back({StackItem::Kind::global, {}, module + "." + name});
        return;
      }
      case 'R': reduce(); return;
      case 0x81: reduce(); return;  // NEWOBJ: cls, args -> same handling as REDUCE for our globals
      case 'b':  // BUILD: instance state (OrderedDict._metadata); not needed
        pop_value();
        if (stack_.empty()) malformed("BUILD without an object");
        return;
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
  std::string read_bytes(uint64_t count) {
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

  // ----- stack and memo: every operation checks what it takes from them
  void push(c10::IValue value) { stack_.push_back({StackItem::Kind::value, std::move(value), {}}); }
  void memoize(uint64_t key) {
    if (stack_.empty()) malformed("PUT on an empty stack");
    if (stack_.back().kind == StackItem::Kind::mark) malformed("PUT of a MARK");
    memo_[key] = stack_.back();
  }
  void push_memo(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) malformed("memo key " + std::to_string(key) + " unset");
    stack_.push_back(it->second);
  }
  StackItem pop() {
    if (stack_.empty()) malformed("stack underflow");
    StackItem item = std::move(stack_.back());
    stack_.pop_back();
    return item;
  }
  // Inside tuples a global stands for a type (the storage type of a tensor); its name suffices.
  static c10::IValue as_value(StackItem item) {
    if (item.kind == StackItem::Kind::global) return item.global;
    if (item.kind == StackItem::Kind::mark) malformed("unexpected MARK");
    return std::move(item.value);
  }
  c10::IValue pop_value() {
    StackItem item = pop();
    if (item.kind != StackItem::Kind::value) malformed("expected a value");
    return std::move(item.value);
  }
  std::vector<c10::IValue> pop_values(size_t count) {
    if (count > stack_.size()) malformed("stack underflow");
    std::vector<c10::IValue> values;
    for (size_t i = stack_.size() - count; i < stack_.size(); ++i) values.push_back(as_value(std::move(stack_[i])));
    stack_.resize(stack_.size() - count);
    return values;
  }
  std::vector<c10::IValue> pop_to_mark() {
    size_t mark = stack_.size();
    while (mark > 0 && stack_[mark - 1].kind != StackItem::Kind::mark) --mark;
    if (mark == 0) malformed("MARK not found");
    auto values = pop_values(stack_.size() - mark);
    stack_.pop_back();  // the MARK
    return values;
  }
  c10::IValue& top_value() {
    if (stack_.empty() || stack_.back().kind != StackItem::Kind::value) malformed("expected a value");
    return stack_.back().value;
  }

  // ----- containers: each is filled before it is placed in another, as Python's pickler writes
  // them; refusing to fill one afterwards rules out cycles and keeps the recorded depths exact.
  struct Container {
    size_t depth = 1;
    bool placed = false;
  };
  static bool is_container(const c10::IValue& value) {
    return value.isList() || value.isGenericDict() || value.isTuple();
  }
  c10::IValue track(c10::IValue container) {
    containers_.emplace(container.internalToPointer(), Container{});
    alive_.push_back(container);  // keeps addresses unique while they are keys of containers_
    return container;
  }
  Container& container_of(const c10::IValue& value) {
    auto it = containers_.find(value.internalToPointer());
    if (it == containers_.end()) malformed("a container of unknown origin");
    return it->second;
  }
  void require_fillable(const c10::IValue& target) {
    if (container_of(target).placed)
      malformed("a container is modified after being placed in another (recursive structures are not supported)");
  }
  void place(const c10::IValue& parent, const c10::IValue& child) {
    if (!is_container(child)) return;
    if (child.internalToPointer() == parent.internalToPointer()) malformed("a container holds itself");
    Container& inner = container_of(child);
    inner.placed = true;
    Container& outer = container_of(parent);
    outer.depth = std::max(outer.depth, inner.depth + 1);
    if (outer.depth > kMaxNesting)
      throw std::runtime_error("values nest deeper than " + std::to_string(kMaxNesting) +
                               " levels, which no checkpoint does");
  }

  c10::IValue new_list() { return track(c10::impl::GenericList(c10::AnyType::get())); }
  c10::IValue new_dict() { return track(c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get())); }
  c10::IValue make_tuple(std::vector<c10::IValue> elements) {
    c10::IValue tuple = track(c10::ivalue::Tuple::create(elements));
    for (const auto& element : elements) place(tuple, element);
    return tuple;
  }
  void append(std::vector<c10::IValue> items) {
    c10::IValue& target = top_value();
    if (!target.isList()) malformed("APPEND on a non-list");
    require_fillable(target);
    auto list = target.toList();
    for (auto& item : items) {
      place(target, item);
      list.push_back(std::move(item));
    }
  }
  void set_items(std::vector<c10::IValue> items) {
    if (items.size() % 2 != 0) malformed("SETITEMS with a key but no value");
    c10::IValue& target = top_value();
    if (!target.isGenericDict()) malformed("SETITEM on a non-dict");
    require_fillable(target);
    auto dict = target.toGenericDict();
    for (size_t i = 0; i < items.size(); i += 2) {
      const c10::IValue& key = items[i];
      if (!key.isString() && !key.isInt() && !key.isBool() && !key.isDouble())
        malformed(std::string("a dict key of type ") + key.tagKind() + " (only strings and numbers are supported)");
      place(target, items[i + 1]);
      dict.insert_or_assign(key, items[i + 1]);
    }
  }

  // ----- Python objects torch.save emits
  void reduce() {
    auto args = pop_value();
    StackItem callable = pop();
    if (callable.kind != StackItem::Kind::global) malformed("REDUCE without a global");
    const auto elements = tuple_elements(args, "REDUCE's arguments");
    const std::string& name = callable.global;
    if (name == "collections.OrderedDict") {
      push(new_dict());
    } else if (name == "torch._utils._rebuild_tensor_v2") {
      if (elements.size() < 4 || !elements[0].isTensor() || !elements[1].isInt())
        malformed("_rebuild_tensor_v2 needs (storage, offset, sizes, strides, ...)");
      const at::Tensor& storage = elements[0].toTensor();
      const auto sizes = to_int_vector(elements[2], "a tensor's sizes");
      const auto strides = to_int_vector(elements[3], "a tensor's strides");
      check_view_fits(sizes, strides, elements[1].toInt(), storage.numel());
      push(storage.as_strided(sizes, strides, elements[1].toInt()));
    } else if (name == "torch._utils._rebuild_parameter") {
      if (elements.empty() || !elements[0].isTensor()) malformed("_rebuild_parameter without a tensor");
      push(elements[0]);
    } else if (name.rfind("torch.jit._pickle.", 0) == 0) {
      // LibTorch's own writer tags typed containers (restore_type_tag, build_intlist, ...); the
      // wrapped container is the value.
      if (elements.empty()) malformed(name + " without arguments");
      push(elements[0]);
    } else {
      throw std::runtime_error("unsupported Python object '" + name +
                               "' (only tensors, containers, numbers and strings can be read)");
    }
  }

  // ('storage', storage_type, key, location, numel): the tensor bytes live in record data/<key>.
  c10::IValue persistent_load(const c10::IValue& pid) {
    const auto elements = tuple_elements(pid, "a persistent id");
    if (elements.size() < 5 || !elements[0].isString() || elements[0].toStringRef() != "storage")
      throw std::runtime_error("unsupported persistent id in pickle");
    const c10::ScalarType dtype = storage_dtype(string_of(elements[1], "a storage type"));
    const std::string key = string_of(elements[2], "a storage key");
    if (!elements[4].isInt() || elements[4].toInt() < 0) malformed("a storage has no valid element count");
    const int64_t numel = elements[4].toInt();
    auto cached = storages_.find(key);
    if (cached != storages_.end()) {
      if (cached->second.scalar_type() != dtype || cached->second.numel() != numel)
        malformed("storage '" + key + "' is declared twice with different types or sizes");
      return cached->second;
    }
    uint64_t expected = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(numel), c10::elementSize(dtype), &expected))
      malformed("storage '" + key + "' is larger than any file");
    const std::string record = "data/" + key;
    if (!archive_.hasRecord(record)) throw std::runtime_error("tensor record '" + record + "' is missing");
    check_record_size(records_, record, file_size_);
    auto [data, size] = archive_.getRecord(record);
    verify_checksum(records_, record, data.get(), size);
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
  const ZipRecords& records_;
  const uintmax_t file_size_;
  size_t position_ = 0;
  std::vector<StackItem> stack_;
  std::unordered_map<uint64_t, StackItem> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;
  std::unordered_map<const void*, Container> containers_;
  std::vector<c10::IValue> alive_;
};

}  // namespace

c10::IValue read_torch_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw TorchFileError(path + ": file not found");
  try {
    const auto records = read_zip_records(path);
    const uintmax_t file_size = std::filesystem::file_size(path);
    for (const auto& entry : records) check_record_size(records, entry.first, file_size);
    caffe2::serialize::PyTorchStreamReader archive(path);
    if (!archive.hasRecord("data.pkl")) throw std::runtime_error("the archive has no data.pkl record");
    auto [data, size] = archive.getRecord("data.pkl");
    verify_checksum(records, "data.pkl", data.get(), size);
    std::string bytes(static_cast<const char*>(data.get()), size);
    Unpickler unpickler(bytes, archive, records, file_size);
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
