#pragma once
// The style sheet and script shared by every page.
#include <string>

namespace mltk::report {

const std::string& page_style();
// Reads #mltk-data and, when uPlot is loaded, draws each entry of data.charts into the element
// #chart-<id>, with data.markers (best epoch, resumes, early stop) as vertical lines. The plots are
// left in window.mltkCharts[id] ({keys, plot}) for tests.
const std::string& page_script();

}  // namespace mltk::report
