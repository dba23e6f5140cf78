#pragma once
// Each architecture family adds its entries to the zoo; zoo.cpp calls these in the order
// `ml-train --list_models` prints them.
namespace mltk::models {
class ModelZoo;
void register_resnet_family(ModelZoo& zoo);
void register_efficientnet_family(ModelZoo& zoo);
void register_mobilenet_family(ModelZoo& zoo);
void register_vgg_family(ModelZoo& zoo);
void register_densenet_family(ModelZoo& zoo);
void register_vit_family(ModelZoo& zoo);
void register_convnext_family(ModelZoo& zoo);
void register_custom_family(ModelZoo& zoo);
}  // namespace mltk::models
