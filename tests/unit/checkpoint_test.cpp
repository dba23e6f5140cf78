#include "mltk/checkpoint/checkpoint.h"
#include "mltk/checkpoint/torch_file_reader.h"
#include "mltk/checkpoint/zip_checksums.h"
#include "mltk/models/zoo.h"
#include "mltk/pipeline/model_builder.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <random>

namespace {

using namespace mltk;
using checkpoint::Checkpoint;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

Checkpoint checkpoint_of(const models::Classifier& model, const std::string& architecture, const std::string& type) {
  Checkpoint c;
  c.model_state_dict = checkpoint::state_dict_of(*model);
  c.model = {type, architecture, 2, 224};
  c.class_names = {"ants", "bees"};
  c.epoch = 7;
  c.config = "model:\n  architecture: " + architecture + "\n";
  return c;
}

// Our checkpoints load in Python, strictly, into torchvision (or the Python custom definition), and
// give the outputs our model gave.
class PythonReadsOurCheckpoint : public ::testing::TestWithParam<std::string> {};

TEST_P(PythonReadsOurCheckpoint, LoadsStrictlyWithSameOutputs) {
  MLTK_REQUIRE_ORACLE();
  const std::string architecture = GetParam();
  const auto type = models::to_string(models::ModelZoo::instance().find(architecture).type);
  TempDir dir;
  torch::manual_seed(3);
  auto model = models::create_model({architecture, 2});
  model->eval();
  const auto input = torch::randn({2, 3, 224, 224});
  torch::Tensor output;
  {
    torch::NoGradGuard no_grad;
    output = model->forward(input);
  }
  checkpoint::save_checkpoint(checkpoint_of(model, architecture, type), dir.file("best.pt"));
  c10::impl::GenericDict io(c10::StringType::get(), c10::TensorType::get());
  io.insert("input", input);
  io.insert("output", output);
  const auto bytes = torch::pickle_save(io);
  write_bytes(dir.file("io.pt"), std::string(bytes.begin(), bytes.end()));

  const std::string report =
      testkit::run_oracle("reference_model.py", {"check-ours", architecture, dir.file("best.pt"), dir.file("io.pt")});
  double max_diff = 1.0;
  ASSERT_EQ(std::sscanf(report.c_str(), "max_abs_diff %lf", &max_diff), 1) << report;
  EXPECT_LE(max_diff, 1e-4) << report;
  EXPECT_NE(report.find("class_names ants,bees"), std::string::npos) << report;
}

// One architecture per family; the parity test covers every architecture from the other side.
INSTANTIATE_TEST_SUITE_P(Representatives, PythonReadsOurCheckpoint,
                         ::testing::Values("resnet18", "simple_cnn", "tiny_net"),
                         [](const auto& info) { return info.param; });

// Large records are checked in parts on several threads and the parts' checksums combined: the
// result must be zlib's CRC-32 of the whole buffer in one call, whatever the size's remainder.
TEST(Checkpoint, Crc32OfABufferInPartsIsZlibsCrc32OfTheWhole) {
  std::vector<unsigned char> bytes((size_t{70} << 20) + 5);
  std::mt19937 random(1);
  for (auto& byte : bytes) byte = static_cast<unsigned char>(random());
  for (const size_t size : {size_t{0}, size_t{1}, (size_t{8} << 20) - 1, size_t{16} << 20, (size_t{16} << 20) + 3,
                            bytes.size()}) {
    const auto expected = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), bytes.data(), static_cast<uInt>(size)));
    EXPECT_EQ(checkpoint::crc32_of(bytes.data(), size), expected) << size << " bytes";
  }
}

TEST(Checkpoint, RoundTripsEveryField) {
  TempDir dir;
  auto model = models::create_model({"tiny_net", 2});
  Checkpoint original = checkpoint_of(model, "tiny_net", "custom");
  original.normalization.mean = {0.5, 0.25, 0.125};
  original.extras.emplace("best_accuracy", 0.875);
  checkpoint::save_checkpoint(original, dir.file("c.pt"));

  const Checkpoint loaded = checkpoint::load_checkpoint(dir.file("c.pt"));
  EXPECT_EQ(loaded.model.architecture, "tiny_net");
  EXPECT_EQ(loaded.model.type, "custom");
  EXPECT_EQ(loaded.model.num_classes, 2);
  EXPECT_EQ(loaded.class_names, original.class_names);
  EXPECT_EQ(loaded.normalization.mean, original.normalization.mean);
  EXPECT_EQ(loaded.normalization.std, original.normalization.std);
  EXPECT_EQ(loaded.epoch, 7);
  EXPECT_EQ(loaded.config, original.config);
  ASSERT_EQ(loaded.extras.count("best_accuracy"), 1u);
  EXPECT_DOUBLE_EQ(loaded.extras.at("best_accuracy").toDouble(), 0.875);
  ASSERT_EQ(loaded.model_state_dict.size(), original.model_state_dict.size());
  for (size_t i = 0; i < loaded.model_state_dict.size(); ++i) {
    const auto& [name, tensor] = original.model_state_dict[i];
    auto it = std::find_if(loaded.model_state_dict.begin(), loaded.model_state_dict.end(),
                           [&](const auto& entry) { return entry.first == name; });
    ASSERT_NE(it, loaded.model_state_dict.end()) << name;
    EXPECT_TRUE(torch::equal(it->second, tensor)) << name;
  }
}

TEST(Checkpoint, ReadsPlainDictWrittenByPython) {
  MLTK_REQUIRE_ORACLE();
  TempDir dir;
  testkit::run_oracle("reference_model.py", {"python-checkpoint", "tiny_net", dir.file("py.pt")});
  const Checkpoint loaded = checkpoint::load_checkpoint(dir.file("py.pt"));
  EXPECT_EQ(loaded.model.architecture, "tiny_net");
  EXPECT_EQ(loaded.epoch, 3);
  EXPECT_EQ(loaded.class_names, (std::vector<std::string>{"ants", "bees"}));
  EXPECT_DOUBLE_EQ(loaded.normalization.std[2], 0.225);
  auto model = models::create_model({"tiny_net", 2});
  EXPECT_NO_THROW(checkpoint::load_state_dict(*model, loaded.model_state_dict, "py.pt"));
}

TEST(Checkpoint, ReadsBareTorchvisionStateDictAsWeights) {
  MLTK_REQUIRE_ORACLE();
  TempDir dir;
  // An OrderedDict with _metadata, exactly what torchvision's .pth files are.
  testkit::run_oracle("reference_model.py", {"bare-state-dict", "tiny_net", dir.file("w.pth")});
  const auto weights = checkpoint::load_weights_file(dir.file("w.pth"));
  auto model = models::create_model({"tiny_net", 2});
  EXPECT_NO_THROW(checkpoint::load_state_dict(*model, weights, "w.pth"));
  // A checkpoint works as weights too: its model_state_dict is used.
  testkit::run_oracle("reference_model.py", {"python-checkpoint", "tiny_net", dir.file("py.pt")});
  EXPECT_NO_THROW(checkpoint::load_state_dict(*model, checkpoint::load_weights_file(dir.file("py.pt")), "py.pt"));
}

TEST(Checkpoint, WritesAtomicallyAndReportsUnwritableFolder) {
  TempDir dir;
  auto model = models::create_model({"tiny_net", 2});
  const std::string message = testkit::message_of_throw<std::exception>(
      [&] { checkpoint::save_checkpoint(checkpoint_of(model, "tiny_net", "custom"), dir.file("missing/c.pt")); });
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
  checkpoint::save_checkpoint(checkpoint_of(model, "tiny_net", "custom"), dir.file("c.pt"));
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u) << "no temporary file may be left behind";
}

TEST(Checkpoint, MissingTruncatedAndCorruptedFilesAreClearErrors) {
  TempDir dir;
  auto model = models::create_model({"tiny_net", 2});
  checkpoint::save_checkpoint(checkpoint_of(model, "tiny_net", "custom"), dir.file("good.pt"));
  const std::string good = read_bytes(dir.file("good.pt"));

  std::string message = testkit::message_of_throw<std::exception>([&] { checkpoint::load_checkpoint(dir.file("absent.pt")); });
  EXPECT_NE(message.find("absent.pt"), std::string::npos);
  EXPECT_NE(message.find("not found"), std::string::npos) << message;

  write_bytes(dir.file("truncated.pt"), good.substr(0, good.size() / 2));
  message = testkit::message_of_throw<std::exception>([&] { checkpoint::load_checkpoint(dir.file("truncated.pt")); });
  EXPECT_NE(message.find("truncated.pt"), std::string::npos) << message;

  write_bytes(dir.file("garbage.pt"), "this is not a checkpoint at all");
  message = testkit::message_of_throw<std::exception>([&] { checkpoint::load_checkpoint(dir.file("garbage.pt")); });
  EXPECT_NE(message.find("garbage.pt"), std::string::npos) << message;

  std::string flipped = good;
  for (size_t i = flipped.size() / 3; i < flipped.size() / 3 + 64; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  write_bytes(dir.file("flipped.pt"), flipped);
  message = testkit::message_of_throw<std::exception>([&] { checkpoint::load_checkpoint(dir.file("flipped.pt")); });
  EXPECT_NE(message.find("flipped.pt"), std::string::npos) << message;
}

TEST(Checkpoint, MissingKeyIsNamed) {
  TempDir dir;
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("model_state_dict", checkpoint::state_dict_to_ivalue({}));
  const auto bytes = torch::pickle_save(root);
  write_bytes(dir.file("partial.pt"), std::string(bytes.begin(), bytes.end()));
  const std::string message = testkit::message_of_throw<std::exception>([&] { checkpoint::load_checkpoint(dir.file("partial.pt")); });
  EXPECT_NE(message.find("partial.pt"), std::string::npos) << message;
  EXPECT_NE(message.find("'model'"), std::string::npos) << message;
}

TEST(Checkpoint, StateDictThatDoesNotFitIsNamed) {
  auto tiny = models::create_model({"tiny_net", 2});
  auto other = models::create_model({"tiny_net", 5});
  const std::string message = testkit::message_of_throw<std::exception>(
      [&] { checkpoint::load_state_dict(*tiny, checkpoint::state_dict_of(*other), "five_classes.pt"); });
  EXPECT_NE(message.find("five_classes.pt"), std::string::npos) << message;
  EXPECT_NE(message.find("fc.weight"), std::string::npos) << message;

  auto simple = models::create_model({"simple_cnn", 2});
  const std::string keys = testkit::message_of_throw<std::exception>(
      [&] { checkpoint::load_state_dict(*tiny, checkpoint::state_dict_of(*simple), "simple.pt"); });
  EXPECT_NE(keys.find("missing keys"), std::string::npos) << keys;
  EXPECT_NE(keys.find("unexpected keys"), std::string::npos) << keys;
}

TEST(Checkpoint, DefaultWeightsComeFromTorchHomeOrNameTheFile) {
  TempDir dir;
  setenv("TORCH_HOME", dir.path().c_str(), 1);
  EXPECT_EQ(checkpoint::torchvision_weights_dir(), (dir.path() / "hub" / "checkpoints").string());
  const std::string message = testkit::message_of_throw<std::exception>([&] { pipeline::load_default_weights("tiny_net"); });
  EXPECT_NE(message.find("base"), std::string::npos) << message;
  unsetenv("TORCH_HOME");
}

}  // namespace
