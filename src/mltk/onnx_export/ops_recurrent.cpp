// Recurrent layers: aten::lstm and aten::gru as one ONNX LSTM or GRU node per layer.
#include "mltk/onnx_export/converters.h"

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

struct RecurrentKind {
  const char* onnx_type;
  int64_t gates;
  // ONNX's gate order as indices into torch's: LSTM torch (i, f, g, o) -> ONNX (i, o, f, c); GRU
  // torch (r, z, n) -> ONNX (z, r, h).
  std::vector<int64_t> onnx_order;
};

const RecurrentKind kLstm{"LSTM", 4, {0, 3, 1, 2}};
const RecurrentKind kGru{"GRU", 3, {1, 0, 2}};

int64_t static_dim(const torch::jit::Value* value, size_t dim) {
  const auto sizes = value->type()->expectRef<c10::TensorType>().sizes().concrete_sizes();
  if (!sizes || sizes->size() <= dim) throw std::invalid_argument("a recurrent weight of unknown shape");
  return (*sizes)[dim];
}

// A torch weight or bias with its gate blocks (along dimension 0) put in ONNX's order.
std::string reordered(ConversionContext& ctx, const std::string& tensor, const RecurrentKind& kind, int64_t hidden) {
  const auto blocks = ctx.split(tensor, 0, std::vector<int64_t>(static_cast<size_t>(kind.gates), hidden));
  std::vector<std::string> ordered;
  for (const auto index : kind.onnx_order) ordered.push_back(blocks[static_cast<size_t>(index)]);
  return ctx.op("Concat", ordered, {{"axis", 0}});
}

// Per-direction tensors stacked along a new leading axis, as ONNX wants [num_directions, ...].
std::string per_direction(ConversionContext& ctx, const std::vector<std::string>& tensors) {
  std::vector<std::string> stacked;
  for (const auto& tensor : tensors) stacked.push_back(ctx.unsqueeze(tensor, {0}));
  return stacked.size() == 1 ? stacked.front() : ctx.op("Concat", stacked, {{"axis", 0}});
}

// aten::lstm(input, hx[2], params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
// -> (output, h_n, c_n); aten::gru(input, hx, params, ...) -> (output, h_n).
std::vector<std::string> recurrent(ConversionContext& ctx, const RecurrentKind& kind) {
  const bool is_lstm = &kind == &kLstm;
  const bool has_biases = ctx.bool_arg(3), bidirectional = ctx.bool_arg(7), batch_first = ctx.bool_arg(8);
  const auto layers = ctx.int_arg(4);
  if (ctx.bool_arg(6) && ctx.double_arg(5) != 0) throw std::invalid_argument("dropout in training mode");
  const auto& params = ctx.sequence(ctx.node().input(2));
  const int64_t directions = bidirectional ? 2 : 1;
  const size_t per_direction_count = has_biases ? 4 : 2;
  if (params.size() != static_cast<size_t>(layers * directions) * per_direction_count)
    throw std::invalid_argument("unexpected number of recurrent parameters");
  const auto hidden = static_dim(params[1], 1);
  // An LSTM's initial state is the list (h0, c0), a GRU's the tensor h0.
  const auto initial = is_lstm ? ctx.input_list(1) : std::vector<std::string>{ctx.input(1)};
  const auto& h0 = initial.at(0);

  auto x = ctx.input(0);
  if (batch_first) x = ctx.op("Transpose", {x}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  std::vector<std::string> final_h, final_c;
  for (int64_t layer = 0; layer < layers; ++layer) {
    std::vector<std::string> w, r, b;
    for (int64_t direction = 0; direction < directions; ++direction) {
      const size_t first = static_cast<size_t>(layer * directions + direction) * per_direction_count;
      w.push_back(reordered(ctx, ctx.tensor(params[first]), kind, hidden));
      r.push_back(reordered(ctx, ctx.tensor(params[first + 1]), kind, hidden));
      if (has_biases)
        b.push_back(ctx.op("Concat",
                           {reordered(ctx, ctx.tensor(params[first + 2]), kind, hidden),
                            reordered(ctx, ctx.tensor(params[first + 3]), kind, hidden)},
                           {{"axis", 0}}));
    }
    const auto states = [&](const std::string& all) {
      return ctx.op("Slice", {all, ctx.int64s({layer * directions}), ctx.int64s({(layer + 1) * directions}),
                              ctx.int64s({0})});
    };
    std::vector<std::string> inputs{x, per_direction(ctx, w), per_direction(ctx, r),
                                    has_biases ? per_direction(ctx, b) : std::string(), "", states(h0)};
    if (is_lstm) inputs.push_back(states(initial.at(1)));
    std::vector<Attribute> attributes{{"hidden_size", hidden},
                                      {"direction", bidirectional ? "bidirectional" : "forward"}};
    if (!is_lstm) attributes.emplace_back("linear_before_reset", int64_t{1});
    auto* node = ctx.op_node(kind.onnx_type, inputs, attributes, is_lstm ? 3 : 2);
    // Y [seq, directions, batch, hidden] -> [seq, batch, directions * hidden], the next layer's input.
    const auto y = ctx.op("Transpose", {node->output(0)}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
    x = ctx.op("Reshape", {y, ctx.int64s({0, 0, directions * hidden})});
    final_h.push_back(node->output(1));
    if (is_lstm) final_c.push_back(node->output(2));
  }
  const auto output = batch_first ? ctx.op("Transpose", {x}, {{"perm", std::vector<int64_t>{1, 0, 2}}}) : x;
  const auto joined = [&](const std::vector<std::string>& parts) {
    return parts.size() == 1 ? parts.front() : ctx.op("Concat", parts, {{"axis", 0}});
  };
  std::vector<std::string> results{output, joined(final_h)};
  if (is_lstm) results.push_back(joined(final_c));
  return results;
}

std::vector<std::string> convert_lstm(ConversionContext& ctx) { return recurrent(ctx, kLstm); }
std::vector<std::string> convert_gru(ConversionContext& ctx) { return recurrent(ctx, kGru); }

}  // namespace

void register_recurrent_ops(ConverterRegistry& registry) {
  const std::set<std::string> around{"Split", "Concat", "Unsqueeze", "Slice", "Transpose", "Reshape"};
  auto lstm = around, gru = around;
  lstm.insert("LSTM");
  gru.insert("GRU");
  registry.add_outputs("aten::lstm", lstm, convert_lstm);
  registry.add_outputs("aten::gru", gru, convert_gru);
}

}  // namespace mltk::onnx_export
