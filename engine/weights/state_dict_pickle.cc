#include "engine/weights/state_dict_pickle.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "engine/error.h"

namespace nspbert::weights {

namespace {

// Opcode names, so an unsupported opcode is reported the way pickletools prints it.
const char* opcode_name(uint8_t op) {
  switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case '}': return "EMPTY_DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

std::optional<ElementType> storage_element_type(std::string_view global) {
  static const std::array<std::pair<std::string_view, ElementType>, 10> kStorages = {{
      {"torch.FloatStorage", ElementType::F32},
      {"torch.HalfStorage", ElementType::F16},
      {"torch.BFloat16Storage", ElementType::BF16},
      {"torch.DoubleStorage", ElementType::F64},
      {"torch.LongStorage", ElementType::I64},
      {"torch.IntStorage", ElementType::I32},
      {"torch.ShortStorage", ElementType::I16},
      {"torch.CharStorage", ElementType::I8},
      {"torch.ByteStorage", ElementType::U8},
      {"torch.BoolStorage", ElementType::Bool},
  }};
  for (const auto& [name, type] : kStorages)
    if (global == name) return type;
  return std::nullopt;
}

bool is_known_callable(std::string_view global) {
  return global == "collections.OrderedDict" || global == "torch._utils._rebuild_tensor_v2" ||
         global == "torch._utils._rebuild_tensor" || global == "torch._utils._rebuild_parameter" ||
         global == "torch._utils._rebuild_parameter_with_state";
}

bool valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80           ? 1
                          : (lead >> 5) == 0x6  ? 2
                          : (lead >> 4) == 0xe  ? 3
                          : (lead >> 3) == 0x1e ? 4
                                                : 0;
    if (length == 0 || length > text.size() - i) return false;
    for (size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return false;
    i += length;
  }
  return true;
}

enum class Kind { None, Bool, Int, String, Tuple, List, Dict, Global, Storage, Tensor };

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::String: return "str";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  Kind kind = Kind::None;
  int64_t number = 0;           // Bool, Int; the index for Storage and Tensor
  std::string text;             // String; "module.name" for Global
  std::vector<ValuePtr> items;  // Tuple, List; Dict as key, value, key, value, ...
  int depth = 1;
  // Once inside another value a container is frozen, so `depth` stays exact and nesting bounded.
  bool nested = false;
};

// Deep nesting would recurse when values are freed; a state_dict needs about four levels.
constexpr int kMaxDepth = 32;
// Bounds memory on hostile input; a state_dict needs about 30 values per tensor.
constexpr size_t kMaxValues = 4'000'000;

class Interpreter {
 public:
  Interpreter(std::span<const std::byte> pickle, const std::string& where) : in_(pickle), where_(where) {}

  PickledStateDict run() {
    while (true) {
      op_offset_ = pos_;
      const uint8_t op = u8();
      if (op == '.') break;
      step(op);
    }
    if (stack_.size() != 1 || !marks_.empty())
      fail("STOP leaves " + std::to_string(stack_.size()) + " values and " + std::to_string(marks_.size()) +
           " marks; expected exactly the state_dict");
    collect_state_dict(*stack_.back());
    return std::move(result_);
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    fail_model(where_ + " byte " + std::to_string(op_offset_) + ": " + message);
  }

  std::span<const std::byte> take(uint64_t count) {
    if (count > in_.size() - pos_) fail("pickle ends inside an opcode (truncated)");
    const auto bytes = in_.subspan(pos_, count);
    pos_ += count;
    return bytes;
  }
  template <typename T>
  T little_endian() {
    T value;
    std::memcpy(&value, take(sizeof(T)).data(), sizeof(T));
    return value;
  }
  uint8_t u8() { return little_endian<uint8_t>(); }
  std::string text(uint64_t length) {
    const auto bytes = take(length);
    std::string result(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (!valid_utf8(result)) fail("string is not valid UTF-8");
    return result;
  }
  std::string line() {
    const auto rest = in_.subspan(pos_);
    const auto newline = std::find(rest.begin(), rest.end(), std::byte{'\n'});
    if (newline == rest.end()) fail("GLOBAL name is not terminated (truncated)");
    std::string result = text(static_cast<uint64_t>(newline - rest.begin()));
    ++pos_;
    return result;
  }

  size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(ValuePtr value) { stack_.push_back(std::move(value)); }
  ValuePtr pop() {
    if (stack_.size() <= fence()) fail("stack underflow");
    ValuePtr value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  Value& top() {
    if (stack_.size() <= fence()) fail("stack underflow");
    return *stack_.back();
  }
  std::vector<ValuePtr> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + static_cast<ptrdiff_t>(marks_.back())),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  ValuePtr scalar(Kind kind, int64_t number = 0) {
    if (++values_created_ > kMaxValues) fail("more than " + std::to_string(kMaxValues) + " values; not a state_dict");
    auto value = std::make_shared<Value>();
    value->kind = kind;
    value->number = number;
    return value;
  }
  ValuePtr string_value(Kind kind, std::string text) {
    auto value = scalar(kind);
    value->text = std::move(text);
    return value;
  }
  void adopt(Value& container, std::vector<ValuePtr> items) {
    for (ValuePtr& item : items) {
      if (item.get() == &container) fail("a container is stored inside itself");
      item->nested = true;
      container.depth = std::max(container.depth, item->depth + 1);
      container.items.push_back(std::move(item));
    }
    if (container.depth > kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  ValuePtr container(Kind kind, std::vector<ValuePtr> items) {
    auto value = scalar(kind);
    adopt(*value, std::move(items));
    return value;
  }
  Value& mutable_container(Kind kind, const char* op) {
    Value& target = top();
    if (target.kind != kind)
      fail(std::string(op) + " on a " + kind_name(target.kind) + ", expected a " + kind_name(kind));
    if (target.nested) fail(std::string(op) + " changes a container already stored elsewhere");
    return target;
  }

  void memo_put(uint64_t index) {
    if (stack_.empty()) fail("memo store with an empty stack");
    memo_[index] = stack_.back();
  }
  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  void push_global(std::string module, std::string name) {
    std::string global = module + "." + name;
    if (!is_known_callable(global) && !storage_element_type(global))
      fail("unsupported pickle global '" + global + "' (not part of a plain state_dict)");
    push(string_value(Kind::Global, std::move(global)));
  }

  // One case per supported opcode: a flat switch is how a pickle VM reads best (every opcode
  // beside its stack effect), so this function stays long on purpose.
  void step(uint8_t op) {
    switch (op) {
      case 0x80: {
        const uint8_t protocol = u8();
        if (protocol < 2 || protocol > 5) fail("unsupported pickle protocol " + std::to_string(protocol));
        break;
      }
      case 0x95: little_endian<uint64_t>(); break;  // FRAME: a read-ahead hint
      case '(': marks_.push_back(stack_.size()); break;
      case 'N': push(scalar(Kind::None)); break;
      case 0x88: push(scalar(Kind::Bool, 1)); break;
      case 0x89: push(scalar(Kind::Bool, 0)); break;
      case 'J': push(scalar(Kind::Int, little_endian<int32_t>())); break;
      case 'K': push(scalar(Kind::Int, u8())); break;
      case 'M': push(scalar(Kind::Int, little_endian<uint16_t>())); break;
      case 0x8a: {
        const uint8_t length = u8();
        if (length > 8) fail("LONG1 integer of " + std::to_string(length) + " bytes is too large");
        const auto bytes = take(length);
        uint64_t bits = 0;
        for (size_t i = 0; i < length; ++i) bits |= static_cast<uint64_t>(bytes[i]) << (8 * i);
        if (length > 0 && length < 8 && (static_cast<uint8_t>(bytes[length - 1]) & 0x80u))
          bits |= ~uint64_t{0} << (8 * length);  // sign-extend two's complement
        push(scalar(Kind::Int, static_cast<int64_t>(bits)));
        break;
      }
      case 'X': push(string_value(Kind::String, text(little_endian<uint32_t>()))); break;
      case 0x8c: push(string_value(Kind::String, text(u8()))); break;
      case 0x8d: push(string_value(Kind::String, text(little_endian<uint64_t>()))); break;
      case ')': push(scalar(Kind::Tuple)); break;
      case 't': push(container(Kind::Tuple, pop_to_mark())); break;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<ValuePtr> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push(container(Kind::Tuple, std::move(items)));
        break;
      }
      case ']': push(scalar(Kind::List)); break;
      case '}': push(scalar(Kind::Dict)); break;
      case 'a': {
        ValuePtr item = pop();
        adopt(mutable_container(Kind::List, "APPEND"), {std::move(item)});
        break;
      }
      case 'e': {
        std::vector<ValuePtr> items = pop_to_mark();
        adopt(mutable_container(Kind::List, "APPENDS"), std::move(items));
        break;
      }
      case 's': {
        ValuePtr value = pop();
        ValuePtr key = pop();
        adopt(mutable_container(Kind::Dict, "SETITEM"), {std::move(key), std::move(value)});
        break;
      }
      case 'u': {
        std::vector<ValuePtr> items = pop_to_mark();
        if (items.size() % 2 != 0) fail("SETITEMS with an odd number of keys and values");
        adopt(mutable_container(Kind::Dict, "SETITEMS"), std::move(items));
        break;
      }
      case 'q': memo_put(u8()); break;
      case 'r': memo_put(little_endian<uint32_t>()); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'h': memo_get(u8()); break;
      case 'j': memo_get(little_endian<uint32_t>()); break;
      case 'c': {
        std::string module = line();
        std::string name = line();
        push_global(std::move(module), std::move(name));
        break;
      }
      case 0x93: {
        ValuePtr name = pop();
        ValuePtr module = pop();
        if (name->kind != Kind::String || module->kind != Kind::String) fail("STACK_GLOBAL needs two strings");
        push_global(module->text, name->text);
        break;
      }
      case 'Q': {
        ValuePtr id = pop();
        push(persistent_load(*id));
        break;
      }
      case 'R': {
        ValuePtr args = pop();
        ValuePtr callable = pop();
        push(call(*callable, *args));
        break;
      }
      case 'b':
        pop();
        top();
        break;  // BUILD: the state (a module's _metadata) carries no weights
      default: {
        const char* name = opcode_name(op);
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + (name ? name : "(unknown)") + " (" + hex +
             "); not a plain torch state_dict");
      }
    }
  }

  ValuePtr persistent_load(const Value& id) {
    // torch: ('storage', <storage type global>, key, location, numel)
    if (id.kind != Kind::Tuple || id.items.size() != 5 || id.items[0]->kind != Kind::String ||
        id.items[0]->text != "storage")
      fail("persistent id is not a ('storage', type, key, location, numel) tuple");
    const Value& type = *id.items[1];
    const Value& key = *id.items[2];
    const Value& numel = *id.items[4];
    const std::optional<ElementType> element =
        type.kind == Kind::Global ? storage_element_type(type.text) : std::nullopt;
    if (!element) fail("persistent id names no known storage type");
    if (key.kind != Kind::String || id.items[3]->kind != Kind::String)
      fail("persistent id key/location are not strings");
    if (numel.kind != Kind::Int || numel.number < 0) fail("persistent id storage size is not a non-negative int");

    auto [it, inserted] = storage_by_key_.emplace(key.text, result_.storages.size());
    if (inserted) {
      result_.storages.push_back({key.text, *element, static_cast<uint64_t>(numel.number)});
    } else if (result_.storages[it->second].type != *element) {
      fail("storage '" + key.text + "' is loaded with two different types");
    }
    return scalar(Kind::Storage, static_cast<int64_t>(it->second));
  }

  std::vector<int64_t> int_tuple(const Value& tuple, const char* what) {
    if (tuple.kind != Kind::Tuple)
      fail(std::string("tensor ") + what + " is a " + kind_name(tuple.kind) + ", not a tuple");
    std::vector<int64_t> values;
    for (const ValuePtr& item : tuple.items) {
      if (item->kind != Kind::Int || item->number < 0)
        fail(std::string("tensor ") + what + " holds a non-integer or negative entry");
      values.push_back(item->number);
    }
    return values;
  }

  ValuePtr call(const Value& callable, const Value& args) {
    if (callable.kind != Kind::Global) fail(std::string("REDUCE calls a ") + kind_name(callable.kind));
    if (args.kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
    const std::string& function = callable.text;
    const auto& a = args.items;
    if (function == "collections.OrderedDict") {
      if (!a.empty()) fail("OrderedDict() with arguments is not supported");
      return scalar(Kind::Dict);
    }
    if (function == "torch._utils._rebuild_tensor_v2" || function == "torch._utils._rebuild_tensor") {
      // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
      const bool v2 = function == "torch._utils._rebuild_tensor_v2";
      if (v2 ? (a.size() != 6 && a.size() != 7) : a.size() != 4)
        fail(function + " with " + std::to_string(a.size()) + " arguments");
      if (a[0]->kind != Kind::Storage) fail(function + " without a storage");
      if (a[1]->kind != Kind::Int || a[1]->number < 0) fail("tensor storage offset is not a non-negative int");
      PickledTensor view;
      view.storage = static_cast<size_t>(a[0]->number);
      view.offset = static_cast<uint64_t>(a[1]->number);
      view.size = int_tuple(*a[2], "size");
      view.stride = int_tuple(*a[3], "stride");
      if (view.size.size() != view.stride.size()) fail("tensor size and stride differ in length");
      views_.push_back(std::move(view));
      return scalar(Kind::Tensor, static_cast<int64_t>(views_.size() - 1));
    }
    if (function == "torch._utils._rebuild_parameter" || function == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Kind::Tensor) fail(function + " without a tensor");
      return a[0];  // a Parameter is its data for inference
    }
    fail("'" + function + "' cannot be called");
  }

  void collect_state_dict(const Value& root) {
    if (root.kind != Kind::Dict) fail(std::string("the pickle holds a ") + kind_name(root.kind) + ", not a state_dict");
    std::set<std::string_view> seen;
    for (size_t i = 0; i + 1 < root.items.size(); i += 2) {
      const Value& key = *root.items[i];
      const Value& value = *root.items[i + 1];
      if (key.kind != Kind::String) fail(std::string("state_dict key is a ") + kind_name(key.kind) + ", not a str");
      if (value.kind != Kind::Tensor)
        fail("state_dict entry '" + key.text + "' is a " + kind_name(value.kind) +
             ", not a tensor (save model.state_dict(), not a training checkpoint)");
      if (!seen.insert(key.text).second) fail("state_dict key '" + key.text + "' appears twice");
      PickledTensor tensor = views_[static_cast<size_t>(value.number)];
      tensor.name = key.text;
      result_.tensors.push_back(std::move(tensor));
    }
  }

  std::span<const std::byte> in_;
  const std::string& where_;
  size_t pos_ = 0;
  size_t op_offset_ = 0;
  size_t values_created_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  std::vector<PickledTensor> views_;
  std::map<std::string, size_t> storage_by_key_;
  PickledStateDict result_;
};

}  // namespace

PickledStateDict unpickle_state_dict(std::span<const std::byte> pickle, const std::string& where) {
  return Interpreter(pickle, where).run();
}

}  // namespace nspbert::weights
