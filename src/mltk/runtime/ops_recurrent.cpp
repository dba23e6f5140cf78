// Recurrent layers (RNN, LSTM, GRU), one time step at a time, following the ONNX equations.
// Gate weights are stacked in ONNX's order (LSTM i, o, f, c; GRU z, r, h), which differs from
// PyTorch's, so ATen's fused RNN kernels are not used.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mltk::runtime {
namespace {

using Activation = torch::Tensor (*)(const torch::Tensor&);

Activation activation_named(const OpContext& ctx, const std::string& name) {
  if (name == "Sigmoid") return torch::sigmoid;
  if (name == "Tanh") return torch::tanh;
  if (name == "Relu") return torch::relu;
  ctx.fail("activation '" + name + "' is not supported (only Sigmoid, Tanh and Relu)");
}

// What LSTM and GRU share: the sequence as [seq, batch, input], the directions, and each
// direction's activations.
struct Recurrence {
  torch::Tensor x;
  int64_t hidden = 0;
  int64_t directions = 1;
  bool reverse_only = false;
  bool batch_first = false;
  std::vector<std::vector<Activation>> activations;  // per direction
};

Recurrence recurrence_for(const OpContext& ctx, int64_t gates, const std::vector<std::string>& default_activations) {
  Recurrence r;
  const std::string direction = ctx.attr_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") {
    ctx.fail("unknown direction '" + direction + "'");
  }
  r.directions = direction == "bidirectional" ? 2 : 1;
  r.reverse_only = direction == "reverse";
  r.batch_first = ctx.attr_int("layout", 0) != 0;
  const auto& x = ctx.input(0);
  if (x.dim() != 3) ctx.fail("X must be 3-D");
  r.x = r.batch_first ? x.transpose(0, 1) : x;
  r.hidden = ctx.attr_int("hidden_size", 0);
  if (r.hidden <= 0) ctx.fail("hidden_size must be positive");
  const std::vector<int64_t> w_shape = {r.directions, gates * r.hidden, r.x.size(2)};
  const std::vector<int64_t> r_shape = {r.directions, gates * r.hidden, r.hidden};
  if (ctx.input(1).sizes() != w_shape || ctx.input(2).sizes() != r_shape) {
    ctx.fail("W and R must be [num_directions, " + std::to_string(gates) + " * hidden_size, input or hidden size]");
  }
  if (ctx.has_input(3) && ctx.input(3).sizes() != c10::IntArrayRef{r.directions, 2 * gates * r.hidden}) {
    ctx.fail("B must be [num_directions, " + std::to_string(2 * gates) + " * hidden_size]");
  }
  if (ctx.has_input(4) && !ctx.input(4).eq(r.x.size(0)).all().item<bool>()) {
    ctx.fail("sequence_lens shorter than the sequence are not supported");
  }
  if (ctx.has_attribute("activation_alpha") || ctx.has_attribute("activation_beta")) {
    ctx.fail("activation_alpha and activation_beta are not supported");
  }
  if (ctx.has_attribute("clip")) ctx.fail("clip is not supported");
  std::vector<std::string> names = default_activations;
  if (r.directions == 2) names.insert(names.end(), default_activations.begin(), default_activations.end());
  names = ctx.attr_strings("activations", names);
  if (names.size() != default_activations.size() * static_cast<size_t>(r.directions)) {
    ctx.fail("activations must list " + std::to_string(default_activations.size()) + " functions per direction");
  }
  for (int64_t d = 0; d < r.directions; ++d) {
    std::vector<Activation> per_direction;
    for (size_t k = 0; k < default_activations.size(); ++k) {
      per_direction.push_back(activation_named(ctx, names[static_cast<size_t>(d) * default_activations.size() + k]));
    }
    r.activations.push_back(per_direction);
  }
  return r;
}

// An initial state input ([num_directions, batch, hidden], batch first with layout 1), or zeros.
torch::Tensor initial_state(const OpContext& ctx, const Recurrence& r, size_t index) {
  if (!ctx.has_input(index)) return torch::zeros({r.directions, r.x.size(1), r.hidden}, r.x.options());
  const auto state = r.batch_first ? ctx.input(index).transpose(0, 1) : ctx.input(index);
  if (state.sizes() != c10::IntArrayRef{r.directions, r.x.size(1), r.hidden}) {
    ctx.fail("initial states must be [num_directions, batch_size, hidden_size]");
  }
  return state;
}

// Advances `state` (hidden state first) by one time step of direction `direction`.
using Step = std::function<void(const torch::Tensor& x_t, std::vector<torch::Tensor>& state, int64_t direction)>;

// Runs `step` over the sequence once per direction, the second of a bidirectional node
// backwards, and returns Y, then the last value of each state (Y_h, Y_c), in the node's layout.
std::vector<torch::Tensor> run_recurrence(const Recurrence& r, const std::vector<torch::Tensor>& initial,
                                          const Step& step) {
  const int64_t steps = r.x.size(0);
  std::vector<torch::Tensor> per_direction_y;
  std::vector<std::vector<torch::Tensor>> finals(initial.size());
  for (int64_t d = 0; d < r.directions; ++d) {
    const bool backwards = r.reverse_only || d == 1;
    std::vector<torch::Tensor> state;
    for (const auto& s : initial) state.push_back(s[d]);
    std::vector<torch::Tensor> outputs(steps);
    for (int64_t i = 0; i < steps; ++i) {
      const int64_t t = backwards ? steps - 1 - i : i;
      step(r.x[t], state, d);
      outputs[t] = state.front();
    }
    per_direction_y.push_back(torch::stack(outputs));
    for (size_t k = 0; k < state.size(); ++k) finals[k].push_back(state[k]);
  }
  auto y = torch::stack(per_direction_y, 1);  // [seq, num_directions, batch, hidden]
  std::vector<torch::Tensor> results = {r.batch_first ? y.permute({2, 0, 1, 3}) : y};
  for (const auto& final_states : finals) {
    const auto last = torch::stack(final_states);  // [num_directions, batch, hidden]
    results.push_back(r.batch_first ? last.transpose(0, 1) : last);
  }
  return results;
}

// Splits B ([num_directions, 2 * gates * hidden], zeros when absent) into input and recurrence biases.
std::pair<torch::Tensor, torch::Tensor> biases(const OpContext& ctx, const Recurrence& r, int64_t gates) {
  const auto b = ctx.has_input(3) ? ctx.input(3) : torch::zeros({r.directions, 2 * gates * r.hidden}, r.x.options());
  const auto halves = b.chunk(2, 1);
  return {halves[0], halves[1]};
}

std::vector<torch::Tensor> rnn(const OpContext& ctx) {
  const Recurrence r = recurrence_for(ctx, 1, {"Tanh"});
  const auto& w = ctx.input(1);
  const auto& rw = ctx.input(2);
  const auto bias = biases(ctx, r, 1);
  const auto step = [&](const torch::Tensor& x_t, std::vector<torch::Tensor>& state, int64_t d) {
    const auto& h = state[0];
    state = {r.activations[d][0](torch::linear(x_t, w[d], bias.first[d]) + torch::linear(h, rw[d], bias.second[d]))};
  };
  return run_recurrence(r, {initial_state(ctx, r, 5)}, step);
}

std::vector<torch::Tensor> lstm(const OpContext& ctx) {
  if (ctx.attr_int("input_forget", 0) != 0) ctx.fail("input_forget (coupled input and forget gates) is not supported");
  const Recurrence r = recurrence_for(ctx, 4, {"Sigmoid", "Tanh", "Tanh"});
  const auto& w = ctx.input(1);
  const auto& rw = ctx.input(2);
  const auto bias = biases(ctx, r, 4);
  const auto peepholes = ctx.has_input(7) ? ctx.input(7) : torch::zeros({r.directions, 3 * r.hidden}, r.x.options());
  if (peepholes.sizes() != c10::IntArrayRef{r.directions, 3 * r.hidden}) {
    ctx.fail("P must be [num_directions, 3 * hidden_size]");
  }
  const auto step = [&](const torch::Tensor& x_t, std::vector<torch::Tensor>& state, int64_t d) {
    const auto& h = state[0];
    const auto& c = state[1];
    const auto& act = r.activations[d];
    const auto gates = (torch::linear(x_t, w[d], bias.first[d]) + torch::linear(h, rw[d], bias.second[d])).chunk(4, 1);
    const auto p = peepholes[d].chunk(3);
    const auto input_gate = act[0](gates[0] + p[0] * c);
    const auto forget_gate = act[0](gates[2] + p[2] * c);
    const auto cell = forget_gate * c + input_gate * act[1](gates[3]);
    const auto output_gate = act[0](gates[1] + p[1] * cell);
    state = {output_gate * act[2](cell), cell};
  };
  return run_recurrence(r, {initial_state(ctx, r, 5), initial_state(ctx, r, 6)}, step);
}

std::vector<torch::Tensor> gru(const OpContext& ctx) {
  const Recurrence r = recurrence_for(ctx, 3, {"Sigmoid", "Tanh"});
  const auto& w = ctx.input(1);
  const auto& rw = ctx.input(2);
  const auto bias = biases(ctx, r, 3);
  const bool linear_before_reset = ctx.attr_int("linear_before_reset", 0) != 0;
  const int64_t n = r.hidden;
  const auto step = [&](const torch::Tensor& x_t, std::vector<torch::Tensor>& state, int64_t d) {
    const auto& h = state[0];
    const auto& act = r.activations[d];
    const auto from_x = torch::linear(x_t, w[d], bias.first[d]).chunk(3, 1);
    const auto from_h = torch::linear(h, rw[d].narrow(0, 0, 2 * n), bias.second[d].narrow(0, 0, 2 * n)).chunk(2, 1);
    const auto update = act[0](from_x[0] + from_h[0]);
    const auto reset = act[0](from_x[1] + from_h[1]);
    const auto candidate_weight = rw[d].narrow(0, 2 * n, n);
    const auto candidate_bias = bias.second[d].narrow(0, 2 * n, n);
    // linear_before_reset applies the reset gate after the recurrence weights instead of before.
    const auto recurrent = linear_before_reset ? reset * torch::linear(h, candidate_weight, candidate_bias)
                                               : torch::linear(reset * h, candidate_weight, candidate_bias);
    const auto candidate = act[1](from_x[2] + recurrent);
    state = {(1 - update) * candidate + update * h};
  };
  return run_recurrence(r, {initial_state(ctx, r, 5)}, step);
}

}  // namespace

void register_recurrent_ops(OperatorRegistry& registry) {
  registry.add("RNN", rnn);
  registry.add("LSTM", lstm);
  registry.add("GRU", gru);
}

}  // namespace mltk::runtime
