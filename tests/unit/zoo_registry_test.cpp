#include "mltk/models/zoo.h"

#include <gtest/gtest.h>

using namespace mltk::models;

TEST(ModelZoo, UnknownNameListsAvailableArchitectures) {
  try {
    create_model({"resnet_does_not_exist", 2});
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("resnet_does_not_exist"), std::string::npos);
    EXPECT_NE(message.find("simple_cnn"), std::string::npos);
    EXPECT_NE(message.find("tiny_net"), std::string::npos);
  }
}

TEST(ModelZoo, RejectsZeroClasses) { EXPECT_THROW(create_model({"tiny_net", 0}), std::invalid_argument); }

TEST(ModelZoo, CustomModelsRejectInputTooSmallToPool) {
  ModelOptions options{"simple_cnn", 2, 4, std::nullopt};
  EXPECT_THROW(create_model(options), std::invalid_argument);
}
