#include "mltk/config/config.h"
#include "mltk/common/subprocess.h"
#include "mltk/config/schema.h"
#include "mltk/pipeline/model_builder.h"

#include <gtest/gtest.h>

#include <fstream>

namespace {

using mltk::config::ConfigError;
using mltk::config::parse_config;

std::string error_of(const std::string& yaml, const std::vector<mltk::config::Override>& overrides = {}) {
  try {
    parse_config(yaml, "exp.yaml", overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << yaml;
  return "";
}

TEST(Config, ShippedExampleIsValidAndComplete) {
  const auto config = mltk::config::load_config(std::string(MLTK_SOURCE_DIR) + "/configs/hymenoptera_config.yaml");
  EXPECT_EQ(config.data.dataset_name.value_or(""), "hymenoptera");
  EXPECT_EQ(config.model.zoo_name(), "resnet18");
  EXPECT_EQ(config.model.num_classes.value_or(0), 2);
  EXPECT_EQ(config.training.batch_size, 32);
  EXPECT_EQ(config.scheduler.name, "step");
  EXPECT_DOUBLE_EQ(config.transforms.std[2], 0.225);
}

TEST(Config, DefaultsFillWhatTheFileOmits) {
  const auto config = parse_config("data:\n  dataset_name: flowers\n", "exp.yaml");
  EXPECT_EQ(config.training.num_epochs, 25);
  EXPECT_EQ(config.optimizer.name, "sgd");
  EXPECT_DOUBLE_EQ(config.optimizer.lr, 0.001);
  EXPECT_EQ(config.model.zoo_name(), "resnet18");
  EXPECT_FALSE(config.model.weights.has_value());
}

TEST(Config, UnknownKeyNamesFileLinePathAndSuggestion) {
  const std::string message = error_of("data:\n  dataset_name: x\ntraining:\n  batchsize: 8\n");
  EXPECT_NE(message.find("exp.yaml:4"), std::string::npos) << message;
  EXPECT_NE(message.find("training.batchsize"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'training.batch_size'"), std::string::npos) << message;
}

TEST(Config, WrongTypeNamesLineKeyAndExpectation) {
  const std::string message = error_of("training:\n  num_epochs: many\n");
  EXPECT_NE(message.find("exp.yaml:2"), std::string::npos) << message;
  EXPECT_NE(message.find("training.num_epochs"), std::string::npos) << message;
  EXPECT_NE(message.find("an integer"), std::string::npos) << message;
  EXPECT_NE(error_of("training:\n  batch_size: 2.5\n").find("an integer"), std::string::npos);
  EXPECT_NE(error_of("model:\n  freeze_backbone: maybe\n").find("true or false"), std::string::npos);
  EXPECT_NE(error_of("transforms:\n  normalize:\n    mean: [0.5, 0.5]\n").find("list of 3"), std::string::npos);
  EXPECT_NE(error_of("training: 5\n").find("mapping"), std::string::npos);
}

TEST(Config, OutOfRangeAndBadChoices) {
  std::string message = error_of("optimizer:\n  lr: 0\n");
  EXPECT_NE(message.find("optimizer.lr"), std::string::npos) << message;
  EXPECT_NE(message.find("out of range"), std::string::npos) << message;
  message = error_of("training:\n  batch_size: -4\n");
  EXPECT_NE(message.find("exp.yaml:2"), std::string::npos) << message;
  message = error_of("optimizer:\n  name: rmsprop\n");
  EXPECT_NE(message.find("sgd, adam, adamw"), std::string::npos) << message;
  message = error_of("model:\n  type: custom\n  custom_architecture: null\n");
  EXPECT_NE(message.find("model.custom_architecture must be set"), std::string::npos) << message;
}

std::string architecture_error_of(const std::string& yaml) {
  try {
    mltk::pipeline::check_architecture_choice(parse_config(yaml, "exp.yaml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << yaml;
  return "";
}

TEST(ArchitectureChoice, NamesTheKeyAndTheArchitecturesOfTheType) {
  std::string message = architecture_error_of("model:\n  architecture: resnet19\n");
  EXPECT_NE(message.find("exp.yaml: model.architecture = 'resnet19'"), std::string::npos) << message;
  EXPECT_NE(message.find("resnet18"), std::string::npos) << message;
  message = architecture_error_of("model:\n  type: custom\n  custom_architecture: resnet18\n");
  EXPECT_NE(message.find("model.custom_architecture = 'resnet18'"), std::string::npos) << message;
  EXPECT_NE(message.find("simple_cnn"), std::string::npos) << message;
  EXPECT_NO_THROW(mltk::pipeline::check_architecture_choice(parse_config("model:\n  architecture: vgg11\n", "exp.yaml")));
}

TEST(Config, InvalidYamlNamesTheLine) {
  const std::string message = error_of("data:\n  dataset_name: [unclosed\n");
  EXPECT_NE(message.find("exp.yaml:"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;
}

TEST(Config, CommandLineOverridesWinAndAreValidated) {
  const auto config =
      parse_config("training:\n  batch_size: 8\n", "exp.yaml", {{"training.batch_size", "64"}, {"optimizer.lr", "0.1"}});
  EXPECT_EQ(config.training.batch_size, 64);
  EXPECT_DOUBLE_EQ(config.optimizer.lr, 0.1);
  std::string message = error_of("", {{"training.batch_size", "zero"}});
  EXPECT_NE(message.find("command line"), std::string::npos) << message;
  message = error_of("", {{"training.epochs", "3"}});
  EXPECT_NE(message.find("unknown configuration key 'training.epochs'"), std::string::npos) << message;
}

TEST(Config, ResolvedYamlRoundTrips) {
  const auto config = parse_config("model:\n  architecture: vgg11\n", "exp.yaml", {{"training.seed", "7"}});
  const auto again = parse_config(config.to_yaml(), "resolved.yaml");
  EXPECT_EQ(again.model.zoo_name(), "vgg11");
  EXPECT_EQ(again.training.seed, 7);
  EXPECT_EQ(again.to_yaml(), config.to_yaml());
}

TEST(Config, EverySchemaDefaultIsValid) {
  for (const auto& rule : mltk::config::schema())
    EXPECT_NO_THROW(parse_config("", "exp.yaml", {{rule.path, rule.default_yaml}})) << rule.path;
}

}  // namespace

namespace {

TEST(Config, EverySchemaKeyIsDocumented) {
  const std::string docs = mltk::read_file(std::string(MLTK_SOURCE_DIR) + "/docs/configuration.md");
  for (const auto& rule : mltk::config::schema())
    EXPECT_NE(docs.find("| `" + rule.path + "` |"), std::string::npos) << rule.path << " missing from docs/configuration.md";
}

}  // namespace

namespace {

// torchvision's recipes: Resize(256) before CenterCrop(224), i.e. 8/7 of the crop.
TEST(Config, EvalResizeFollowsTheInputSizeUnlessSet) {
  EXPECT_EQ(parse_config("", "exp.yaml").resolved_eval_resize(), 256);
  EXPECT_EQ(parse_config("model:\n  input_size: 28\n", "exp.yaml").resolved_eval_resize(), 32);
  EXPECT_EQ(parse_config("model:\n  input_size: 299\n", "exp.yaml").resolved_eval_resize(), 342);  // 341.71
  EXPECT_EQ(parse_config("model:\n  input_size: 28\ntransforms:\n  eval:\n    resize: 40\n", "exp.yaml")
                .resolved_eval_resize(),
            40);
  EXPECT_EQ(parse_config("transforms:\n  eval:\n    resize: null\n", "exp.yaml", {{"model.input_size", "112"}})
                .resolved_eval_resize(),
            128);
}

}  // namespace
