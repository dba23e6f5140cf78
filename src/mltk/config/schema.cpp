#include "mltk/config/schema.h"

namespace mltk::config {

const std::vector<KeyRule>& schema() {
  using K = ValueKind;
  static const std::vector<KeyRule> rules = {
      {"data.dataset_name", K::string, "null", "name of the dataset: data lives in <data_dir>/<dataset_name>/, runs in runs/<dataset_name>_<model.type>_fold_<k>/", true},
      {"data.data_dir", K::string, "data", "folder holding the datasets"},
      {"data.fold", K::integer, "0", "cross-validation fold to train on", false, 0},
      {"data.num_folds", K::integer, "5", "number of folds ml-split writes", false, 2, 100},
      {"data.test_ratio", K::number, "0.2", "share of each class held out as the test split", false, 0.0, 0.9},
      {"data.num_workers", K::integer, "2", "image decoding threads", false, 0, 64},
      {"model.type", K::string, "base", "base (torchvision architecture) or custom", false, {}, {}, false, {"base", "custom"}},
      {"model.architecture", K::string, "resnet18", "torchvision architecture for type base (ml-train --list_models)", true},
      {"model.custom_architecture", K::string, "null", "architecture for type custom: simple_cnn or tiny_net", true},
      {"model.num_classes", K::integer, "null", "number of classes; null takes the number of class folders", true, 1, 100000},
      {"model.input_size", K::integer, "224", "square input side in pixels", false, 16, 2048},
      {"model.weights", K::string, "null", "null (random init), DEFAULT (torchvision ImageNet weights from the torch cache) or a .pt/.pth path", true},
      {"model.dropout", K::number, "null", "dropout probability; null keeps the architecture's default", true, 0.0, 0.99},
      {"model.freeze_backbone", K::boolean, "false", "train only the classifier head (fine-tuning from model.weights)"},
      {"training.num_epochs", K::integer, "25", "number of epochs", false, 1, 100000},
      {"training.batch_size", K::integer, "32", "images per batch", false, 1, 65536},
      {"training.seed", K::integer, "42", "seed for initialisation, shuffling and augmentation", false, 0},
      {"training.device", K::string, "cpu", "cpu, cuda or auto", false, {}, {}, false, {"cpu", "cuda", "auto"}},
      {"training.threads", K::integer, "0", "intra-op threads; 0 uses every core", false, 0, 1024},
      {"training.label_smoothing", K::number, "0.0", "label smoothing of the cross-entropy loss", false, 0.0, 0.99},
      {"training.early_stopping.patience", K::integer, "0", "epochs without improvement before stopping; 0 disables", false, 0},
      {"training.early_stopping.monitor", K::string, "val_accuracy", "metric watched by early stopping", false, {}, {}, false, {"val_accuracy", "val_loss"}},
      {"optimizer.name", K::string, "sgd", "sgd, adam or adamw", false, {}, {}, false, {"sgd", "adam", "adamw"}},
      {"optimizer.lr", K::number, "0.001", "learning rate", false, 0.0, 10.0, true},
      {"optimizer.momentum", K::number, "0.9", "SGD momentum", false, 0.0, 0.999},
      {"optimizer.nesterov", K::boolean, "false", "Nesterov momentum for SGD"},
      {"optimizer.weight_decay", K::number, "0.0", "L2 weight decay", false, 0.0, 1.0},
      {"scheduler.name", K::string, "step", "none, step, cosine or plateau", false, {}, {}, false, {"none", "step", "cosine", "plateau"}},
      {"scheduler.step_size", K::integer, "7", "step: epochs between decays", false, 1},
      {"scheduler.gamma", K::number, "0.1", "step: decay factor", false, 0.0, 1.0, true},
      {"scheduler.t_max", K::integer, "null", "cosine: period in epochs; null uses training.num_epochs", true, 1},
      {"scheduler.min_lr", K::number, "0.0", "cosine and plateau: lowest learning rate", false, 0.0},
      {"scheduler.patience", K::integer, "3", "plateau: epochs without improvement before a decay", false, 0},
      {"scheduler.factor", K::number, "0.1", "plateau: decay factor", false, 0.0, 1.0, true},
      {"transforms.train.random_resized_crop.scale", K::number_list, "[0.08, 1.0]", "area range of the random crop", false, 0.0, 1.0, true, {}, 2},
      {"transforms.train.random_resized_crop.ratio", K::number_list, "[0.75, 1.3333333333333333]", "aspect-ratio range of the random crop", false, 0.0, {}, true, {}, 2},
      {"transforms.train.horizontal_flip", K::number, "0.5", "probability of a horizontal flip", false, 0.0, 1.0},
      {"transforms.train.color_jitter.brightness", K::number, "0.0", "brightness jitter factor", false, 0.0},
      {"transforms.train.color_jitter.contrast", K::number, "0.0", "contrast jitter factor", false, 0.0},
      {"transforms.train.color_jitter.saturation", K::number, "0.0", "saturation jitter factor", false, 0.0},
      {"transforms.train.color_jitter.hue", K::number, "0.0", "hue jitter", false, 0.0, 0.5},
      {"transforms.eval.resize", K::integer, "null", "shorter side after resizing, before the centre crop to model.input_size; null follows the input size: round(input_size * 8 / 7), 256 for 224", true, 16, 4096},
      {"transforms.normalize.mean", K::number_list, "[0.485, 0.456, 0.406]", "per-channel mean (RGB)", false, {}, {}, false, {}, 3},
      {"transforms.normalize.std", K::number_list, "[0.229, 0.224, 0.225]", "per-channel standard deviation (RGB)", false, 0.0, {}, true, {}, 3},
  };
  return rules;
}

const KeyRule* find_rule(const std::string& path) {
  for (const auto& rule : schema())
    if (rule.path == path) return &rule;
  return nullptr;
}

bool is_section(const std::string& path) {
  for (const auto& rule : schema())
    if (rule.path.size() > path.size() && rule.path.compare(0, path.size(), path) == 0 && rule.path[path.size()] == '.')
      return true;
  return false;
}

std::string kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::integer: return "an integer";
    case ValueKind::number: return "a number";
    case ValueKind::string: return "a string";
    case ValueKind::boolean: return "true or false";
    case ValueKind::number_list: return "a list of numbers";
  }
  return "a value";
}

}  // namespace mltk::config
