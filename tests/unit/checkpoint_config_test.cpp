// A checkpoint stores the resolved configuration of its run. When the schema later gains a key, the
// stored text lacks it: the checkpoint still loads, and the key takes the schema's default.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/config/config.h"
#include "mltk/config/schema.h"
#include "mltk/inference/loaded_model.h"
#include "mltk/models/zoo.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <sstream>

namespace {

using namespace mltk;

std::vector<std::string> parts_of(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream stream(path);
  for (std::string part; std::getline(stream, part, '.');) parts.push_back(part);
  return parts;
}

// The configuration tree without `path`, as an older schema would have written it.
YAML::Node without_key(const YAML::Node& tree, const std::string& path) {
  YAML::Node copy = YAML::Clone(tree);
  const auto parts = parts_of(path);
  YAML::Node parent = copy;
  for (size_t i = 0; i + 1 < parts.size(); ++i) parent.reset(parent[parts[i]]);
  EXPECT_TRUE(parent.remove(parts.back())) << path;
  return copy;
}

std::string flow_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

std::string yaml_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return out.c_str();
}

std::string value_at(const YAML::Node& tree, const std::string& path) {
  YAML::Node node = YAML::Clone(tree);
  for (const auto& part : parts_of(path)) node.reset(node[part]);
  return flow_text(node);
}

checkpoint::Checkpoint tiny_net_checkpoint(const std::string& config_text) {
  checkpoint::Checkpoint c;
  c.model_state_dict = checkpoint::state_dict_of(*models::create_model({"tiny_net", 2, 32}));
  c.model = {"custom", "tiny_net", 2, 32};
  c.class_names = {"ants", "bees"};
  c.config = config_text;
  return c;
}

// Every key in turn is missing from a stored configuration whose other keys are not defaults.
TEST(CheckpointConfig, EveryKeyMissingFromTheStoredConfigTakesTheSchemaDefault) {
  const auto run = config::parse_config(
      "model:\n  type: custom\n  custom_architecture: tiny_net\n  input_size: 32\n"
      "training:\n  label_smoothing: 0.25\n  num_epochs: 3\ntransforms:\n  eval:\n    resize: 40\n",
      "run.yaml");
  for (const auto& rule : config::schema()) {
    if (rule.path == "model.type" || rule.path == "model.custom_architecture") continue;  // the run's model
    const auto stored = without_key(run.tree, rule.path);
    const auto loaded = inference::checkpoint_config(tiny_net_checkpoint(yaml_text(stored)), "old.pt");
    EXPECT_EQ(value_at(loaded.tree, rule.path), flow_text(YAML::Load(rule.default_yaml))) << rule.path;
    EXPECT_EQ(loaded.model.custom_architecture.value_or(""), "tiny_net") << rule.path;
  }
}

TEST(CheckpointConfig, CheckpointWhoseConfigLacksAKeyLoadsWithItsDefault) {
  TempDir dir;
  const auto run = config::parse_config(
      "model:\n  type: custom\n  custom_architecture: tiny_net\n  input_size: 32\ntransforms:\n  eval:\n    resize: 40\n"
      "training:\n  label_smoothing: 0.25\n",
      "run.yaml");
  const std::string path = dir.file("old.pt");
  checkpoint::save_checkpoint(tiny_net_checkpoint(yaml_text(without_key(run.tree, "transforms.eval.resize"))), path);

  const auto loaded = inference::load_model(path);
  // Written before the resize was recorded in the checkpoint, when the schema's default was 256
  // whatever the input size: it keeps being evaluated as it was.
  EXPECT_EQ(loaded.config.resolved_eval_resize(), 256);
  EXPECT_EQ(loaded.config.training.label_smoothing, 0.25);  // what the file does say is kept
  EXPECT_EQ(loaded.model->parameters().size(), models::create_model({"tiny_net", 2, 32})->parameters().size());
}

}  // namespace

namespace {

// The resize recorded in the checkpoint wins over its configuration text; without one, the
// configuration's explicit value is used.
TEST(CheckpointConfig, RecordedEvalResizeIsAuthoritative) {
  const auto run = config::parse_config(
      "model:\n  type: custom\n  custom_architecture: tiny_net\n  input_size: 32\ntransforms:\n  eval:\n    resize: 40\n",
      "run.yaml");
  auto checkpoint = tiny_net_checkpoint(run.to_yaml());
  EXPECT_EQ(inference::checkpoint_config(checkpoint, "old.pt").resolved_eval_resize(), 40);
  checkpoint.model.eval_resize = 48;
  EXPECT_EQ(inference::checkpoint_config(checkpoint, "new.pt").resolved_eval_resize(), 48);

  TempDir dir;
  checkpoint::save_checkpoint(checkpoint, dir.file("new.pt"));
  EXPECT_EQ(checkpoint::load_checkpoint(dir.file("new.pt")).model.eval_resize, 48);
}

TEST(CheckpointConfig, EvalResizeOutsideItsRangeIsRefusedByName) {
  TempDir dir;
  auto checkpoint = tiny_net_checkpoint("");
  for (const int64_t bad : {int64_t{31}, int64_t{-1}, int64_t{1} << 40}) {
    checkpoint.model.eval_resize = bad;
    checkpoint::save_checkpoint(checkpoint, dir.file("bad.pt"));
    const std::string message = testkit::message_of_throw([&] { checkpoint::load_checkpoint(dir.file("bad.pt")); });
    EXPECT_NE(message.find("eval_resize"), std::string::npos) << message;
    EXPECT_NE(message.find("bad.pt"), std::string::npos) << message;
  }
}

}  // namespace
