#include "mltk/report/run_page.h"

#include "mltk/common/logging.h"
#include "mltk/inference/report.h"
#include "mltk/report/chart_library.h"
#include "mltk/report/environment.h"
#include "mltk/report/evaluation_section.h"
#include "mltk/report/html.h"
#include "mltk/report/run_history.h"
#include "mltk/report/thumbnails.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>

namespace mltk::report {

namespace {

std::string state_line(const train::RunStatus& status) {
  const int done = train::last_epoch(status.history);
  const int planned = status.config.training.num_epochs;
  if (!status.finished) return fmt::format("Training: epoch {} of {} done. Reload the page for new epochs.", done, planned);
  switch (status.outcome) {
    case train::TrainOutcome::early_stopped:
      return fmt::format("Stopped early after epoch {} of {}: {} did not improve for {} epochs.", done, planned,
                         status.config.training.early_stopping_monitor, status.config.training.early_stopping_patience);
    case train::TrainOutcome::interrupted:
      return fmt::format("Interrupted after epoch {} of {}; continue it with ml-train --resume.", done, planned);
    case train::TrainOutcome::completed:
      break;
  }
  return fmt::format("Finished: {} of {} epochs.", done, planned);
}

std::string key_facts(const train::RunStatus& status) {
  std::string html = "<div class=\"facts\">\n";
  if (const auto* best = best_epoch_row(status.history)) {
    html += fact_box("best val accuracy", fmt::format("{:.4f}", best->val_accuracy), "best-val-accuracy");
    html += fact_box("best epoch", std::to_string(best->epoch), "best-epoch");
  }
  if (status.test) html += fact_box("test accuracy (best.pt)", fmt::format("{:.4f}", status.test->predictions.accuracy()));
  html += fact_box("epochs", fmt::format("{} / {}", status.history.size(), status.config.training.num_epochs));
  if (!status.resumed_after.empty()) {
    std::string epochs;
    for (const auto epoch : status.resumed_after) epochs += (epochs.empty() ? "" : ", ") + std::to_string(epoch);
    html += fact_box("resumed after epoch", epochs);
  }
  return html + "</div>\n";
}

std::string setup_section(const train::RunStatus& status) {
  std::string html = "<h2 id=\"setup\">Model and environment</h2>\n<table id=\"environment\">\n";
  const auto row = [](const std::string& name, const std::string& value) {
    return "<tr><td class=\"name\">" + escape_html(name) + "</td><td class=\"name\">" + escape_html(value) + "</td></tr>\n";
  };
  html += row("architecture", status.model.architecture + " (" + status.config.model.type + ")");
  html += row("parameters", fmt::format("{} ({} trainable)", status.model.parameters, status.model.trainable_parameters));
  html += row("weights", status.model.weights_source);
  html += row("input size", fmt::format("{0}x{0}", status.config.model.input_size));
  html += row("classes", fmt::format("{}", fmt::join(status.class_names, ", ")));
  html += row("device", status.model.device);
  html += row("run folder", status.folder.root);
  for (const auto& [name, value] : environment_facts()) html += row(name, value);
  html += "</table>\n<details><summary>Configuration (config.yaml)</summary>\n<pre id=\"config\">" +
          escape_html(status.config.to_yaml()) + "</pre>\n</details>\n";
  return html;
}

std::string now_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

}  // namespace

std::string run_page_path(const train::RunFolder& folder) { return folder.root + "/report.html"; }

Page run_page(const train::RunStatus& status) {
  const bool with_charts = chart_library().has_value();
  Page page;
  page.title = "Training run " + std::filesystem::path(status.folder.root).filename().string();
  page.subtitle = state_line(status) + " Written " + now_utc() + ".";
  page.body = key_facts(status) + history_section(status, with_charts);
  page.data["epochs"] = epoch_columns(status.history);
  page.data["charts"] = chart_descriptions();
  page.data["markers"] = history_markers(status);
  if (status.test) {
    const auto& test = *status.test;
    const auto report = inference::make_report(test.predictions.labels, test.predictions.predicted, status.class_names);
    page.body += evaluation_section(
        fmt::format("Test split: best.pt (epoch {}), {} images", test.checkpoint_epoch, report.num_samples), report,
        worst_mistakes(test.predictions, test.samples));
    page.data["evaluation"] = inference::to_json(report);
  }
  page.body += setup_section(status);
  return page;
}

void write_run_page(const train::RunStatus& status) {
  const auto start = std::chrono::steady_clock::now();
  const std::string path = run_page_path(status.folder);
  try {
    const size_t bytes = write_page(path, run_page(status));
    log::debug("{} written ({} bytes) in {:.1f} ms", path, bytes,
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  } catch (const std::exception& error) {
    log::warning("could not write the run page {}: {}; training goes on", path, error.what());
  }
}

}  // namespace mltk::report
