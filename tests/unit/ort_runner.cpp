#include "ort_runner.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

namespace mltk::test_support {
namespace {

const std::filesystem::path kToolDir = std::filesystem::path(MLTK_SOURCE_DIR) / "tools" / "ort";

std::string run_command(const std::string& command, int& status) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  char buffer[4096];
  while (size_t read = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, read);
  status = ::pclose(pipe);
  return output;
}

}  // namespace

std::string onnxruntime_unavailable_reason() {
  int status = 0;
  run_command("node --version > /dev/null 2>&1", status);
  if (status != 0) return "node is not on PATH";
  if (!std::filesystem::exists(kToolDir / "node_modules" / "onnxruntime-node"))
    return "onnxruntime-node is not installed: run `npm install` in " + kToolDir.string();
  return {};
}

torch::Tensor run_with_onnxruntime(const std::string& model_path, const torch::Tensor& input) {
  const auto data = input.to(torch::kFloat).contiguous();
  const auto input_path = model_path + ".input.bin", output_path = model_path + ".output.bin";
  std::ofstream(input_path, std::ios::binary)
      .write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.numel() * sizeof(float)));
  std::string dims;
  for (const auto size : data.sizes()) dims += (dims.empty() ? "" : ",") + std::to_string(size);

  int status = 0;
  const auto stdout_text = run_command("node '" + (kToolDir / "ort_run.js").string() + "' '" + model_path + "' '" +
                                           input_path + "' " + dims + " '" + output_path + "' 2>&1",
                                       status);
  if (status != 0) throw std::runtime_error("ONNX Runtime failed on " + model_path + ": " + stdout_text);

  std::smatch match;
  if (!std::regex_search(stdout_text, match, std::regex(R"("dims":\[([0-9,]*)\])")))
    throw std::runtime_error("unexpected ort_run.js output: " + stdout_text);
  std::vector<int64_t> shape;
  const std::string listed = match[1];
  for (size_t start = 0; start < listed.size();) {
    const auto end = std::min(listed.find(',', start), listed.size());
    shape.push_back(std::stoll(listed.substr(start, end - start)));
    start = end + 1;
  }
  auto output = torch::empty(shape, torch::kFloat);
  std::ifstream(output_path, std::ios::binary)
      .read(static_cast<char*>(output.data_ptr()), static_cast<std::streamsize>(output.numel() * sizeof(float)));
  std::filesystem::remove(input_path);
  std::filesystem::remove(output_path);
  return output;
}

}  // namespace mltk::test_support
