#include "support/python_reference.h"

#include "mltk/checkpoint/torch_file_reader.h"
#include "support/test_support.h"

#include <algorithm>

namespace mltk::testkit {

PythonReference python_reference(const std::string& architecture, const std::string& folder) {
  PythonReference reference;
  reference.file = folder + "/reference.pt";
  run_oracle("reference_model.py", {"forward", architecture, reference.file});
  const auto saved = checkpoint::read_torch_file(reference.file).toGenericDict();
  reference.state_dict = checkpoint::state_dict_from_ivalue(saved.at("state_dict"), reference.file);
  reference.input = saved.at("input").toTensor();
  reference.output = saved.at("output").toTensor();
  return reference;
}

double output_tolerance(const PythonReference& reference) {
  return 1e-4 * std::max(1.0, reference.output.abs().max().item<double>());
}

}  // namespace mltk::testkit
