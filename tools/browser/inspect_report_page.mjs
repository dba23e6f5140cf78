// Opens an mltk report page from the file system in headless chromium, with every network request
// refused, and prints as one JSON line what the tests compare against their oracles: the problems
// seen (console errors and warnings, page errors, network requests), the values held by each
// chart, the confusion matrix as rendered, the thumbnails as decoded, the cells of the validation
// table. Saves a full-page screenshot.
//
//   node inspect_report_page.mjs PAGE.html SCREENSHOT.png
import path from "node:path";
import { pathToFileURL } from "node:url";
import { launchBrowser } from "./browser.mjs";

const [pagePath, screenshotPath] = process.argv.slice(2);
if (!pagePath || !screenshotPath) {
  console.error("usage: node inspect_report_page.mjs PAGE.html SCREENSHOT.png");
  process.exit(2);
}

const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const url = request.url();
    if (url.startsWith("file:") || url.startsWith("data:")) {
      request.continue();
    } else {
      problems.push(`network request: ${url}`);
      request.abort();
    }
  });
  await page.goto(pathToFileURL(path.resolve(pagePath)).href, { waitUntil: "load" });
  const seen = await page.evaluate(() => {
    const charts = {};
    for (const [id, chart] of Object.entries(window.mltkCharts ?? {}))
      charts[id] = { keys: chart.keys, data: chart.plot.data.map((column) => Array.from(column)) };
    const confusion = Array.from(document.querySelectorAll("#confusion tr"))
      .slice(1)
      .map((row) => Array.from(row.querySelectorAll("td.count")).map((cell) => Number(cell.textContent)));
    const thumbnails = Array.from(document.querySelectorAll("#mistakes img")).map((image) => ({
      width: image.naturalWidth,
      height: image.naturalHeight,
    }));
    const notice = document.querySelector(".notice");
    const validation = Array.from(document.querySelectorAll("#validation-batches tr"))
      .slice(1)
      .map((row) => Array.from(row.cells).map((cell) => cell.textContent));
    return { title: document.title, charts, confusion, thumbnails, validation, notice: notice ? notice.textContent : null };
  });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  console.log(JSON.stringify({ problems, ...seen }));
} finally {
  await browser.close();
}
