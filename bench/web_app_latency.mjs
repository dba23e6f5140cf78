// Times a deployment's web app in headless Debian chromium: from navigation to the page being ready
// (model fetched, ONNX Runtime Web session created), to the first prediction, then the median and
// p90 of RUNS further classifications of IMAGE (decode, preprocess and inference, measured inside
// the page). Prints one JSON object.
//
//   node bench/web_app_latency.mjs [--isolated] WEB_DIR IMAGE RUNS
import { launchBrowser, serveDirectory } from "../tools/browser/browser.mjs";

const args = process.argv.slice(2);
const isolated = args[0] === "--isolated";
if (isolated) args.shift();
const [webDir, image, runsText] = args;
const runs = Number(runsText);
const headers = isolated
  ? { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" }
  : {};
const server = await serveDirectory(webDir, headers);
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  const start = Date.now();
  await page.goto(server.url, { waitUntil: "load" });
  await page.waitForFunction(() => window.mltkReady === true, { timeout: 300000, polling: 5 });
  const readyMs = Date.now() - start;
  await page.evaluate((url) => window.mltkClassify(url), image);
  const firstPredictionMs = Date.now() - start;
  const times = await page.evaluate(async (url, count) => {
    const out = [];
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await window.mltkClassify(url);
      out.push(performance.now() - t);
    }
    return out;
  }, image, runs);
  times.sort((a, b) => a - b);
  const threads = await page.evaluate(() => Number((document.getElementById("about").textContent.match(/(\d+) threads?/) || [])[1]));
  console.log(JSON.stringify({
    isolated, threads, ready_ms: readyMs, first_prediction_ms: firstPredictionMs,
    median_ms: times[Math.floor(times.length / 2)], p90_ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.9))],
  }));
} finally {
  await browser.close();
  await server.close();
}
